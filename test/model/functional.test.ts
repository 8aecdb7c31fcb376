import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { mlp, cnn, viewOf, forward, lossOf, readParams, cloneModel, flattenParams, unflattenParams, defaultLoss } from "../../src/model";
import { Rng } from "../../src/math/rng";

tf.setBackend("cpu");

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

test("forward equals model.predict for an MLP (float32, 1e-6 relative)", () => {
  const model = mlp([5, 7, 3], { activation: "tanh", output: "softmax", seed: 3 });
  const view = viewOf(model);
  const x = tf.tensor2d(new Rng(1).normalArray(4 * 5), [4, 5]);
  const params = readParams(model);
  const before = tf.memory().numTensors;
  const ours = forward(view, params, x);
  const theirs = model.predict(x) as tf.Tensor;
  assert.ok(maxAbsDiff(ours, theirs) <= 1e-6);
  tf.dispose([ours, theirs]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, ...params]);
});

test("forward equals model.predict for a CNN with BatchNorm, pooling, dropout and LeakyReLU", () => {
  const model = tf.sequential({ layers: [
    tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, padding: "same" }),
    tf.layers.batchNormalization(),
    tf.layers.leakyReLU({ alpha: 0.2 }),
    tf.layers.averagePooling2d({ poolSize: 2 }),
    tf.layers.conv2d({ filters: 4, kernelSize: 2, activation: "relu" }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.flatten(),
    tf.layers.dropout({ rate: 0.3 }),
    tf.layers.dense({ units: 3, activation: "softmax" }),
  ] });
  // Non-trivial BatchNorm statistics.
  const rng = new Rng(5);
  model.setWeights(model.getWeights().map((w) => tf.tensor(rng.uniformArray(w.size, 0.5, 1.5), w.shape)));
  const view = viewOf(model);
  assert.deepEqual(view.blocks.map((b) => b.kind), ["conv2d", "batchNorm", "activation", "avgPool", "conv2d", "maxPool", "flatten", "dropout", "dense"]);
  const x = tf.tensor4d(rng.normalArray(2 * 6 * 6 * 2), [2, 6, 6, 2]);
  const params = readParams(model);
  const ours = forward(view, params, x);
  const theirs = model.predict(x) as tf.Tensor;
  assert.ok(maxAbsDiff(ours, theirs) <= 1e-6, `diff ${maxAbsDiff(ours, theirs)}`);
  const logits = forward(view, params, x, { logits: true });
  assert.ok(maxAbsDiff(tf.softmax(logits), theirs) <= 1e-6);
  tf.dispose([x, ours, theirs, logits, ...params]);
});

test("cross-entropy matches -mean log p_y computed by hand in float64", () => {
  const model = mlp([3, 4, 3], { seed: 2 });
  const view = viewOf(model);
  const x = tf.tensor2d([[1, 2, 3], [-1, 0, 0.5]]);
  const y = tf.tensor1d([2, 0], "int32");
  const params = readParams(model);
  const loss = lossOf(view, params, x, y, defaultLoss(view, "classification")).dataSync()[0];
  const z = (model.predict(x) as tf.Tensor).arraySync() as number[][];
  const expected = -[2, 0].reduce((acc, label, i) => {
    const m = Math.max(...z[i]);
    const lse = m + Math.log(z[i].reduce((a, v) => a + Math.exp(v - m), 0));
    return acc + (z[i][label] - lse);
  }, 0) / 2;
  assert.ok(Math.abs(loss - expected) <= 1e-6 * Math.max(1, Math.abs(expected)));
  tf.dispose([x, y, ...params]);
});

test("flatten/unflatten round trip and cloneModel leave the source untouched", () => {
  const model = cnn([8, 8, 1], { filters: [2], dense: [4], classes: 3, batchNorm: true, seed: 1 });
  const view = viewOf(model);
  const params = readParams(model);
  const flat = flattenParams(view, params);
  assert.equal(flat.length, view.trainableSize);
  const back = unflattenParams(view, flat, params);
  for (const spec of view.params) assert.equal(maxAbsDiff(back[spec.index], params[spec.index]), 0);
  const shifted = back.map((t) => tf.add(t, 1));
  const clone = cloneModel(model, shifted);
  assert.notEqual(clone, model);
  const source = readParams(model);
  for (const spec of view.params) assert.equal(maxAbsDiff(source[spec.index], params[spec.index]), 0);
  tf.dispose([...params, ...back, ...shifted, ...source]);
  clone.dispose();
});

test("unsupported layers and bad parameter lists are clear errors", () => {
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2 }), tf.layers.gaussianNoise({ stddev: 1, name: "noisy" })] });
  assert.throws(() => viewOf(model), /layer "noisy" \(GaussianNoise\) is not supported/);
  const ok = mlp([3, 2]);
  const view = viewOf(ok);
  const x = tf.zeros([1, 3]);
  assert.throws(() => forward(view, [tf.zeros([2, 3])], x), /expected 2 parameter tensors/);
  assert.throws(() => mlp([3]), /at least \[input, output\]/);
});
