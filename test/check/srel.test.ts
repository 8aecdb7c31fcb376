import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { assertNoLeak, useTestBackend } from "../helpers";
import * as check from "../../src/check";

before(useTestBackend);

/** A ReLU MLP (linear output) from its weight list [W1, b1, ...]. */
function mlpForward(weights: tf.Tensor[], x: tf.Tensor): tf.Tensor {
  let h = x;
  for (let i = 0; i < weights.length; i += 2) {
    h = tf.add(tf.matMul(h as tf.Tensor2D, weights[i] as tf.Tensor2D), weights[i + 1]);
    if (i + 2 < weights.length) h = tf.relu(h);
  }
  return h;
}

interface Variant {
  /** Loss factor: 0.5 for 1/2 (f - y)^2 (the definition), 1 for (f - y)^2. */
  half?: number;
  /** Differentiate f instead of the loss. */
  gradOfF?: boolean;
  inverted?: boolean;
  signed?: boolean;
}

/** A student's S_rel: one SGD step on a copy of the weights, outputs differenced at x' and at x. */
function srelWith(v: Variant = {}) {
  return (model: tf.LayersModel, sample: check.LabelledSample, xPrime: tf.Tensor2D, lr: number): number =>
    tf.tidy(() => {
      const w = model.getWeights();
      const objective = (...p: tf.Tensor[]) => (v.gradOfF ? tf.sum(mlpForward(p, sample.x)) : tf.mul(v.half ?? 0.5, tf.sum(tf.square(tf.sub(mlpForward(p, sample.x), sample.y)))));
      const g = tf.grads(objective)(w);
      const stepped = w.map((t, i) => tf.sub(t, tf.mul(lr, g[i])));
      const change = (x: tf.Tensor) => tf.sub(mlpForward(stepped, x), mlpForward(w, x)).dataSync()[0];
      const ratio = v.inverted ? change(sample.x) / change(xPrime) : change(xPrime) / change(sample.x);
      return v.signed ? ratio : Math.abs(ratio);
    });
}

test("a correct S_rel gets full marks (4 identities, 3 networks x 2 pairs), no leaks", async () => {
  const result = await assertNoLeak(() => check.srel(srelWith()), "ws.check.srel");
  assert.equal(result.score, 4, result.feedback.join("\n"));
  assert.equal(result.records.filter((r) => r.identity === "S_rel(x, x) = 1").length, 3);
  assert.equal(result.records.filter((r) => r.identity.startsWith("S_rel(x, x') =")).length, 6);
});

test("typical mistakes lose the definition point with a feedback line naming them", async () => {
  const cases: [Variant, RegExp, boolean[]][] = [
    [{ half: 1 }, /step on \(f - y\)\^2, twice as long/, [true, true, true, false]],
    [{ gradOfF: true }, /a step along grad f\(x\)/, [true, true, true, false]],
    [{ inverted: true }, /the ratio is inverted/, [true, true, true, false]],
    [{ signed: true }, /S_rel is a ratio of absolute changes/, [true, true, false, false]],
  ];
  for (const [variant, hint, passed] of cases) {
    const result = await assertNoLeak(() => check.srel(srelWith(variant)));
    assert.deepEqual(result.identities.map((i) => i.passed), passed, `${JSON.stringify(variant)}:\n${result.feedback.join("\n")}`);
    assert.ok(result.feedback.some((l) => hint.test(l)), `${JSON.stringify(variant)}:\n${result.feedback.join("\n")}`);
  }
});

test("a function that steps the model itself loses 'model untouched' only (each call gets its own copy of the model)", async () => {
  const inPlace = (model: tf.LayersModel, sample: check.LabelledSample, xPrime: tf.Tensor2D, lr: number): number => {
    const value = srelWith()(model, sample, xPrime, lr);
    tf.tidy(() => {
      const w = model.getWeights();
      const g = tf.grads((...p: tf.Tensor[]) => tf.mul(0.5, tf.sum(tf.square(tf.sub(mlpForward(p, sample.x), sample.y)))))(w);
      model.setWeights(w.map((t, i) => tf.sub(t, tf.mul(lr, g[i]))));
    });
    return value;
  };
  const result = await assertNoLeak(() => check.srel(inPlace));
  assert.deepEqual(result.identities.map((i) => i.passed), [false, true, true, true], result.feedback.join("\n"));
  assert.match(result.feedback[0], /^model untouched: case 1 .*every probe step starts again from the same w/);
});

test("a function that disposes the model it was given is graded, not a crash, and nothing leaks", async () => {
  const result = await assertNoLeak(() => check.srel((model, sample, xPrime, lr) => {
    const value = srelWith()(model, sample, xPrime, lr);
    model.dispose();
    return value;
  }));
  assert.deepEqual(result.identities.map((i) => i.passed), [false, true, true, true], result.feedback.join("\n"));
  assert.match(result.feedback[0], /the model was disposed by your function/);
});

test("tensors, NaN and throws are graded with the reason", async () => {
  const tensor = await assertNoLeak(() => check.srel(() => tf.scalar(1) as unknown as number));
  assert.match(tensor.feedback[0], /returned a tf.Tensor of shape \[\], expected a plain number/);
  const nan = await check.srel(() => NaN);
  assert.match(nan.feedback[0], /returned NaN, expected a finite number/);
  const thrown = await check.srel(async () => {
    throw new Error("not implemented");
  });
  assert.equal(thrown.score, 0);
  assert.equal(thrown.feedback.length, 1);
});
