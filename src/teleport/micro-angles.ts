/**
 * ws.teleport.microAngles: micro-teleports (cobRange -> 0) move along the level set, so the step
 * w' - w is orthogonal to the gradient (90 deg); a random direction in n dimensions makes
 * 90 +- (180/pi)/sqrt(n) deg with it. One gradient serves every sample.
 */
import * as tf from "@tensorflow/tfjs";
import type { Dataset } from "../data/dataset";
import type { LossKind } from "../model/functional";
import { Rng } from "../math/rng";
import { Result } from "../display/result";
import { figure, type Figure } from "../display/figure";
import { Table } from "../display/table";
import { factorsOf, sampleCob, type SamplingOptions } from "./structure";
import { landscapeOf, paramsOf, gradientAt, valuesOf, meanStd } from "./landscape";
import { optionalProgress, yieldToEventLoop } from "../display/progress";
import { checkOption, rules } from "../errors";
import { assertBytesFit } from "../model/memory";

export interface MicroAnglesOptions extends SamplingOptions {
  /** Micro-teleports (and random control directions) drawn (default 100). */
  n?: number;
  seed?: number;
  loss?: LossKind;
  /** Show a progress bar with elapsed time, rate and ETA (default true). */
  progress?: boolean;
}

export async function microAngles(model: tf.LayersModel, data: Dataset | { x: tf.Tensor; y: tf.Tensor }, options: MicroAnglesOptions = {}): Promise<MicroAnglesResult> {
  const n = checkOption("teleport.microAngles", "n", options.n ?? 100, rules.integer(1));
  // Two angles per draw are kept as plain numbers (and the arrays double as they grow).
  assertBytesFit("teleport.microAngles", `${n} draws`, n * 2 * 8 * 2, "use a smaller n");
  const land = landscapeOf(model, data, "teleport.microAngles", options.loss);
  const sampling = { ...options, cobRange: options.cobRange ?? 1e-3 };
  const rng = new Rng(options.seed ?? 0);
  const params = paramsOf(model, land, "teleport.microAngles");
  let g: Float64Array[];
  let w: Float64Array[];
  try {
    g = gradientAt(land, params);
    w = valuesOf(land, params);
  } finally {
    tf.dispose(params);
  }
  const size = g.reduce((a, x) => a + x.length, 0);
  const teleport: number[] = [];
  const control: number[] = [];
  const bar = optionalProgress(options.progress, "teleport.microAngles", n);
  for (let i = 0; i < n; i++) {
    // The step w (d - 1) in float64 from the exact factors: differencing float32 weights would add round-off of order 1e-7 / r.
    const d = factorsOf(land.structure, sampleCob(land.structure, sampling, rng));
    teleport.push(angle(g, d.map((dk, k) => dk.map((x, e) => w[k][e] * (x - 1)))));
    control.push(angle(g, g.map((gk) => Float64Array.from(gk, () => rng.normal()))));
    bar?.update(i + 1);
    if (i % 10 === 9) await yieldToEventLoop();
  }
  bar?.finish();
  return new MicroAnglesResult(teleport, control, size, sampling.cobRange);
}

/** Angle in degrees between two parameter-shaped vectors; NaN for a zero vector. */
function angle(a: Float64Array[], b: Float64Array[]): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  a.forEach((x, k) => {
    for (let e = 0; e < x.length; e++) {
      ab += x[e] * b[k][e];
      aa += x[e] * x[e];
      bb += b[k][e] * b[k][e];
    }
  });
  if (aa === 0 || bb === 0) return NaN;
  return (Math.acos(Math.max(-1, Math.min(1, ab / Math.sqrt(aa * bb)))) * 180) / Math.PI;
}

export class MicroAnglesResult extends Result {
  readonly kind = "teleport.microAngles";
  constructor(
    /** Angles (deg) between the gradient and each micro-teleport step w' - w. */
    readonly angles: number[],
    /** Angles (deg) between the gradient and random Gaussian directions. */
    readonly control: number[],
    /** Number of trainable parameters n. */
    readonly parameters: number,
    readonly cobRange: number,
  ) {
    super();
  }

  /** (180/pi)/sqrt(n): the spread of the control angles around 90 deg. */
  get expectedControlStd(): number {
    return 180 / Math.PI / Math.sqrt(this.parameters);
  }

  /** Samples whose angle is undefined (zero gradient or zero step): NaN, counted here. */
  get nanCount(): number {
    return this.angles.filter(Number.isNaN).length + this.control.filter(Number.isNaN).length;
  }

  summary(): string {
    const t = meanStd(this.angles);
    const c = meanStd(this.control);
    return `${this.angles.length} micro-teleports (r = ${this.cobRange}): ${t.mean.toFixed(6)} +- ${t.std.toExponential(2)} deg; random control ${c.mean.toFixed(4)} +- ${c.std.toExponential(2)} deg (expected +- ${this.expectedControlStd.toExponential(2)}, n = ${this.parameters})${this.nanCount ? `, ${this.nanCount} NaN` : ""}`;
  }

  figures(): Figure[] {
    const hist = (values: number[], title: string) => figure(
      [{ type: "histogram", name: title, x: values, nbinsx: 30 }],
      { title, xaxis: { title: "angle to the gradient (deg)" }, yaxis: { title: "count" } },
    );
    return [hist(this.angles, "Gradient vs micro-teleport"), hist(this.control, "Gradient vs random direction")];
  }

  table(): Table {
    const row = (name: string, values: number[], expected: number) => {
      const { mean, std } = meanStd(values);
      const finite = values.filter(Number.isFinite);
      return [name, finite.length, mean, std, Math.min(...finite), Math.max(...finite), expected];
    };
    return new Table(
      ["direction", "samples", "mean (deg)", "std (deg)", "min", "max", "expected std"],
      [row("micro-teleport", this.angles, 0), row("random", this.control, this.expectedControlStd)],
      "Angles to the gradient",
    );
  }

  protected data(): Record<string, unknown> {
    return { angles: this.angles, control: this.control, parameters: this.parameters, cobRange: this.cobRange, expectedControlStd: this.expectedControlStd, nanCount: this.nanCount };
  }
}
