import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { assertNoLeak, useTestBackend } from "../helpers";
import * as check from "../../src/check";

before(useTestBackend);

type Factors = { inS: number; inCopy: number; outS: number; outCopy: number; insertNext?: boolean };

/** A student's split from plain arrays: the copy appended with neuron s's incoming column and bias, outgoing rows scaled. */
function splitWith(f: (alpha: number) => Factors) {
  return (weights: tf.Tensor[], layer: number, neuron: number, alpha: number): tf.Tensor[] => {
    const { inS, inCopy, outS, outCopy, insertNext } = f(alpha);
    const at = (list: unknown[], item: unknown) => (insertNext ? list.splice(neuron + 1, 0, item) : list.push(item));
    const W = weights[2 * layer].arraySync() as number[][];
    const b = weights[2 * layer + 1].arraySync() as number[];
    const V = weights[2 * layer + 2].arraySync() as number[][];
    const newW = W.map((row) => {
      const r = row.map((v, c) => (c === neuron ? inS * v : v));
      at(r, inCopy * row[neuron]);
      return r;
    });
    const newB = b.map((v, c) => (c === neuron ? inS * v : v));
    at(newB, inCopy * b[neuron]);
    const newV = V.map((row, r) => (r === neuron ? row.map((v) => outS * v) : row.slice()));
    at(newV, V[neuron].map((v) => outCopy * v));
    return weights.map((w, i) => (i === 2 * layer ? tf.tensor2d(newW) : i === 2 * layer + 1 ? tf.tensor1d(newB) : i === 2 * layer + 2 ? tf.tensor2d(newV) : w.clone()));
  };
}

const correct = splitWith((a) => ({ inS: 1, inCopy: 1, outS: a, outCopy: 1 - a }));

test("a correct split gets full marks (5 identities on 3 networks, layers 0 and 1), no leaks", async () => {
  const result = await assertNoLeak(() => check.split(correct), "ws.check.split");
  assert.equal(result.score, 5);
  assert.equal(result.maxScore, 5);
  assert.deepEqual(result.feedback, []);
  assert.ok(result.records.some((r) => /layer 1,/.test(r.case)) && result.records.some((r) => /layer 0,/.test(r.case)));
  assert.ok(result.records.some((r) => /alpha -0.4/.test(r.case)), "a negative alpha is graded");
});

test("wrong split of the outgoing weights: each typical mistake loses outgoing, function and gradient (2 of 5), named", async () => {
  const cases: [(a: number) => Factors, RegExp][] = [
    [(a) => ({ inS: 1, inCopy: 1, outS: a, outCopy: a }), /both outgoing rows were scaled by alpha/],
    [() => ({ inS: 1, inCopy: 1, outS: 1, outCopy: 1 }), /both copies kept the full outgoing row/],
  ];
  for (const [factors, hint] of cases) {
    const result = await assertNoLeak(() => check.split(splitWith(factors)));
    assert.deepEqual(result.identities.map((i) => i.passed), [true, true, false, false, false], result.feedback.join("\n"));
    assert.ok(result.feedback.some((l) => l.startsWith("outgoing") && hint.test(l)), result.feedback.join("\n"));
    assert.ok(result.feedback.some((l) => l.startsWith("gradient mapping: case")), result.feedback.join("\n"));
  }
});

test("alpha and 1 - alpha swapped: a split with coefficient 1 - alpha, so the function is kept; the gradient mapping catches it (3 of 5)", async () => {
  const result = await assertNoLeak(() => check.split(splitWith((a) => ({ inS: 1, inCopy: 1, outS: 1 - a, outCopy: a }))));
  assert.deepEqual(result.identities.map((i) => i.passed), [true, true, false, true, false], result.feedback.join("\n"));
  assert.ok(result.feedback.some((l) => l.startsWith("outgoing") && /alpha and 1 - alpha are swapped/.test(l)), result.feedback.join("\n"));
  assert.match(result.feedback.join("\n"), /gradient mapping: case 1 .*dL\/dW1/);
});

test("scaling the incoming weights instead: keeps the function only for alpha in (0, 1) through ReLU's homogeneity, graded wrong", async () => {
  const result = await check.split(splitWith((a) => ({ inS: a, inCopy: 1 - a, outS: 1, outCopy: 1 })));
  assert.deepEqual(result.identities.map((i) => i.passed), [true, false, false, false, false]);
  assert.ok(result.feedback.some((l) => /the incoming weights were scaled/.test(l)), result.feedback.join("\n"));
});

test("the copy inserted after neuron s instead of appended: the function is kept (a permutation), the layout is named", async () => {
  const result = await check.split(splitWith((a) => ({ inS: 1, inCopy: 1, outS: a, outCopy: 1 - a, insertNext: true })));
  assert.deepEqual(result.identities.map((i) => i.passed), [true, false, false, true, false], result.feedback.join("\n"));
  assert.ok(result.feedback.some((l) => /appended as the last neuron/.test(l)), result.feedback.join("\n"));
});

test("a throwing or unchanged-width answer is graded, not a crash", async () => {
  const thrown = await assertNoLeak(() => check.split(() => {
    throw new Error("not implemented");
  }));
  assert.equal(thrown.score, 0);
  assert.equal(thrown.feedback.length, 1);
  assert.match(thrown.feedback[0], /^case 1 .*layer 0, neuron \d, alpha 0.3: your function threw Error: not implemented$/);
  const same = await assertNoLeak(() => check.split((w) => w.map((t) => t.clone())));
  assert.equal(same.score, 0);
  assert.match(same.feedback[0], /weights'\[0\] has shape \[3, 5\], expected \[3, 6\]/);
});
