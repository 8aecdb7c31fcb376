/**
 * ws.teleport.sweep: how random teleports change the gradient and weight norms as the cobRange grows,
 * measured by autodiff at each teleported point, beside the exact law of the measured quantity.
 *
 * What the closed form predicts: with g the gradient at w and taus drawn i.i.d. per hidden unit, identity 4
 * (g'_e = g_e tau_in(e) / tau_out(e)) makes the squared-norm ratio R = ||g'||^2 / ||g||^2 a random variable with
 * E[R] = sum_e g_e^2 E[tau_in^2] E[tau_out^-2] / ||g||^2; over hidden -> hidden weights (two different units,
 * independent taus) that is E[tau^2] E[tau^-2] = (1 + r^2/3)/(1 - r^2) for "intra" / "inter" sampling. Its
 * variance follows from E[tau^4] and E[tau^-4] too, so each row compares the mean of `samples` teleports with
 * the prediction in units of the exact standard error (z). Near r = 1, E[tau^-4] grows like (1 - r)^-3: R is
 * heavy-tailed and a small-sample mean usually falls below E[R] and sometimes far above it.
 */
import * as tf from "@tensorflow/tfjs";
import { checkOption, rules } from "../errors";
import { assertBytesFit } from "../model/memory";
import type { Dataset } from "../data/dataset";
import { Rng } from "../math/rng";
import { Result } from "../display/result";
import { figure, type Figure } from "../display/figure";
import { Table } from "../display/table";
import { applyCob, sampleCob, samplingMoments, endsOf, type Sampling, type CobStructure } from "./structure";
import { landscapeOf, paramsOf, gradientAt, valuesOf, meanStd, type Landscape } from "./landscape";
import { linspace } from "../math/special";
import type { LossKind } from "../model/functional";
import { optionalProgress, yieldToEventLoop } from "../display/progress";

export interface SweepOptions {
  /** cobRange values (default 10 points from 0.01 to 0.9, the paper's range). */
  ranges?: number[];
  /** Teleports per range (default 20). */
  samples?: number;
  seed?: number;
  /** "intra" (default), "inter" or "centered": samplings whose E[tau^-2] is finite. */
  sampling?: Sampling;
  center?: number;
  loss?: LossKind;
  /** Show a progress bar with elapsed time, rate and ETA (default true). */
  progress?: boolean;
}

export interface SweepRow {
  cobRange: number;
  /** R = ||g'||^2 / ||g||^2 over all trainable parameters: mean over samples and the samples' standard deviation. */
  gradRatio: number;
  gradRatioStd: number;
  /** E[R] = sum_e g_e^2 E[tau_in^2] E[tau_out^-2] / ||g||^2 and the exact standard deviation of one teleport's R. */
  predictedGrad: number;
  predictedGradStd: number;
  /** (gradRatio - predictedGrad) / (predictedGradStd / sqrt(samples)): the miss in exact standard errors of the mean. */
  gradZ: number;
  /** The same over hidden -> hidden weights only (NaN when the model has none). */
  hiddenGradRatio: number;
  hiddenGradRatioStd: number;
  /** E[tau^2] E[tau^-2] = (1 + r^2/3)/(1 - r^2) for "intra" / "inter" sampling of ReLU-like units. */
  predictedHidden: number;
  predictedHiddenStd: number;
  hiddenZ: number;
  /** ||w'|| / ||w||. */
  weightRatio: number;
  /** | ||g|| / ||w|| - ||g'|| / ||w'|| |. */
  gradOverWeightChange: number;
  gradOverWeightChangeStd: number;
}

