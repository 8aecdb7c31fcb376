/**
 * ws.hessian (spectrum and inertia: the full Hessian for small nets, extreme eigenvalues by Lanczos
 * for large ones) and ws.sharpness (top eigenvalues and the Hutchinson trace). Shared by the
 * embedding and teleportation probes.
 */
import * as tf from "@tensorflow/tfjs";
import type { Dataset } from "../data/dataset";
import { figure, type Figure, type Trace } from "../display/figure";
import { Result } from "../display/result";
import { Table } from "../display/table";
import { inertia, symmetricEigen, MAX_DENSE_EIGEN, type Inertia } from "../math/eigen";
import { denseHessianSteps, hutchinsonSteps, lanczosIterations, lanczosSteps } from "../math/hessian";
import { driveSteps, optionalProgress } from "../display/progress";
import type { LossKind } from "../model/functional";
import { viewOf, type ModelView } from "../model/view";
import { InputError, checkOption, rules } from "../errors";
import { norms, withCurvature, withModelCurvature, type Curvature, type CurvatureOptions, type Precision } from "./curvature";

/** Largest model whose Hessian `exact: "auto"` computes in full (one product per parameter). */
export const AUTO_EXACT_LIMIT = 400;
/** Relative zero thresholds: |lambda| <= tol * max|lambda| counts as zero (float64 products; float32 ones are noisier). */
export const ZERO_TOL = { float64: 1e-7, float32: 1e-5 } as const;

export interface HessianOptions extends CurvatureOptions {
  /** Eigenvalues at each end of the spectrum when Lanczos is used (default 10). */
  k?: number;
  /** true: the full Hessian and all eigenvalues; false: Lanczos; "auto" (default): full up to 400 parameters. */
  exact?: boolean | "auto";
  /** Relative zero threshold for the inertia (default 1e-7 in float64, 1e-5 in float32). */
  zeroTol?: number;
  /** Lanczos iterations (default max(2k + 20, 40), at most the parameter count). */
  iterations?: number;
  /** Seed of the Lanczos start vector (default 0). */
  seed?: number;
}

/** Eigenvalues of the loss Hessian at the model's weights. */
export class HessianResult extends Result {
  readonly kind = "hessian";
  constructor(
    readonly method: "exact" | "lanczos",
    readonly precision: Precision,
    readonly lossKind: LossKind,
    /** Number of trainable parameters (the Hessian is size x size). */
    readonly size: number,
    /** Eigenvalues in descending order: all of them (exact) or the top k then the bottom k (Lanczos). */
    readonly eigenvalues: number[],
    /** Counts of negative, zero and positive eigenvalues (exact only; null for Lanczos). */
    readonly inertia: Inertia | null,
    /** Relative zero threshold and the absolute one it gives (zeroTol * max|lambda|). */
    readonly zeroTol: number,
    readonly zeroThreshold: number,
    readonly loss: number,
    /** ||grad||_2 and ||grad||_1 at the point (a critical point has both ~0). */
    readonly gradNorm: number,
    readonly gradL1: number,
    /** Lanczos residuals ||H q - lambda q|| of the returned values (zeros for exact). */
    readonly residuals: number[],
    /** Hessian-vector products spent. */
    readonly products: number,
    /** The dense Hessian (row-major, size x size) when exact, else null. */
    readonly matrix: Float64Array | null,
  ) {
    super();
  }

  /** Largest eigenvalue found. */
  get max(): number {
    return this.eigenvalues[0];
  }

  /** Smallest eigenvalue found. */
  get min(): number {
    return this.eigenvalues[this.eigenvalues.length - 1];
  }

  summary(): string {
    const counts = this.inertia ? `, inertia (neg ${this.inertia.negative}, zero ${this.inertia.zero}, pos ${this.inertia.positive})` : "";
    const what = this.method === "exact" ? `all ${this.size} eigenvalues (${this.precision})` : `${this.eigenvalues.length} extreme eigenvalues of ${this.size} by Lanczos (${this.precision})`;
    return `Hessian: ${what}: max ${fmt(this.max)}, min ${fmt(this.min)}${counts}; loss ${fmt(this.loss)}, |grad| ${fmt(this.gradNorm)}`;
  }

