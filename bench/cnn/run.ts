/**
 * bench/cnn: ws.train steps of a CIFAR-size CNN (conv32-conv32-pool-conv64-conv64-pool-dense256-10, 3x3 "same"
 * convolutions, ReLU, 2x2 max pooling, built from plain TF.js layers) on random 32x32x3 images at batch 128,
 * against the same SGD steps in Debian's PyTorch, on one thread and on all cores for both sides; best of
 * --repeats runs of --steps steps, alternating sides.
 *   node --import tsx bench/cnn/run.ts [--steps 5] [--repeats 2] [--batch 128]
 */
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import * as tf from "@tensorflow/tfjs";
import { ready, train } from "../../src";
import { Rng } from "../../src/math/rng";

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const STEPS = option("steps", 5);
const REPEATS = option("repeats", 2);
const BATCH = option("batch", 128);

function cifarSizeCnn(): tf.Sequential {
  const conv = (filters: number, inputShape?: number[]) => tf.layers.conv2d({ filters, kernelSize: 3, padding: "same", activation: "relu", inputShape });
  return tf.sequential({
    layers: [
      conv(32, [32, 32, 3]), conv(32), tf.layers.maxPooling2d({ poolSize: 2 }),
      conv(64), conv(64), tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(), tf.layers.dense({ units: 256, activation: "relu" }), tf.layers.dense({ units: 10 }),
    ],
  });
}

function torchStep(threads: number): { step_ms: number; torch: string; threads: number } | string {
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  const ref = spawnSync("/usr/bin/python3", [path.join(__dirname, "reference.py"), String(BATCH), String(STEPS), String(threads), "1"], { encoding: "utf8", env });
  if (ref.status !== 0) return (ref.stderr || ref.error?.message || "").trim().split("\n").pop() ?? "failed";
  return JSON.parse(ref.stdout.trim().split("\n").pop() as string) as { step_ms: number; torch: string; threads: number };
}

async function main(): Promise<void> {
  await ready({ threads: 1, verbose: false });
  const rng = new Rng(0);
  const n = BATCH * STEPS;
  const x = tf.tensor4d(rng.normalArray(n * 32 * 32 * 3), [n, 32, 32, 3]);
  const y = tf.tensor1d(Int32Array.from({ length: n }, () => rng.int(10)), "int32");
  const dataset = { x, y, task: "classification" as const };
  const options = { epochs: 1, batchSize: BATCH, lr: 0.01, progress: false, shuffle: false };
  console.log(`CIFAR-size CNN (conv32-conv32-pool-conv64-conv64-pool-dense256-10) on 32x32x3, SGD, batch ${BATCH}, best of ${REPEATS} x ${STEPS} steps; load ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  for (const threads of [...new Set([1, os.availableParallelism()])]) {
    const info = await ready({ threads, verbose: false });
    const model = cifarSizeCnn();
    await train(model, { x: x.slice(0, BATCH), y: y.slice(0, BATCH), task: "classification" }, options); // warm-up
    let ours = Infinity;
    let torch: ReturnType<typeof torchStep> = "not run";
    for (let r = 0; r < REPEATS; r++) {
      const start = performance.now();
      await train(model, dataset, options);
      ours = Math.min(ours, (performance.now() - start) / STEPS);
      const t = torchStep(threads);
      if (typeof torch === "string" || (typeof t !== "string" && t.step_ms < torch.step_ms)) torch = t;
    }
    model.dispose();
    console.log(`${threads} thread${threads === 1 ? "" : "s"}:`);
    console.log(`  weightscope (${info.name}, ${info.device}): ${ours.toFixed(1)} ms/step`);
    if (typeof torch === "string") {
      console.log(`  PyTorch reference unavailable (${torch}); install python3-torch`);
      continue;
    }
    console.log(`  PyTorch ${torch.torch} CPU, ${torch.threads} thread(s): ${torch.step_ms.toFixed(1)} ms/step`);
    console.log(`  ratio weightscope / PyTorch: ${(ours / torch.step_ms).toFixed(2)}x`);
  }
  tf.dispose([x, y]);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
