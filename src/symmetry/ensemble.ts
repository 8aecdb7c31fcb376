/**
 * Ensembles of random fully connected networks, held as a seeded recipe and sampled chunk by chunk as
 * batched tensors (kernels [m, fanIn, fanOut], biases [m, 1, fanOut]), so M networks never exist as M
 * models and memory stays bounded however large M is. The same seed gives the same networks, so
 * several passes (a correlator, then an invariance test) see the same samples.
 */
import { inspect } from "util";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../math/rng";
import { activate } from "../model/functional";
import { mlp } from "../model/build";
import { optionalProgress, yieldToEventLoop } from "../display/progress";
import type { Activation } from "../model/view";
import { checkOption, rules } from "../errors";
import { assertBytesFit } from "../model/memory";

/**
 * Hidden activation. "gauss" is the Gauss-net unit exp(z - Var(z | layer input)): with zero-mean
 * weights its output kernel is exactly Gaussian in |x - x'| at any width.
 */
export type EnsembleActivation = Exclude<Activation, "softmax"> | "gauss";

export interface LayerInit {
  /** Weight standard deviation (default 1 / sqrt(fan-in)). */
  std?: number;
  /** Weight mean (default 0), applied to the output units in `rows` (default: all of them). */
  mean?: number;
  /** Output units of this layer whose incoming weights get `mean`; the others keep mean 0. */
  rows?: number[];
  /** Bias standard deviation when the spec has biases (default 1). Biases always have mean 0. */
  biasStd?: number;
}

export interface EnsembleSpec {
  /** [input, hidden..., output]. */
  sizes: number[];
  /** Hidden activation (default "relu"); the output layer is linear. */
  activation?: EnsembleActivation;
  bias?: boolean;
  /** One entry per layer (sizes.length - 1 entries). */
  init?: LayerInit[];
}

export interface EnsembleOptions {
  /** Number of networks M. */
  networks: number;
  seed?: number;
  /** Networks per chunk (default: as many as fit in about 4M parameters, at most 4096). */
  chunk?: number;
  /** Show a progress bar (elapsed time, rate, ETA) during passes over several chunks (default true). */
  progress?: boolean;
}

/** A layer's resolved density: N(mean_j, std^2) on the weights into output unit j. */
export interface LayerDensity {
  fanIn: number;
  fanOut: number;
  std: number;
  mean: number;
  /** Output units with mean `mean` (sorted). */
  rows: number[];
  biasStd: number;
}

/** One chunk of networks as batched tensors (the caller disposes them, e.g. with `disposeChunk`). */
export interface EnsembleChunk {
  /** Index of the first network of the chunk in the ensemble. */
  start: number;
  count: number;
  kernels: tf.Tensor3D[];
  biases: (tf.Tensor3D | null)[];
}

const ACTIVATIONS: EnsembleActivation[] = ["linear", "relu", "relu6", "leakyRelu", "elu", "selu", "sigmoid", "tanh", "softplus", "softsign", "swish", "gauss"];
const CHUNK_PARAMETERS = 1 << 22;
const MAX_CHUNK = 4096;

export class Ensemble {
  readonly sizes: number[];
  readonly activation: EnsembleActivation;
  readonly bias: boolean;
  readonly layers: LayerDensity[];
  readonly networks: number;
  readonly seed: number;
  readonly chunkSize: number;
  /** Whether passes over several chunks show a progress bar (options.progress). */
  readonly showProgress: boolean;