  figures(): Figure[] {
    const points = this.eigenvalues.map((value, i) => ({ i: i + 1, value, cls: classify(value, this.zeroThreshold) }));
    const traces: Trace[] = (["positive", "zero", "negative"] as const).map((cls) => {
      const sel = points.filter((p) => p.cls === cls);
      return {
        type: "scatter", mode: "markers", name: cls, x: sel.map((p) => p.i), y: sel.map((p) => Math.abs(p.value)),
        text: sel.map((p) => `lambda = ${p.value.toExponential(4)}`),
        marker: { color: cls === "positive" ? "#1f77b4" : cls === "negative" ? "#d62728" : "#7f7f7f", symbol: cls === "negative" ? "triangle-down" : "circle" },
      };
    });
    traces.push({ type: "scatter", mode: "lines", name: `zero threshold (${this.zeroTol} x max)`, x: [1, Math.max(2, points.length)], y: [this.zeroThreshold, this.zeroThreshold], line: { dash: "dash", color: "#7f7f7f" } });
    const counts = this.inertia ? ` (neg, zero, pos) = (${this.inertia.negative}, ${this.inertia.zero}, ${this.inertia.positive})` : "";
    return [figure(traces, {
      title: `Hessian spectrum, ${this.size} parameters${counts}`,
      xaxis: { title: { text: this.method === "exact" ? "index (descending)" : "top k, then bottom k" } },
      yaxis: { title: { text: "|eigenvalue|" }, type: "log" },
    })];
  }

  table(): Table {
    return Table.fromRecords(this.eigenvalues.map((value, i) => ({
      index: i + 1, eigenvalue: value, sign: classify(value, this.zeroThreshold), residual: this.residuals[i] ?? null,
    })), this.summary());
  }

  protected data(): Record<string, unknown> {
    return {
      method: this.method, precision: this.precision, loss: this.loss, lossKind: this.lossKind, size: this.size, eigenvalues: this.eigenvalues,
      inertia: this.inertia, zeroTol: this.zeroTol, zeroThreshold: this.zeroThreshold, gradNorm: this.gradNorm, gradL1: this.gradL1,
      residuals: this.residuals, products: this.products,
    };
  }
}

/**
 * The Hessian spectrum of a model's loss on data; the model is untouched. Awaits between Hessian-vector products: a
 * progress bar moves and a notebook interrupt stops it.
 */
export async function hessian(model: tf.LayersModel, data: Dataset | { x: tf.Tensor; y: tf.Tensor }, options: HessianOptions = {}): Promise<HessianResult> {
  const exact = resolveExact(options.exact, "hessian");
  return withModelCurvature(model, data, options, preferredPrecision(viewOf(model), exact), "hessian", (c) => spectrum(c, exact, options));
}

/** The same for an explicit parameter list (model.weights order) of a model's view; keep params alive until it settles. */
export async function hessianOf(view: ModelView, params: readonly tf.Tensor[], data: Dataset, options: HessianOptions = {}): Promise<HessianResult> {
  const exact = resolveExact(options.exact, "hessian");
  return withCurvature(view, params, data, options, preferredPrecision(view, exact), "hessian", (c) => spectrum(c, exact, options));
}

/** Full Hessians are taken in float64 where possible; Lanczos on large nets is faster with TF.js products. */
function preferredPrecision(view: ModelView, exact: boolean | "auto"): Precision {
  return exact === true || (exact === "auto" && view.trainableSize <= AUTO_EXACT_LIMIT) ? "float64" : "float32";
}

function resolveExact(exact: HessianOptions["exact"], where: string): boolean | "auto" {
  if (exact === undefined) return "auto";
  if (exact !== true && exact !== false && exact !== "auto") throw new Error(`${where}: exact must be true, false or "auto", got ${JSON.stringify(exact)}`);
  return exact;
}

