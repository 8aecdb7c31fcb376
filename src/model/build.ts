/** Model builders: plain tf.LayersModels with deterministic, seeded initialisation. */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../math/rng";
import type { Activation } from "./view";

/**
 * Initialisation of a kernel: a scheme name (fan-in based), "zeros", or an explicit normal
 * N(mean, std^2). Biases start at zero unless `bias` gives a std.
 */
export type Init = "he" | "glorot" | "lecun" | "zeros" | { std: number; mean?: number; bias?: number };

export interface MlpOptions {
  /** Hidden activation (default "relu"). */
  activation?: Activation;
  /** Output activation (default "linear": logits for classification, values for regression). */
  output?: Activation;
  bias?: boolean;
  /** One scheme for every layer or one per layer (default "he" for relu-like, "glorot" otherwise). */
  init?: Init | Init[];
  seed?: number;
  name?: string;
}

/** A multilayer perceptron with layer sizes `sizes` = [input, hidden..., output]. */
/**
 * Kernels and biases are set from weightscope's seeded generator right after the layers are built, so TF.js's
 * own random initialiser would be wasted work (about 0.7 s per 10M parameters, paid again by every clone).
 */
const SEEDED_LATER = { kernelInitializer: "zeros", biasInitializer: "zeros" } as const;

export function mlp(sizes: number[], options: MlpOptions = {}): tf.Sequential {
  if (!Array.isArray(sizes) || sizes.length < 2 || sizes.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new Error(`mlp sizes must be at least [input, output] positive integers, got ${JSON.stringify(sizes)}`);
  }
  const activation = options.activation ?? "relu";
  const rng = new Rng(options.seed ?? 0);
  const layers = sizes.slice(1).map((units, i) =>
    tf.layers.dense({
      units,
      name: `dense${i}`,
      inputShape: i === 0 ? [sizes[0]] : undefined,
      activation: (i === sizes.length - 2 ? options.output ?? "linear" : activation) as "relu",
      useBias: options.bias !== false,
      ...SEEDED_LATER,
    }),
  );
  const model = tf.sequential({ layers, name: options.name ?? `mlp_${sizes.join("_")}` });
  initialise(model, options.init ?? defaultInit(activation), rng);
  return model;
}

export interface CnnOptions {
  /** Filters of each Conv2D block (default [8, 16]). */
  filters?: number[];
  kernelSize?: number;
  /** Pooling after each conv block (default "max"; null for none). */
  pool?: "max" | "avg" | null;
  batchNorm?: boolean;
  /** Hidden dense layers after flatten (default [32]). */
  dense?: number[];
  classes?: number;
  activation?: Activation;
  dropout?: number;
  init?: Init;
  seed?: number;
  name?: string;
}

/** A small convolutional network: [Conv2D (+BN) + activation + pool] x k, Flatten, Dense..., Dense(classes). */
export function cnn(inputShape: number[] = [28, 28, 1], options: CnnOptions = {}): tf.Sequential {
  if (inputShape.length !== 3 || inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`cnn inputShape must be [height, width, channels], got ${JSON.stringify(inputShape)}`);
  }
  const activation = options.activation ?? "relu";
  const layers: tf.layers.Layer[] = [];
  (options.filters ?? [8, 16]).forEach((filters, i) => {
    const withBn = options.batchNorm === true;
    layers.push(tf.layers.conv2d({
      filters, kernelSize: options.kernelSize ?? 3, padding: "same", name: `conv${i}`,
      inputShape: i === 0 ? inputShape : undefined, activation: (withBn ? "linear" : activation) as "relu", ...SEEDED_LATER,
    }));
    if (withBn) {
      layers.push(tf.layers.batchNormalization({ name: `bn${i}` }));
      layers.push(tf.layers.activation({ activation: activation as "relu", name: `act${i}` }));
    }
    const pool = options.pool === undefined ? "max" : options.pool;
    if (pool === "max") layers.push(tf.layers.maxPooling2d({ poolSize: 2, name: `pool${i}` }));
    if (pool === "avg") layers.push(tf.layers.averagePooling2d({ poolSize: 2, name: `pool${i}` }));
  });
  layers.push(tf.layers.flatten({ name: "flatten" }));
  if (options.dropout) layers.push(tf.layers.dropout({ rate: options.dropout, name: "dropout" }));
  (options.dense ?? [32]).forEach((units, i) => layers.push(tf.layers.dense({ units, activation: activation as "relu", name: `dense${i}`, ...SEEDED_LATER })));
  layers.push(tf.layers.dense({ units: options.classes ?? 10, name: "logits", ...SEEDED_LATER }));
  const model = tf.sequential({ layers, name: options.name ?? "cnn" });
  initialise(model, options.init ?? defaultInit(activation), new Rng(options.seed ?? 0));
  return model;
}

function defaultInit(activation: Activation): Init {
  return activation === "relu" || activation === "leakyRelu" || activation === "relu6" ? "he" : "glorot";
}

/** Sets every kernel and bias from the seeded generator (TF.js initialisers are not reproducible across backends). */
function initialise(model: tf.LayersModel, init: Init | Init[], rng: Rng): void {
  const kernels = model.layers.filter((l) => l.getClassName() === "Dense" || l.getClassName() === "Conv2D");
  if (Array.isArray(init) && init.length !== kernels.length) {
    throw new Error(`init has ${init.length} entries but the model has ${kernels.length} Dense/Conv2D layers`);
  }
  kernels.forEach((layer, i) => {
    const scheme = Array.isArray(init) ? init[i] : init;
    const [kernel, bias] = layer.getWeights();
    const shape = kernel.shape;
    const fanOut = shape[shape.length - 1];
    const fanIn = kernel.size / fanOut;
    const values = sample(scheme, kernel.size, fanIn, fanOut, rng);
    const next = [tf.tensor(values, shape)];
    if (bias) {
      const std = typeof scheme === "object" ? scheme.bias ?? 0 : 0;
      next.push(tf.tensor(std > 0 ? rng.normalArray(bias.size, 0, std) : new Float32Array(bias.size), bias.shape));
    }
    layer.setWeights(next);
    tf.dispose(next);
  });
}

function sample(scheme: Init, n: number, fanIn: number, fanOut: number, rng: Rng): Float32Array {
  if (scheme === "zeros") return new Float32Array(n);
  if (scheme === "he") return rng.normalArray(n, 0, Math.sqrt(2 / fanIn));
  if (scheme === "lecun") return rng.normalArray(n, 0, Math.sqrt(1 / fanIn));
  if (scheme === "glorot") {
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    return rng.uniformArray(n, -limit, limit);
  }
  if (typeof scheme !== "object" || !(scheme.std >= 0)) throw new Error(`unknown init ${JSON.stringify(scheme)}; use "he", "glorot", "lecun", "zeros" or { std, mean }`);
  return rng.normalArray(n, scheme.mean ?? 0, scheme.std);
}
