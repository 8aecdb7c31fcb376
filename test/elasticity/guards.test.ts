/**
 * Reliability of the elasticity probe (issue 19): an overflowing step is counted and reported instead of a silent
 * all-NaN matrix, bad distances are refused, and refused calls (dense engine on a CNN, an unsupported model from a
 * factory) leak nothing.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { cnn, mlp } from "../../src/model";
import { elasticity } from "../../src/elasticity";
import { blobs } from "../../src/data";
import { InputError, UnsupportedModelError } from "../../src/errors";
import { assertNoLeak, typedError, useTestBackend } from "../helpers";

before(useTestBackend);
const quiet = { progress: false };

test("eta 1e30 in finite mode: every NaN entry is counted and the warning says the step overflows", async () => {
  const model = mlp([4, 8, 3]);
  const d = blobs({ n: 4, k: 3, dim: 4, seed: 1 });
  const result = await assertNoLeak(() => elasticity(model, d, { ...quiet, mode: "finite", eta: 1e30, points: 6 }));
  const nan = result.srel.flat().filter(Number.isNaN).length;
  assert.ok(nan > result.rows.length * result.columns.length / 2, `most entries overflow (${nan})`);
  assert.equal(result.undefinedCount, nan, "every NaN entry is counted");
  assert.ok(result.warnings.some((w) => /overflows float32/.test(w)), result.warnings.join("; "));
  tf.dispose([d.x, d.y]);
});

test("locality: negative or NaN distances are refused before the probe runs", async () => {
  const model = mlp([4, 8, 3]);
  const d = blobs({ n: 2, k: 3, dim: 4, seed: 1 });
  const matrix = (bad: number) => Array.from({ length: 6 }, (_, i) => Array.from({ length: 6 }, (_, j) => (i === 1 && j === 2 ? bad : Math.abs(i - j))));
  for (const bad of [-1, NaN]) {
    await assertNoLeak(() => assert.rejects(elasticity.locality(model, d, { ...quiet, points: 6, distance: matrix(bad) }), typedError(InputError, "invalid-option", /distance \(1, 2\)/)));
  }
  await assert.rejects(elasticity.locality(model, d, { ...quiet, points: 6, distance: () => -1 }), typedError(InputError, "invalid-option", /distance/));
  tf.dispose([d.x, d.y]);
});

test("the dense engine on a CNN and an unsupported factory model are refused without a leak", async () => {
  const conv = cnn([6, 6, 1], { filters: [2], dense: [] , classes: 3 });
  const images = { x: tf.randomNormal([3, 6, 6, 1], 0, 1, "float32", 1), y: tf.tensor1d([0, 1, 2], "int32") };
  await assertNoLeak(() => assert.rejects(elasticity(conv, images, { ...quiet, engine: "dense" }), typedError(UnsupportedModelError, "unsupported-model", /"dense" engine/)));
  const d = blobs({ n: 4, k: 3, dim: 4, seed: 1 });
  const unsupported = () => tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4] }), tf.layers.layerNormalization()] });
  await assertNoLeak(() => assert.rejects(elasticity.track(unsupported, d, { ...quiet, seeds: [0, 1] }), typedError(UnsupportedModelError, "unsupported-model", /LayerNormalization\) is not supported/)));
  tf.dispose([d.x, d.y, images.x, images.y]);
});
