/**
 * The neurons (Dense units, Conv2D channels) of one hidden layer as the parameters that carry them:
 * the incoming side (kernel column, bias, BatchNormalization entries) and the outgoing side (the next
 * weighted layer's input slices). Every embedding and reduction is a "channel plan" applied here:
 * each new neuron takes its incoming parameters from one old neuron (or zeros) and its outgoing
 * parameters as a weighted sum of old neurons' outgoing slices.
 */
import * as tf from "@tensorflow/tfjs";
import { viewOf, weightedBlocks, type Block, type Conv2DBlock, type DenseBlock, type ModelView } from "../model/view";
import { assertBytesFit } from "../model/memory";

/** A parameter tensor seen as [outer, channels, inner] with the hidden layer's neurons on the middle axis. */
export interface ChannelSlot {
  param: number;
  outer: number;
  inner: number;
  /** Value of a null neuron's entry (1 for BatchNormalization scale and variance, else 0). */
  nullValue: number;
  /** Shape of the parameter when the layer has `width` neurons. */
  shapeFor(width: number): number[];
}

export interface HiddenLayer {
  view: ModelView;
  block: DenseBlock | Conv2DBlock;
  next: DenseBlock | Conv2DBlock;
  width: number;
  incoming: ChannelSlot[];
  outgoing: ChannelSlot;
  /** Blocks strictly between the layer and the next weighted layer. */
  between: Block[];
}

/**
 * The new layer: for each new neuron, the old neuron whose incoming parameters it copies (-1: a null
 * neuron with zero incoming weights) and the (old neuron, coefficient) pairs of its outgoing slice.
 */
export interface ChannelPlan {
  source: number[];
  outgoing: [number, number][][];
}

/** Finds a hidden Dense/Conv2D layer by name or by index among the weighted layers, or throws naming the choices. */
export function hiddenLayer(view: ModelView, layer: string | number, purpose: string): HiddenLayer {
  const weighted = weightedBlocks(view);
  const hidden = weighted.slice(0, -1).map((b) => b.layer);
  const position = typeof layer === "number" ? layer : weighted.findIndex((b) => b.layer === layer);
  const label = typeof layer === "number" ? `index ${layer}` : `"${layer}"`;
  if (!(Number.isInteger(position) && position >= 0 && position < weighted.length)) {
    throw new Error(`${purpose}: model "${view.name}" has no Dense/Conv2D layer ${label}; hidden layers: ${hidden.join(", ") || "none"}`);
  }
  const block = weighted[position];
  if (position === weighted.length - 1) {
    throw new Error(`${purpose}: layer "${block.layer}" is the output layer of "${view.name}"; only hidden layers have neurons that feed a next layer (hidden layers: ${hidden.join(", ") || "none"})`);
  }
  const next = weighted[position + 1];
  const start = view.blocks.indexOf(block);
  const between = view.blocks.slice(start + 1, view.blocks.indexOf(next));
  if (block.activation === "softmax") {
    throw new Error(`${purpose}: layer "${block.layer}" uses softmax, which mixes its neurons; neuron embeddings need an elementwise activation`);
  }
  for (const b of between) {
    if (b.kind === "activation" && b.activation === "softmax") {
      throw new Error(`${purpose}: layer "${b.layer}" applies softmax across the neurons of "${block.layer}"; neuron embeddings need elementwise activations`);
    }
  }
  const width = block.kind === "dense" ? block.units : block.filters;
  const kernelShape = view.params[block.kernel].shape;
  const incoming: ChannelSlot[] = [{
    param: block.kernel, outer: kernelShape.slice(0, -1).reduce((a, b) => a * b, 1), inner: 1, nullValue: 0,
    shapeFor: (w) => [...kernelShape.slice(0, -1), w],
  }];
  const vector = (param: number | null, nullValue: number) => {
    if (param !== null) incoming.push({ param, outer: 1, inner: 1, nullValue, shapeFor: (w) => [w] });
  };
  vector(block.bias, 0);
  for (const b of between) {
    if (b.kind === "batchNorm") {
      vector(b.gamma, 1);
      vector(b.beta, 0);
      vector(b.movingMean, 0);
      vector(b.movingVariance, 1);
    }
  }
  const nextShape = view.params[next.kernel].shape;
  let outgoing: ChannelSlot;
  if (next.kind === "dense") {
    // A Flatten of NHWC data puts the channel fastest: input row p * width + c of the next kernel.
    const rows = nextShape[0];
    if (rows % width !== 0) throw new Error(`${purpose}: layer "${next.layer}" has ${rows} inputs, not a multiple of the ${width} neurons of "${block.layer}"`);
    const outer = rows / width;
    outgoing = { param: next.kernel, outer, inner: nextShape[1], nullValue: 0, shapeFor: (w) => [outer * w, nextShape[1]] };
  } else {
    outgoing = { param: next.kernel, outer: nextShape[0] * nextShape[1], inner: nextShape[3], nullValue: 0, shapeFor: (w) => [nextShape[0], nextShape[1], w, nextShape[3]] };
  }
  return { view, block, next, width, incoming, outgoing, between };
}

/**
 * Bytes of making the layer `width` neurons wide: per neuron, its parameters in float64 (the plan's arithmetic)
 * and float32 (the new model), and the plan's own entries. Checked before a plan is built, so an absurd width is a
 * MemoryError rather than V8 running out of heap.
 */
