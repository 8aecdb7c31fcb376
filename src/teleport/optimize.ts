/**
 * ws.teleport.optimize: choose the CoB instead of sampling it. With tau = exp(theta) and
 * s_e = theta_out(e) - theta_in(e), every objective is a closed form in theta built from quantities at
 * the ORIGINAL weights (one gradient, HVPs, a Hutchinson diagonal), so no forward pass is needed while
 * optimising, and the result is an exact teleport (checked like any other):
 *   gradNorm          maximise ||g'||^2 = sum g^2 e^{-2s}
 *   oneStepDecrease   maximise lr ||D^-1 g||^2 - lr^2/2 (D^-2 g)^T H (D^-2 g)   (one HVP per evaluation)
 *   balance           minimise ||w'||^2 = sum w^2 e^{2s}
 *   sharper / flatter maximise / minimise tr H' = sum diag(H) e^{-2s}
 * theta stays in the box [log(1 - r), log(1 + r)] (r = cobRange); projected ascent with backtracking
 * only accepts improving steps, so the result is never worse than the start (theta = 0).
 */
import * as tf from "@tensorflow/tfjs";
import type { Dataset } from "../data/dataset";
import type { LossKind } from "../model/functional";
import { hvp, hessianOperator, hutchinson } from "../math/hessian";
import { Result } from "../display/result";
import { figure, type Figure } from "../display/figure";
import { Table } from "../display/table";
import { endsOf, perLayer, type CobStructure, type LayerCob } from "./structure";
import { landscapeOf, paramsOf, gradientAt, valuesOf, cobLoss, lossAt, type Landscape } from "./landscape";
import { readParams } from "../model/params";
import { teleport, type FunctionCheck, type TeleportResult } from "./teleport";
import { optionalProgress, yieldToEventLoop } from "../display/progress";

export type Objective = "gradNorm" | "oneStepDecrease" | "balance" | "sharper" | "flatter";
const OBJECTIVES: Objective[] = ["gradNorm", "oneStepDecrease", "balance", "sharper", "flatter"];
const MAXIMISED: Record<Objective, boolean> = { gradNorm: true, oneStepDecrease: true, balance: false, sharper: true, flatter: false };

export interface OptimizeOptions {
  objective?: Objective;
  /** theta = log tau is kept in [log(1 - r), log(1 + r)] (default 0.5). */
  cobRange?: number;
  /** Learning rate of the SGD step whose decrease "oneStepDecrease" maximises (default 0.01). */
  lr?: number;
  /** Ascent iterations (default 50). */
  steps?: number;
  /** Hutchinson probes for diag(H) ("sharper" / "flatter"; default 20). */
  samples?: number;
  seed?: number;
  loss?: LossKind;
  /** Inputs for the function check (default: seeded random inputs). */
  probe?: tf.Tensor;
  /** Show a progress bar with elapsed time, rate and ETA (default true). */
  progress?: boolean;
}

/** Objective value and its gradient with respect to s_e (per CoB parameter element). */
type Evaluate = (s: Float64Array[]) => Promise<{ value: number; ds: Float64Array[] }>;

export type SearchSettings = Required<Pick<OptimizeOptions, "objective" | "cobRange" | "lr" | "steps">> & OptimizeOptions;

/** Options with defaults filled in, or a clear error naming `where`. */
export function searchSettings(options: OptimizeOptions, where: string): SearchSettings {
  const objective = options.objective ?? "gradNorm";
  if (!OBJECTIVES.includes(objective)) throw new Error(`${where}: unknown objective "${String(objective)}"; use ${OBJECTIVES.join(", ")}`);
  const cobRange = options.cobRange ?? 0.5;
  if (!(cobRange > 0 && cobRange < 1)) throw new Error(`${where}: cobRange must be in (0, 1) (theta in [log(1 - r), log(1 + r)]), got ${cobRange}`);
  const lr = options.lr ?? 0.01;
  if (!(lr > 0)) throw new Error(`${where}: lr must be positive, got ${lr}`);
  const steps = options.steps ?? 50;
  if (!Number.isInteger(steps) || steps < 0) throw new Error(`${where}: steps must be a non-negative integer, got ${steps}`);
  return { ...options, objective, cobRange, lr, steps };
}

