/**
 * Condensation: neurons of a hidden layer whose input weights (w, b) point the same way act as one
 * neuron. effectiveWidth groups them (orientation by cosine, amplitude |a| * ||(w, b)||) and reduce
 * merges each group into a single neuron, the inverse of splitting.
 */
import * as tf from "@tensorflow/tfjs";
import { figure, type Figure } from "../display/figure";
import { Result } from "../display/result";
import { Table } from "../display/table";
import { viewOf, type Activation } from "../model/view";
import { hiddenLayer, readArrays, type ChannelPlan, type HiddenLayer } from "./channels";
import { embedSteps, type CheckOptions, type EmbedResult, type SplitStep } from "./split";

/** Activations with sigma(-z) = -sigma(z): a neuron and its negation (with negated output) are the same neuron. */
const ODD: ReadonlySet<Activation> = new Set<Activation>(["linear", "tanh", "softsign"]);

/** The input vector (kernel slice and bias) and the output vector (next layer's slice) of every neuron. */
export function neuronVectors(layer: HiddenLayer, arrays: readonly ArrayLike<number>[]): { input: Float64Array[]; output: Float64Array[] } {
  const kernel = layer.incoming[0];
  const hasBias = layer.block.bias !== null;
  const out = layer.outgoing;
  const width = layer.width;
  const input = Array.from({ length: width }, (_, c) => {
    const v = new Float64Array(kernel.outer + (hasBias ? 1 : 0));
    for (let o = 0; o < kernel.outer; o++) v[o] = arrays[kernel.param][o * width + c];
    if (hasBias) v[kernel.outer] = arrays[layer.block.bias as number][c];
    return v;
  });
  const output = Array.from({ length: width }, (_, c) => {
    const v = new Float64Array(out.outer * out.inner);
    for (let o = 0; o < out.outer; o++) {
      for (let i = 0; i < out.inner; i++) v[o * out.inner + i] = arrays[out.param][(o * width + c) * out.inner + i];
    }
    return v;
  });
  return { input, output };
}

export interface EffectiveWidthOptions {
  /** Hidden Dense/Conv2D layer by name or index among weighted layers (default 0). */
  layer?: string | number;
  /** Neurons whose orientations have cosine >= this join one group (default 0.99; the lecture uses 0.9 on MNIST). */
  cosine?: number;
  /** Neurons with amplitude below this fraction of the largest are ignored (default 1e-3). */
  minAmplitude?: number;
}

/** Groups of condensed neurons of one layer and their number, the effective width. */
export class EffectiveWidthResult extends Result {
  readonly kind = "effectiveWidth";
  constructor(
    readonly layer: string,
    readonly cosine: number,
    readonly minAmplitude: number,
    /** Whether opposite orientations count as one (odd activations such as tanh). */
    readonly signSymmetric: boolean,
    /** Neuron indices of each group, the largest amplitude first; groups sorted by total amplitude. */
    readonly groups: number[][],
    /** Neurons below the amplitude threshold, in no group. */
    readonly ignored: number[],
    /** Unit input vectors (w, b) / ||(w, b)|| of all neurons. */
    readonly orientations: number[][],
    /** |a| * ||(w, b)|| of all neurons. */
    readonly amplitudes: number[],
  ) {
    super();
  }

  /** The effective width: the number of groups. */
  get width(): number {
    return this.groups.length;
  }

  summary(): string {
    return `effective width ${this.width} of ${this.amplitudes.length} neurons in "${this.layer}" (cosine >= ${this.cosine}${this.signSymmetric ? " in absolute value" : ""}, ${this.ignored.length} below ${this.minAmplitude} x max amplitude)`;
  }

