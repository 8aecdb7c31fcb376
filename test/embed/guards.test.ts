/**
 * Reliability of the embedding probe under bad input (issue 19): sizes that would exhaust memory are MemoryErrors
 * before anything is allocated, options out of range are InputErrors naming the option, NaN probe inputs are refused
 * instead of passing the function check, and nothing leaks.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { mlp } from "../../src/model";
import { embed } from "../../src/embed";
import { InputError, MemoryError } from "../../src/errors";
import { assertNoLeak, typedError, useTestBackend } from "../helpers";

before(useTestBackend);

test("embed.ladder: every 0 or -1 (a V8 fatal error before), widths, init and steps are checked up front", async () => {
  for (const every of [0, -1, 0.5, NaN]) await assert.rejects(embed.ladder({ widths: [1], steps: 10, every }), typedError(InputError, "invalid-option", /every/));
  await assert.rejects(embed.ladder({ widths: [0] }), typedError(InputError, "invalid-option", /widths must be positive integers/));
  await assert.rejects(embed.ladder({ widths: [1], init: NaN }), typedError(InputError, "invalid-option", /init/));
  await assert.rejects(embed.ladder({ widths: [1], lr: -1 }), typedError(InputError, "invalid-option", /lr/));
  await assertNoLeak(() => assert.rejects(embed.ladder({ widths: [2e7] }), typedError(MemoryError, "out-of-memory", /smaller widths/)));
  await assert.rejects(embed.ladder({ widths: [1], steps: 1e12, every: 1 }), typedError(MemoryError, "out-of-memory"));
});

test("embed.split / widen / nullNeuron: absurd sizes are MemoryErrors before allocating; no leak", () => {
  const model = mlp([4, 8, 3]);
  const narrow = mlp([2, 3, 2]);
  assertNoLeak(() => assert.throws(() => embed.split(model, { neuron: 0, copies: 5e7 }), typedError(MemoryError, "out-of-memory", /fewer copies/)));
  assertNoLeak(() => assert.throws(() => embed.widen(narrow, [3e7]), typedError(MemoryError, "out-of-memory", /smaller widths/)));
  assertNoLeak(() => assert.throws(() => embed.nullNeuron(model, { count: 1e9 }), typedError(MemoryError, "out-of-memory")));
  assert.throws(() => embed.split(model, { neuron: 0, copies: 1 }), typedError(InputError, "invalid-option", /copies/));
  assert.throws(() => embed.split(model, { neuron: 0, samples: 0 }), typedError(InputError, "invalid-option", /samples/));
  assert.throws(() => embed.widen(model, [9], { alphas: "uniform" as "equal" }), typedError(InputError, "invalid-option", /alphas/));
});

test("embed.split: NaN probe inputs are refused (they made the function check pass)", () => {
  const model = mlp([4, 8, 3]);
  const x = tf.tensor2d([[0, NaN, 0, 0]]);
  assertNoLeak(() => assert.throws(() => embed.split(model, { neuron: 0, x }), typedError(InputError, "invalid-data", /NaN/)));
  x.dispose();
});
