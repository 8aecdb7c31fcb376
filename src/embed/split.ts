/**
 * Embeddings of a network into wider ones that keep its function exactly: splitting a neuron into
 * copies whose output coefficients sum to one (Zhang, Xu et al., "Embedding Principle"), multi-step
 * widening to any wider net of the same depth, and null neurons (zero in, zero out).
 */
import * as tf from "@tensorflow/tfjs";
import { Result } from "../display/result";
import { figure, type Figure } from "../display/figure";
import { Table } from "../display/table";
import { Rng } from "../math/rng";
import { viewOf, weightedBlocks, type ModelView } from "../model/view";
import { assertFiniteParams, cloneModel, readParams } from "../model/params";
import { applyPlan, assertWidthFits, hiddenLayer, readArrays, rebuildModel, type ChannelPlan, type HiddenLayer } from "./channels";
import { InputError, checkEach, checkOption, checkOptions, rules } from "../errors";
import { compareFunctions, probeInputs, type FunctionCheck } from "../model/check";

/** Relative output change an exact embedding must stay within in float32 (observed <= 4e-7). */
export const EMBED_TOLERANCE = 1e-5;

export interface SplitStep {
  layer: string;
  /** The neuron that was split, or -1 for added null neurons. */
  neuron: number;
  /** Indices of all its copies in the new layer (the original position first). */
  copies: number[];
  /** Output coefficients of the copies (sum 1; empty for null neurons). */
  alphas: number[];
}

export interface CheckOptions {
  /** Inputs on which the function is compared (default: `samples` seeded N(0, 1) inputs). */
  x?: tf.Tensor;
  samples?: number;
  seed?: number;
}

export interface SplitOptions extends CheckOptions {
  /** Name of a hidden Dense/Conv2D layer, or its index among the weighted layers (default 0). */
  layer?: string | number;
  neuron: number;
  /**
   * Output coefficient(s): one number alpha gives the original alpha and the new copies 1 - alpha
   * shared equally; an array gives every copy its coefficient (must sum to 1). Default: equal split.
   */
  alpha?: number | number[];
  /** Number of copies after the split, the original included (default 2). */
  copies?: number;
}

/** A wider network that computes the same function, with the record of how it was made. */
export class EmbedResult extends Result {
  readonly kind = "embed";
  constructor(
    /** "embed": a wider net with the same function; "reduce": condensed groups merged into single neurons. */
    readonly operation: "embed" | "reduce",
    /** The NEW model (the source model is untouched). */
    readonly model: tf.LayersModel,
    readonly widthsBefore: number[],
    readonly widthsAfter: number[],
    readonly layers: string[],
    readonly steps: SplitStep[],
    readonly paramsBefore: number,
    readonly paramsAfter: number,
    /** The output change measured on probe inputs. */
    readonly check: FunctionCheck,
  ) {
    super();
  }

  summary(): string {
    if (this.operation === "reduce") {
      const agreement = this.check.agreement === null ? "" : `, same prediction on ${(100 * this.check.agreement).toFixed(2)}% of ${this.check.samples} inputs`;
      return `reduced: widths [${this.widthsBefore.join(", ")}] -> [${this.widthsAfter.join(", ")}], ${this.paramsBefore} -> ${this.paramsAfter} parameters; output change ${this.check.maxAbs.toExponential(2)} max abs, ${this.check.rel.toExponential(2)} relative${agreement}`;
    }
    const splits = this.steps.filter((s) => s.neuron >= 0).length;
    const nulls = this.steps.filter((s) => s.neuron < 0).reduce((a, s) => a + s.copies.length, 0);
    const what = [splits ? `${splits} split${splits > 1 ? "s" : ""}` : "", nulls ? `${nulls} null neuron${nulls > 1 ? "s" : ""}` : ""].filter(Boolean).join(" + ");
    return `${what}: widths [${this.widthsBefore.join(", ")}] -> [${this.widthsAfter.join(", ")}], ${this.paramsBefore} -> ${this.paramsAfter} parameters; output change ${this.check.rel.toExponential(2)} relative (${this.check.passed ? "<=" : "EXCEEDS"} ${this.check.tolerance})`;
  }