export async function optimize(model: tf.LayersModel, data: Dataset | { x: tf.Tensor; y: tf.Tensor }, options: OptimizeOptions = {}): Promise<OptimizeResult> {
  const settings = searchSettings(options, "teleport.optimize");
  const { objective, lr } = settings;
  const land = landscapeOf(model, data, "teleport.optimize", options.loss);
  const params = paramsOf(model, land, "teleport.optimize");
  try {
    const search = await searchCob(land, params, settings);
    const result = teleport(model, { cob: perLayer(land.structure, search.theta.map(Math.exp)), probe: options.probe });
    const measure = measurer(land, objective, lr);
    const measuredValues = measure ? { before: measure(model), after: measure(result.model) } : null;
    return new OptimizeResult(result, objective, search, measuredValues);
  } finally {
    tf.dispose(params);
  }
}

export interface CobSearch {
  theta: Float64Array;
  box: { low: Float64Array; high: Float64Array };
  /** Objective at the start (theta = 0) and at the end. */
  before: number;
  after: number;
  /** Objective after each ascent iteration. */
  history: number[];
}

/** The CoB search itself, on a parameter list (also used by teleporting during training). */
export async function searchCob(land: Landscape, params: readonly tf.Tensor[], options: SearchSettings, showProgress = true): Promise<CobSearch> {
  const { structure } = land;
  const { objective, cobRange: r, lr, steps } = options;
  const box = boxOf(structure, r);
  const g = gradientAt(land, params);
  let evaluate: Evaluate;
  if (objective === "gradNorm") {
    evaluate = async (s) => weightedSum(g, s, -2, 1);
  } else if (objective === "balance") {
    const w = valuesOf(land, params);
    evaluate = async (s) => weightedSum(w, s, 2, 1);
  } else if (objective === "oneStepDecrease") {
    evaluate = oneStepDecrease(land, params, g, lr);
  } else {
    const { loss, at } = cobLoss(land, params);
    // Negative entries of the noisy diagonal estimate are clipped at 0, so the search cannot exploit estimator noise.
    const diag = split(structure, hutchinson(hessianOperator(loss, at), options.samples ?? 20, options.seed ?? 0).diagonal.map((x) => Math.max(0, x)));
    evaluate = async (s) => weightedSumSigned(diag, s);
  }
  const sign = MAXIMISED[objective] ? 1 : -1;
  const bar = showProgress ? optionalProgress(options.progress, `teleport.optimize ${objective}`, steps) : null;
  let theta = new Float64Array(structure.size);
  let current = await evaluate(logFactors(structure, theta));
  const before = current.value;
  const history = [before];
  let grad = chain(structure, current.ds);
  let step = Math.log((1 + r) / (1 - r)) / 4;
  for (let it = 0; it < steps && step > 1e-9; it++) {
    const scale = grad.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
    if (scale === 0) break;
    const candidate = theta.map((t, k) => Math.min(box.high[k], Math.max(box.low[k], t + (sign * step * grad[k]) / scale)));
    const next = await evaluate(logFactors(structure, candidate));
    if (sign * (next.value - current.value) > 0) {
      theta = candidate;
      current = next;
      grad = chain(structure, next.ds);
      step *= 1.5;
    } else {
      step *= 0.5;
    }
    history.push(current.value);
    bar?.update(it + 1, `${objective} ${current.value.toPrecision(5)}`);
    await yieldToEventLoop();
  }
  bar?.finish(`${objective} ${before.toPrecision(5)} -> ${current.value.toPrecision(5)}`);
  return { theta, box, before, after: current.value, history };
}

