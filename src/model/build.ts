/** Model builders: plain tf.LayersModels with deterministic, seeded initialisation. */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../math/rng";
import type { Activation } from "./view";
import { InputError, checkEach, checkOption, checkOptions, formatValue, rules } from "../errors";
import { assertBytesFit } from "./memory";

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
    throw new InputError("invalid-option", `mlp sizes must be at least [input, output] positive integers, got ${JSON.stringify(sizes)}`, "sizes");
  }
  checkOptions("mlp", options, { seed: rules.finite(), bias: rules.boolean() });
  assertParametersFit("mlp", sizes.slice(1).reduce((a, units, i) => a + (sizes[i] + 1) * units, 0));
  if (options.init !== undefined) (Array.isArray(options.init) ? options.init : [options.init]).forEach(checkInit);
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
  if (!Array.isArray(inputShape) || inputShape.length !== 3 || inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new InputError("invalid-option", `cnn inputShape must be [height, width, channels], got ${JSON.stringify(inputShape)}`, "inputShape");
  }
  checkOptions("cnn", options, { kernelSize: rules.integer(1), classes: rules.integer(1), dropout: { min: 0, below: 1 }, seed: rules.finite(), pool: rules.oneOf("max", "avg", null), batchNorm: rules.boolean() });
  if (options.filters !== undefined) checkEach("cnn", "filters", options.filters, rules.integer(1), 0);
  if (options.dense !== undefined) checkEach("cnn", "dense", options.dense, rules.integer(1), 0);
  // The defaults are applied once, here: the parameter count below and the layers built after it read the same values.
  const { filters = [8, 16], kernelSize = 3, dense = [32], classes = 10 } = options;
  const withBn = options.batchNorm === true;
  const pool = options.pool === undefined ? "max" : options.pool;
  assertParametersFit("cnn", cnnParameters(inputShape, { filters, kernelSize, dense, classes, withBn, pooled: pool !== null }));
  if (options.init !== undefined) checkInit(options.init);
  const activation = options.activation ?? "relu";
  const layers: tf.layers.Layer[] = [];
  filters.forEach((units, i) => {
    layers.push(tf.layers.conv2d({
      filters: units, kernelSize, padding: "same", name: `conv${i}`,
      inputShape: i === 0 ? inputShape : undefined, activation: (withBn ? "linear" : activation) as "relu", ...SEEDED_LATER,
    }));
    if (withBn) {
      layers.push(tf.layers.batchNormalization({ name: `bn${i}` }));
      layers.push(tf.layers.activation({ activation: activation as "relu", name: `act${i}` }));
    }
    if (pool === "max") layers.push(tf.layers.maxPooling2d({ poolSize: 2, name: `pool${i}` }));
    if (pool === "avg") layers.push(tf.layers.averagePooling2d({ poolSize: 2, name: `pool${i}` }));
  });
  layers.push(tf.layers.flatten({ name: "flatten" }));
  if (options.dropout) layers.push(tf.layers.dropout({ rate: options.dropout, name: "dropout" }));
  dense.forEach((units, i) => layers.push(tf.layers.dense({ units, activation: activation as "relu", name: `dense${i}`, ...SEEDED_LATER })));
  layers.push(tf.layers.dense({ units: classes, name: "logits", ...SEEDED_LATER }));
  const model = tf.sequential({ layers, name: options.name ?? "cnn" });
  initialise(model, options.init ?? defaultInit(activation), new Rng(options.seed ?? 0));
  return model;
}

/** Parameters of the cnn that cnn() builds from these (defaulted) settings, counted before any layer is built. */
function cnnParameters(
  inputShape: number[],
  { filters, kernelSize: k, dense, classes, withBn, pooled }: { filters: number[]; kernelSize: number; dense: number[]; classes: number; withBn: boolean; pooled: boolean },
): number {
  let [h, w, c] = inputShape;
  let count = 0;
  for (const units of filters) {
    count += (k * k * c + 1) * units + (withBn ? 4 * units : 0);
    c = units;
    if (pooled) [h, w] = [Math.floor(h / 2), Math.floor(w / 2)];
  }
  let width = Math.max(1, h * w * c);
  for (const units of [...dense, classes]) {
    count += (width + 1) * units;
    width = units;
  }
  return count;
}

/** A model's float32 parameters, the initial values and TF.js's copies must fit the backend. */
function assertParametersFit(where: string, parameters: number): void {
  assertBytesFit(where, `a model of ${parameters} parameters`, parameters * 4 * 3, "use fewer or narrower layers", "backend");
}

function defaultInit(activation: Activation): Init {
  return activation === "relu" || activation === "leakyRelu" || activation === "relu6" ? "he" : "glorot";
}

/** Sets every kernel and bias from the seeded generator (TF.js initialisers are not reproducible across backends). */
function initialise(model: tf.LayersModel, init: Init | Init[], rng: Rng): void {
  const kernels = model.layers.filter((l) => l.getClassName() === "Dense" || l.getClassName() === "Conv2D");
  if (Array.isArray(init) && init.length !== kernels.length) {
    throw new InputError("invalid-option", `init has ${init.length} entries but the model has ${kernels.length} Dense/Conv2D layers`, "init");
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
  const { std, mean = 0 } = scheme as { std: number; mean?: number };
  return rng.normalArray(n, mean, std);
}

/** A scheme name, or { std >= 0, mean, bias >= 0 } with finite numbers (a NaN or infinite std made NaN models). */
function checkInit(scheme: Init): void {
  if (scheme === "he" || scheme === "glorot" || scheme === "lecun" || scheme === "zeros") return;
  if (typeof scheme !== "object" || scheme === null) {
    throw new InputError("invalid-option", `unknown init ${formatValue(scheme)}; use "he", "glorot", "lecun", "zeros" or { std, mean, bias }`, "init");
  }
  checkOption("init", "std", scheme.std, rules.nonNegative());
  checkOptions("init", scheme, { mean: rules.finite(), bias: rules.nonNegative() });
}
