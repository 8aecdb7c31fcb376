/**
 * The plateau ladder: 2-layer ReLU nets of several widths trained by full-batch gradient descent from
 * a small initialisation on 1-D data stall at shared loss levels, each level with as many condensed
 * neuron groups as the narrow net it is embedded from. Training runs in float64 on the exact gradient
 * (hessian/float64): 10^4 steps of tiny nets are dominated by TF.js per-op overhead otherwise.
 */
import * as tf from "@tensorflow/tfjs";
import { figure, type Figure } from "../display/figure";
import { optionalProgress, yieldToEventLoop } from "../display/progress";
import { Result } from "../display/result";
import { Table } from "../display/table";
import { ExactNet } from "../hessian/float64";
import { Rng } from "../math/rng";
import { viewOf } from "../model/view";
import { groupNeurons } from "./condense";
import { InputError, checkOptions, formatValue, rules } from "../errors";
import { assertBytesFit } from "../model/memory";

/** The lecture's target: ReLU(2x + 0.6) - ReLU(x) + ReLU(0.5x - 0.4) - ReLU(1.5x - 0.6). */
export function ladderTarget(x: number): number {
  const r = (z: number) => Math.max(z, 0);
  return r(2 * x + 0.6) - r(x) + r(0.5 * x - 0.4) - r(1.5 * x - 0.6);
}

export interface LadderOptions {
  /** Target function on [-1, 1] (default ladderTarget). */
  target?: (x: number) => number;
  /** Hidden widths to train (default [1, 2, 4, 16]). */
  widths?: number[];
  /** Gradient-descent steps (default 20000) and learning rate (default 0.1). */
  steps?: number;
  lr?: number;
  /** Training points, evenly spaced on [-1, 1] (default 40). */
  points?: number;
  /** Standard deviation of the initial weights and biases (default 1e-3). */
  init?: number;
  /** Record loss and effective width every this many steps (default steps / 200). */
  every?: number;
  /** Orientation cosine for the effective width (default 0.99) and amplitude threshold (default 1e-2 x max). */
  cosine?: number;
  minAmplitude?: number;
  seed?: number;
  /** Show a progress bar with elapsed time, rate and ETA (default true). */
  progress?: boolean;
}

export class LadderResult extends Result {
  readonly kind = "ladder";
  constructor(
    readonly widths: number[],
    readonly steps: number[],
    /** losses[i][t]: half mean squared error of width i at steps[t]. */
    readonly losses: number[][],
    /** effectiveWidths[i][t]: condensed groups of width i at steps[t]. */
    readonly effectiveWidths: number[][],
    /** The trained models (NEW tf.LayersModels, one per width). */
    readonly models: tf.LayersModel[],
  ) {
    super();
  }

  /** Final loss of each width: the critical values the wider nets' plateaus are compared with. */
  get finalLosses(): number[] {
    return this.losses.map((l) => l[l.length - 1]);
  }

  summary(): string {
    return `plateau ladder: widths [${this.widths.join(", ")}], ${this.steps[this.steps.length - 1]} steps; final losses [${this.finalLosses.map((l) => l.toExponential(4)).join(", ")}], effective widths [${this.effectiveWidths.map((e) => e[e.length - 1]).join(", ")}]`;
  }

  figures(): Figure[] {
    const last = this.steps[this.steps.length - 1];
    const lossTraces = this.widths.map((w, i) => ({ type: "scatter", mode: "lines", name: `width ${w}`, x: this.steps.map((s) => s + 1), y: this.losses[i] }));
    const levels = this.widths.map((w, i) => ({
      type: "scatter", mode: "lines", name: `final loss of width ${w}`, x: [1, last + 1], y: [this.finalLosses[i], this.finalLosses[i]], line: { dash: "dot", width: 1 }, showlegend: false,
    }));
    return [
      figure([...lossTraces, ...levels], { title: "Loss: shared plateaus (dotted: each width's final loss)", xaxis: { title: { text: "step + 1" }, type: "log" }, yaxis: { title: { text: "loss" }, type: "log" } }),
      figure(this.widths.map((w, i) => ({ type: "scatter", mode: "lines", name: `width ${w}`, x: this.steps.map((s) => s + 1), y: this.effectiveWidths[i], line: { shape: "hv" } })), {
        title: "Effective width (condensed groups)", xaxis: { title: { text: "step + 1" }, type: "log" }, yaxis: { title: { text: "groups" } },
      }),
    ];
  }

  table(): Table {
    return Table.fromRecords(this.widths.map((w, i) => ({
      width: w, "final loss": this.finalLosses[i], "effective width": this.effectiveWidths[i][this.effectiveWidths[i].length - 1],
    })), this.summary());
  }

  protected data(): Record<string, unknown> {
    return { widths: this.widths, steps: this.steps, losses: this.losses, effectiveWidths: this.effectiveWidths };
  }
}

const YIELD_MS = 50;

