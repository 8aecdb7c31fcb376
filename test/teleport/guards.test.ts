/**
 * Reliability of the teleport probe (issue 19): no hang on huge counts, labels and targets that do not fit the model
 * are refused instead of giving a wrong loss, NaN probe inputs cannot pass the function check, and a disposed
 * model or probe is named.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { mlp } from "../../src/model";
import { teleport } from "../../src/teleport";
import { blobs } from "../../src/data";
import { InputError, MemoryError } from "../../src/errors";
import { assertNoLeak, typedError, useTestBackend } from "../helpers";

before(useTestBackend);

test("levelCurve with points 1e8 or steps 0 is refused at once (it hung)", async () => {
  const model = mlp([4, 8, 3]);
  const d = blobs({ n: 8, k: 3, dim: 4, seed: 1 });
  await assertNoLeak(() => assert.rejects(teleport.levelCurve(model, d, { points: 1e8 }), typedError(InputError, "invalid-option", /points must be an integer >= 2 and <= 100000, got 100000000/)));
  await assert.rejects(teleport.levelCurve(model, d, { steps: 0 }), typedError(InputError, "invalid-option", /steps/));
  await assertNoLeak(() => assert.rejects(teleport.microAngles(model, d, { n: 1e9 }), typedError(MemoryError, "out-of-memory", /smaller n/)));
  await assertNoLeak(() => assert.rejects(teleport.sweep(model, d, { samples: 1e9, ranges: [0.1] }), typedError(MemoryError, "out-of-memory", /fewer samples/)));
  tf.dispose([d.x, d.y]);
});

test("labels beyond the outputs and regression targets of the wrong width are refused, not computed wrong", async () => {
  const d = blobs({ n: 8, k: 3, dim: 4, seed: 1 });
  const twoClasses = mlp([4, 8, 2]);
  await assertNoLeak(() => assert.rejects(teleport.levelCurve(twoClasses, d), typedError(InputError, "invalid-data", /label 2 at index 16 does not fit/)));
  await assert.rejects(teleport.sweep(twoClasses, d, { samples: 1 }), typedError(InputError, "invalid-data", /label 2/));
  const regression = { x: d.x, y: tf.zeros([24, 3]) };
  await assert.rejects(teleport.sweep(mlp([4, 8, 2]), regression, { samples: 1 }), typedError(InputError, "invalid-data", /2 value\(s\) per sample/));
  tf.dispose([d.x, d.y, regression.y]);
});

test("NaN probe inputs are refused; a disposed model or probe is named in the error", () => {
  const model = mlp([4, 8, 3]);
  const nan = tf.tensor2d([[NaN, 0, 0, 0]]);
  assertNoLeak(() => assert.throws(() => teleport(model, { probe: nan }), typedError(InputError, "invalid-data", /probe inputs holds NaN/)));
  nan.dispose();
  const result = teleport(model);
  result.model.dispose();
  assert.throws(() => result.undo(), typedError(InputError, "invalid-data", /has been disposed/));
  const probe = tf.randomNormal([3, 4]);
  const withProbe = teleport(model, { probe });
  probe.dispose();
  assert.throws(() => withProbe.undo(), typedError(InputError, "invalid-data", /probe inputs/));
  withProbe.model.dispose();
});
