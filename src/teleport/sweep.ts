/**
 * ws.teleport.sweep: how random teleports change the gradient and weight norms as the cobRange grows,
 * measured by autodiff at each teleported point, beside the closed-form expectation
 * E ||g'||^2 = sum_e g_e^2 E[tau_in^2] E[tau_out^-2] (hidden -> hidden: (1 + r^2/3) / (1 - r^2)).
 */
import * as tf from "@tensorflow/tfjs";
import type { Dataset } from "../data/dataset";
import { Rng } from "../math/rng";
import { Result } from "../display/result";
import { figure, type Figure } from "../display/figure";
import { Table } from "../display/table";
import { progress } from "../display/progress";
import { applyCob, sampleCob, samplingMoments, endsOf, type Sampling } from "./structure";
import { landscapeOf, paramsOf, gradientAt, valuesOf, linspace, meanStd, pause, type Landscape } from "./landscape";
import type { LossKind } from "../model/functional";

export interface SweepOptions {
  /** cobRange values (default 10 points from 0.01 to 0.9, the paper's range). */
  ranges?: number[];
  /** Teleports per range (default 5). */
  samples?: number;
  seed?: number;
  /** "intra" (default), "inter" or "centered": samplings whose E[tau^-2] is finite. */
  sampling?: Sampling;
  center?: number;
  loss?: LossKind;
}

export interface SweepRow {
  cobRange: number;
  /** ||g'||^2 / ||g||^2 over all trainable parameters: mean and std over samples. */
  gradRatio: number;
  gradRatioStd: number;
  /** The same over hidden -> hidden weights only (NaN when the model has none). */
  hiddenGradRatio: number;
  hiddenGradRatioStd: number;
  /** E[tau^2] E[tau^-2]: the expected hidden -> hidden ratio. */
  predictedHidden: number;
  /** sum_e g_e^2 E[tau_in^2] E[tau_out^-2] / ||g||^2: the expected whole-network ratio. */
  predictedGrad: number;
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
  const samples = options.samples ?? 5;
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`teleport.sweep: samples must be a positive integer, got ${samples}`);
  if (ranges.length === 0) throw new Error("teleport.sweep: ranges is empty");
  const rng = new Rng(options.seed ?? 0);
  const params = paramsOf(model, land, "teleport.sweep");
  const bar = progress("teleport sweep", ranges.length * samples);
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
        bar.update(ri * samples + s + 1, `r = ${r.toFixed(3)}`);
        await pause();
      }
      const grad = meanStd(measured.grad);
      const hid = meanStd(measured.hidden);
      const change = meanStd(measured.change);
      const m = samplingMoments(sampling, r, options.center);
      rows.push({
        cobRange: r, gradRatio: grad.mean, gradRatioStd: grad.std, hiddenGradRatio: hid.mean, hiddenGradRatioStd: hid.std,
        predictedHidden: m.tau2 * m.inverseTau2, predictedGrad: expectedRatio(land, g, sampling, r, options.center) / g2,
        weightRatio: meanStd(measured.weight).mean, gradOverWeightChange: change.mean, gradOverWeightChangeStd: change.std,
      });
    }
    bar.finish(`${ranges.length} ranges x ${samples} samples`);
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

/** sum_e g_e^2 E[tau_in(e)^2] E[tau_out(e)^-2], with each hidden group's own moments. */
function expectedRatio(land: Landscape, g: Float64Array[], sampling: Sampling, r: number, center: number | undefined): number {
  const tau2 = new Float64Array(land.structure.size);
  const inverse = new Float64Array(land.structure.size);
  for (const group of land.structure.groups) {
    const m = samplingMoments(sampling, r, center, group.constraint);
    tau2.fill(m.tau2, group.offset, group.offset + group.size);
    inverse.fill(m.inverseTau2, group.offset, group.offset + group.size);
  }
  let s = 0;
  land.structure.params.forEach((p, k) => {
    for (let f = 0; f < p.size; f++) {
      const [o, i] = endsOf(p, f);
      s += g[k][f] ** 2 * (i < 0 ? 1 : tau2[i]) * (o < 0 ? 1 : inverse[o]);
    }
  });
  return s;
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
    return `${this.rows.length} cobRanges x ${this.samples} ${this.sampling} teleports; at r = ${last.cobRange.toPrecision(3)}: hidden grad ratio ${last.hiddenGradRatio.toPrecision(4)} (predicted ${last.predictedHidden.toPrecision(4)}), total ${last.gradRatio.toPrecision(4)} (predicted ${last.predictedGrad.toPrecision(4)})${this.nanCount ? `, ${this.nanCount} NaN (no hidden -> hidden weights)` : ""}`;
  }

  figures(): Figure[] {
    const r = this.rows.map((row) => row.cobRange);
    const band = (std: number[]) => ({ type: "data", array: std, visible: true });
    const grad = figure(
      [
        { type: "scatter", mode: "markers", name: "hidden->hidden, measured", x: r, y: this.rows.map((row) => row.hiddenGradRatio), error_y: band(this.rows.map((row) => row.hiddenGradRatioStd)) },
        { type: "scatter", mode: "lines", name: "(1 + r^2/3)/(1 - r^2)", x: r, y: this.rows.map((row) => row.predictedHidden) },
        { type: "scatter", mode: "markers", name: "all weights, measured", x: r, y: this.rows.map((row) => row.gradRatio), error_y: band(this.rows.map((row) => row.gradRatioStd)) },
        { type: "scatter", mode: "lines", name: "all weights, predicted", x: r, y: this.rows.map((row) => row.predictedGrad), line: { dash: "dash" } },
      ],
      { title: "Squared gradient norm ratio ||g'||^2 / ||g||^2", xaxis: { title: "cobRange r" }, yaxis: { title: "ratio", type: "log" } },
    );
    const change = figure(
      [{ type: "scatter", mode: "lines+markers", name: "measured", x: r, y: this.rows.map((row) => row.gradOverWeightChange), error_y: band(this.rows.map((row) => row.gradOverWeightChangeStd)) }],
      { title: "| ||g||/||w|| - ||g'||/||w'|| |", xaxis: { title: "cobRange r" }, yaxis: { title: "change" } },
    );
    const weight = figure(
      [{ type: "scatter", mode: "lines+markers", name: "||w'|| / ||w||", x: r, y: this.rows.map((row) => row.weightRatio) }],
      { title: "Weight norm ratio ||w'|| / ||w||", xaxis: { title: "cobRange r" }, yaxis: { title: "ratio" } },
    );
    return [grad, change, weight];
  }

  table(): Table {
    return Table.fromRecords(this.rows.map((row) => ({ ...row })), "Teleport sweep");
  }

  protected data(): Record<string, unknown> {
    return { samples: this.samples, sampling: this.sampling, nanCount: this.nanCount, rows: this.rows };
  }
}