export async function sweep(model: tf.LayersModel, data: Dataset | { x: tf.Tensor; y: tf.Tensor }, options: SweepOptions = {}): Promise<SweepResult> {
  const land = landscapeOf(model, data, "teleport.sweep", options.loss);
  const sampling = options.sampling ?? "intra";
  if (sampling === "positive" || sampling === "negative") throw new Error(`teleport.sweep: "${sampling}" sampling has E[tau^-2] = infinity, so the expected gradient boost is undefined; use "intra", "inter" or "centered"`);
  const ranges = options.ranges ?? linspace(0.01, 0.9, 10);
  const samples = options.samples ?? 20;
  checkOption("teleport.sweep", "samples", samples, rules.integer(1));
  // Four measurements per sample are kept as plain numbers until the range's statistics are taken.
  assertBytesFit("teleport.sweep", `${samples} samples per range`, samples * 4 * 8 * 2, "use fewer samples");
  if (ranges.length === 0) throw new Error("teleport.sweep: ranges is empty");
  const rng = new Rng(options.seed ?? 0);
  const params = paramsOf(model, land, "teleport.sweep");
  const bar = optionalProgress(options.progress, "teleport sweep", ranges.length * samples);
  try {
    const g = gradientAt(land, params);
    const w = valuesOf(land, params);
    const hidden = hiddenMasks(land);
    const g2 = sumSquares(g);
    const w2 = sumSquares(w);
    const hiddenG2 = maskedSquares(g, hidden);
    const rows: SweepRow[] = [];
    for (const [ri, r] of ranges.entries()) {
      const measured = { grad: [] as number[], hidden: [] as number[], weight: [] as number[], change: [] as number[] };
      for (let s = 0; s < samples; s++) {
        const tau = sampleCob(land.structure, { cobRange: r, sampling, center: options.center }, rng);
        const moved = applyCob(land.structure, params, tau);
        const g1 = gradientAt(land, moved);
        const w1 = valuesOf(land, moved);
        tf.dispose(moved);
        const g12 = sumSquares(g1);
        const w12 = sumSquares(w1);
        measured.grad.push(g12 / g2);
        measured.hidden.push(hiddenG2 > 0 ? maskedSquares(g1, hidden) / hiddenG2 : NaN);
        measured.weight.push(Math.sqrt(w12 / w2));
        measured.change.push(Math.abs(Math.sqrt(g2 / w2) - Math.sqrt(g12 / w12)));
        bar?.update(ri * samples + s + 1, `r = ${r.toFixed(3)}`);
        await yieldToEventLoop();
      }
      const grad = meanStd(measured.grad);
      const hid = meanStd(measured.hidden);
      const change = meanStd(measured.change);
      const moments = unitMoments(land.structure, sampling, r, options.center);
      const lawAll = ratioLaw(land.structure, g, null, moments);
      const lawHidden = hiddenG2 > 0 ? ratioLaw(land.structure, g, hidden, moments) : { mean: NaN, std: NaN };
      const z = (mean: number, law: { mean: number; std: number }) => (mean - law.mean) / (law.std / Math.sqrt(samples));
      rows.push({
        cobRange: r,
        gradRatio: grad.mean, gradRatioStd: grad.std, predictedGrad: lawAll.mean, predictedGradStd: lawAll.std, gradZ: z(grad.mean, lawAll),
        hiddenGradRatio: hid.mean, hiddenGradRatioStd: hid.std, predictedHidden: lawHidden.mean, predictedHiddenStd: lawHidden.std, hiddenZ: z(hid.mean, lawHidden),
        weightRatio: meanStd(measured.weight).mean, gradOverWeightChange: change.mean, gradOverWeightChangeStd: change.std,
      });
    }
    bar?.finish(`${ranges.length} ranges x ${samples} samples`);
    return new SweepResult(rows, samples, sampling, hiddenG2 > 0 ? 0 : ranges.length);
  } finally {
    tf.dispose(params);
  }
}

/** Per CoB parameter, which elements join two hidden units (both ends rescaled). */
function hiddenMasks(land: Landscape): Uint8Array[] {
  return land.structure.params.map((p) => {
    const mask = new Uint8Array(p.size);
    for (let f = 0; f < p.size; f++) {
      const [o, i] = endsOf(p, f);
      mask[f] = o >= 0 && i >= 0 ? 1 : 0;
    }
    return mask;
  });
}

function sumSquares(arrays: Float64Array[]): number {
  let s = 0;
  for (const a of arrays) for (let e = 0; e < a.length; e++) s += a[e] * a[e];
  return s;
}

function maskedSquares(arrays: Float64Array[], masks: Uint8Array[]): number {
  let s = 0;
  arrays.forEach((a, k) => {
    for (let e = 0; e < a.length; e++) if (masks[k][e]) s += a[e] * a[e];
  });
  return s;
}

/** Per-unit tau moments in the tau layout, plus one last slot for the units that keep tau = 1 (inputs, outputs). */
export interface UnitMoments { tau2: Float64Array; inverseTau2: Float64Array; tau4: Float64Array; inverseTau4: Float64Array }

export function unitMoments(structure: CobStructure, sampling: Sampling, r: number, center: number | undefined): UnitMoments {
  const n = structure.size + 1;
  const out = { tau2: new Float64Array(n).fill(1), inverseTau2: new Float64Array(n).fill(1), tau4: new Float64Array(n).fill(1), inverseTau4: new Float64Array(n).fill(1) };
  for (const group of structure.groups) {
    const m = samplingMoments(sampling, r, center, group.constraint);
    for (const key of ["tau2", "inverseTau2", "tau4", "inverseTau4"] as const) out[key].fill(m[key], group.offset, group.offset + group.size);
  }
  return out;
}

