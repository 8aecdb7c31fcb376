/**
 * GPU benchmark: matMul n x n, one SGD step of an MLP 784-256-10 on MNIST at batch 128 and 4096, and a
 * Hessian top-k (Lanczos over Hessian-vector products) of an MLP 784-64-10, on each TF.js backend that
 * starts here, side by side with PyTorch (bench/gpu/reference.py: CUDA where available, else 1 CPU thread).
 * For each workload it also splits the time into dispatch and compute: kernels launched per call
 * (tf.profile) times the measured cost of one tiny kernel, against the matMul-rate floor of its FLOPs.
 *
 *   node --import tsx bench/gpu/run.ts [--backends webgpu,blas,wasm] [--sizes 512,1024,2048,4096] [--no-torch]
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { ready, type BackendName } from "../../src/backend";
import { mnist } from "../../src/data/images";
import { mlp } from "../../src/model/build";
import { viewOf, type ModelView } from "../../src/model/view";
import { lossOf } from "../../src/model/functional";
import { readParams } from "../../src/model/params";
import { makeOptimizer } from "../../src/train/optimizer";
import { hessianOperator, lanczos } from "../../src/math/hessian";

const args = process.argv.slice(2);
function option(name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

const LR = 0.01;
const LANCZOS = { k: 5, iterations: 20, batch: 1024 };
const DISPATCH_CHAIN = 200;

interface Row {
  workload: string;
  backend: string;
  ms: number;
  /** Kernels launched per call (tf.profile); null for PyTorch. */
  kernels: number | null;
  /** Floating-point operations per call. */
  flops: number;
}

/** Median wall time of fn (ms), run until minMs has passed (at least 3 runs) after a warm-up. `fn` must end with a device sync. */
async function timeIt(fn: () => Promise<void>, minMs = 400, maxRuns = 50): Promise<number> {
  await fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 3 || (performance.now() - start < minMs && times.length < maxRuns)) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function kernelsOf(fn: () => Promise<void>): Promise<number> {
  const info = await tf.profile(async () => {
    await fn();
    return [];
  });
  return info.kernels.length;
}

/** Cost of one small kernel: a chain of elementwise adds on a 4096-vector resident on the device, one sync at the end. */
async function dispatchCost(): Promise<number> {
  const x = tf.tidy(() => tf.add(tf.zeros([4096]), 1));
  const ms = await timeIt(async () => {
    const y = tf.tidy(() => {
      let acc = x;
      for (let i = 0; i < DISPATCH_CHAIN; i++) acc = tf.add(acc, x);
      return acc;
    });
    await y.data();
    y.dispose();
  });
  x.dispose();
  return ms / DISPATCH_CHAIN;
}

async function matMulRow(n: number, backend: string): Promise<Row> {
  const [a, b] = [tf.randomNormal([n, n], 0, 1, "float32", 1), tf.randomNormal([n, n], 0, 1, "float32", 2)];
  const run = async () => {
    const c = tf.matMul(a, b);
    await tf.sum(c).data().finally(() => c.dispose());
  };
  const ms = await timeIt(run, n >= 2048 ? 1500 : 400, n >= 4096 ? 5 : 50);
  tf.dispose([a, b]);
  return { workload: `matMul ${n}`, backend, ms, kernels: 2, flops: 2 * n ** 3 };
}

/** One SGD step as train() takes it: loss and gradients by variableGrads, the update, and one host read of the loss. */
async function mlpStepRow(view: ModelView, params: tf.Variable[], x: tf.Tensor, y: tf.Tensor, batch: number, backend: string): Promise<Row> {
  const optimizer = makeOptimizer("sgd", params);
  const xb = x.slice([0, 0], [batch, -1]);
  const yb = y.slice([0], [batch]);
  const step = async () => {
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => lossOf(view, params, xb, yb, "crossEntropy"), params);
      optimizer.apply(params, params.map((p) => grads[p.name]), LR);
      return value;
    });
    await loss.data();
    loss.dispose();
  };
  const kernels = await kernelsOf(step);
  const ms = await timeIt(step);
  const weights = params.reduce((s, p) => s + (p.rank === 2 ? p.size : 0), 0);
  tf.dispose([xb, yb]);
  optimizer.dispose();
  // Forward 2BW, backward 4BW multiply-adds over the kernels' weights W.
  return { workload: `MLP 784-256-10 SGD step, batch ${batch}`, backend, ms, kernels, flops: 6 * batch * weights };
}

