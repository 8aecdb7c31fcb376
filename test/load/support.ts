/** Helpers shared by the load tests. */
import * as tf from "@tensorflow/tfjs";
import { readParams } from "../../src/model";

/** Every weight as its float32 bit patterns, so deepEqual means bit-exact (and -0 differs from +0). */
export function bits(model: tf.LayersModel): number[][] {
  const params = readParams(model);
  const out = params.map((p) => Array.from(new Uint32Array((p.dataSync() as Float32Array).slice().buffer)));
  tf.dispose(params);
  return out;
}

/** Seeded random weights (BatchNorm moving variances in [0.5, 2)), so a saved file is not a default initialisation. */
export function randomiseWeights(model: tf.LayersModel, seed: number): void {
  const params = readParams(model);
  const next = params.map((p, i) => (model.weights[i].name.includes("moving_variance")
    ? tf.randomUniform(p.shape, 0.5, 2, "float32", seed + i)
    : tf.randomNormal(p.shape, 0, 0.4, "float32", seed + i)));
  model.setWeights(next);
  tf.dispose([...params, ...next]);
}
