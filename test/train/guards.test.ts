/**
 * Reliability of ws.train and ws.evaluate under bad input and faults (issue 19): every case is refused with a
 * typed error before anything changes, or handled so that the model stays usable; nothing leaks.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { mlp, readParams } from "../../src/model";
import { train, evaluate } from "../../src/train";
import { blobs } from "../../src/data";
import { InputError } from "../../src/errors";
import { assertNoLeak, typedError, useTestBackend } from "../helpers";

before(useTestBackend);

const data = () => blobs({ n: 8, k: 3, dim: 4, seed: 1 });
const weights = (model: tf.LayersModel) => {
  const params = readParams(model);
  const values = params.map((p) => Array.from(p.dataSync()));
  tf.dispose(params);
  return values;
};

test("bad options are InputErrors naming the option, before the model changes, with no leak", async () => {
  const model = mlp([4, 8, 3]);
  const d = data();
  const start = weights(model);
  const cases: [Record<string, unknown>, string][] = [
    [{ lrDecay: -1 }, "lrDecay"], [{ lrDecay: NaN }, "lrDecay"], [{ logEvery: 0 }, "logEvery"], [{ lr: Infinity }, "lr"],
    [{ batchSize: 0 }, "batchSize"], [{ epochs: 1.5 }, "epochs"], [{ optimizer: "adamw" }, "optimizer"], [{ record: { layers: ["nope"] } }, "record.layers"],
    [{ record: { layers: [] } }, "record.layers"],
  ];
  for (const [options, option] of cases) {
    await assertNoLeak(() => assert.rejects(train(model, d, { progress: false, ...options }), (e: unknown) => {
      typedError(InputError, "invalid-option")(e);
      assert.equal((e as InputError).option, option);
      return true;
    }), `train ${JSON.stringify(options)}`);
  }
  assert.deepEqual(weights(model), start, "refused calls leave the model as it was");
  tf.dispose([d.x, d.y]);
});

test("NaN weights are refused without a leak; labels beyond the outputs and wrong target widths are refused", async () => {
  const d = data();
  const nan = mlp([4, 8, 3]);
  nan.layers[0].setWeights([tf.fill([4, 8], NaN), tf.zeros([8])]);
  await assertNoLeak(() => assert.rejects(train(nan, d, { progress: false }), typedError(InputError, "non-finite-weights")), "train on NaN weights");
  assert.throws(() => evaluate(nan, d), typedError(InputError, "non-finite-weights"));

  const small = mlp([4, 2]);
  await assert.rejects(train(small, d, { progress: false }), typedError(InputError, "invalid-data", /label 2 at index 16/));
  assert.throws(() => evaluate(small, d), typedError(InputError, "invalid-data", /label 2/));
  const regression = mlp([4, 2]);
  const wide = { x: d.x, y: tf.zeros([d.x.shape[0], 3]) };
  await assert.rejects(train(regression, wide, { progress: false }), typedError(InputError, "invalid-data", /2 value\(s\) per sample/));
  assert.throws(() => evaluate(regression, wide, { batchSize: 0 }), typedError(InputError, "invalid-option"));
  tf.dispose([d.x, d.y, wide.y]);
});

test("a validation set of the wrong shape is refused before the first step", async () => {
  const model = mlp([4, 8, 3]);
  const d = data();
  const start = weights(model);
  const validation = { x: tf.zeros([2, 5]), y: tf.tensor1d([0, 1], "int32") };
  await assert.rejects(train(model, d, { progress: false, validation }), typedError(InputError, "invalid-data", /validation/));
  assert.deepEqual(weights(model), start);
  tf.dispose([d.x, d.y, validation.x, validation.y]);
});

test("a diverging run restores the last weights with a finite loss and says so", async () => {
  const d = data();
  for (const lr of [1e20, 1e6]) {
    const options = { lr, batchSize: "full" as const, shuffle: false, progress: false };
    const model = mlp([4, 8, 3], { seed: 5 });
    const run = await assertNoLeak(() => train(model, d, { ...options, epochs: 20 }));
    const stopped = /loss became (NaN|Infinity) at step (\d+); the model keeps the weights of step (\d+), the last with a finite loss/.exec(run.info.stopped ?? "");
    assert.ok(stopped, `stopped says what happened: ${run.info.stopped}`);
    const kept = Number(stopped[3]);
    assert.equal(kept, Number(stopped[2]) - 2, "the loss at step s is that of the weights after s - 1 updates");
    // Exactly the weights of a run of `kept` steps (same full-batch arithmetic, so equal to the bit).
    const reference = mlp([4, 8, 3], { seed: 5 });
    if (kept > 0) await train(reference, d, { ...options, epochs: kept });
    assert.deepEqual(weights(model), weights(reference));
    assert.ok(weights(model).every((w) => w.every(Number.isFinite)));
  }
  tf.dispose([d.x, d.y]);
});

test("two interleaved runs on one model are serialised: the result equals the two runs one after the other", async () => {
  const d = data();
  const options = { epochs: 2, batchSize: "full" as const, lr: 0.05, shuffle: false, progress: false };
  const together = mlp([4, 8, 3], { seed: 3 });
  const [a, b] = await Promise.all([train(together, d, options), train(together, d, options)]);
  const apart = mlp([4, 8, 3], { seed: 3 });
  const first = await train(apart, d, options);
  const second = await train(apart, d, options);
  assert.deepEqual(weights(together), weights(apart), "no run's updates are lost");
  assert.deepEqual([a.history.epochs.map((e) => e.loss), b.history.epochs.map((e) => e.loss)], [first.history.epochs.map((e) => e.loss), second.history.epochs.map((e) => e.loss)]);
  assert.ok(b.history.epochs[0].loss < a.history.epochs[0].loss, "the second run starts where the first ended");
  tf.dispose([d.x, d.y]);
});

test("evaluate with batchSize 0 or -1 is refused at once (it looped forever)", () => {
  const model = mlp([4, 8, 3]);
  const d = data();
  for (const batchSize of [0, -1, 0.5, NaN]) assert.throws(() => evaluate(model, d, { batchSize }), typedError(InputError, "invalid-option"));
  tf.dispose([d.x, d.y]);
});