  figures(): Figure[] {
    return [figure(
      [{ type: "bar", name: "before", x: this.layers, y: this.widthsBefore }, { type: "bar", name: "after", x: this.layers, y: this.widthsAfter }],
      { title: `Widths of the hidden layers, ${this.operation === "reduce" ? "reduced" : "embedded"} (output change ${this.check.rel.toExponential(1)})`, barmode: "group", yaxis: { title: { text: "neurons" } } },
    )];
  }

  table(): Table {
    return Table.fromRecords(this.steps.map((s) => ({
      layer: s.layer, neuron: s.neuron < 0 ? "null" : s.neuron, copies: s.copies.join(" "), alphas: s.alphas.map((a) => Number(a.toPrecision(6))).join(" "),
    })), `Embedding: ${this.summary()}`);
  }

  protected data(): Record<string, unknown> {
    return {
      operation: this.operation, widthsBefore: this.widthsBefore, widthsAfter: this.widthsAfter, layers: this.layers, steps: this.steps,
      paramsBefore: this.paramsBefore, paramsAfter: this.paramsAfter, check: this.check,
    };
  }
}

/** The plan of k-way splits of several neurons at once: copies[j] extra copies of neuron j with coefficients alphas[j]. */
export function splitPlan(width: number, extra: Map<number, number[]>): { plan: ChannelPlan; copies: Map<number, number[]> } {
  const source = Array.from({ length: width }, (_, i) => i);
  const outgoing: [number, number][][] = source.map((i) => [[i, 1]]);
  const copies = new Map<number, number[]>();
  for (const [neuron, alphas] of extra) {
    outgoing[neuron] = [[neuron, alphas[0]]];
    const indices = [neuron];
    for (const a of alphas.slice(1)) {
      indices.push(source.length);
      source.push(neuron);
      outgoing.push([[neuron, a]]);
    }
    copies.set(neuron, indices);
  }
  return { plan: { source, outgoing }, copies };
}

/** Splits one neuron of a hidden layer into `copies` neurons; the new model computes the same function. */
export function split(model: tf.LayersModel, options: SplitOptions): EmbedResult {
  const view = viewOf(model);
  const layer = hiddenLayer(view, options.layer ?? 0, "embed.split");
  const neuron = options.neuron;
  if (!Number.isInteger(neuron) || neuron < 0 || neuron >= layer.width) {
    throw new InputError("invalid-option", `embed.split: neuron must be an integer in 0..${layer.width - 1} for layer "${layer.block.layer}", got ${String(neuron)}`, "neuron");
  }
  checkOptions("embed.split", options, { copies: rules.integer(2), samples: rules.integer(1), seed: rules.finite() });
  const count = options.copies ?? (Array.isArray(options.alpha) ? options.alpha.length : 2);
  assertWidthFits(layer, layer.width + count - 1, "embed.split", "use fewer copies");
  const alphas = splitCoefficients(options.alpha, options.copies, `embed.split of neuron ${neuron} in "${layer.block.layer}"`);
  const { plan, copies } = splitPlan(layer.width, new Map([[neuron, alphas]]));
  const step: SplitStep = { layer: layer.block.layer, neuron, copies: copies.get(neuron) as number[], alphas };
  return embedSteps(model, view, [{ layer, plan, steps: [step] }], options);
}

