/** Reliability of the model builders and parameter helpers (issue 19): bad inits, absurd sizes and wrong weights are typed errors; nothing leaks. */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { cloneModel, cnn, mlp } from "../../src/model";
import { InputError, MemoryError } from "../../src/errors";
import { assertNoLeak, typedError, useTestBackend } from "../helpers";

before(useTestBackend);

test("NaN or infinite init parameters are refused instead of building a NaN model", () => {
  for (const init of [{ std: Infinity }, { std: NaN }, { std: 1, mean: NaN }, { std: 1, bias: -1 }]) {
    assertNoLeak(() => assert.throws(() => mlp([4, 8, 3], { init }), typedError(InputError, "invalid-option")), JSON.stringify(init));
  }
  assert.throws(() => mlp([4, 3], { init: NaN as unknown as "he" }), typedError(InputError, "invalid-option", /unknown init NaN/));
  assert.throws(() => cnn([8, 8, 1], { dropout: 1 }), typedError(InputError, "invalid-option", /dropout/));
  assert.throws(() => cnn([8, 8, 1], { filters: [0] }), typedError(InputError, "invalid-option", /filters/));
});

test("models beyond memory are MemoryErrors before any layer is built", () => {
  assertNoLeak(() => assert.throws(() => mlp([1e5, 1e6, 10]), typedError(MemoryError, "out-of-memory", /1000110000 parameters|parameters/)));
  assertNoLeak(() => assert.throws(() => cnn([1024, 1024, 3], { pool: null, dense: [4096] }), typedError(MemoryError, "out-of-memory")));
});

test("cloneModel with weights of the wrong count or shape is an InputError and leaks nothing", () => {
  const model = mlp([4, 8, 3]);
  const wrong = [tf.zeros([4, 8]), tf.zeros([8]), tf.zeros([8, 2]), tf.zeros([3])];
  assertNoLeak(() => assert.throws(() => cloneModel(model, wrong), typedError(InputError, "invalid-data", /shape \[8, 2\], expected \[8, 3\]/)));
  assertNoLeak(() => assert.throws(() => cloneModel(model, wrong.slice(0, 2)), typedError(InputError, "invalid-data", /expected 4 weight tensors, got 2/)));
  tf.dispose(wrong);
});
