/**
 * ws.check.srel: grades a student's relative similarity fn(model, sample, xPrime, lr) -> S_rel (He & Su's local
 * elasticity: one SGD step of size lr on the half squared loss of the labelled sample, finite step) against
 * the library's ws.elasticity in its finite mode.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../math/rng";
import { gradient } from "../math/hessian";
import { mlp } from "../model/build";
import { cloneModel } from "../model/params";
import { forward } from "../model/functional";
import { viewOf } from "../model/view";
import { readArrays } from "../embed/channels";
import { elasticity } from "../elasticity/probe";
import { CheckResult, Grading, fmt, startGrading, type CheckOptions } from "./result";
import { callStudent, readNumber } from "./student";

/** The labelled sample (x, y) the probe step is taken on: x [1, inputs], y [1, 1]. */
export interface LabelledSample {
  x: tf.Tensor2D;
  y: tf.Tensor2D;
}

/**
 * S_rel(x, x') = |f(x', w+) - f(x', w)| / |f(x, w+) - f(x, w)| with w+ = w - lr grad_w 1/2 (f(x, w) - y)^2,
 * for a one-output regression model; must not change the model (may be async).
 */
export type SrelFn = (model: tf.LayersModel, sample: LabelledSample, xPrime: tf.Tensor2D, lr: number) => number | Promise<number>;

/**
 * Both sides take the step in float32; the step changes f(x) by about 10%, so float32 cancellation leaves
 * about 1e-6 of error in S_rel (absolute, from the differences of outputs), far below these tolerances; a
 * different loss or step length shifts S_rel by more (second-order terms of the finite step).
 */
const SREL_RTOL = 1e-3;
const SREL_ATOL = 1e-5;
/** Target relative size of the step's change at the probed sample (sets lr per case). */
const STEP_SIZE = 0.1;
/** Residual f(x) - y of the probed sample: not +-1, so a step along grad f instead of grad L shows. */
const RESIDUAL = 2.5;

const UNTOUCHED = "model untouched";
const SELF = "S_rel(x, x) = 1";
const NONNEGATIVE = "S_rel >= 0";
const DEFINITION = "S_rel(x, x') = |f(x', w+) - f(x', w)| / |f(x, w+) - f(x, w)|";

const SIZES = [[3, 8, 1], [2, 6, 5, 1], [4, 10, 1]];

export async function srel(fn: SrelFn, options: CheckOptions = {}): Promise<CheckResult> {
  if (typeof fn !== "function") throw new Error(`ws.check.srel: pass your function (model, sample, xPrime, lr) => number, got ${typeof fn}`);
  const { seed, cases } = await startGrading(options, 3, "srel");
  const grading = new Grading("srel", [{ name: UNTOUCHED }, { name: SELF }, { name: NONNEGATIVE }, { name: DEFINITION }]);
  for (let k = 0; k < cases; k++) {
    const caseSeed = seed * 1000 + k;
    const sizes = SIZES[k % SIZES.length];
    const model = mlp(sizes, { seed: caseSeed, init: { std: 0.8, bias: 0.3 }, name: `graded_regression_${k}` });
    try {
      await gradeCase(fn, model, sizes, `${k + 1} (ReLU MLP ${sizes.join("-")}, seed ${caseSeed})`, grading, caseSeed);
    } finally {
      model.dispose();
    }
  }
  return grading.result();
}

async function gradeCase(fn: SrelFn, model: tf.LayersModel, sizes: number[], name: string, grading: Grading, caseSeed: number): Promise<void> {
  const rng = new Rng(caseSeed + 300);
  const d = sizes[0];
  const x = Array.from(rng.normalArray(d));
  const weights = readArrays(model);
  const { y, lr } = probeSetup(model, x);
  const xPrime = await oppositeChange(model, x, y, lr, rng);
  const calls: { label: string; other: number[] }[] = [{ label: `${name}, x' = x`, other: x }, { label: `${name}, x' != x`, other: xPrime }];
  for (const { label, other } of calls) {
    const expected = (await reference(model, x, y, other, lr, "halfMse")).srel;
    const sample = { x: tf.tensor2d([x]), y: tf.tensor2d([[y]]) };
    const affected = tf.tensor2d([other]);
    // Each call gets its own copy of the model, so a step taken on it (or its disposal) cannot touch the reference.
    const copy = cloneModel(model);
    const outcome = await callStudent(() => fn(copy, sample, affected, lr), readNumber);
    tf.dispose([sample.x, sample.y, affected]);
    const changed = modelChange(copy, weights);
    if (changed !== DISPOSED) copy.dispose();
    if (!outcome.ok) {
      grading.callFailed(label, outcome.message);
      continue;
    }
    const s = outcome.value;
    grading.check(label, UNTOUCHED, changed === "", "weights unchanged", changed ? "changed" : "unchanged", changed ? `${changed}: every probe step starts again from the same w; step a copy of the weights` : "");
    if (other === x) grading.check(label, SELF, close(s, 1), "1", fmt(s));
    grading.check(label, NONNEGATIVE, s >= 0, ">= 0", fmt(s), s < 0 ? "S_rel is a ratio of absolute changes" : "");
    const ok = close(s, expected);
    grading.check(label, DEFINITION, ok, fmt(expected), fmt(s), ok ? "" : `lr ${fmt(lr)}, y ${fmt(y)}${await mistakeHint(model, x, y, other, lr, s, expected)}`);
  }
}

