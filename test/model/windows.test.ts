import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { conv2d, maxPool, avgPool } from "../../src/model/windows";
import { Rng } from "../../src/math/rng";
import { assertClose, assertNoLeak, useTestBackend } from "../helpers";

before(useTestBackend);

const rng = new Rng(11);
const random = (shape: number[]) => tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1)), shape);

type Case = { h: number; w: number; k: [number, number]; s: [number, number]; d: [number, number]; p: "valid" | "same" };
const CASES: Case[] = [
  { h: 7, w: 6, k: [3, 3], s: [1, 1], d: [1, 1], p: "same" },
  { h: 7, w: 6, k: [3, 2], s: [2, 2], d: [1, 1], p: "same" },
  { h: 8, w: 9, k: [2, 3], s: [2, 3], d: [1, 1], p: "valid" },
  { h: 9, w: 9, k: [3, 3], s: [1, 1], d: [2, 2], p: "same" },
  { h: 5, w: 5, k: [1, 1], s: [2, 1], d: [1, 1], p: "valid" },
];

describe("convolution and pooling from slices", () => {
  it("conv2d equals tf.conv2d (float32, 1e-5) for strides, dilation and both paddings", () => {
    for (const c of CASES) {
      assertNoLeak(() =>
        tf.tidy(() => {
          const x = random([2, c.h, c.w, 3]) as tf.Tensor4D;
          const kernel = random([c.k[0], c.k[1], 3, 4]) as tf.Tensor4D;
          const expected = tf.conv2d(x, kernel, c.d[0] > 1 ? 1 : c.s, c.p, "NHWC", c.d);
          assertClose(conv2d(x, kernel, c.d[0] > 1 ? [1, 1] : c.s, c.p, c.d), expected, { rtol: 1e-5, atol: 1e-5, what: `conv2d ${JSON.stringify(c)}` });
        }),
      );
    }
  });

  it("maxPool and avgPool equal tf.maxPool and tf.avgPool (1e-6)", () => {
    for (const c of CASES.filter((c) => c.d[0] === 1)) {
      tf.tidy(() => {
        const x = random([2, c.h, c.w, 2]) as tf.Tensor4D;
        assertClose(maxPool(x, c.k, c.s, c.p), tf.maxPool(x, c.k, c.s, c.p), { rtol: 1e-6, what: `maxPool ${JSON.stringify(c)}` });
        assertClose(avgPool(x, c.k, c.s, c.p), tf.avgPool(x, c.k, c.s, c.p), { rtol: 1e-5, atol: 1e-6, what: `avgPool ${JSON.stringify(c)}` });
      });
    }
  });

  it("gradients equal TF.js's conv2d gradients, and second derivatives exist", () => {
    tf.tidy(() => {
      const x = random([2, 6, 6, 2]) as tf.Tensor4D;
      const kernel = random([3, 3, 2, 3]) as tf.Tensor4D;
      const ours = (k: tf.Tensor) => tf.sum(tf.square(maxPool(conv2d(x, k as tf.Tensor4D, [1, 1], "same", [1, 1]), [2, 2], [2, 2], "valid")));
      const theirs = (k: tf.Tensor) => tf.sum(tf.square(tf.maxPool(tf.conv2d(x, k as tf.Tensor4D, 1, "same"), 2, 2, "valid")));
      // The wasm backend has no Conv2DBackpropFilter (the reason for this module): compare there by a directional difference.
      if (tf.getBackend() !== "wasm") assertClose(tf.grad(ours)(kernel), tf.grad(theirs)(kernel), { rtol: 1e-4, atol: 1e-4, what: "gradient" });
      const u = random(kernel.shape);
      const slope = tf.sum(tf.mul(tf.grad(ours)(kernel), u)).dataSync()[0];
      const h = 1e-2;
      const diff = (ours(tf.add(kernel, tf.mul(u, h))).dataSync()[0] - ours(tf.sub(kernel, tf.mul(u, h))).dataSync()[0]) / (2 * h);
      assertClose(slope, diff, { rtol: 1e-2, what: "directional derivative" });
      // Hessian-vector product of a loss quadratic in the kernel: H v = 2 J^T J v, checked by central differences.
      const v = random(kernel.shape);
      // Through max and average pooling too (tf.maximum's gradient has no gradient of its own).
      const loss = (k: tf.Tensor) =>
        tf.sum(tf.square(avgPool(maxPool(conv2d(x, k as tf.Tensor4D, [1, 1], "same", [1, 1]), [3, 3], [2, 2], "same"), [2, 2], [1, 1], "same")));
      const hv = tf.grad((k: tf.Tensor) => tf.sum(tf.mul(tf.grad(loss)(k), v)))(kernel);
      const eps = 1e-2;
      const fd = tf.div(tf.sub(tf.grad(loss)(tf.add(kernel, tf.mul(v, eps))), tf.grad(loss)(tf.sub(kernel, tf.mul(v, eps)))), 2 * eps);
      assertClose(hv, fd, { rtol: 1e-3, atol: 1e-2, what: "Hessian-vector product" });
    });
  });

  it("rejects a window larger than a valid-padded input", () => {
    assert.throws(() => tf.tidy(() => conv2d(tf.zeros([1, 2, 2, 1]) as tf.Tensor4D, tf.zeros([3, 3, 1, 1]) as tf.Tensor4D, [1, 1], "valid", [1, 1])), /does not fit/);
  });
});
