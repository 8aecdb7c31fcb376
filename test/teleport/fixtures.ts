/** Models and data shared by the teleport tests: an MLP, CNNs with pooling / BatchNormalization / Dropout, seeded data. */
import * as tf from "@tensorflow/tfjs";
import { mlp, cnn } from "../../src/model";
import { Rng } from "../../src/math/rng";

export function mlpModel(sizes = [6, 8, 7, 3], seed = 1, activation: "relu" | "linear" = "relu"): tf.LayersModel {
  // Non-zero biases, so the bias identities are exercised too.
  return mlp(sizes, { seed, activation, init: sizes.slice(1).map(() => ({ std: 0.6, bias: 0.3 })) });
}

/** Dense -> BatchNormalization -> LeakyReLU -> Dense -> ReLU -> Dense, with non-trivial BN statistics (dense layers only, so HVPs work). */
export function bnMlp(seed = 1): tf.LayersModel {
  const model = tf.sequential({
    name: "bn_mlp",
    layers: [
      tf.layers.dense({ units: 7, inputShape: [5], name: "d0" }),
      tf.layers.batchNormalization({ name: "bn0" }),
      tf.layers.leakyReLU({ alpha: 0.2, name: "leaky0" }),
      tf.layers.dense({ units: 6, activation: "relu", name: "d1" }),
      tf.layers.dense({ units: 3, name: "out" }),
    ],
  });
  const rng = new Rng(seed);
  const next = model.weights.map((w) => {
    const shape = w.shape as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    if (w.name.includes("moving_variance")) return tf.tensor(rng.uniformArray(size, 0.5, 2), shape);
    return tf.tensor(rng.normalArray(size, w.name.includes("gamma") ? 1 : 0, 0.5), shape);
  });
  model.setWeights(next);
  tf.dispose(next);
  return model;
}

/** CNN: conv -> BN -> relu -> pool, conv -> BN -> relu -> pool, flatten, dropout, dense, logits; BN holds non-trivial statistics. */
export function bnCnn(seed = 1, pool: "max" | "avg" = "max"): tf.LayersModel {
  const model = cnn([8, 8, 2], { filters: [3, 4], batchNorm: true, pool, dense: [5], classes: 3, dropout: 0.2, seed, init: { std: 0.4, bias: 0.2 } });
  const rng = new Rng(seed + 100);
  for (const layer of model.layers.filter((l) => l.getClassName() === "BatchNormalization")) {
    const [gamma, beta, mean, variance] = layer.getWeights();
    const c = gamma.size;
    const next = [
      tf.tensor(rng.uniformArray(c, 0.5, 1.5)), tf.tensor(rng.normalArray(c, 0, 0.3)),
      tf.tensor(rng.normalArray(c, 0, 0.5)), tf.tensor(rng.uniformArray(c, 0.5, 2)),
    ];
    layer.setWeights(next);
    tf.dispose(next);
  }
  return model;
}

/** CNN without BatchNormalization (average pooling): every hidden unit is a plain ReLU unit. */
export function poolCnn(seed = 1, pool: "max" | "avg" = "avg"): tf.LayersModel {
  return cnn([8, 8, 2], { filters: [3, 4], pool, dense: [5], classes: 3, seed, init: { std: 0.4, bias: 0.2 } });
}

export function classification(inputShape: number[], n = 24, classes = 3, seed = 5): { x: tf.Tensor; y: tf.Tensor } {
  const rng = new Rng(seed);
  const size = inputShape.reduce((a, b) => a * b, 1);
  return {
    x: tf.tensor(rng.normalArray(n * size), [n, ...inputShape]),
    y: tf.tensor1d(Int32Array.from({ length: n }, () => rng.int(classes)), "int32"),
  };
}

/** Max |a - b| / max(1, max |a|) over two parameter lists. */
export function relDiff(a: readonly tf.Tensor[], b: readonly tf.Tensor[]): number {
  let diff = 0;
  let scale = 1;
  a.forEach((t, i) => {
    const x = t.dataSync();
    const y = b[i].dataSync();
    for (let e = 0; e < x.length; e++) {
      diff = Math.max(diff, Math.abs(x[e] - y[e]));
      scale = Math.max(scale, Math.abs(x[e]));
    }
  });
  return diff / scale;
}
