/**
 * A 256 x 256 S_rel matrix (KL kind, SGD probe steps) of an MLP 784-128-10 on MNIST, in both modes,
 * against a straightforward PyTorch reference of the same definition (reference.py: one SGD step per
 * row from a copy of the weights, then a forward pass / Jacobian-vector product over all points).
 * Prints both times, the ratio, and the largest difference between the two matrices.
 *   node --import tsx bench/elasticity/run.ts [--backend wasm|cpu|webgpu]
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../../src/backend";
import { mnist } from "../../src/data";
import { mlp } from "../../src/model";
import { elasticity } from "../../src/elasticity";

async function main(): Promise<void> {
  const backendArg = process.argv.indexOf("--backend");
  const info = await ready({ backend: backendArg > 0 ? (process.argv[backendArg + 1] as "wasm") : "wasm", verbose: false });
  const n = 256;
  const data = await mnist({ limit: n, split: "test" });
  const model = mlp([784, 128, 10], { seed: 0 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-elasticity-bench-"));
  const file = path.join(dir, "problem.json");
  fs.writeFileSync(file, JSON.stringify({
    x: Array.from(data.x.dataSync()), y: Array.from(data.y.dataSync()), n, eta: 0.01,
    weights: model.getWeights().map((w) => ({ shape: w.shape, values: Array.from(w.dataSync()) })),
  }));
  const reference = spawnSync("/usr/bin/python3", [path.join(__dirname, "reference.py"), file], { encoding: "utf8", maxBuffer: 1 << 30 });
  if (reference.status !== 0) throw new Error(`reference.py failed: ${reference.stderr}`);
  const torch = JSON.parse(reference.stdout) as Record<string, { seconds: number; srel: number[][] }>;
  console.log(`S_rel ${n} x ${n}, MLP 784-128-10, MNIST, kind "kl", SGD probe steps; weightscope on ${info.name} (${info.device}) vs PyTorch CPU (1 thread)`);
  for (const mode of ["finite", "infinitesimal"] as const) {
    const options = { points: n, mode, kind: "kl" as const, eta: 0.01, progress: false };
    await elasticity(model, data, { ...options, points: 16 }); // warm-up (kernels, wasm)
    const started = process.hrtime.bigint();
    const ours = await elasticity(model, data, options);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const theirs = torch[mode];
    let worst = 0;
    ours.srel.forEach((row, i) => row.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - theirs.srel[i][j]) / Math.max(1e-2, Math.abs(theirs.srel[i][j]))))));
    console.log(`${mode.padEnd(13)} weightscope ${seconds.toFixed(3)} s (${ours.settings.engine} engine)  PyTorch ${theirs.seconds.toFixed(3)} s  ratio (weightscope / PyTorch) ${(seconds / theirs.seconds).toFixed(3)}  max relative difference ${worst.toExponential(2)}  unresolved rows ${ours.unresolvedRows.length}`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  tf.dispose([data.x, data.y]);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