/** The output coefficients of a split: validated, summing to one. */
function splitCoefficients(alpha: number | number[] | undefined, copies: number | undefined, where: string): number[] {
  if (Array.isArray(alpha)) {
    if (copies !== undefined && copies !== alpha.length) throw new InputError("invalid-option", `${where}: ${alpha.length} alphas given for ${copies} copies`, "alpha");
    checkEach(where, "alpha", alpha, rules.finite(), 2);
    const sum = alpha.reduce((a, b) => a + b, 0);
    if (Math.abs(sum - 1) > 1e-9) throw new InputError("invalid-option", `${where}: the copies' output coefficients must sum to 1 to keep the function, got sum ${sum}`, "alpha");
    return alpha.slice();
  }
  const k = copies ?? 2;
  if (alpha === undefined) return Array.from({ length: k }, () => 1 / k);
  checkOption(where, "alpha", alpha, rules.finite());
  return [alpha, ...Array.from({ length: k - 1 }, () => (1 - alpha) / (k - 1))];
}

export interface WidenOptions extends CheckOptions {
  /**
   * Output coefficients of the copies of each split neuron: "equal" (1/m each for m copies) or
   * "random" (seeded, summing to 1, typically outside [0, 1] too). Default "equal".
   */
  alphas?: "equal" | "random";
}

/**
 * Widens every hidden layer to the given widths by splitting neurons 0, 1, 2, ... in turn (so width 2
 * -> 4 splits each neuron once). `widths` lists the new widths of the hidden Dense/Conv2D layers in
 * order, or maps layer names to new widths.
 */
export function widen(model: tf.LayersModel, widths: number[] | Record<string, number>, options: WidenOptions = {}): EmbedResult {
  const view = viewOf(model);
  const hidden = weightedBlocks(view).slice(0, -1);
  const targets = targetWidths(view, hidden.map((b) => b.layer), widths);
  checkOptions("embed.widen", options, { alphas: rules.oneOf("equal", "random"), samples: rules.integer(1), seed: rules.finite() });
  const mode = options.alphas ?? "equal";
  const rng = new Rng(options.seed ?? 0);
  const stages: Stage[] = [];
  hidden.forEach((block, i) => {
    const layer = hiddenLayer(view, block.layer, "embed.widen");
    const extra = targets[i] - layer.width;
    if (extra < 0) throw new InputError("invalid-option", `embed.widen: layer "${block.layer}" has ${layer.width} neurons; widening cannot make it ${targets[i]} (use embed.reduce)`, "widths");
    if (extra === 0) return;
    assertWidthFits(layer, targets[i], "embed.widen", "use smaller widths");
    const counts = new Array<number>(layer.width).fill(1);
    for (let t = 0; t < extra; t++) counts[t % layer.width]++;
    const coefficients = new Map<number, number[]>();
    counts.forEach((m, neuron) => {
      if (m > 1) coefficients.set(neuron, mode === "equal" ? new Array<number>(m).fill(1 / m) : randomCoefficients(m, rng));
    });
    const { plan, copies } = splitPlan(layer.width, coefficients);
    stages.push({ layer, plan, steps: [...coefficients].map(([neuron, alphas]) => ({ layer: block.layer, neuron, copies: copies.get(neuron) as number[], alphas })) });
  });
  return embedSteps(model, view, stages, options);
}

/** m coefficients summing exactly to one, spread around 1/m (standard deviation 0.5). */
function randomCoefficients(m: number, rng: Rng): number[] {
  const draws = Array.from({ length: m }, () => rng.normal(0, 0.5));
  const mean = draws.reduce((a, b) => a + b, 0) / m;
  const alphas = draws.map((d) => 1 / m + d - mean);
  alphas[m - 1] = 1 - alphas.slice(0, -1).reduce((a, b) => a + b, 0);
  return alphas;
}

