/**
 * Hessian spectra against a PyTorch reference (reference.py, Debian's python3-torch, 1 thread):
 *  1. the top-10 eigenvalues of the cross-entropy Hessian of an MLP 784-128-10 (ReLU, 101,770
 *     parameters) on 1,000 MNIST images, by Lanczos on float32 Hessian-vector products, the same
 *     number of products on both sides (40 iterations, full reorthogonalisation);
 *  2. the exact (float64) Hessian and all 25 eigenvalues of a width-8 tanh net on 200 points of
 *     1-D data (half mean squared error), repeated to get a measurable time.
 * Prints both times, their ratio and the largest relative difference of the eigenvalues.
 *   node --import tsx bench/embedding/run.ts [--backend wasm|cpu|webgpu]
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../../src/backend";
import { mnist, regression1d } from "../../src/data";
import { mlp } from "../../src/model";
import { hessian, sharpness } from "../../src/hessian";

const TOP_K = 10;
const LANCZOS_ITERATIONS = 40;
const EXACT_REPEATS = 20;

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

function worstRelative(ours: number[], theirs: number[]): number {
  return ours.reduce((worst, v, i) => Math.max(worst, Math.abs(v - theirs[i]) / Math.max(1e-12, Math.abs(theirs[i]))), 0);
}

async function main(): Promise<void> {
  const backendArg = process.argv.indexOf("--backend");
  const info = await ready({ backend: backendArg > 0 ? (process.argv[backendArg + 1] as "wasm") : "wasm", verbose: false });
  const images = await mnist({ limit: 1000, seed: 0 });
  const big = mlp([784, 128, 10], { seed: 0 });
  const curve = regression1d({ n: 200, range: [-2, 2], target: (x) => Math.sin(2 * x) + 0.3 * x });
  const small = mlp([1, 8, 1], { activation: "tanh", seed: 1, init: { std: 1, bias: 0.5 } });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-embedding-bench-"));
  const file = path.join(dir, "problem.json");
  const weights = (m: tf.LayersModel) => m.getWeights().map((w) => ({ shape: w.shape, values: Array.from(w.dataSync()) }));
  fs.writeFileSync(file, JSON.stringify({
    k: TOP_K, iterations: LANCZOS_ITERATIONS, repeats: EXACT_REPEATS,
    mnist: { x: Array.from(images.x.dataSync()), y: Array.from(images.y.dataSync()), weights: weights(big) },
    curve: { x: Array.from(curve.x.dataSync()), y: Array.from(curve.y.dataSync()), weights: weights(small) },
  }));
  const reference = spawnSync("/usr/bin/python3", [path.join(__dirname, "reference.py"), file], { encoding: "utf8", maxBuffer: 1 << 28 });
  fs.rmSync(dir, { recursive: true, force: true });
  if (reference.status !== 0) throw new Error(`reference.py failed: ${reference.stderr}`);
  const torch = JSON.parse(reference.stdout) as Record<"lanczos" | "exact", { seconds: number; eigenvalues: number[] }>;

  console.log(`weightscope on ${info.name} (${info.device}) vs PyTorch CPU (1 thread)`);
  const lanczosOptions = { k: TOP_K, iterations: LANCZOS_ITERATIONS, traceSamples: 0, precision: "float32" as const, progress: false };
  await sharpness(big, images, { ...lanczosOptions, k: 1, iterations: 2 }); // warm-up (kernels, wasm)
  let started = process.hrtime.bigint();
  const top = await sharpness(big, images, lanczosOptions);
  const lanczosSeconds = seconds(started);
  console.log(`top-${TOP_K} Hessian eigenvalues, MLP 784-128-10, 1,000 MNIST images, ${LANCZOS_ITERATIONS} Lanczos steps (float32 HVPs): `
    + `weightscope ${lanczosSeconds.toFixed(3)} s  PyTorch ${torch.lanczos.seconds.toFixed(3)} s  ratio ${(lanczosSeconds / torch.lanczos.seconds).toFixed(2)}  `
    + `lambda_max ${top.top[0].toFixed(4)} vs ${torch.lanczos.eigenvalues[0].toFixed(4)}, max relative difference (top ${TOP_K}) ${worstRelative(top.top, torch.lanczos.eigenvalues).toExponential(2)}`);

  const exactOptions = { loss: "halfMse" as const, exact: true, progress: false };
  await hessian(small, curve, exactOptions); // warm-up
  started = process.hrtime.bigint();
  let exact = await hessian(small, curve, exactOptions);
  for (let r = 1; r < EXACT_REPEATS; r++) exact = await hessian(small, curve, exactOptions);
  const exactSeconds = seconds(started) / EXACT_REPEATS;
  console.log(`exact float64 Hessian + all ${exact.size} eigenvalues, 1-8-1 tanh net, 200 points (mean of ${EXACT_REPEATS}): `
    + `weightscope ${(exactSeconds * 1e3).toFixed(2)} ms  PyTorch ${(torch.exact.seconds * 1e3).toFixed(2)} ms  ratio ${(exactSeconds / torch.exact.seconds).toFixed(2)}  `
    + `max relative difference (|lambda| > 1e-9 max) ${worstRelative(...significant(exact.eigenvalues, torch.exact.eigenvalues)).toExponential(2)}`);
  tf.dispose([images.x, images.y, curve.x, curve.y]);
  big.dispose();
  small.dispose();
}

/** Pairs of eigenvalues (both descending) whose size is above float64 round-off of the largest. */
function significant(ours: number[], theirs: number[]): [number[], number[]] {
  const floor = 1e-9 * Math.max(...theirs.map(Math.abs));
  const keep = theirs.map((_, i) => i).filter((i) => Math.abs(theirs[i]) > floor);
  return [keep.map((i) => ours[i]), keep.map((i) => theirs[i])];
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