/** The spectrum, with a progress bar over the Hessian-vector products labelled by the public call (`where`). */
async function spectrum(c: Curvature, exact: boolean | "auto", options: HessianOptions, where = "hessian"): Promise<HessianResult> {
  const size = c.op.size;
  const zeroTol = options.zeroTol ?? ZERO_TOL[c.precision];
  if (!(zeroTol >= 0)) throw new Error(`hessian: zeroTol must be a non-negative number, got ${options.zeroTol}`);
  const grad = norms(c.gradient);
  const full = exact === "auto" ? size <= AUTO_EXACT_LIMIT : exact;
  if (full) {
    if (size > MAX_DENSE_EIGEN) {
      throw new Error(`hessian: the model has ${size} trainable parameters; the exact Hessian is computed for at most ${MAX_DENSE_EIGEN}. Use { exact: false } for the top eigenvalues by Lanczos`);
    }
    const bar = optionalProgress(options.progress, `${where}: ${size} Hessian-vector products`, size);
    const matrix = await driveSteps(denseHessianSteps(c.op), bar);
    const values = Array.from(symmetricEigen(matrix, size).values);
    bar?.finish();
    const maxAbs = values.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    return new HessianResult("exact", c.precision, c.lossKind, size, values, inertia(values, zeroTol), zeroTol, zeroTol * maxAbs, c.loss, grad.l2, grad.l1, values.map(() => 0), c.op.products, matrix);
  }
  const k = Math.min(validK(options.k ?? 10, "hessian"), Math.floor(size / 2) || 1);
  checkIterations("hessian", options.iterations, 2 * k);
  const iterations = lanczosIterations(size, k, options.iterations);
  const bar = optionalProgress(options.progress, `${where}: Lanczos, up to ${iterations} Hessian-vector products`, iterations);
  const top = await driveSteps(lanczosSteps(c.op, k, { iterations: options.iterations, seed: options.seed, which: "both" }), bar);
  bar?.finish();
  const order = Array.from(top.values.keys()).sort((i, j) => top.values[j] - top.values[i]);
  const values = order.map((i) => top.values[i]);
  const maxAbs = values.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  return new HessianResult("lanczos", c.precision, c.lossKind, size, values, null, zeroTol, zeroTol * maxAbs, c.loss, grad.l2, grad.l1, order.map((i) => top.residuals[i]), c.op.products, null);
}

export interface SharpnessOptions extends CurvatureOptions {
  /** Number of top eigenvalues (default 1: lambda_max). */
  k?: number;
  /** "lanczos" (default; Hessian-vector products) or "exact" (the full Hessian, small nets only). */
  method?: "lanczos" | "exact";
  /** Hutchinson probe vectors for the trace (default 20; 0 skips the trace). */
  traceSamples?: number;
  iterations?: number;
  seed?: number;
}

/** Hutchinson samples one sharpness call may take (each is a Hessian-vector product over the whole data set). */
const MAX_TRACE_SAMPLES = 10000;

/** Lanczos needs at least as many iterations as eigenvalues asked for (0 gave an empty spectrum). */
function checkIterations(where: string, iterations: number | undefined, k: number): void {
  if (iterations !== undefined) checkOption(where, "iterations", iterations, rules.integer(Math.max(1, k)));
}

/** Sharpness of the loss at a point: top Hessian eigenvalues and the trace. */
export class SharpnessResult extends Result {
  readonly kind = "sharpness";
  constructor(
    readonly method: "lanczos" | "exact",
    readonly precision: Precision,
    readonly size: number,
    readonly loss: number,
    /** The k largest eigenvalues, descending. */
    readonly top: number[],
    /** Residuals of the Lanczos Ritz pairs (zeros for exact). */
    readonly residuals: number[],
    /** tr H: exact, or Hutchinson's estimate with its standard error (NaN when skipped). */
    readonly trace: number,
    readonly traceStderr: number,
    readonly traceSamples: number,
    readonly products: number,
  ) {
    super();
  }

  /** The largest eigenvalue (the usual "sharpness"). */
  get lambdaMax(): number {
    return this.top[0];
  }

  summary(): string {
    const trace = Number.isNaN(this.trace) ? "" : `, trace ${fmt(this.trace)}${this.traceStderr > 0 ? ` +- ${fmt(this.traceStderr)}` : ""}`;
    return `sharpness: lambda_max ${fmt(this.lambdaMax)}${trace} (${this.method}, ${this.precision}, ${this.size} parameters, loss ${fmt(this.loss)})`;
  }

  figures(): Figure[] {
    return [figure([{ type: "bar", name: "eigenvalue", x: this.top.map((_, i) => `lambda_${i + 1}`), y: this.top }], {
      title: `Top Hessian eigenvalues${Number.isNaN(this.trace) ? "" : ` (trace ${fmt(this.trace)})`}`, yaxis: { title: { text: "eigenvalue" } },
    })];
  }

