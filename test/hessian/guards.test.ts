/** Reliability of ws.hessian / ws.sharpness (issue 19): iterations 0 (an empty spectrum before) and data that does not fit are typed errors. */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { mlp } from "../../src/model";
import { hessian, sharpness } from "../../src/hessian";
import { blobs } from "../../src/data";
import { InputError } from "../../src/errors";
import { assertNoLeak, typedError, useTestBackend } from "../helpers";

before(useTestBackend);

test("Lanczos with fewer iterations than eigenvalues is refused", () => {
  const model = mlp([4, 8, 3]);
  const d = blobs({ n: 8, k: 3, dim: 4, seed: 1 });
  for (const iterations of [0, -1, 1.5, NaN]) {
    assertNoLeak(() => assert.throws(() => hessian(model, d, { exact: false, iterations }), typedError(InputError, "invalid-option", /iterations/)));
  }
  assert.throws(() => hessian(model, d, { exact: false, k: 3, iterations: 5 }), typedError(InputError, "invalid-option", /iterations must be an integer >= 6/));
  assert.throws(() => sharpness(model, d, { iterations: 0 }), typedError(InputError, "invalid-option", /iterations/));
  // sharpness is synchronous: a trace of 1e9 samples could not be interrupted.
  assert.throws(() => sharpness(model, d, { traceSamples: 1e9 }), typedError(InputError, "invalid-option", /traceSamples/));
  const result = hessian(model, d, { exact: false, k: 2, iterations: 4 });
  assert.equal(result.eigenvalues.length, 4, "k at each end");
  tf.dispose([d.x, d.y]);
});

test("labels beyond the outputs are refused", () => {
  const d = blobs({ n: 8, k: 3, dim: 4, seed: 1 });
  const twoOutputs = mlp([4, 2]);
  assertNoLeak(() => assert.throws(() => hessian(twoOutputs, d), typedError(InputError, "invalid-data", /label 2 at index 16/)));
  tf.dispose([d.x, d.y]);
});