  constructor(spec: EnsembleSpec, options: EnsembleOptions) {
    const sizes = spec?.sizes;
    if (!Array.isArray(sizes) || sizes.length < 2 || sizes.some((s) => !Number.isInteger(s) || s < 1)) {
      throw new Error(`symmetry.ensemble: sizes must be [input, hidden..., output] positive integers, got ${JSON.stringify(sizes)}`);
    }
    const activation = spec.activation ?? "relu";
    if (!ACTIVATIONS.includes(activation)) throw new Error(`symmetry.ensemble: unknown activation "${activation}" (use ${ACTIVATIONS.join(", ")})`);
    const init = spec.init ?? [];
    if (!Array.isArray(init) || init.length > sizes.length - 1) {
      throw new Error(`symmetry.ensemble: init has ${Array.isArray(init) ? init.length : "no array of"} entries but sizes ${JSON.stringify(sizes)} has ${sizes.length - 1} layers`);
    }
    const networks = options?.networks;
    if (!Number.isInteger(networks) || networks < 1) throw new Error(`symmetry.ensemble: networks must be a positive integer, got ${networks}`);
    this.sizes = sizes.slice();
    this.activation = activation;
    this.bias = spec.bias === true;
    this.networks = networks;
    this.seed = options.seed ?? 0;
    const perNetwork = sizes.slice(1).reduce((a, fanOut, l) => a + sizes[l] * fanOut + (this.bias ? fanOut : 0), 0);
    const chunk = options.chunk ?? Math.max(1, Math.min(MAX_CHUNK, Math.floor(CHUNK_PARAMETERS / perNetwork)));
    checkOption("symmetry.ensemble", "chunk", chunk, rules.integer(1));
    this.chunkSize = Math.min(chunk, networks);
    this.showProgress = options.progress !== false;
    // A chunk's parameters, their float32 source arrays and the activations built from them.
    assertBytesFit("symmetry.ensemble", `a chunk of ${this.chunkSize} networks of ${perNetwork} parameters`, this.chunkSize * perNetwork * 4 * 3, "use narrower layers or a smaller chunk", "backend");
    // Each layer's density lists its mean-carrying output units (all of them by default) as plain JS numbers.
    assertBytesFit("symmetry.ensemble", `the unit lists of layers [${sizes.slice(1).join(", ")}]`, sizes.slice(1).reduce((a, w) => a + 3 * 8 * w, 0), "use narrower layers");
    this.layers = sizes.slice(1).map((fanOut, l) => resolveLayer(init[l] ?? {}, sizes[l], fanOut, l));
  }

  get inputSize(): number {
    return this.sizes[0];
  }

  get outputSize(): number {
    return this.sizes[this.sizes.length - 1];
  }

  /** The first hidden layer's width (the input size for a network without hidden layers). */
  get width(): number {
    return this.sizes.length > 2 ? this.sizes[1] : this.sizes[0];
  }

  get chunks(): number {
    return Math.ceil(this.networks / this.chunkSize);
  }

  /** ||E W||_F of each layer: mean * sqrt(rows * fanIn), the size of the symmetry breaking. */
  meanNorms(): number[] {
    return this.layers.map((d) => Math.abs(d.mean) * Math.sqrt(d.rows.length * d.fanIn));
  }

  /** Samples chunk `c` (networks c * chunkSize ...) as batched tensors. */
  sampleChunk(c: number): EnsembleChunk {
    if (!Number.isInteger(c) || c < 0 || c >= this.chunks) throw new Error(`symmetry.ensemble: chunk ${c} is out of range (0..${this.chunks - 1})`);
    // Chunk c draws from the (c + 1)-th fork of the seed: independent of the chunks sampled before it.
    const master = new Rng(this.seed);
    let rng = master.fork();
    for (let i = 0; i < c; i++) rng = master.fork();
    const start = c * this.chunkSize;
    const count = Math.min(this.chunkSize, this.networks - start);
    const kernels: tf.Tensor3D[] = [];
    const biases: (tf.Tensor3D | null)[] = [];
    for (const d of this.layers) {
      const values = rng.normalArray(count * d.fanIn * d.fanOut, 0, d.std);
      if (d.mean !== 0) {
        for (let m = 0; m < count; m++) {
          for (let i = 0; i < d.fanIn; i++) {
            const row = (m * d.fanIn + i) * d.fanOut;
            for (const j of d.rows) values[row + j] += d.mean;
          }
        }
      }
      kernels.push(tf.tensor3d(values, [count, d.fanIn, d.fanOut]));
      biases.push(this.bias ? tf.tensor3d(rng.normalArray(count * d.fanOut, 0, d.biasStd), [count, 1, d.fanOut]) : null);
    }
    return { start, count, kernels, biases };
  }