  figures(): Figure[] {
    const twoDimensional = this.orientations[0]?.length === 2;
    const traces = this.groups.map((g, k) => ({
      type: "scatter", mode: "markers", name: `group ${k + 1} (${g.length})`,
      x: g.map((j) => (twoDimensional ? (Math.atan2(this.orientations[j][1], this.orientations[j][0]) * 180) / Math.PI : k + 1)),
      y: g.map((j) => this.amplitudes[j]), text: g.map((j) => `neuron ${j}`),
    }));
    if (this.ignored.length > 0) {
      traces.push({
        type: "scatter", mode: "markers", name: "ignored", x: this.ignored.map((j) => (twoDimensional ? (Math.atan2(this.orientations[j][1], this.orientations[j][0]) * 180) / Math.PI : 0)),
        y: this.ignored.map((j) => this.amplitudes[j]), text: this.ignored.map((j) => `neuron ${j}`),
      });
    }
    const scatter = figure(traces, {
      title: `Condensation in "${this.layer}": effective width ${this.width}`, showlegend: this.groups.length <= 20,
      xaxis: { title: { text: twoDimensional ? "orientation atan2(b, w) (degrees)" : "group" } }, yaxis: { title: { text: "amplitude |a| ||(w, b)||" }, type: "log" },
    });
    // Cosine similarity of the strongest neurons, ordered by group: condensed groups show as blocks.
    const order = this.groups.flat().slice(0, 300);
    const z = order.map((i) => order.map((j) => dot(this.orientations[i], this.orientations[j])));
    const heatmap = figure([{ type: "heatmap", z, zmin: -1, zmax: 1, colorscale: "RdBu", reversescale: true }], {
      title: "Cosine of input orientations (ordered by group)", xaxis: { title: { text: "neuron (by group)" } }, yaxis: { title: { text: "neuron (by group)" }, autorange: "reversed" },
    });
    return [scatter, heatmap];
  }

  table(): Table {
    return Table.fromRecords(this.groups.map((g, k) => ({
      group: k + 1, size: g.length, amplitude: g.reduce((a, j) => a + this.amplitudes[j], 0), representative: g[0],
      neurons: g.length > 12 ? `${g.slice(0, 12).join(" ")} ...` : g.join(" "),
    })), this.summary());
  }

  protected data(): Record<string, unknown> {
    return {
      layer: this.layer, cosine: this.cosine, minAmplitude: this.minAmplitude, signSymmetric: this.signSymmetric, width: this.width,
      groups: this.groups, ignored: this.ignored, amplitudes: this.amplitudes,
    };
  }
}

/** Groups the neurons of a hidden layer by the orientation of their input weights. */
export function effectiveWidth(model: tf.LayersModel, options: EffectiveWidthOptions = {}): EffectiveWidthResult {
  const cosine = options.cosine ?? 0.99;
  const minAmplitude = options.minAmplitude ?? 1e-3;
  if (!(cosine > 0 && cosine <= 1)) throw new Error(`embed.effectiveWidth: cosine must be in (0, 1], got ${options.cosine}`);
  if (!(minAmplitude >= 0 && minAmplitude < 1)) throw new Error(`embed.effectiveWidth: minAmplitude must be in [0, 1), got ${options.minAmplitude}`);
  const layer = hiddenLayer(viewOf(model), options.layer ?? 0, "embed.effectiveWidth");
  const arrays = readArrays(model);
  arrays.forEach((a, p) => a.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new Error(`embed.effectiveWidth: parameter ${layer.view.params[p].name} holds ${v} at flat index ${i}`);
  }));
  const { input, output } = neuronVectors(layer, arrays);
  const activations = [layer.block.activation, ...layer.between.flatMap((b) => (b.kind === "activation" ? [b.activation] : []))];
  const signSymmetric = activations.every((a) => ODD.has(a));
  const { groups, ignored, orientations, amplitudes } = groupNeurons(input, output, cosine, minAmplitude, signSymmetric);
  return new EffectiveWidthResult(layer.block.layer, cosine, minAmplitude, signSymmetric, groups, ignored, orientations, amplitudes);
}

/**
 * The grouping itself: neurons by decreasing amplitude join the group whose first (largest) neuron is
 * most similar in orientation, if the cosine reaches `cosine`; otherwise they start a group.
 */
