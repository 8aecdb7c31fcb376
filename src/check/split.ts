/**
 * ws.check.split: grades a student's neuron split fn(weights, layer, neuron, alpha) -> weights of the widened
 * ReLU MLP against the library's embedding (src/embed: splitPlan + applyPlan), the exact function check and
 * the gradient-mapping identity of the Embedding Principle.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../math/rng";
import { gradient } from "../math/hessian";
import { lossOf } from "../model/functional";
import { viewOf, type ModelView } from "../model/view";
import { applyPlan, hiddenLayer, rebuildModel } from "../embed/channels";
import { splitPlan, EMBED_TOLERANCE } from "../embed/split";
import { CheckResult, Grading, fmt, startGrading, type CheckOptions } from "./result";
import { allClose, callStudent, firstMismatch, indexText, inputsChanged, readTensorList } from "./student";
import { functionChange, randomMlp, weightName, weightTensors, type MlpCase } from "./mlp";

/**
 * Splits neuron `neuron` of hidden layer `layer` (0 = the first hidden layer, whose kernel is weights[0]) of
 * a ReLU MLP given as [W1, b1, ..., WL, bL] (W as [in, out]): the copy is appended as the layer's last
 * neuron with the same incoming weights; the outgoing row of `neuron` is scaled by alpha and the copy's
 * outgoing row is (1 - alpha) times the old one. Returns the widened weights (may be async).
 */
export type SplitFn = (weights: tf.Tensor[], layer: number, neuron: number, alpha: number) => tf.Tensor[] | Promise<tf.Tensor[]>;

const WEIGHT_RTOL = 1e-5;
/** Float32 gradients of a half squared loss of order one: agreement to 1e-4 of max(1, |g|). */
const GRADIENT_RTOL = 1e-4;
/** Split coefficients of the cases: never 0, 1 or 1/2 (1/2 hides a swap), one negative, one above 1. */
const ALPHAS = [0.3, -0.4, 1.7, 0.8];

const UNTOUCHED = "inputs untouched";
const INCOMING = "incoming: the copy gets column s of W_l and b_l[s]";
const OUTGOING = "outgoing: row s of W_l+1 times alpha, the copy's row (1 - alpha) times it";
const FUNCTION = "function preserved";
const GRADIENT = "gradient mapping";

export async function split(fn: SplitFn, options: CheckOptions = {}): Promise<CheckResult> {
  if (typeof fn !== "function") throw new Error(`ws.check.split: pass your function (weights, layer, neuron, alpha) => weights, got ${typeof fn}`);
  const { seed, cases } = await startGrading(options, 3, "split");
  const grading = new Grading("split", [{ name: UNTOUCHED }, { name: INCOMING }, { name: OUTGOING }, { name: FUNCTION }, { name: GRADIENT }]);
  for (let k = 0; k < cases; k++) {
    const c = randomMlp(k, seed);
    try {
      await gradeCase(fn, c, k, grading, seed * 1000 + k);
    } finally {
      c.model.dispose();
    }
  }
  return grading.result();
}

interface Split {
  layer: number;
  neuron: number;
  alpha: number;
}

async function gradeCase(fn: SplitFn, c: MlpCase, k: number, grading: Grading, caseSeed: number): Promise<void> {
  const rng = new Rng(caseSeed + 700);
  const hidden = c.sizes.length - 2;
  const layer = k % hidden;
  const s: Split = { layer, neuron: rng.int(c.sizes[layer + 1]), alpha: ALPHAS[k % ALPHAS.length] };
  const name = `${c.name}, layer ${s.layer}, neuron ${s.neuron}, alpha ${s.alpha}`;
  const info = hiddenLayer(c.view, s.layer, "ws.check.split");
  const { values, shapes } = applyPlan(info, c.arrays, splitPlan(info.width, new Map([[s.neuron, [s.alpha, 1 - s.alpha]]])).plan);
  const expected = values.map((v) => Float32Array.from(v));

  const weights = weightTensors(c.arrays, c.shapes);
  const outcome = await callStudent(() => fn(weights, s.layer, s.neuron, s.alpha), (out) => readTensorList(out, shapes, "weights'"));
  const changed = inputsChanged(weights, c.arrays, "weights");
  tf.dispose(weights);
  if (!outcome.ok) {
    grading.callFailed(name, outcome.message);
    return;
  }
  const actual = outcome.value;
  grading.check(name, UNTOUCHED, changed === "", "inputs unchanged", changed === "" ? "unchanged" : "changed", changed);
  const outgoing = 2 * (s.layer + 1);
  for (const identity of [INCOMING, OUTGOING]) {
    const indices = actual.map((_, i) => i).filter((i) => (identity === OUTGOING) === (i === outgoing));
    const bad = indices.map((i) => ({ i, m: firstMismatch(actual[i], expected[i], WEIGHT_RTOL) })).find((b) => b.m !== null);
    if (!bad || !bad.m) grading.pass(name, identity);
    else grading.fail(name, identity, fmt(bad.m.expected), fmt(bad.m.actual), `at ${weightName(bad.i)}${indexText(bad.m.index, shapes[bad.i])}${mistakeHint(c, s, bad.i, actual[bad.i])}`);
  }
  const wider = rebuildModel(c.model, info, info.width + 1, actual.map((a) => Float64Array.from(a)), shapes);
  try {
    const check = functionChange(c, wider, EMBED_TOLERANCE, caseSeed);
    grading.check(name, FUNCTION, check.passed, `max|f'-f| / max(1, max|f|) <= ${EMBED_TOLERANCE}`, fmt(check.rel), check.passed ? "" : `on ${check.samples} random inputs`);
    gradeGradient(c, s, viewOf(wider), actual, shapes, grading, name, caseSeed);
  } finally {
    wider.dispose();
  }
}