  /** Outputs [m, n, D] of a chunk's networks at inputs x [n, d]. */
  apply(chunk: EnsembleChunk, x: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      let h: tf.Tensor = x;
      this.layers.forEach((d, l) => {
        const bias = chunk.biases[l];
        let z: tf.Tensor = tf.matMul(h as tf.Tensor3D, chunk.kernels[l]);
        if (bias) z = tf.add(z, bias);
        if (l === this.layers.length - 1) h = z;
        else if (this.activation !== "gauss") h = activate(z, this.activation);
        else {
          // Var(z | h) = std^2 |h|^2 + biasStd^2, per network and input.
          const variance = tf.add(tf.mul(tf.sum(tf.square(h), -1, true), d.std * d.std), bias ? d.biasStd * d.biasStd : 0);
          h = tf.exp(tf.sub(z, variance));
        }
      });
      return h as tf.Tensor3D;
    });
  }

  /**
   * Visits every chunk: samples it, evaluates the networks at each input set, downloads the outputs
   * ([m, n, D] row-major Float32Arrays, one per input set) and frees the tensors before the next chunk.
   * Awaits between chunks so a notebook interrupt stops a long pass; `label` names its progress bar.
   */
  async forEachChunk(inputSets: tf.Tensor2D[], label: string, visit: (outputs: Float32Array[], count: number) => void): Promise<void> {
    const bar = this.chunks > 1 ? optionalProgress(this.showProgress, label, this.networks) : null;
    for (let c = 0; c < this.chunks; c++) {
      const chunk = this.sampleChunk(c);
      try {
        const outputs = inputSets.map((x) => {
          const y = this.apply(chunk, x);
          const values = y.dataSync() as Float32Array;
          y.dispose();
          return values;
        });
        visit(outputs, chunk.count);
      } finally {
        disposeChunk(chunk);
      }
      bar?.update(chunk.start + chunk.count);
      await yieldToEventLoop();
    }
    bar?.finish();
  }

  /** Network i as a tf.Sequential (layers dense0, dense1, ...): to train it or to compare with it. */
  model(i: number): tf.Sequential {
    if (!Number.isInteger(i) || i < 0 || i >= this.networks) throw new Error(`symmetry.ensemble: network ${i} is out of range (0..${this.networks - 1})`);
    if (this.activation === "gauss") throw new Error(`symmetry.ensemble: a "gauss" network has no tf.layers equivalent (its normalisation depends on the layer input)`);
    const chunk = this.sampleChunk(Math.floor(i / this.chunkSize));
    try {
      const model = mlp(this.sizes, { activation: this.activation as Activation, bias: this.bias, init: "zeros" });
      const m = i - chunk.start;
      const weights = tf.tidy(() => this.layers.flatMap((_, l) => {
        const kernel = chunk.kernels[l].slice(m, 1).squeeze([0]);
        const bias = chunk.biases[l];
        return bias ? [kernel, bias.slice(m, 1).reshape([-1])] : [kernel];
      }));
      model.setWeights(weights);
      tf.dispose(weights);
      return model;
    } finally {
      disposeChunk(chunk);
    }
  }

  describe(): string {
    const shift = this.layers.map((d, l) => (d.mean !== 0 ? ` layer ${l} mean ${d.mean} on ${d.rows.length} unit${d.rows.length === 1 ? "" : "s"}` : "")).join("");
    return `${this.networks} networks [${this.sizes.join("-")}] ${this.activation}${this.bias ? " with biases" : ""}${shift || " (zero-mean)"}`;
  }

  [inspect.custom](): string {
    return `Ensemble { ${this.describe()}, seed ${this.seed}, ${this.chunks} chunk${this.chunks === 1 ? "" : "s"} of <= ${this.chunkSize} }`;
  }
}

export function disposeChunk(chunk: EnsembleChunk): void {
  tf.dispose(chunk.kernels);
  tf.dispose(chunk.biases.filter((b): b is tf.Tensor3D => b !== null));
}

function resolveLayer(init: LayerInit, fanIn: number, fanOut: number, l: number): LayerDensity {
  const where = `symmetry.ensemble: init[${l}] (layer ${l}, ${fanIn} -> ${fanOut})`;
  const std = init.std ?? 1 / Math.sqrt(fanIn);
  const mean = init.mean ?? 0;
  const biasStd = init.biasStd ?? 1;
  if (!(Number.isFinite(std) && std >= 0)) throw new Error(`${where}: std must be a finite number >= 0, got ${init.std}`);
  if (!Number.isFinite(mean)) throw new Error(`${where}: mean must be finite, got ${init.mean}`);
  if (!(Number.isFinite(biasStd) && biasStd >= 0)) throw new Error(`${where}: biasStd must be a finite number >= 0, got ${init.biasStd}`);
  const rows = init.rows ?? Array.from({ length: fanOut }, (_, j) => j);
  if (!Array.isArray(rows) || rows.some((j) => !Number.isInteger(j) || j < 0 || j >= fanOut) || new Set(rows).size !== rows.length) {
    throw new Error(`${where}: rows must be distinct output units in 0..${fanOut - 1}, got ${JSON.stringify(init.rows)}`);
  }
  return { fanIn, fanOut, std, mean, rows: [...rows].sort((a, b) => a - b), biasStd };
}

/** ws.symmetry.ensemble: M networks from an initialisation density, sampled lazily in chunks. */
export function ensemble(spec: EnsembleSpec, options: EnsembleOptions): Ensemble {
  return new Ensemble(spec, options);
}