/** Re-measures an objective on a model itself (autodiff gradient, weights, a real SGD step); null for the Hessian-trace objectives. */
function measurer(land: Landscape, objective: Objective, lr: number): ((model: tf.LayersModel) => number) | null {
  if (objective === "gradNorm") return (m) => measured(m, (p) => squares(gradientAt(land, p)));
  if (objective === "balance") return (m) => measured(m, (p) => squares(valuesOf(land, p)));
  if (objective === "oneStepDecrease") return (m) => measured(m, (p) => actualDecrease(land, p, lr));
  return null;
}

/** theta bounds per unit: the cobRange box for rescalable groups, 0 for groups that must keep tau = 1 (or only flip signs). */
function boxOf(structure: CobStructure, r: number): { low: Float64Array; high: Float64Array } {
  const low = new Float64Array(structure.size);
  const high = new Float64Array(structure.size);
  for (const g of structure.groups) {
    if (g.constraint === "any" || g.constraint === "positive") {
      low.fill(Math.log(1 - r), g.offset, g.offset + g.size);
      high.fill(Math.log(1 + r), g.offset, g.offset + g.size);
    }
  }
  return { low, high };
}

/** s_e = log d_e = theta_out(e) - theta_in(e). */
function logFactors(structure: CobStructure, theta: Float64Array): Float64Array[] {
  return structure.params.map((p) => {
    const s = new Float64Array(p.size);
    for (let f = 0; f < p.size; f++) {
      const [o, i] = endsOf(p, f);
      s[f] = (o < 0 ? 0 : theta[o]) - (i < 0 ? 0 : theta[i]);
    }
    return s;
  });
}

/** d/d theta_k from d/d s_e: + over edges ending at k (incoming, bias), - over edges leaving k. */
function chain(structure: CobStructure, ds: Float64Array[]): Float64Array {
  const out = new Float64Array(structure.size);
  structure.params.forEach((p, k) => {
    for (let f = 0; f < p.size; f++) {
      const [o, i] = endsOf(p, f);
      if (o >= 0) out[o] += ds[k][f];
      if (i >= 0) out[i] -= ds[k][f];
    }
  });
  return out;
}

/** sum_e (c x_e^2) e^{k s_e} with its s-gradient (x: gradient or weights; c = 1). */
function weightedSum(x: Float64Array[], s: Float64Array[], k: number, c: number): { value: number; ds: Float64Array[] } {
  let value = 0;
  const ds = x.map((xk, j) => {
    const out = new Float64Array(xk.length);
    for (let e = 0; e < xk.length; e++) {
      const term = c * xk[e] * xk[e] * Math.exp(k * s[j][e]);
      value += term;
      out[e] = k * term;
    }
    return out;
  });
  return { value, ds };
}

/** sum_e h_e e^{-2 s_e} for a signed h (the Hessian diagonal). */
function weightedSumSigned(h: Float64Array[], s: Float64Array[]): { value: number; ds: Float64Array[] } {
  let value = 0;
  const ds = h.map((hk, j) => {
    const out = new Float64Array(hk.length);
    for (let e = 0; e < hk.length; e++) {
      const term = hk[e] * Math.exp(-2 * s[j][e]);
      value += term;
      out[e] = -2 * term;
    }
    return out;
  });
  return { value, ds };
}

/** lr ||D^-1 g||^2 - lr^2/2 u^T H u with u = D^-2 g; H at the original weights, one HVP per call. */
function oneStepDecrease(land: Landscape, params: readonly tf.Tensor[], g: Float64Array[], lr: number): Evaluate {
  const { loss, at } = cobLoss(land, params);
  return async (s) => {
    const u = g.map((gk, j) => gk.map((x, e) => x * Math.exp(-2 * s[j][e])));
    const directions = u.map((uk, j) => tf.tensor(Float32Array.from(uk), at[j].shape));
    const hu = hvp(loss, at, directions);
    const huValues = hu.map((t) => t.dataSync());
    tf.dispose([...directions, ...hu]);
    const linear = weightedSum(g, s, -2, lr);
    let quadratic = 0;
    const ds = linear.ds.map((dk, j) =>
      dk.map((x, e) => {
        quadratic += u[j][e] * huValues[j][e];
        return x + 2 * lr * lr * u[j][e] * huValues[j][e];
      }),
    );
    return { value: linear.value - ((lr * lr) / 2) * quadratic, ds };
  };
}