/** Trains the widths one after another and records loss and effective width over time. */
export async function ladder(options: LadderOptions = {}): Promise<LadderResult> {
  const widths = options.widths ?? [1, 2, 4, 16];
  const steps = options.steps ?? 20000;
  const lr = options.lr ?? 0.1;
  const points = options.points ?? 40;
  const every = options.every ?? Math.max(1, Math.floor(steps / 200));
  const target = options.target ?? ladderTarget;
  checkOptions("embed.ladder", options, {
    steps: rules.integer(1), lr: rules.positive(), points: rules.integer(2), every: rules.integer(1), init: rules.nonNegative(),
    cosine: { above: 0, max: 1 }, minAmplitude: { min: 0, below: 1 }, seed: rules.finite(),
  });
  if (!Array.isArray(widths) || widths.length === 0 || widths.some((w) => !Number.isInteger(w) || w < 1)) {
    throw new InputError("invalid-option", `embed.ladder: widths must be positive integers, got ${formatValue(widths)}`, "widths");
  }
  // Per width: float64 parameters and gradients, the hidden activations of every point, and the recorded history.
  const recordedCount = Math.floor(steps / every) + 2;
  const bytes = widths.reduce((a, w) => a + w * (3 * 8 * 4 + points * 8 * 4 + 64) + recordedCount * 32, 0);
  assertBytesFit("embed.ladder", `training widths [${widths.join(", ")}] on ${points} points, recording ${recordedCount} times`, bytes, "use smaller widths, fewer points or a larger every");
  const xs = Float64Array.from({ length: points }, (_, i) => -1 + (2 * i) / (points - 1));
  const ys = xs.map((x) => target(x));
  if (ys.some((y) => !Number.isFinite(y))) throw new InputError("invalid-option", "embed.ladder: the target returned a non-finite value on [-1, 1]", "target");
  const data = { n: points, x: xs, y: ys };
  const recorded: number[] = [];
  for (let s = 0; s <= steps; s += every) recorded.push(s);
  if (recorded[recorded.length - 1] !== steps) recorded.push(steps);
  const losses: number[][] = [];
  const effective: number[][] = [];
  const models: tf.LayersModel[] = [];
  const bar = optionalProgress(options.progress, "plateau ladder", widths.length * steps);
  let lastYield = Date.now();
  try {
    for (const [wi, width] of widths.entries()) {
      const model = ladderNet(width, options.init ?? 1e-3, (options.seed ?? 0) + wi);
      models.push(model);
      const net = ExactNet.of(viewOf(model)) as ExactNet;
      const params = model.weights.map((w) => Float64Array.from(w.read().dataSync()));
      const lossRow: number[] = [];
      const widthRow: number[] = [];
      let next = 0;
      for (let step = 0; step <= steps; step++) {
        const { loss, gradient } = net.evaluate(params, data, "halfMse");
        if (step === recorded[next]) {
          lossRow.push(loss);
          widthRow.push(condensedGroups(params, width, options.cosine ?? 0.99, options.minAmplitude ?? 1e-2));
          next++;
        }
        if (step === steps) break;
        let offset = 0;
        for (const p of params) {
          for (let i = 0; i < p.length; i++) p[i] -= lr * gradient[offset + i];
          offset += p.length;
        }
        if (Date.now() - lastYield > YIELD_MS) {
          bar?.update(wi * steps + step, `width ${width}, loss ${loss.toExponential(3)}`);
          await yieldToEventLoop();
          lastYield = Date.now();
        }
      }
      const trained = params.map((p, i) => tf.tensor(Float32Array.from(p), model.weights[i].shape as number[]));
      model.setWeights(trained);
      tf.dispose(trained);
      losses.push(lossRow);
      effective.push(widthRow);
    }
  } catch (error) {
    models.forEach((m) => m.dispose());
    throw error;
  }
  bar?.finish();
  return new LadderResult(widths, recorded, losses, effective, models);
}

/**
 * f(x) = sum_j a_j ReLU(w_j x + b_j), with NO output bias, the papers' 2-layer net: an output bias adds
 * critical points of its own (with one, the width-1 global minimum on the lecture's data is 0.008480,
 * not 0.013502, and the width-2 critical value 0.012825 is not on the path).
 */
function ladderNet(width: number, std: number, seed: number): tf.Sequential {
  const model = tf.sequential({
    name: `ladder_width_${width}`,
    layers: [
      tf.layers.dense({ units: width, inputShape: [1], activation: "relu", name: "hidden" }),
      tf.layers.dense({ units: 1, useBias: false, name: "output" }),
    ],
  });
  const rng = new Rng(seed);
  const values = [rng.normalArray(width, 0, std), rng.normalArray(width, 0, std), rng.normalArray(width, 0, std)];
  const tensors = values.map((v, i) => tf.tensor(v, i === 1 ? [width] : i === 0 ? [1, width] : [width, 1]));
  model.setWeights(tensors);
  tf.dispose(tensors);
  return model;
}

/** Effective width of a 1-D 2-layer net from its flat parameters [w (1 x m), b (m), a (m x 1)]. */
function condensedGroups(params: Float64Array[], width: number, cosine: number, minAmplitude: number): number {
  const [w, b, a] = params;
  const input = Array.from({ length: width }, (_, j) => Float64Array.from([w[j], b[j]]));
  const output = Array.from({ length: width }, (_, j) => Float64Array.from([a[j]]));
  return groupNeurons(input, output, cosine, minAmplitude, false).groups.length;
}