export function groupNeurons(input: Float64Array[], output: Float64Array[], cosine: number, minAmplitude: number, signSymmetric: boolean): { groups: number[][]; ignored: number[]; orientations: number[][]; amplitudes: number[] } {
  const norms = input.map(norm);
  const orientations = input.map((v, j) => Array.from(v, (x) => (norms[j] > 0 ? x / norms[j] : 0)));
  const amplitudes = output.map((a, j) => norm(a) * norms[j]);
  const threshold = minAmplitude * Math.max(...amplitudes);
  const order = amplitudes.map((_, j) => j).sort((i, j) => amplitudes[j] - amplitudes[i]);
  const groups: number[][] = [];
  const ignored: number[] = [];
  for (const j of order) {
    if (!(amplitudes[j] > threshold) || norms[j] === 0) {
      ignored.push(j);
      continue;
    }
    let best = -1;
    let bestCos = -Infinity;
    groups.forEach((g, k) => {
      const c = dot(orientations[g[0]], orientations[j]);
      const similarity = signSymmetric ? Math.abs(c) : c;
      if (similarity >= cosine && similarity > bestCos) {
        best = k;
        bestCos = similarity;
      }
    });
    if (best >= 0) groups[best].push(j);
    else groups.push([j]);
  }
  const total = (g: number[]) => g.reduce((a, j) => a + amplitudes[j], 0);
  groups.sort((a, b) => total(b) - total(a));
  return { groups, ignored: ignored.sort((a, b) => a - b), orientations, amplitudes };
}

export interface ReduceOptions extends CheckOptions {
  /** The layer the groups belong to (taken from an effectiveWidth result when one is given; default 0). */
  layer?: string | number;
}

/**
 * Merges each group into one neuron: the group's largest neuron r keeps its input weights and gets the
 * output a_r' = sum_k c_k a_k with c_k = (v_k . v_r) / (v_r . v_r), v = (w, b): exact for copies
 * (c = 1) and for positively homogeneous activations on parallel v (c = ||v_k|| / ||v_r||). Neurons in
 * no group are removed. `.check` reports how much the function changed (on `x` when given).
 */
export function reduce(model: tf.LayersModel, groups: EffectiveWidthResult | number[][], options: ReduceOptions = {}): EmbedResult {
  const view = viewOf(model);
  const fromResult = groups instanceof EffectiveWidthResult;
  const layer = hiddenLayer(view, fromResult ? groups.layer : options.layer ?? 0, "embed.reduce");
  if (fromResult && options.layer !== undefined && options.layer !== groups.layer) {
    throw new Error(`embed.reduce: the groups belong to layer "${groups.layer}", not ${JSON.stringify(options.layer)}`);
  }
  const list = fromResult ? groups.groups : groups;
  checkGroups(list, layer);
  const { input } = neuronVectors(layer, readArrays(model));
  const plan: ChannelPlan = { source: [], outgoing: [] };
  const steps: SplitStep[] = [];
  for (const group of list) {
    const rep = input[group[0]];
    const repSquared = dot(rep, rep);
    if (repSquared === 0) throw new Error(`embed.reduce: neuron ${group[0]} of "${layer.block.layer}" has zero input weights and cannot represent a group; list a neuron with nonzero weights first`);
    const coefficients = group.map((j) => dot(input[j], rep) / repSquared);
    plan.source.push(group[0]);
    plan.outgoing.push(group.map((j, i) => [j, coefficients[i]]));
    steps.push({ layer: layer.block.layer, neuron: group[0], copies: group, alphas: coefficients });
  }
  return embedSteps(model, view, [{ layer, plan, steps }], options, "reduce");
}

function checkGroups(groups: number[][], layer: HiddenLayer): void {
  if (!Array.isArray(groups) || groups.length === 0) throw new Error(`embed.reduce: groups must be a non-empty array of arrays of neuron indices (or an effectiveWidth result)`);
  const seen = new Set<number>();
  groups.forEach((g, k) => {
    if (!Array.isArray(g) || g.length === 0) throw new Error(`embed.reduce: group ${k} must be a non-empty array of neuron indices`);
    for (const j of g) {
      if (!Number.isInteger(j) || j < 0 || j >= layer.width) throw new Error(`embed.reduce: group ${k} lists neuron ${j}, but "${layer.block.layer}" has neurons 0..${layer.width - 1}`);
      if (seen.has(j)) throw new Error(`embed.reduce: neuron ${j} of "${layer.block.layer}" is in more than one group`);
      seen.add(j);
    }
  });
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function norm(v: ArrayLike<number>): number {
  return Math.sqrt(dot(v, v));
}
