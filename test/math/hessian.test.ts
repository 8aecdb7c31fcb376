import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { hvp, hessianOperator, lanczos, hutchinson, denseHessian, gradient } from "../../src/math/hessian";
import { symmetricEigen, inertia } from "../../src/math/eigen";
import { Rng } from "../../src/math/rng";
import { mlp, viewOf, readParams, trainableLoss } from "../../src/model";

tf.setBackend("cpu");

/** Symmetric matrix with known spectrum: Q diag(lambda) Q^T from a random orthogonal Q (float64). */
function matrixWithSpectrum(lambda: number[], seed: number): number[][] {
  const n = lambda.length;
  const rng = new Rng(seed);
  const q: number[][] = [];
  for (let i = 0; i < n; i++) {
    let v = Array.from({ length: n }, () => rng.normal());
    for (const u of q) {
      const d = v.reduce((a, x, k) => a + x * u[k], 0);
      v = v.map((x, k) => x - d * u[k]);
    }
    const norm = Math.hypot(...v);
    q.push(v.map((x) => x / norm));
  }
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => lambda.reduce((a, l, k) => a + l * q[k][i] * q[k][j], 0)));
}

test("hvp of a quadratic 1/2 w^T A w is A v (float32, 1e-5 relative)", () => {
  const a = [[2, -1, 0.5], [-1, 3, 0], [0.5, 0, 1]];
  const A = tf.tensor2d(a);
  const w = tf.tensor1d([0.3, -0.2, 1.5]);
  const v = tf.tensor1d([1, 2, -1]);
  const before = tf.memory().numTensors;
  const loss = ([p]: tf.Tensor[]) => tf.mul(0.5, tf.sum(tf.mul(p, tf.matMul(A, p.reshape([3, 1])).reshape([3])))) as tf.Scalar;
  const [hv] = hvp(loss, [w], [v]);
  const expected = a.map((row) => row.reduce((s, x, j) => s + x * [1, 2, -1][j], 0));
  const got = Array.from(hv.dataSync());
  got.forEach((g, i) => assert.ok(Math.abs(g - expected[i]) <= 1e-5 * Math.abs(expected[i]) + 1e-6, `component ${i}: ${g} vs ${expected[i]}`));
  hv.dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([A, w, v]);
});

test("Lanczos recovers the top and bottom of a known spectrum; Hutchinson is exact on diagonal matrices", () => {
  const lambda = [9, 7.5, 4, 2, 1, 0.5, 0, -0.25, -3, 0.1, 0.2, 0.3];
  const a = matrixWithSpectrum(lambda, 4);
  const A = tf.tensor2d(a);
  const w = tf.zeros([lambda.length]);
  const loss = ([p]: tf.Tensor[]) => tf.mul(0.5, tf.sum(tf.mul(p, tf.matMul(A, p.reshape([-1, 1])).reshape([-1])))) as tf.Scalar;
  const op = hessianOperator(loss, [w]);
  const top = lanczos(op, 3, { which: "both" });
  const sorted = lambda.slice().sort((x, y) => y - x);
  [9, 7.5, 4].forEach((l, i) => assert.ok(Math.abs(top.values[i] - l) <= 1e-4 * 9, `top ${i}: ${top.values[i]}`));
  [-3, -0.25, 0].forEach((l, i) => assert.ok(Math.abs(top.values[3 + i] - l) <= 1e-4 * 9, `bottom ${i}: ${top.values[3 + i]} vs ${l}`));
  const dense = symmetricEigen(denseHessian(op), lambda.length);
  dense.values.forEach((v, i) => assert.ok(Math.abs(v - sorted[i]) <= 1e-4 * 9));
  tf.dispose([A, w]);

  const d = [1.5, -2, 0.25, 4];
  const D = tf.tensor1d(d);
  const x = tf.zeros([4]);
  const diagLoss = ([p]: tf.Tensor[]) => tf.mul(0.5, tf.sum(tf.mul(D, tf.square(p)))) as tf.Scalar;
  const est = hutchinson(hessianOperator(diagLoss, [x]), 4, 1);
  assert.ok(Math.abs(est.trace - 3.75) <= 1e-5);
  Array.from(est.diagonal).forEach((v, i) => assert.ok(Math.abs(v - d[i]) <= 1e-5));
  assert.ok(est.stderr <= 1e-5);
  tf.dispose([D, x]);
});

test("dense Hessian of least squares on a linear model equals X^T X / n; inertia counts the rank deficit", () => {
  const model = mlp([3, 1], { bias: false, output: "linear", seed: 1 });
  const view = viewOf(model);
  const rows = [[1, 2, 3], [2, 4, 6], [0, 1, -1], [1, 0, 0]];
  const x = tf.tensor2d(rows.map((r) => r.slice(0, 3)));
  // Make the third column a combination of the others: X has rank 2 -> one zero eigenvalue.
  const xr = tf.tensor2d(rows.map((r) => [r[0], r[1], r[0] + r[1]]));
  const y = tf.tensor2d([[1], [0], [2], [1]]);
  const params = readParams(model);
  const { loss, trainable } = trainableLoss(view, params, xr, y, "halfMse");
  const h = denseHessian(hessianOperator(loss, trainable));
  const X = rows.map((r) => [r[0], r[1], r[0] + r[1]]);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
    const expected = X.reduce((s, r) => s + r[i] * r[j], 0) / 4;
    assert.ok(Math.abs(h[i * 3 + j] - expected) <= 1e-5 * 20, `H[${i}][${j}] = ${h[i * 3 + j]} vs ${expected}`);
  }
  assert.deepEqual(inertia(symmetricEigen(h, 3).values, 1e-5), { negative: 0, zero: 1, positive: 2 });
  const [g] = gradient(loss, trainable);
  assert.equal(g.shape.join(), "3,1");
  tf.dispose([x, xr, y, g, ...params]);
});

test("symmetricEigen checks its input", () => {
  assert.throws(() => symmetricEigen([1, 2, 3], 2), /expected 4 entries/);
  assert.throws(() => symmetricEigen([1, NaN, NaN, 1], 2), /is NaN/);
});
