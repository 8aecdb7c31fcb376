/** Parameters of a model as tensor lists and flat vectors, and clones of models with new weights. */
import * as tf from "@tensorflow/tfjs";
import { InputError } from "../errors";
import type { ModelView, ParamSpec } from "./view";

/** Copies of the model's weights in model.weights order (the caller owns and disposes them). */
export function readParams(model: tf.LayersModel): tf.Tensor[] {
  return tf.tidy(() => model.weights.map((w) => {
    try {
      return w.read().clone();
    } catch (error) {
      // A disposed model (e.g. a result's .model after .dispose()) would otherwise fail with TF.js's own message.
      if (/disposed/i.test(String(error))) throw new InputError("invalid-data", `model "${model.name}" has been disposed (its weight ${w.name} is gone); use a model that is still alive`, "model");
      throw error;
    }
  }));
}

/** The specs selected by `trainableOnly` (default: trainable parameters only). */
export function selectParams(view: ModelView, trainableOnly = true): ParamSpec[] {
  return view.params.filter((p) => p.trainable || !trainableOnly);
}

/** Concatenates parameters (in view order) into one float32 vector. */
export function flattenParams(view: ModelView, params: readonly tf.Tensor[], trainableOnly = true): Float32Array {
  const specs = selectParams(view, trainableOnly);
  const out = new Float32Array(specs.reduce((a, p) => a + p.size, 0));
  let offset = 0;
  for (const spec of specs) {
    out.set(params[spec.index].dataSync() as Float32Array, offset);
    offset += spec.size;
  }
  return out;
}

/**
 * Splits a flat vector back into tensors. Parameters left out of the vector (non-trainable ones when
 * trainableOnly) are taken from `rest` (cloned), so the result is a complete parameter list.
 */
export function unflattenParams(view: ModelView, vector: ArrayLike<number>, rest: readonly tf.Tensor[] | null = null, trainableOnly = true): tf.Tensor[] {
  const specs = selectParams(view, trainableOnly);
  const expected = specs.reduce((a, p) => a + p.size, 0);
  if (vector.length !== expected) throw new Error(`parameter vector has length ${vector.length}, model "${view.name}" needs ${expected}`);
  const out: (tf.Tensor | null)[] = view.params.map(() => null);
  let offset = 0;
  for (const spec of specs) {
    const slice = Float32Array.from({ length: spec.size }, (_, i) => vector[offset + i]);
    out[spec.index] = tf.tensor(slice, spec.shape, "float32");
    offset += spec.size;
  }
  return out.map((t, i) => {
    if (t) return t;
    if (!rest) throw new Error(`parameter ${view.params[i].name} is not in the vector and no values were given for it`);
    return rest[i].clone();
  });
}

/**
 * A new model of the same architecture (a fresh copy of the layer configuration) holding `weights`
 * (default: a copy of the source's weights). The source model is never touched.
 */
export function cloneModel(model: tf.LayersModel, weights?: readonly tf.Tensor[]): tf.LayersModel {
  const config = model.getConfig() as unknown as tf.serialization.ConfigDict;
  const copy = (model instanceof tf.Sequential
    ? tf.Sequential.fromConfig(tf.Sequential, config)
    : tf.LayersModel.fromConfig(tf.LayersModel, config)) as tf.LayersModel;
  if (weights) {
    const problem = weightsProblem(copy, weights);
    if (problem) {
      copy.dispose();
      throw new InputError("invalid-data", `cloneModel: ${problem} for model "${model.name}"`, "weights");
    }
    copy.setWeights(weights as tf.Tensor[]);
  } else {
    const own = readParams(model);
    copy.setWeights(own);
    tf.dispose(own);
  }
  return copy;
}

/** Why `weights` cannot be set on `model` (count, shape, disposed), or null when they can. */
function weightsProblem(model: tf.LayersModel, weights: readonly tf.Tensor[]): string | null {
  if (!Array.isArray(weights) || weights.length !== model.weights.length) return `expected ${model.weights.length} weight tensors, got ${Array.isArray(weights) ? weights.length : typeof weights}`;
  for (const [i, w] of model.weights.entries()) {
    const given = weights[i];
    if (!(given instanceof tf.Tensor) || given.isDisposed) return `weight ${i} (${w.name}) is not a live tf.Tensor`;
    if (given.shape.length !== w.shape.length || given.shape.some((d: number, k: number) => d !== w.shape[k])) return `weight ${i} (${w.name}) has shape [${given.shape.join(", ")}], expected [${w.shape.join(", ")}]`;
  }
  return null;
}

/** Throws a clear error if any parameter holds NaN or Infinity. */
export function assertFiniteParams(view: ModelView, params: readonly tf.Tensor[], where: string): void {
  for (const spec of view.params) {
    const values = params[spec.index].dataSync();
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) {
        throw new InputError("non-finite-weights", `${where}: parameter ${spec.name} of layer "${spec.layer}" holds ${values[i]} at flat index ${i}`);
      }
    }
  }
}