/**
 * Exact mean and standard deviation of R = sum_e G_e X_in(e) Y_out(e) / sum_e G_e, with G_e = g_e^2 over the
 * masked elements, X = tau^2, Y = tau^-2 and taus independent across units. Elements joining the same two
 * units are pooled into one pair weight G_ab. Var R = sum over pairs of pairs of G_ab G_cd Cov(X_a Y_b, X_c Y_d),
 * non-zero only when the pairs share a unit: the same pair; the same input unit; the same output unit; or a path
 * a -> u -> d through u, where X_u Y_u = 1.
 */
export function ratioLaw(structure: CobStructure, g: Float64Array[], mask: Uint8Array[] | null, m: UnitMoments): { mean: number; std: number } {
  const fixed = structure.size;
  const pairs = new Map<number, number>();
  structure.params.forEach((p, k) => {
    for (let f = 0; f < p.size; f++) {
      if (mask && !mask[k][f]) continue;
      const [o, i] = endsOf(p, f);
      const key = (i < 0 ? fixed : i) * (fixed + 1) + (o < 0 ? fixed : o);
      pairs.set(key, (pairs.get(key) ?? 0) + g[k][f] ** 2);
    }
  });
  // Per unit: sum of G Y_out over pairs leaving it (and of squares), sum of G X_in over pairs entering it (and of squares).
  const leaving = new Float64Array(fixed + 1);
  const leavingSquares = new Float64Array(fixed + 1);
  const entering = new Float64Array(fixed + 1);
  const enteringSquares = new Float64Array(fixed + 1);
  let total = 0;
  let mean = 0;
  let variance = 0;
  for (const [key, G] of pairs) {
    const a = Math.floor(key / (fixed + 1));
    const b = key % (fixed + 1);
    total += G;
    mean += G * m.tau2[a] * m.inverseTau2[b];
    variance += G * G * (m.tau4[a] * m.inverseTau4[b] - (m.tau2[a] * m.inverseTau2[b]) ** 2);
    leaving[a] += G * m.inverseTau2[b];
    leavingSquares[a] += (G * m.inverseTau2[b]) ** 2;
    entering[b] += G * m.tau2[a];
    enteringSquares[b] += (G * m.tau2[a]) ** 2;
  }
  if (!(total > 0)) return { mean: NaN, std: NaN };
  for (let u = 0; u <= fixed; u++) {
    variance += (m.tau4[u] - m.tau2[u] ** 2) * (leaving[u] ** 2 - leavingSquares[u]);
    variance += (m.inverseTau4[u] - m.inverseTau2[u] ** 2) * (entering[u] ** 2 - enteringSquares[u]);
    variance += 2 * (1 - m.tau2[u] * m.inverseTau2[u]) * entering[u] * leaving[u];
  }
  return { mean: mean / total, std: Math.sqrt(Math.max(0, variance)) / total };
}

export class SweepResult extends Result {
  readonly kind = "teleport.sweep";
  constructor(
    readonly rows: SweepRow[],
    readonly samples: number,
    readonly sampling: Sampling,
    /** Ranges whose hidden -> hidden ratio is NaN (no hidden -> hidden weights: zero denominator). */
    readonly nanCount: number,
  ) {
    super();
  }

  summary(): string {
    const last = this.rows[this.rows.length - 1];
    const se = (std: number) => (std / Math.sqrt(this.samples)).toPrecision(2);
    const hidden = Number.isNaN(last.hiddenGradRatio)
      ? "no hidden -> hidden weights"
      : `hidden -> hidden ${last.hiddenGradRatio.toPrecision(4)} vs predicted ${last.predictedHidden.toPrecision(4)} +- ${se(last.predictedHiddenStd)} (z ${last.hiddenZ.toFixed(2)})`;
    return `${this.rows.length} cobRanges x ${this.samples} ${this.sampling} teleports; mean ||g'||^2/||g||^2 at r = ${last.cobRange.toPrecision(3)}: ${hidden}; all weights ${last.gradRatio.toPrecision(4)} vs ${last.predictedGrad.toPrecision(4)} +- ${se(last.predictedGradStd)} (z ${last.gradZ.toFixed(2)})${this.nanCount ? `, ${this.nanCount} NaN (no hidden -> hidden weights)` : ""}`;
  }

