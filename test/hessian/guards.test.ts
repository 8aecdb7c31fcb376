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

test("Lanczos with fewer iterations than eigenvalues is refused", async () => {
  const model = mlp([4, 8, 3]);
  const d = blobs({ n: 8, k: 3, dim: 4, seed: 1 });
  for (const iterations of [0, -1, 1.5, NaN]) {
    await assertNoLeak(() => assert.rejects(hessian(model, d, { exact: false, iterations }), typedError(InputError, "invalid-option", /iterations/)));
  }
  await assert.rejects(hessian(model, d, { exact: false, k: 3, iterations: 5 }), typedError(InputError, "invalid-option", /iterations must be an integer >= 6/));
  await assert.rejects(sharpness(model, d, { iterations: 0 }), typedError(InputError, "invalid-option", /iterations/));
  // Each trace sample is a Hessian-vector product: the count is bounded.
  await assert.rejects(sharpness(model, d, { traceSamples: 1e9 }), typedError(InputError, "invalid-option", /traceSamples/));
  const result = await hessian(model, d, { exact: false, k: 2, iterations: 4 });
  assert.equal(result.eigenvalues.length, 4, "k at each end");
  tf.dispose([d.x, d.y]);
});

test("labels beyond the outputs are refused", async () => {
  const d = blobs({ n: 8, k: 3, dim: 4, seed: 1 });
  const twoOutputs = mlp([4, 2]);
  await assertNoLeak(() => assert.rejects(hessian(twoOutputs, d), typedError(InputError, "invalid-data", /label 2 at index 16/)));
  tf.dispose([d.x, d.y]);
});