function close(actual: number, expected: number): boolean {
  return Math.abs(actual - expected) <= SREL_ATOL + SREL_RTOL * Math.abs(expected);
}

/** A target with residual f(x) - y = RESIDUAL and a step size that changes f(x) by about STEP_SIZE relative. */
function probeSetup(model: tf.LayersModel, x: number[]): { y: number; lr: number } {
  const view = viewOf(model);
  const params = model.weights.map((w) => w.read());
  const input = tf.tensor2d([x]);
  try {
    const f = tf.tidy(() => forward(view, params, input).dataSync()[0]);
    const g = gradient((p) => tf.sum(forward(view, p, input)) as tf.Scalar, params);
    const norm2 = g.reduce((a, t) => a + tf.tidy(() => tf.sum(tf.square(t)).dataSync()[0]), 0);
    tf.dispose(g);
    // The first-order change of f(x) is lr * RESIDUAL * |grad f|^2.
    const lr = (STEP_SIZE * Math.max(1, Math.abs(f))) / (RESIDUAL * Math.max(norm2, 1e-6));
    return { y: f - RESIDUAL, lr: Number(lr.toPrecision(3)) };
  } finally {
    input.dispose();
  }
}

/**
 * A point x' whose output moves the opposite way to f(x) under the step, by at least 5% as much (the first of
 * up to 40 seeded draws), so an answer without the absolute values is negative there.
 */
async function oppositeChange(model: tf.LayersModel, x: number[], y: number, lr: number, rng: Rng): Promise<number[]> {
  const self = (await reference(model, x, y, x, lr, "halfMse")).sker;
  let candidate: number[] = [];
  for (let t = 0; t < 40; t++) {
    // Half the draws near -x, where a ReLU network's tangent kernel with x is most often negative.
    candidate = Array.from(rng.normalArray(x.length), (v, i) => (t % 2 === 0 ? v : -x[i] + 0.5 * v));
    const ratio = (await reference(model, x, y, candidate, lr, "halfMse")).sker / self;
    if (ratio < -0.05) break;
  }
  return candidate;
}

/**
 * The library's finite-step probe (ws.elasticity, kind "regression"): S_rel and the signed kernelized
 * similarity df(x') / (-lr dL/df(x)).
 */
async function reference(model: tf.LayersModel, x: number[], y: number, other: number[], lr: number, loss: "halfMse" | "mse", mode: "finite" | "infinitesimal" = "finite"): Promise<{ srel: number; sker: number }> {
  const data = { x: tf.tensor2d([x]), y: tf.tensor2d([[y]]) };
  const against = { x: tf.tensor2d([other]), y: tf.tensor2d([[0]]) };
  try {
    const result = await elasticity(model, data, { points: [0], against, kind: "regression", mode, eta: lr, loss, step: "sgd", minChange: 0, progress: false });
    return { srel: result.srel[0][0], sker: result.sker ? result.sker[0][0] : NaN };
  } finally {
    tf.dispose([data.x, data.y, against.x, against.y]);
  }
}

const DISPOSED = "the model was disposed by your function";

/** "" when the model holds `weights`, else what changed. */
function modelChange(model: tf.LayersModel, weights: Float32Array[]): string {
  for (let i = 0; i < weights.length; i++) {
    let now: ArrayLike<number>;
    try {
      now = model.weights[i].read().dataSync();
    } catch {
      // read() only fails on a disposed variable.
      return DISPOSED;
    }
    for (let k = 0; k < now.length; k++) if (now[k] !== weights[i][k]) return `weight ${model.weights[i].name} changed at flat index ${k} (${fmt(weights[i][k])} -> ${fmt(now[k])})`;
  }
  return "";
}

/** Names the usual mistake the student's value matches, if any. */
async function mistakeHint(model: tf.LayersModel, x: number[], y: number, other: number[], lr: number, s: number, expected: number): Promise<string> {
  const near = (v: number) => close(s, v);
  if (expected !== 0 && near(1 / expected)) return "; the ratio is inverted: the change at x' goes in the numerator, the change at the probed x in the denominator";
  if (near(-expected)) return "; the sign is wrong: S_rel is a ratio of absolute changes";
  if (near((await reference(model, x, y, other, lr, "mse")).srel)) return "; this is the S_rel of a step on (f - y)^2, twice as long: the loss is 1/2 (f - y)^2";
  if (near((await reference(model, x, await residualOne(model, x), other, lr, "halfMse")).srel)) return "; this is a step along grad f(x): the SGD step follows the gradient of the loss, (f(x) - y) grad f(x)";
  if (near((await reference(model, x, y, other, lr, "halfMse", "infinitesimal")).srel)) return "; this is the lr -> 0 limit (a ratio of gradient dot products): take the real step of size lr and difference the outputs";
  return "";
}

/** The target that makes the loss gradient equal grad f(x) (residual 1). */
async function residualOne(model: tf.LayersModel, x: number[]): Promise<number> {
  const input = tf.tensor2d([x]);
  try {
    const out = model.predict(input) as tf.Tensor;
    const f = (await out.data())[0];
    out.dispose();
    return f - 1;
  } finally {
    input.dispose();
  }
}
