/**
 * Second-order information of a loss over a list of parameter tensors: Hessian-vector products by
 * nested reverse-mode gradients, top-k eigenvalues by Lanczos with full reorthogonalisation, the
 * trace (and diagonal) by Hutchinson's estimator, and the dense Hessian for small models.
 * One implementation, shared by every probe (sharpness, embedding spectra, teleport objectives).
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "./rng";
import { symmetricEigen, MAX_DENSE_EIGEN } from "./eigen";

/** A scalar loss as a function of the parameter tensors that are differentiated. */
export type ParamLoss = (params: tf.Tensor[]) => tf.Scalar;

/** Gradient of the loss at params (new tensors; the caller disposes them). */
export function gradient(loss: ParamLoss, params: readonly tf.Tensor[]): tf.Tensor[] {
  return tf.tidy(() => tf.grads((...p: tf.Tensor[]) => loss(p))(params as tf.Tensor[]));
}

/** H v for direction tensors v shaped like params (new tensors; the caller disposes them). */
export function hvp(loss: ParamLoss, params: readonly tf.Tensor[], v: readonly tf.Tensor[]): tf.Tensor[] {
  if (v.length !== params.length) throw new Error(`hvp: ${v.length} direction tensors for ${params.length} parameters`);
  return tf.tidy(() => {
    const directional = (...p: tf.Tensor[]): tf.Scalar => {
      const g = tf.grads((...q: tf.Tensor[]) => loss(q))(p);
      return tf.addN(g.map((gi, i) => tf.sum(tf.mul(gi, v[i])))) as tf.Scalar;
    };
    return tf.grads(directional)(params as tf.Tensor[]);
  });
}

/** The Hessian as a linear operator on flat float64 vectors (parameters concatenated in order). */
export interface HessianOperator {
  readonly size: number;
  apply(v: Float64Array): Float64Array;
  /** Number of Hessian-vector products evaluated so far. */
  readonly products: number;
}

export function hessianOperator(loss: ParamLoss, params: readonly tf.Tensor[]): HessianOperator {
  const shapes = params.map((p) => p.shape);
  const sizes = params.map((p) => p.size);
  const size = sizes.reduce((a, b) => a + b, 0);
  let products = 0;
  return {
    size,
    get products() {
      return products;
    },
    apply(v: Float64Array): Float64Array {
      if (v.length !== size) throw new Error(`Hessian operator of size ${size} applied to a vector of length ${v.length}`);
      products++;
      // One upload and one read per product: on a GPU each transfer waits for the device.
      const directions = tf.tidy(() => {
        const flat = tf.tensor1d(Float32Array.from(v));
        return tf.split(flat, sizes).map((part, i) => part.reshape(shapes[i]));
      });
      const hv = hvp(loss, params, directions);
      const joined = tf.tidy(() => tf.concat(hv.map((t) => t.reshape([-1]))));
      const out = Float64Array.from(joined.dataSync());
      tf.dispose([...directions, ...hv, joined]);
      return out;
    },
  };
}

export interface TopK {
  /** Ritz values, descending (largest algebraic first). */
  values: Float64Array;
  /** Residual norms ||H q - lambda q|| of the Ritz pairs: how converged each value is. */
  residuals: Float64Array;
  iterations: number;
}

/**
 * The long loops below are generators that yield the number of Hessian-vector products done after each one (the
 * unit of work): `lanczos(...)` runs one to its end, while a probe drives `lanczosSteps(...)` with awaits between
 * products so its progress bar moves and a notebook interrupt can stop it. One implementation serves both.
 */
export type ProductSteps<T> = Generator<number, T, void>;