  /** True when the model has hidden -> hidden weights (otherwise their columns are all NaN and are left out of figures and tables). */
  get hasHidden(): boolean {
    return this.nanCount < this.rows.length;
  }

  figures(): Figure[] {
    const r = this.rows.map((row) => row.cobRange);
    const standardErrors = (std: number[]) => ({ type: "data", array: std.map((x) => x / Math.sqrt(this.samples)), visible: true });
    // The prediction with a band of +- 2 exact standard errors of a `samples`-teleport mean.
    const band = (name: string, mean: number[], std: number[], dash: string) => [
      { type: "scatter", mode: "lines", name, x: r, y: mean, line: { dash } },
      { type: "scatter", mode: "lines", x: r, y: mean.map((m, i) => m + (2 * std[i]) / Math.sqrt(this.samples)), line: { width: 0 }, showlegend: false, hoverinfo: "skip" },
      { type: "scatter", mode: "lines", name: `${name} +- 2 SE`, x: r, y: mean.map((m, i) => Math.max(1e-12, m - (2 * std[i]) / Math.sqrt(this.samples))), line: { width: 0 }, fill: "tonexty", opacity: 0.2 },
    ];
    const hidden = this.hasHidden
      ? [
        ...band(this.hiddenLawName(), this.rows.map((row) => row.predictedHidden), this.rows.map((row) => row.predictedHiddenStd), "solid"),
        { type: "scatter", mode: "markers", name: "hidden->hidden, mean +- SE", x: r, y: this.rows.map((row) => row.hiddenGradRatio), error_y: standardErrors(this.rows.map((row) => row.hiddenGradRatioStd)) },
      ]
      : [];
    const grad = figure(
      [
        ...hidden,
        ...band("all weights, predicted", this.rows.map((row) => row.predictedGrad), this.rows.map((row) => row.predictedGradStd), "dash"),
        { type: "scatter", mode: "markers", name: "all weights, mean +- SE", x: r, y: this.rows.map((row) => row.gradRatio), error_y: standardErrors(this.rows.map((row) => row.gradRatioStd)) },
      ],
      { title: `Squared gradient norm ratio ||g'||^2 / ||g||^2 (mean of ${this.samples} teleports)`, xaxis: { title: "cobRange r" }, yaxis: { title: "ratio", type: "log" } },
    );
    const change = figure(
      [{ type: "scatter", mode: "lines+markers", name: "measured", x: r, y: this.rows.map((row) => row.gradOverWeightChange), error_y: standardErrors(this.rows.map((row) => row.gradOverWeightChangeStd)) }],
      { title: "| ||g||/||w|| - ||g'||/||w'|| |", xaxis: { title: "cobRange r" }, yaxis: { title: "change" } },
    );
    const weight = figure(
      [{ type: "scatter", mode: "lines+markers", name: "||w'|| / ||w||", x: r, y: this.rows.map((row) => row.weightRatio) }],
      { title: "Weight norm ratio ||w'|| / ||w||", xaxis: { title: "cobRange r" }, yaxis: { title: "ratio" } },
    );
    return [grad, change, weight];
  }

  /**
   * The hidden -> hidden prediction's legend: the closed form (1 + r^2/3)/(1 - r^2) only where every row equals it
   * (uniform |tau| on [1 - r, 1 + r]); other samplings and sign-flip-only units have other E[tau^2] E[tau^-2].
   */
  private hiddenLawName(): string {
    const closedForm = this.rows.every((row) => Math.abs(row.predictedHidden - (1 + row.cobRange ** 2 / 3) / (1 - row.cobRange ** 2)) <= 1e-9 * row.predictedHidden);
    return closedForm ? "hidden->hidden, predicted (1 + r^2/3)/(1 - r^2)" : "hidden->hidden, predicted E[tau_in^2] E[tau_out^-2]";
  }

  table(): Table {
    const hiddenColumns = ["hiddenGradRatio", "hiddenGradRatioStd", "predictedHidden", "predictedHiddenStd", "hiddenZ"];
    const records = this.rows.map((row) => Object.fromEntries(Object.entries(row).filter(([key]) => this.hasHidden || !hiddenColumns.includes(key))));
    return Table.fromRecords(records, this.hasHidden ? "Teleport sweep" : "Teleport sweep (no hidden -> hidden weights)");
  }

  protected data(): Record<string, unknown> {
    return { samples: this.samples, sampling: this.sampling, nanCount: this.nanCount, rows: this.rows };
  }
}