function targetWidths(view: ModelView, hidden: string[], widths: number[] | Record<string, number>): number[] {
  let targets: number[];
  if (Array.isArray(widths)) {
    if (widths.length !== hidden.length) throw new InputError("invalid-option", `embed.widen: model "${view.name}" has ${hidden.length} hidden layers (${hidden.join(", ")}), got ${widths.length} widths`);
    targets = widths.slice();
  } else if (widths && typeof widths === "object") {
    for (const name of Object.keys(widths)) if (!hidden.includes(name)) throw new InputError("invalid-option", `embed.widen: "${name}" is not a hidden Dense/Conv2D layer of "${view.name}"; hidden layers: ${hidden.join(", ")}`);
    const current = hiddenWidths(view);
    targets = hidden.map((name, i) => (name in widths ? widths[name] : current[i]));
  } else {
    throw new InputError("invalid-option", `embed.widen: widths must be an array of hidden-layer widths or an object { layer: width }`, "widths");
  }
  targets.forEach((w, i) => {
    if (!Number.isInteger(w) || w < 1) throw new InputError("invalid-option", `embed.widen: width of layer "${hidden[i]}" must be a positive integer, got ${w}`, "widths");
  });
  return targets;
}

export interface NullNeuronOptions extends CheckOptions {
  layer?: string | number;
  /** Number of null neurons to add (default 1). */
  count?: number;
}

/**
 * Adds neurons with zero incoming and zero outgoing weights (the null embedding). The new point is
 * critical when the old one was, if sigma(0) = 0 or the next layer has a bias.
 */
export function nullNeuron(model: tf.LayersModel, options: NullNeuronOptions = {}): EmbedResult {
  const view = viewOf(model);
  const layer = hiddenLayer(view, options.layer ?? 0, "embed.nullNeuron");
  const count = checkOption("embed.nullNeuron", "count", options.count ?? 1, rules.integer(1));
  assertWidthFits(layer, layer.width + count, "embed.nullNeuron", "add fewer null neurons");
  const source = Array.from({ length: layer.width }, (_, i) => i);
  const outgoing: [number, number][][] = source.map((i) => [[i, 1]]);
  const added = Array.from({ length: count }, (_, t) => layer.width + t);
  const plan: ChannelPlan = { source: [...source, ...added.map(() => -1)], outgoing: [...outgoing, ...added.map(() => [])] };
  return embedSteps(model, view, [{ layer, plan, steps: [{ layer: layer.block.layer, neuron: -1, copies: added, alphas: [] }] }], options);
}

export interface Stage { layer: HiddenLayer; plan: ChannelPlan; steps: SplitStep[] }

/** Applies the stages (one per layer, in order) in float64 and builds the new model and its check. */
export function embedSteps(model: tf.LayersModel, view: ModelView, stages: Stage[], options: CheckOptions, operation: "embed" | "reduce" = "embed"): EmbedResult {
  const hidden = weightedBlocks(view).slice(0, -1);
  const weights = readParams(model);
  try {
    assertFiniteParams(view, weights, operation === "embed" ? "embed" : "embed.reduce");
  } finally {
    tf.dispose(weights);
  }
  const x = probeInputs(view, options.x, options.samples ?? 64, options.seed ?? 0, operation === "embed" ? "embed" : "embed.reduce");
  let current = model;
  try {
    for (const stage of stages) {
      // Each stage sees the widths left by the previous one, so plans are re-resolved on the current model.
      const layer = hiddenLayer(viewOf(current), stage.layer.block.layer, "embed");
      const { values, shapes } = applyPlan(layer, readArrays(current), stage.plan);
      const next = rebuildModel(current, layer, stage.plan.source.length, values, shapes);
      if (current !== model) current.dispose();
      current = next;
    }
    if (current === model) current = cloneModel(model);
    const check = compareFunctions(model, current, x, EMBED_TOLERANCE);
    return new EmbedResult(
      operation, current, hiddenWidths(view), hiddenWidths(viewOf(current)), hidden.map((b) => b.layer),
      stages.flatMap((s) => s.steps), view.trainableSize, viewOf(current).trainableSize, check,
    );
  } catch (error) {
    if (current !== model) current.dispose();
    throw error;
  } finally {
    x.dispose();
  }
}

/** Widths of the hidden Dense/Conv2D layers, in order. */
export function hiddenWidths(view: ModelView): number[] {
  return weightedBlocks(view).slice(0, -1).map((b) => (b.kind === "dense" ? b.units : b.filters));
}