/** Runs product steps to their end without pausing. */
export function runSteps<T>(steps: ProductSteps<T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/** Lanczos iterations (Hessian-vector products) used for k eigenvalues of an n x n Hessian: at most this many. */
export function lanczosIterations(n: number, k: number, iterations?: number): number {
  return Math.min(n, iterations ?? Math.max(2 * k + 20, 40), MAX_DENSE_EIGEN);
}

export interface LanczosOptions {
  iterations?: number;
  seed?: number;
  which?: "largest" | "both";
}

/**
 * Extreme eigenvalues by Lanczos with full reorthogonalisation. Returns the k largest Ritz values
 * (and, with `which: "both"`, the smallest too, appended in ascending order after them).
 */
export function lanczos(op: HessianOperator, k: number, options: LanczosOptions = {}): TopK {
  return runSteps(lanczosSteps(op, k, options));
}

export function* lanczosSteps(op: HessianOperator, k: number, options: LanczosOptions = {}): ProductSteps<TopK> {
  const n = op.size;
  if (!(k >= 1) || !Number.isInteger(k)) throw new Error(`lanczos: k must be a positive integer, got ${k}`);
  if (k > n) throw new Error(`lanczos: asked for ${k} eigenvalues of a ${n} x ${n} Hessian`);
  const m = lanczosIterations(n, k, options.iterations);
  const rng = new Rng(options.seed ?? 0);
  const basis: Float64Array[] = [];
  const alpha: number[] = [];
  const beta: number[] = [];
  let q = normalise(Float64Array.from({ length: n }, () => rng.normal()));
  for (let j = 0; j < m; j++) {
    basis.push(q);
    const w = op.apply(q);
    yield j + 1;
    const a = dot(w, q);
    alpha.push(a);
    // Full reorthogonalisation (twice, for stability) against every Lanczos vector.
    for (let pass = 0; pass < 2; pass++) {
      for (const b of basis) axpy(-dot(w, b), b, w);
    }
    const norm = Math.sqrt(dot(w, w));
    if (j === m - 1 || norm <= 1e-10 * Math.max(1, Math.abs(a))) break;
    beta.push(norm);
    q = w.map((x) => x / norm);
  }
  const size = alpha.length;
  const t = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    t[i * size + i] = alpha[i];
    if (i + 1 < size) t[i * size + i + 1] = t[(i + 1) * size + i] = beta[i];
  }
  const eig = symmetricEigen(t, size, true);
  const lastBeta = beta.length === size ? beta[size - 1] : 0;
  const pick = options.which === "both" ? [...range(0, Math.min(k, size)), ...range(Math.max(size - k, Math.min(k, size)), size).reverse()] : range(0, Math.min(k, size));
  // Residual of a Ritz pair is |beta_m * last component of its eigenvector| (standard Lanczos bound).
  return {
    values: Float64Array.from(pick, (i) => eig.values[i]),
    residuals: Float64Array.from(pick, (i) => Math.abs(lastBeta * (eig.vectors as Float64Array[])[i][size - 1])),
    iterations: size,
  };
}

export interface TraceEstimate {
  trace: number;
  /** Standard error of the estimate over the probe vectors. */
  stderr: number;
  /** Estimated diagonal of the Hessian (mean of v * Hv). */
  diagonal: Float64Array;
  samples: number;
}

/** Hutchinson's estimator with Rademacher probes: tr H = E[v^T H v], diag H = E[v * Hv]. */
export function hutchinson(op: HessianOperator, samples = 20, seed = 0): TraceEstimate {
  return runSteps(hutchinsonSteps(op, samples, seed));
}

export function* hutchinsonSteps(op: HessianOperator, samples = 20, seed = 0): ProductSteps<TraceEstimate> {
  if (!(samples >= 2)) throw new Error(`hutchinson needs at least 2 samples for a standard error, got ${samples}`);
  const rng = new Rng(seed);
  const diagonal = new Float64Array(op.size);
  const traces: number[] = [];
  for (let s = 0; s < samples; s++) {
    const v = Float64Array.from({ length: op.size }, () => (rng.next() < 0.5 ? -1 : 1));
    const hv = op.apply(v);
    yield s + 1;
    let t = 0;
    for (let i = 0; i < op.size; i++) {
      const d = v[i] * hv[i];
      diagonal[i] += d / samples;
      t += d;
    }
    traces.push(t);
  }
  const mean = traces.reduce((a, b) => a + b, 0) / samples;
  const variance = traces.reduce((a, b) => a + (b - mean) ** 2, 0) / (samples - 1);
  return { trace: mean, stderr: Math.sqrt(variance / samples), diagonal, samples };
}

/** The dense Hessian (row-major, float64 storage, float32 products), one HVP per column, symmetrised. */
export function denseHessian(op: HessianOperator): Float64Array {
  return runSteps(denseHessianSteps(op));
}

export function* denseHessianSteps(op: HessianOperator): ProductSteps<Float64Array> {
  const n = op.size;
  if (n > MAX_DENSE_EIGEN) throw new Error(`the dense Hessian has ${n} x ${n} entries; at most ${MAX_DENSE_EIGEN} parameters are supported, use top-k (Lanczos) instead`);
  const h = new Float64Array(n * n);
  const e = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    e.fill(0);
    e[j] = 1;
    const col = op.apply(e);
    for (let i = 0; i < n; i++) h[i * n + j] = col[i];
    yield j + 1;
  }
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) h[i * n + j] = h[j * n + i] = (h[i * n + j] + h[j * n + i]) / 2;
  }
  return h;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function axpy(alpha: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) y[i] += alpha * x[i];
}

function normalise(v: Float64Array): Float64Array {
  const norm = Math.sqrt(dot(v, v));
  return v.map((x) => x / norm);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}