async function lanczosRow(x: tf.Tensor, y: tf.Tensor, backend: string): Promise<Row> {
  const model = mlp([784, 64, 10], { seed: 1 });
  const view = viewOf(model);
  const params = readParams(model);
  const xb = x.slice([0, 0], [LANCZOS.batch, -1]);
  const yb = y.slice([0], [LANCZOS.batch]);
  const op = hessianOperator((p) => lossOf(view, p, xb, yb, "crossEntropy"), params);
  const probe = new Float64Array(op.size).fill(1 / Math.sqrt(op.size));
  const kernels = await kernelsOf(async () => void op.apply(probe));
  const ms = await timeIt(async () => void lanczos(op, LANCZOS.k, { iterations: LANCZOS.iterations, seed: 0 }), 1000, 10);
  tf.dispose([...params, xb, yb]);
  model.dispose();
  const weights = 784 * 64 + 64 * 10;
  // An HVP is about four passes (forward, backward, and their tangents): ~4x a gradient's 6BW.
  return { workload: `Hessian top-${LANCZOS.k}, MLP 784-64-10, batch ${LANCZOS.batch}, ${LANCZOS.iterations} HVPs`, backend, ms, kernels: kernels * LANCZOS.iterations, flops: 4 * 6 * LANCZOS.batch * weights * LANCZOS.iterations };
}

function torchRows(sizes: number[], xFile: string, yFile: string): Row[] {
  const script = path.join(__dirname, "reference.py");
  const spec = JSON.stringify({ sizes, x: xFile, y: yFile, n: 4096, lr: LR, lanczos: LANCZOS });
  const result = spawnSync("/usr/bin/python3", [script, spec], { encoding: "utf8", timeout: 600_000 });
  if (result.status !== 0) {
    console.log(`PyTorch reference failed (${result.status}): ${(result.stderr || result.error?.message || "").trim().split("\n").pop()}`);
    return [];
  }
  return result.stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Row);
}

function format(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
}

async function main(): Promise<void> {
  const available: BackendName[] = [];
  const wanted = (option("backends") ?? "webgpu,blas,wasm").split(",") as BackendName[];
  for (const name of wanted) {
    try {
      await ready({ backend: name, verbose: false });
      available.push(name);
    } catch (err) {
      console.log(`skipping ${name}: ${(err as Error).message}`);
    }
  }
  const sizes = (option("sizes") ?? (available.includes("webgpu") ? "512,1024,2048,4096" : "512,1024,2048")).split(",").map(Number);
  const data = await mnist({ limit: 4096, seed: 0 });
  const xs = data.x.dataSync() as Float32Array;
  const ys = data.y.dataSync() as Int32Array;
  tf.dispose([data.x, data.y]);

  const rows: Row[] = [];
  const overhead: Record<string, number> = {};
  for (const backend of available) {
    await ready({ backend, verbose: false });
    const x = tf.tensor2d(xs, [4096, 784]);
    const y = tf.tensor1d(ys, "int32");
    overhead[backend] = await dispatchCost();
    for (const n of sizes) rows.push(await matMulRow(n, backend));
    const model = mlp([784, 256, 10], { seed: 0 });
    const view = viewOf(model);
    const initial = readParams(model);
    for (const batch of [128, 4096]) {
      const params = initial.map((t) => tf.variable(t.clone()));
      rows.push(await mlpStepRow(view, params, x, y, batch, backend));
      tf.dispose(params);
    }
    tf.dispose(initial);
    model.dispose();
    rows.push(await lanczosRow(x, y, backend));
    tf.dispose([x, y]);
  }

  if (!args.includes("--no-torch")) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-bench-"));
    const [xFile, yFile] = [path.join(dir, "x.f32"), path.join(dir, "y.i32")];
    fs.writeFileSync(xFile, Buffer.from(xs.buffer));
    fs.writeFileSync(yFile, Buffer.from(ys.buffer));
    rows.push(...torchRows(sizes, xFile, yFile));
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const backends = [...new Set(rows.map((r) => r.backend))];
  const base = backends[0];
  console.log(`\nGPU bench on ${os.cpus()[0]?.model ?? "?"} (${os.cpus().length} cores), ${new Date().toISOString().slice(0, 10)}; times are medians in ms`);
  for (const b of available) console.log(`  ${b}: one small kernel (elementwise add, 4096 floats) costs ${format(overhead[b])} ms`);
  console.log(["workload", ...backends.map((b) => `${b} ms`), ...backends.slice(1).map((b) => `${b}/${base}`), `${base} GFLOP/s`, `${base} kernels`, `${base} dispatch share`].join(" | "));
  for (const workload of [...new Set(rows.map((r) => r.workload))]) {
    const byBackend = new Map(rows.filter((r) => r.workload === workload).map((r) => [r.backend, r]));
    const first = byBackend.get(base);
    const cells = backends.map((b) => (byBackend.has(b) ? format((byBackend.get(b) as Row).ms) : "-"));
    const ratios = backends.slice(1).map((b) => (first && byBackend.has(b) ? ((byBackend.get(b) as Row).ms / first.ms).toFixed(2) : "-"));
    const gflops = first ? (first.flops / first.ms / 1e6).toFixed(1) : "-";
    // Time the launches alone would take: kernels x the cost of one small kernel.
    const share = first && first.kernels && overhead[base] !== undefined ? `${Math.min(100, (100 * first.kernels * overhead[base]) / first.ms).toFixed(0)}%` : "-";
    console.log([workload, ...cells, ...ratios, gflops, first?.kernels ?? "-", share].join(" | "));
  }
  const outDir = path.join(__dirname, "..", "out");
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, `gpu-${os.hostname()}.json`), JSON.stringify({ date: new Date().toISOString(), overhead, rows }, null, 1));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
