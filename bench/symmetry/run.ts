/**
 * Benchmark: G2 and G4 of M = 20,000 Gauss-nets 1-50-5 at the authors' 6 inputs (30 features: 465 and
 * 40,920 distinct components), ws.symmetry.correlator against the same estimator in PyTorch (1 thread,
 * float64 accumulation). The reference also re-estimates on this ensemble's own outputs, so the
 * numbers are compared, not only the times.
 *   node --import tsx bench/symmetry/run.ts [--backend wasm|cpu] [--networks 20000]
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../../src/backend";
import { ensemble, correlator } from "../../src/symmetry";

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const info = await ready({ backend: option("backend", "wasm") as "wasm", verbose: false });
  const networks = Number(option("networks", "20000"));
  const width = 50;
  const inputs = [-1, -0.6, -0.2, 0.2, 0.6, 1].map((v) => [0.01 * v]);
  const e = ensemble({ sizes: [1, width, 5], activation: "gauss" }, { networks, seed: 0 });
  const features = inputs.length * e.outputSize;

  // The ensemble's outputs [M, features], for the reference to estimate on the same samples.
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ws-symmetry-")), "outputs.f32");
  const all = new Float32Array(networks * features);
  let offset = 0;
  const y = tf.tensor2d(inputs);
  await e.forEachChunk([y], "dumping outputs", ([values], count) => {
    all.set(values.subarray(0, count * features), offset);
    offset += count * features;
  });
  y.dispose();
  fs.writeFileSync(file, Buffer.from(all.buffer));

  console.log(`symmetry benchmark: M = ${networks} Gauss-nets [1-${width}-5], 6 inputs; weightscope on ${info.name} (${info.device}) vs PyTorch CPU, 1 thread`);
  console.log("order  components  weightscope s  pytorch s  ratio  max |diff| / stderr (same outputs)");
  for (const order of [2, 4]) {
    const started = performance.now();
    const g = await correlator(e, inputs, { order });
    const seconds = (performance.now() - started) / 1000;
    const run = spawnSync("/usr/bin/python3", [path.join(__dirname, "reference.py"), String(networks), String(width), String(order), file, String(features)], { encoding: "utf8", maxBuffer: 1 << 28 });
    if (run.status !== 0) throw new Error(`reference.py failed: ${run.stderr}`);
    const reference = JSON.parse(run.stdout) as { seconds: number; components: number; mean: number[]; stderr: number[] };
    let worst = 0;
    for (let u = 0; u < g.index.size; u++) worst = Math.max(worst, Math.abs(g.stats.mean[u] - reference.mean[u]) / g.stats.stderr[u]);
    console.log(`${String(order).padEnd(5)}  ${String(reference.components).padEnd(10)}  ${seconds.toFixed(2).padEnd(13)}  ${reference.seconds.toFixed(2).padEnd(9)}  ${(seconds / reference.seconds).toFixed(1).padEnd(5)}  ${worst.toExponential(2)}`);
  }
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
