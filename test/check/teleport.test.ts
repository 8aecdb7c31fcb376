import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { assertNoLeak, useTestBackend } from "../helpers";
import * as check from "../../src/check";

before(useTestBackend);

/** A student's teleport written from the definition: W'[j, i] = tau_i W[j, i] / tau_j, b'_i = tau_i b_i. */
function correct(weights: tf.Tensor[], tau: tf.Tensor1D[]): tf.Tensor[] {
  return tf.tidy(() =>
    weights.map((w, i) => {
      const layer = Math.floor(i / 2);
      const tauOut = layer < tau.length ? tau[layer] : null;
      const tauIn = layer > 0 ? tau[layer - 1] : null;
      let out = w.clone();
      if (i % 2 === 0 && tauIn) out = tf.div(out, tauIn.reshape([-1, 1]));
      if (tauOut) out = tf.mul(out, i % 2 === 0 ? tauOut.reshape([1, -1]) : tauOut);
      return out;
    }),
  );
}

test("a correct teleport gets full marks, and the grader leaves no tensors behind", async () => {
  const result = await assertNoLeak(() => check.teleport(correct), "ws.check.teleport");
  assert.equal(result.score, 4);
  assert.equal(result.maxScore, 4);
  assert.equal(result.passed, true);
  assert.deepEqual(result.feedback, []);
  result.assert();
  assert.match(result.summary(), /4\/4 points, every identity holds/);
  assert.equal(result.table().rows.length, 3 * 4, "one row per case and identity");
});

test("biases not scaled: loses the bias identity and the function (2 of 4), feedback names it", async () => {
  const result = await assertNoLeak(() => check.teleport((w, tau) => tf.tidy(() => correct(w, tau).map((t, i) => (i % 2 === 1 ? w[i].clone() : t)))));
  assert.equal(result.score, 2);
  assert.deepEqual(result.identities.map((i) => i.passed), [true, true, false, false]);
  assert.ok(result.feedback.some((l) => l.startsWith("b'_i = tau_i b_i: case 1") && l.includes("the biases were not scaled")), result.feedback.join("\n"));
  assert.ok(result.feedback.some((l) => l.startsWith("function preserved")), result.feedback.join("\n"));
  assert.throws(() => result.assert(), /ws\.check\.teleport: 2\/4 points\n.*biases were not scaled/s);
});

test("inverted ratio tau_j / tau_i (a teleport by 1/tau, so the function is kept): loses kernels and biases (2 of 4), feedback names it", async () => {
  const inverted = (w: tf.Tensor[], tau: tf.Tensor1D[]) => tf.tidy(() => correct(w, tau.map((t) => tf.div(1, t) as tf.Tensor1D)));
  const result = await assertNoLeak(() => check.teleport(inverted));
  assert.deepEqual(result.identities.map((i) => i.passed), [true, false, false, true]);
  assert.ok(result.feedback.some((l) => l.includes("the ratio is inverted")), result.feedback.join("\n"));
  assert.ok(result.feedback.some((l) => l.includes("b' = b / tau_i")), result.feedback.join("\n"));
});

test("missing division by the sending unit's tau: named", async () => {
  const outOnly = (weights: tf.Tensor[], tau: tf.Tensor1D[]) => tf.tidy(() => weights.map((w, i) => {
    const layer = Math.floor(i / 2);
    if (layer >= tau.length) return w.clone();
    return tf.mul(w, i % 2 === 0 ? tau[layer].reshape([1, -1]) : tau[layer]);
  }));
  const result = await check.teleport(outOnly);
  assert.equal(result.score, 2, "inputs untouched and biases right");
  assert.ok(result.feedback.some((l) => l.includes("the division by the sending unit's tau_j is missing")), result.feedback.join("\n"));
});

test("a function that disposes its inputs loses the inputs-untouched point only", async () => {
  const result = await assertNoLeak(() => check.teleport((w, tau) => {
    const out = correct(w, tau);
    tf.dispose(w);
    return out;
  }));
  assert.equal(result.score, 3);
  assert.match(result.feedback[0], /^inputs untouched: case 1 .*weights\[0\] was disposed by your function/);
});

test("throwing, wrong shapes, NaN, not tensors: graded with the reason, never a crash, no leaks", async () => {
  const thrown = await assertNoLeak(() => check.teleport(() => {
    throw new Error("not implemented");
  }));
  assert.equal(thrown.score, 0);
  assert.deepEqual(thrown.feedback, ["case 1 (ReLU MLP 3-5-2, seed 0): your function threw Error: not implemented"]);
  assert.throws(() => thrown.assert(), /0\/4 points\ncase 1 .*not implemented/);

  const transposed = await assertNoLeak(() => check.teleport((w, tau) => tf.tidy(() => correct(w, tau).map((t) => (t.rank === 2 ? t.transpose() : t)))));
  assert.equal(transposed.score, 0);
  assert.match(transposed.feedback[0], /weights'\[0\] has shape \[5, 3\], expected \[3, 5\]/);

  const nan = await assertNoLeak(() => check.teleport((w, tau) => tf.tidy(() => correct(w, tau).map((t, i) => (i === 1 ? tf.fill(t.shape, NaN) : t)))));
  assert.equal(nan.score, 0);
  assert.match(nan.feedback[0], /weights'\[1\] holds NaN at flat index 0/);

  const arrays = await assertNoLeak(() => check.teleport((w) => w.map((t) => t.arraySync()) as unknown as tf.Tensor[]));
  assert.equal(arrays.score, 0);
  assert.match(arrays.feedback[0], /weights'\[0\] is an array of 3, expected a tf.Tensor of shape \[3, 5\]/);

  const rejected = await assertNoLeak(() => check.teleport(async () => Promise.reject(new TypeError("bad\n  input"))));
  assert.match(rejected.feedback[0], /your function threw TypeError: bad input$/);
  assert.ok(!rejected.summary().includes("\n"), "the summary stays one line");
});

test("a student's leaks (forgotten, kept, variables, also across an await and before a throw) are disposed by the grader", async () => {
  const leaky = (w: tf.Tensor[], tau: tf.Tensor1D[]) => {
    tf.ones([100]);
    tf.keep(tf.zeros([3]));
    tf.variable(tf.zeros([2]));
    return correct(w, tau);
  };
  const result = await assertNoLeak(() => check.teleport(leaky));
  assert.equal(result.score, 4);
  const leakyThrow = async (w: tf.Tensor[], tau: tf.Tensor1D[]) => {
    const out = correct(w, tau);
    tf.keep(tf.ones([4]));
    await Promise.resolve();
    tf.ones([8]);
    throw new Error(`gave up after making ${out.length} tensors`);
  };
  const thrown = await assertNoLeak(() => check.teleport(leakyThrow));
  assert.equal(thrown.score, 0);
  assert.match(thrown.feedback[0], /your function threw Error: gave up after making 4 tensors/);
});

test("options: cases and seed change the graded networks; bad options are refused", async () => {
  const one = await check.teleport(correct, { cases: 1, seed: 5 });
  assert.equal(one.records.filter((r) => r.identity === "function preserved").length, 1);
  assert.match(one.records[0].case, /seed 5000/);
  await assert.rejects(() => check.teleport(correct, { cases: 0 }), /cases must be an integer >= 1, got 0/);
  await assert.rejects(() => check.teleport(undefined as unknown as check.TeleportFn), /pass your function/);
});
