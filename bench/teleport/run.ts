/**
 * bench/teleport: one random teleport (new model + function check on 32 probe inputs) and one 10-point
 * sweep (teleport + autodiff gradient on 256 samples per point) of an MLP 784-128-128-10 and a small CNN,
 * with weightscope's default backend for both (CNN gradients use the functional model's slice + matMul
 * convolution), against the same work in Debian's PyTorch on one CPU thread, in one run.
 */
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import * as tf from "@tensorflow/tfjs";
import { ready, mlp, cnn } from "../../src";
import { teleport } from "../../src/teleport";
import { Rng } from "../../src/math/rng";

/**
 * Samples for the sweep's gradients and timing repeats per model. The CNN's functional convolution (slices +
 * matMul, so it has second derivatives) is far slower on wasm than tf.conv2d: a smaller batch and fewer repeats
 * keep the whole bench near 2 minutes. PyTorch does exactly the same work per case.
 */
const SETTINGS = {
  mlp: { batch: 256, teleports: 20, sweeps: 3 },
  cnn: { batch: 32, teleports: 3, sweeps: 1 },
};

async function time(fn: () => unknown, repeats: number): Promise<number> {
  await fn();
  const start = performance.now();
  for (let i = 0; i < repeats; i++) await fn();
  return (performance.now() - start) / repeats;
}

async function main(): Promise<void> {
  const info = await ready({ verbose: false });
  const rng = new Rng(0);
  const cases = [
    { name: "mlp" as const, label: "MLP 784-128-128-10", model: mlp([784, 128, 128, 10], { seed: 1 }), shape: [784] },
    { name: "cnn" as const, label: "CNN conv8-pool-conv16-pool-dense32-10 on 28x28x1", model: cnn([28, 28, 1], { filters: [8, 16], dense: [32], seed: 1 }), shape: [28, 28, 1] },
  ];
  const ours: Record<string, { teleport_ms: number; sweep_ms: number }> = {};
  for (const c of cases) {
    const { batch, teleports, sweeps } = SETTINGS[c.name];
    const size = c.shape.reduce((a, b) => a * b, 1);
    const data = { x: tf.tensor(rng.normalArray(batch * size), [batch, ...c.shape]), y: tf.tensor1d(Int32Array.from({ length: batch }, () => rng.int(10)), "int32") };
    const teleportMs = await time(() => teleport(c.model, { cobRange: 0.5 }).model.dispose(), teleports);
    const sweepMs = await time(() => teleport.sweep(c.model, data, { samples: 1 }), sweeps);
    ours[c.name] = { teleport_ms: teleportMs, sweep_ms: sweepMs };
    tf.dispose([data.x, data.y]);
  }
  const ref = spawnSync("/usr/bin/python3", [path.join(__dirname, "reference.py"), JSON.stringify(SETTINGS)], { encoding: "utf8" });
  const torch = ref.status === 0 ? (JSON.parse(ref.stdout.trim().split("\n").pop() as string) as Record<string, { teleport_ms: number; sweep_ms: number }> & { torch: string }) : null;
  console.log(`weightscope (tfjs ${info.name}, the default backend) vs PyTorch ${torch ? (torch.torch as unknown as string) : "(unavailable)"} CPU, 1 thread; sweep = gradient at the start + 10 cobRanges x (teleport + gradient)`);
  for (const c of cases) {
    const o = ours[c.name];
    const t = torch?.[c.name];
    const ratio = (a: number, b: number | undefined) => (b ? `${(a / b).toFixed(2)}x` : "n/a");
    console.log(`  ${c.label}; sweep gradients on ${SETTINGS[c.name].batch} samples; mean of ${SETTINGS[c.name].teleports} teleports, ${SETTINGS[c.name].sweeps} sweep(s)`);
    console.log(`    one teleport: weightscope ${o.teleport_ms.toFixed(1)} ms, PyTorch ${t ? t.teleport_ms.toFixed(1) : "n/a"} ms, ratio ${ratio(o.teleport_ms, t?.teleport_ms)}`);
    console.log(`    sweep:        weightscope ${o.sweep_ms.toFixed(0)} ms, PyTorch ${t ? t.sweep_ms.toFixed(0) : "n/a"} ms, ratio ${ratio(o.sweep_ms, t?.sweep_ms)}`);
  }
  if (!torch) console.log(`  PyTorch reference failed: ${(ref.stderr || ref.error?.message || "").trim().split("\n").pop()}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