/**
 * The Embedding Principle's gradient map at a non-critical point: the split neuron's incoming gradients are
 * alpha and (1 - alpha) times the old ones, both outgoing rows get the old row's full gradient, everything
 * else is unchanged.
 */
function gradeGradient(c: MlpCase, s: Split, wideView: ModelView, actual: Float32Array[], shapes: number[][], grading: Grading, name: string, caseSeed: number): void {
  const rng = new Rng(caseSeed + 900);
  const n = 16;
  const x = tf.tensor2d(rng.normalArray(n * c.sizes[0]), [n, c.sizes[0]]);
  const y = tf.tensor2d(rng.normalArray(n * c.sizes[c.sizes.length - 1]), [n, c.sizes[c.sizes.length - 1]]);
  const grads = (view: ModelView, arrays: readonly ArrayLike<number>[], shapeList: readonly number[][]) => {
    const params = weightTensors(arrays, shapeList);
    const g = gradient((p) => lossOf(view, p, x, y, "halfMse"), params);
    const out = g.map((t) => t.dataSync().slice() as Float32Array);
    tf.dispose([...params, ...g]);
    return out;
  };
  try {
    const before = grads(c.view, c.arrays, c.shapes);
    const after = grads(wideView, actual, shapes);
    const expected = widen(before, c.sizes, s, { inOriginal: s.alpha, inCopy: 1 - s.alpha, outOriginal: 1, outCopy: 1 });
    const bad = after.map((g, i) => ({ i, m: firstMismatch(g, expected[i], GRADIENT_RTOL) })).find((b) => b.m !== null);
    if (!bad || !bad.m) grading.pass(name, GRADIENT);
    else grading.fail(name, GRADIENT, fmt(bad.m.expected), fmt(bad.m.actual), `dL/d${weightName(bad.i)}${indexText(bad.m.index, shapes[bad.i])} of the half squared loss on ${n} random samples`);
  } finally {
    tf.dispose([x, y]);
  }
}

interface SplitFactors {
  inOriginal: number;
  inCopy: number;
  outOriginal: number;
  outCopy: number;
  /** Where the copy goes in the layer (default: appended last). */
  at?: "end" | "next";
}

/**
 * Arrays of the widened network (or of its gradient) from per-neuron factors of a split of neuron s: the
 * incoming column and bias of s and of its copy, and the outgoing row of s and of its copy, scaled.
 */
function widen(arrays: readonly ArrayLike<number>[], sizes: number[], s: Split, f: SplitFactors): Float32Array[] {
  const width = sizes[s.layer + 1];
  const at = f.at === "next" ? s.neuron + 1 : width;
  /** Old neuron of each new position, and whether it is the copy. */
  const order = Array.from({ length: width + 1 }, (_, p) => (p === at ? { old: s.neuron, copy: true } : { old: p < at ? p : p - 1, copy: false }));
  return arrays.map((a, i) => {
    const layer = Math.floor(i / 2);
    if (layer === s.layer) {
      const rows = i % 2 === 0 ? sizes[s.layer] : 1;
      const out = new Float32Array(rows * (width + 1));
      for (let r = 0; r < rows; r++) {
        order.forEach(({ old, copy }, p) => {
          const factor = old !== s.neuron ? 1 : copy ? f.inCopy : f.inOriginal;
          out[r * (width + 1) + p] = factor * a[r * width + old];
        });
      }
      return out;
    }
    if (i === 2 * (s.layer + 1)) {
      const cols = sizes[s.layer + 2];
      const out = new Float32Array((width + 1) * cols);
      order.forEach(({ old, copy }, p) => {
        const factor = old !== s.neuron ? 1 : copy ? f.outCopy : f.outOriginal;
        for (let col = 0; col < cols; col++) out[p * cols + col] = factor * a[old * cols + col];
      });
      return out;
    }
    return Float32Array.from(a);
  });
}

/** Names the usual mistake the student's weight `i` matches, if any. */
function mistakeHint(c: MlpCase, s: Split, i: number, actual: Float32Array): string {
  const a = s.alpha;
  const variants: [SplitFactors, string][] = [
    [{ inOriginal: 1, inCopy: 1, outOriginal: a, outCopy: 1 - a, at: "next" }, "the copy must be appended as the last neuron of the layer, not inserted after neuron s"],
    [{ inOriginal: 1, inCopy: 1, outOriginal: 1 - a, outCopy: a }, "alpha and 1 - alpha are swapped: neuron s keeps alpha times its outgoing row, the copy gets 1 - alpha"],
    [{ inOriginal: 1, inCopy: 1, outOriginal: a, outCopy: a }, "both outgoing rows were scaled by alpha: the copy's row must be (1 - alpha) times the old one, so the two add up to it"],
    [{ inOriginal: 1, inCopy: 1, outOriginal: 1, outCopy: 1 }, "both copies kept the full outgoing row: the neuron's contribution is doubled; scale it by alpha and 1 - alpha"],
    [{ inOriginal: a, inCopy: 1 - a, outOriginal: 1, outCopy: 1 }, "the incoming weights were scaled: a split copies them unchanged and splits the outgoing row"],
  ];
  const hit = variants.find(([f]) => allClose(actual, widen(c.arrays, c.sizes, s, f)[i], WEIGHT_RTOL));
  return hit ? `; ${hit[1]}` : "";
}
