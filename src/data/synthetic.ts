/**
 * Synthetic sets for the probes' experiments, deterministic for a given seed: 1-D regression with a given
 * target, two concentric circles, Gaussian blobs, and data labelled by a random teacher network.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../math/rng";
import { mlp, type MlpOptions } from "../model/build";
import { describeDataset, type Dataset } from "./dataset";
import { InputError, checkEach, checkOptions, rules } from "../errors";
import { assertBytesFit } from "../model/memory";

/** Float32 data of `count` values must fit the backend (a typed array, then a tensor copy of it). */
function assertDataFits(where: string, count: number): void {
  assertBytesFit(where, `${count} float32 values`, count * 4 * 2, "use a smaller n", "backend");
}

const TARGETS: Record<string, (x: number) => number> = {
  sin: (x) => Math.sin(x),
  "sin+sin3": (x) => Math.sin(x) + Math.sin(3 * x),
  relu: (x) => Math.max(0, x),
  abs: (x) => Math.abs(x),
  cubic: (x) => x * x * x,
};

export interface Regression1dOptions {
  n?: number;
  /** A function of x, or a named target: sin (default), "sin+sin3", relu, abs, cubic. */
  target?: ((x: number) => number) | keyof typeof TARGETS;
  /** Interval of x (default [-π, π]). */
  range?: [number, number];
  /** "grid" (evenly spaced, default) or "uniform" random points. */
  spacing?: "grid" | "uniform";
  /** Standard deviation of Gaussian noise added to y (default 0). */
  noise?: number;
  seed?: number;
}

/** y = target(x) on n points of an interval: x [n, 1], y [n, 1]. */
export function regression1d(options: Regression1dOptions = {}): Dataset {
  const { n = 64, target = "sin", range = [-Math.PI, Math.PI], spacing = "grid", noise = 0, seed = 0 } = options;
  checkOptions("regression1d", options, { n: rules.integer(1), spacing: rules.oneOf("grid", "uniform"), noise: rules.nonNegative(), seed: rules.finite() });
  const f = typeof target === "function" ? target : TARGETS[target];
  if (!f) throw new InputError("invalid-option", `regression1d: unknown target "${String(target)}"; use a function or one of ${Object.keys(TARGETS).join(", ")}`, "target");
  const [lo, hi] = range;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo)) throw new InputError("invalid-option", `regression1d: range must be [lo, hi] with lo < hi, got [${range.join(", ")}]`, "range");
  assertDataFits("regression1d", 2 * n);
  const rng = new Rng(seed);
  const xs = new Float32Array(n);
  const ys = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    xs[i] = spacing === "grid" ? (n === 1 ? (lo + hi) / 2 : lo + ((hi - lo) * i) / (n - 1)) : rng.uniform(lo, hi);
    ys[i] = f(xs[i]) + (noise > 0 ? noise * rng.normal() : 0);
    if (!Number.isFinite(ys[i])) throw new InputError("invalid-option", `regression1d: target(${xs[i]}) is ${ys[i]}`, "target");
  }
  return describeDataset({ x: tf.tensor2d(xs, [n, 1]), y: tf.tensor2d(ys, [n, 1]), task: "regression", name: `1-D regression (${typeof target === "string" ? target : "custom"}, ${n})` });
}

export interface CirclesOptions {
  /** Points per circle (default 100). */
  n?: number;
  /** Radii of the inner (class 0) and outer (class 1) circle (default [1, 2]). */
  radii?: [number, number];
  noise?: number;
  seed?: number;
}

/** Two concentric circles in the plane, labelled 0 (inner) and 1 (outer). */
export function circles(options: CirclesOptions = {}): Dataset {
  const { n = 100, radii = [1, 2], noise = 0.05, seed = 0 } = options;
  checkOptions("circles", options, { n: rules.integer(1), noise: rules.nonNegative(), seed: rules.finite() });
  checkEach("circles", "radii", radii, rules.positive(), 2, 2);
  assertDataFits("circles", 6 * n);
  const rng = new Rng(seed);
  const xs = new Float32Array(4 * n);
  const ys = new Int32Array(2 * n);
  for (let c = 0; c < 2; c++) {
    for (let i = 0; i < n; i++) {
      const angle = (2 * Math.PI * i) / n;
      const k = c * n + i;
      xs[2 * k] = radii[c] * Math.cos(angle) + noise * rng.normal();
      xs[2 * k + 1] = radii[c] * Math.sin(angle) + noise * rng.normal();
      ys[k] = c;
    }
  }
  return describeDataset({ x: tf.tensor2d(xs, [2 * n, 2]), y: tf.tensor1d(ys, "int32"), task: "classification", classes: ["inner", "outer"], name: `circles (${2 * n})` });
}

export interface BlobsOptions {
  /** Points per blob (default 50). */
  n?: number;
  /** Number of blobs/classes (default 3). */
  k?: number;
  dim?: number;
  /** Spread of each blob (default 0.5); centres are N(0, 3^2 I). */
  std?: number;
  seed?: number;
}

/** k Gaussian blobs in `dim` dimensions, one class per blob. */
export function blobs(options: BlobsOptions = {}): Dataset {
  const { n = 50, k = 3, dim = 2, std = 0.5, seed = 0 } = options;
  checkOptions("blobs", options, { n: rules.integer(1), k: rules.integer(1), dim: rules.integer(1), std: rules.nonNegative(), seed: rules.finite() });
  assertDataFits("blobs", n * k * (dim + 1));
  const rng = new Rng(seed);
  const centers = Array.from({ length: k }, () => Array.from(rng.normalArray(dim, 0, 3)));
  const xs = new Float32Array(n * k * dim);
  const ys = new Int32Array(n * k);
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < n; i++) {
      const row = c * n + i;
      for (let d = 0; d < dim; d++) xs[row * dim + d] = centers[c][d] + std * rng.normal();
      ys[row] = c;
    }
  }
  return describeDataset({ x: tf.tensor2d(xs, [n * k, dim]), y: tf.tensor1d(ys, "int32"), task: "classification", classes: centers.map((_, c) => `blob ${c}`), name: `blobs (${k} x ${n})` });
}

export interface TeacherOptions {
  n?: number;
  /** Layer sizes of the teacher network (default [10, 16, 1]). */
  sizes?: number[];
  activation?: MlpOptions["activation"];
  /** Standard deviation of Gaussian noise added to the teacher's outputs (default 0). */
  noise?: number;
  seed?: number;
}

/** Inputs x ~ N(0, I) labelled by a random teacher MLP: a regression set that a student of the same shape can fit exactly. */
export function teacher(options: TeacherOptions = {}): Dataset & { teacher: tf.LayersModel } {
  const { n = 256, sizes = [10, 16, 1], activation = "tanh", noise = 0, seed = 0 } = options;
  checkOptions("teacher", options, { n: rules.integer(1), noise: rules.nonNegative(), seed: rules.finite() });
  if (Array.isArray(sizes)) assertDataFits("teacher", n * (sizes[0] + sizes[sizes.length - 1]));
  const rng = new Rng(seed);
  const net = mlp(sizes, { activation, seed: rng.int(2 ** 31 - 1), name: "teacher" });
  const x = tf.tensor2d(rng.normalArray(n * sizes[0]), [n, sizes[0]]);
  const y = tf.tidy(() => {
    const out = net.predict(x) as tf.Tensor;
    return noise > 0 ? out.add(tf.tensor(rng.normalArray(out.size), out.shape).mul(noise)) : out.clone();
  });
  return describeDataset({ x, y, task: "regression" as const, name: `teacher ${sizes.join("-")} (${n})`, teacher: net });
}