  table(): Table {
    const rows: Record<string, number | string>[] = this.top.map((v, i) => ({ quantity: `lambda_${i + 1}`, value: v, error: this.residuals[i] }));
    if (!Number.isNaN(this.trace)) rows.push({ quantity: "trace", value: this.trace, error: this.traceStderr });
    return Table.fromRecords(rows, this.summary());
  }

  protected data(): Record<string, unknown> {
    return {
      method: this.method, precision: this.precision, size: this.size, loss: this.loss, top: this.top, residuals: this.residuals,
      trace: this.trace, traceStderr: this.traceStderr, traceSamples: this.traceSamples, products: this.products,
    };
  }
}

/**
 * Top Hessian eigenvalues (Lanczos) and the Hutchinson trace of a model's loss on data; the model is untouched.
 * Awaits between Hessian-vector products: a progress bar moves and a notebook interrupt stops it.
 */
export async function sharpness(model: tf.LayersModel, data: Dataset | { x: tf.Tensor; y: tf.Tensor }, options: SharpnessOptions = {}): Promise<SharpnessResult> {
  const method = sharpnessMethod(options.method);
  return withModelCurvature(model, data, options, method === "exact" ? "float64" : "float32", "sharpness", (c) => measureSharpness(c, method, options));
}

/** The same for an explicit parameter list (model.weights order) of a model's view; keep params alive until it settles. */
export async function sharpnessOf(view: ModelView, params: readonly tf.Tensor[], data: Dataset, options: SharpnessOptions = {}): Promise<SharpnessResult> {
  const method = sharpnessMethod(options.method);
  return withCurvature(view, params, data, options, method === "exact" ? "float64" : "float32", "sharpness", (c) => measureSharpness(c, method, options));
}

function sharpnessMethod(method: SharpnessOptions["method"]): "lanczos" | "exact" {
  const m = method ?? "lanczos";
  if (m !== "lanczos" && m !== "exact") throw new Error(`sharpness: method must be "lanczos" or "exact", got ${JSON.stringify(method)}`);
  return m;
}

async function measureSharpness(c: Curvature, method: "lanczos" | "exact", options: SharpnessOptions): Promise<SharpnessResult> {
  const k = Math.min(validK(options.k ?? 1, "sharpness"), c.op.size);
  checkIterations("sharpness", options.iterations, k);
  const samples = options.traceSamples ?? 20;
  // Each trace sample costs a Hessian-vector product: the count is bounded.
  if (!(Number.isInteger(samples) && samples >= 0 && samples !== 1 && samples <= MAX_TRACE_SAMPLES)) {
    throw new InputError("invalid-option", `sharpness: traceSamples must be 0 (no trace) or an integer from 2 to ${MAX_TRACE_SAMPLES}, got ${samples}`, "traceSamples");
  }
  if (method === "exact") {
    const spectrumResult = await spectrum(c, true, { progress: options.progress }, "sharpness");
    const trace = spectrumResult.eigenvalues.reduce((a, v) => a + v, 0);
    return new SharpnessResult("exact", c.precision, c.op.size, c.loss, spectrumResult.eigenvalues.slice(0, k), new Array<number>(k).fill(0), trace, 0, 0, c.op.products);
  }
  const iterations = lanczosIterations(c.op.size, k, options.iterations);
  const bar = optionalProgress(options.progress, `sharpness: up to ${iterations + samples} Hessian-vector products`, iterations + samples);
  const top = await driveSteps(lanczosSteps(c.op, k, { iterations: options.iterations, seed: options.seed }), bar);
  const trace = samples > 0 ? await driveSteps(hutchinsonSteps(c.op, samples, (options.seed ?? 0) + 1), bar, top.iterations) : null;
  bar?.finish();
  return new SharpnessResult("lanczos", c.precision, c.op.size, c.loss, Array.from(top.values), Array.from(top.residuals), trace?.trace ?? NaN, trace?.stderr ?? NaN, samples, c.op.products);
}

function validK(k: number, where: string): number {
  if (!Number.isInteger(k) || k < 1) throw new Error(`${where}: k must be a positive integer, got ${k}`);
  return k;
}

function classify(value: number, threshold: number): "negative" | "zero" | "positive" {
  return Math.abs(value) <= threshold ? "zero" : value < 0 ? "negative" : "positive";
}

function fmt(x: number): string {
  return Number.isFinite(x) && x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e5) ? x.toExponential(3) : String(Number(x.toPrecision(5)));
}