/** L(w) - L(w - lr g): the decrease one real SGD step gives. */
function actualDecrease(land: Landscape, params: readonly tf.Tensor[], lr: number): number {
  const g = gradientAt(land, params);
  const stepped = params.map((p) => p.clone());
  land.structure.params.forEach((p, k) => {
    stepped[p.index].dispose();
    stepped[p.index] = tf.tidy(() => tf.sub(params[p.index], tf.mul(lr, tf.tensor(Float32Array.from(g[k]), params[p.index].shape))));
  });
  const decrease = lossAt(land, params) - lossAt(land, stepped);
  tf.dispose(stepped);
  return decrease;
}

function measured(model: tf.LayersModel, f: (params: tf.Tensor[]) => number): number {
  const params = readParams(model);
  try {
    return f(params);
  } finally {
    tf.dispose(params);
  }
}

function squares(arrays: Float64Array[]): number {
  return arrays.reduce((a, x) => a + x.reduce((b, v) => b + v * v, 0), 0);
}

/** Splits a concatenated vector (structure.params order) into per-parameter arrays. */
function split(structure: CobStructure, flat: Float64Array): Float64Array[] {
  let offset = 0;
  return structure.params.map((p) => {
    const part = flat.slice(offset, offset + p.size);
    offset += p.size;
    return part;
  });
}

export class OptimizeResult extends Result {
  readonly kind = "teleport.optimize";
  constructor(
    /** The teleport with the optimised CoB (its .model, .cob, .check, .undo()). */
    readonly teleport: TeleportResult,
    readonly objective: Objective,
    /** theta, box, objective before / after and per iteration. */
    readonly search: CobSearch,
    /** The objective re-measured on the models themselves (autodiff gradient, weights, a real SGD step); null for the Hessian-trace objectives. */
    readonly measured: { before: number; after: number } | null,
  ) {
    super();
  }

  get before(): number {
    return this.search.before;
  }

  get after(): number {
    return this.search.after;
  }

  get history(): number[] {
    return this.search.history;
  }

  get model(): tf.LayersModel {
    return this.teleport.model;
  }

  get cob(): LayerCob[] {
    return this.teleport.cob;
  }

  get check(): FunctionCheck {
    return this.teleport.check;
  }

  undo(): TeleportResult {
    return this.teleport.undo();
  }

  summary(): string {
    const m = this.measured ? ` (measured on the models: ${this.measured.before.toPrecision(5)} -> ${this.measured.after.toPrecision(5)})` : "";
    return `${this.objective}: ${this.before.toPrecision(5)} -> ${this.after.toPrecision(5)}${m} in ${this.history.length - 1} iterations; function check rel ${this.check.rel.toExponential(2)}`;
  }

  figures(): Figure[] {
    const progressFig = figure(
      [{ type: "scatter", mode: "lines+markers", name: this.objective, x: this.history.map((_, i) => i), y: this.history }],
      { title: `Objective ${this.objective} during the CoB search`, xaxis: { title: "iteration" }, yaxis: { title: this.objective } },
    );
    return [progressFig, ...this.teleport.figures().slice(1)];
  }

  table(): Table {
    return Table.fromObject({
      objective: this.objective, before: this.before, after: this.after,
      "measured before": this.measured?.before ?? null, "measured after": this.measured?.after ?? null,
      iterations: this.history.length - 1, "check maxAbs": this.check.maxAbs, "check rel": this.check.rel,
    }, "Optimised teleport");
  }

  protected data(): Record<string, unknown> {
    return { objective: this.objective, before: this.before, after: this.after, measured: this.measured, history: this.history, theta: Array.from(this.search.theta), check: this.check };
  }
}