const PLAN_BYTES_PER_NEURON = 160;
export function assertWidthFits(layer: HiddenLayer, width: number, where: string, advice: string): void {
  const perNeuron = [...layer.incoming, layer.outgoing].reduce((a, slot) => a + slot.outer * slot.inner, 0);
  assertBytesFit(where, `a layer "${layer.block.layer}" of ${width} neurons`, width * (perNeuron * (8 * 2 + 4 * 2) + PLAN_BYTES_PER_NEURON), advice);
}

/** Rewrites the channel axis of one parameter: each new channel is a weighted sum of old ones (or the null value). */
function mixChannels(values: ArrayLike<number>, slot: ChannelSlot, width: number, terms: ([number, number][] | null)[]): Float64Array {
  const { outer, inner } = slot;
  const out = new Float64Array(outer * terms.length * inner);
  for (let o = 0; o < outer; o++) {
    terms.forEach((channelTerms, c) => {
      const base = (o * terms.length + c) * inner;
      if (channelTerms === null) {
        out.fill(slot.nullValue, base, base + inner);
        return;
      }
      for (const [old, coefficient] of channelTerms) {
        const from = (o * width + old) * inner;
        for (let i = 0; i < inner; i++) out[base + i] += coefficient * values[from + i];
      }
    });
  }
  return out;
}

/** Checks a plan against the layer: indices in range, finite coefficients. */
function checkPlan(layer: HiddenLayer, plan: ChannelPlan): void {
  if (plan.source.length !== plan.outgoing.length) throw new Error(`channel plan for "${layer.block.layer}": ${plan.source.length} sources but ${plan.outgoing.length} outgoing lists`);
  if (plan.source.length === 0) throw new Error(`channel plan for "${layer.block.layer}" leaves no neurons`);
  const valid = (i: number) => Number.isInteger(i) && i >= 0 && i < layer.width;
  plan.source.forEach((s, c) => {
    if (s !== -1 && !valid(s)) throw new Error(`channel plan for "${layer.block.layer}": new neuron ${c} copies neuron ${s}, but the layer has neurons 0..${layer.width - 1}`);
  });
  plan.outgoing.forEach((terms, c) => terms.forEach(([old, k]) => {
    if (!valid(old)) throw new Error(`channel plan for "${layer.block.layer}": new neuron ${c} takes the output of neuron ${old}, but the layer has neurons 0..${layer.width - 1}`);
    if (!Number.isFinite(k)) throw new Error(`channel plan for "${layer.block.layer}": coefficient ${k} for neuron ${old} is not finite`);
  }));
}

/**
 * Applies a plan to a full parameter list given as flat arrays (model.weights order) and returns the
 * new list in float64. Pure and precision-preserving: float64 inputs give exact float64 embeddings.
 */
export function applyPlan(layer: HiddenLayer, params: readonly ArrayLike<number>[], plan: ChannelPlan): { values: Float64Array[]; shapes: number[][] } {
  checkPlan(layer, plan);
  const values = params.map((p) => Float64Array.from(p));
  const shapes = layer.view.params.map((p) => p.shape.slice());
  const width = plan.source.length;
  for (const slot of layer.incoming) {
    values[slot.param] = mixChannels(params[slot.param], slot, layer.width, plan.source.map((s) => (s < 0 ? null : [[s, 1]])));
    shapes[slot.param] = slot.shapeFor(width);
  }
  const out = layer.outgoing;
  values[out.param] = mixChannels(params[out.param], out, layer.width, plan.outgoing);
  shapes[out.param] = out.shapeFor(width);
  return { values, shapes };
}

/** A new model with the hidden layer resized to `width` and the given weights (model.weights order). */
export function rebuildModel(model: tf.LayersModel, layer: HiddenLayer, width: number, values: readonly Float64Array[], shapes: readonly number[][]): tf.LayersModel {
  const config = model.getConfig() as unknown as { layers: { config: Record<string, unknown> }[] };
  const copy = JSON.parse(JSON.stringify(config)) as typeof config;
  const entry = copy.layers.find((l) => l.config.name === layer.block.layer);
  if (!entry) throw new Error(`layer "${layer.block.layer}" not found in the configuration of "${model.name}"`);
  entry.config[layer.block.kind === "dense" ? "units" : "filters"] = width;
  const wider = (model instanceof tf.Sequential
    ? tf.Sequential.fromConfig(tf.Sequential, copy as unknown as tf.serialization.ConfigDict)
    : tf.LayersModel.fromConfig(tf.LayersModel, copy as unknown as tf.serialization.ConfigDict)) as tf.LayersModel;
  const tensors = values.map((v, i) => tf.tensor(Float32Array.from(v), shapes[i], "float32"));
  try {
    wider.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
  return wider;
}

/** The model's parameters as flat float32 arrays (model.weights order), read without leaking tensors. */
export function readArrays(model: tf.LayersModel): Float32Array[] {
  return model.weights.map((w) => tf.tidy(() => w.read().dataSync().slice() as Float32Array));
}

/** Applies a plan to a model: a NEW model (the source is untouched). */
export function embedModel(model: tf.LayersModel, layerName: string | number, plan: ChannelPlan, purpose: string): tf.LayersModel {
  const layer = hiddenLayer(viewOf(model), layerName, purpose);
  const { values, shapes } = applyPlan(layer, readArrays(model), plan);
  return rebuildModel(model, layer, plan.source.length, values, shapes);
}
