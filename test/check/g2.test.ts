import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { assertNoLeak, useTestBackend } from "../helpers";
import * as check from "../../src/check";

before(useTestBackend);

/** A student's G2 as float32 tensor algebra: F^T F / M. */
function correct(outputs: number[][]): number[][] {
  return tf.tidy(() => {
    const f = tf.tensor2d(outputs);
    return tf.div(tf.matMul(f, f, true, false), outputs.length).arraySync() as number[][];
  });
}

function centred(outputs: number[][], divisor: (m: number) => number): number[][] {
  const m = outputs.length;
  const k = outputs[0].length;
  const mean = Array.from({ length: k }, (_, i) => outputs.reduce((a, r) => a + r[i], 0) / m);
  return Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => outputs.reduce((a, r) => a + (r[i] - mean[i]) * (r[j] - mean[j]), 0) / divisor(m)));
}

test("a correct estimator (float32 matMul) gets full marks, the exact mean of products on a hand example", async () => {
  const result = await assertNoLeak(() => check.g2(correct));
  assert.equal(result.score, 3);
  assert.deepEqual(result.feedback, []);
  // Two networks, outputs (1, 2) and (3, -1): G2 = [[(1 + 9)/2, (2 - 3)/2], [-1/2, (4 + 1)/2]].
  assert.deepEqual(correct([[1, 2], [3, -1]]), [[5, -0.5], [-0.5, 2.5]]);
});

test("biased estimators lose the diagonal and off-diagonal points (1 of 3), each named", async () => {
  const m1 = await check.g2((o) => correct(o).map((r) => r.map((v) => (v * o.length) / (o.length - 1))));
  assert.equal(m1.score, 1);
  // The M = 1 case gives Infinity; the first failing case is the first one, with the hint.
  assert.match(m1.feedback[0], /^G2_ii = \(1\/M\) sum_m f_mi\^2: case 1 \(M = 40 networks.*you divided by M - 1/);
  const cov = await check.g2((o) => centred(o, (m) => m));
  assert.equal(cov.score, 1);
  assert.match(cov.feedback.join("\n"), /you subtracted the means: that is the covariance/);
  const sampleCov = await check.g2((o) => centred(o, (m) => m - 1));
  assert.match(sampleCov.feedback.join("\n"), /that is the sample covariance/);
  const summed = await check.g2((o) => correct(o).map((r) => r.map((v) => v * o.length)));
  assert.match(summed.feedback.join("\n"), /summed the products without dividing by M/);
});

test("asymmetric answers, the M x M Gram matrix and throwing functions are graded", async () => {
  const asym = await check.g2((o) => correct(o).map((r, i) => r.map((v, j) => (j > i ? v + 1 : v))));
  assert.equal(asym.identities[0].passed, false);
  assert.match(asym.feedback[0], /^G2 is symmetric: case 1/);
  const gram = await assertNoLeak(() => check.g2((o) => tf.tidy(() => {
    const f = tf.tensor2d(o);
    return tf.matMul(f, f, false, true).arraySync() as number[][];
  })));
  assert.equal(gram.score, 0);
  assert.match(gram.feedback[0], /returned 40 rows, one per network: G2 is k x k \(3 x 3\)/);
  const thrown = await check.g2(() => {
    throw new RangeError("oops");
  });
  assert.deepEqual(thrown.feedback, ["case 1 (M = 40 networks, k = 3 outputs, seed 0): your function threw RangeError: oops"]);
});
