/**
 * Peak-memory estimates (issue 13 item 4): the estimate is an upper bound of the peak that tf.profile measures,
 * and on wasm, whose heap cannot grow past 4 GiB, a training step that would not fit fails before allocating with
 * a MemoryError naming a batch size that fits. A backend that fails anyway is reported, the model keeps its weights,
 * and the session goes on.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../../src/backend";
import { cnn, mlp, viewOf } from "../../src/model";
import { evaluate, train } from "../../src/train";
import { blobs } from "../../src/data";
import { sharpness } from "../../src/hessian";
import { BackendError, MemoryError } from "../../src/errors";
import { passBytes, largestBatch, WASM_HEAP_MAX_BYTES } from "../../src/model/memory";
import { typedError } from "../helpers";

/** conv32-conv32-pool-conv64-conv64-pool-dense256-10 on 32x32x3, plain TF.js layers (issue 13's CIFAR-size CNN). */
function cifarCnn(): tf.LayersModel {
  const conv = (filters: number, inputShape?: number[]) => tf.layers.conv2d({ filters, kernelSize: 3, padding: "same", activation: "relu", inputShape });
  return tf.sequential({ layers: [
    conv(32, [32, 32, 3]), conv(32), tf.layers.maxPooling2d({ poolSize: 2 }), conv(64), conv(64), tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.flatten(), tf.layers.dense({ units: 256, activation: "relu" }), tf.layers.dense({ units: 10 }),
  ] });
}

function labelled(n: number, shape: number[]) {
  return { x: tf.randomNormal([n, ...shape], 0, 1, "float32", 1), y: tf.tensor1d(Array.from({ length: n }, (_, i) => i % 10), "int32") };
}

test("the training-step estimate bounds tf.profile's measured peak from above, within 2x (cpu)", async () => {
  await ready({ backend: "cpu" });
  const cases: [string, () => tf.LayersModel, number[], number][] = [
    ["mlp 784-256-10", () => mlp([784, 256, 10]), [784], 16],
    ["cnn 28x28x1", () => cnn([28, 28, 1]), [28, 28, 1], 8],
    ["cifar cnn", cifarCnn, [32, 32, 3], 2],
  ];
  for (const [name, make, shape, batch] of cases) {
    const model = make();
    const data = labelled(batch, shape);
    const base = tf.memory().numBytes;
    const profile = await tf.profile(async () => {
      await train(model, data, { batchSize: batch, progress: false });
    });
    const measured = profile.peakBytes - base;
    const estimate = passBytes(viewOf(model), batch, "train");
    assert.ok(estimate >= measured, `${name}: estimate ${estimate} >= measured ${measured}`);
    assert.ok(estimate <= 2 * measured, `${name}: estimate ${estimate} <= 2 x measured ${measured}`);
    // Inference (evaluate) on the same batch: the "forward" estimate bounds it too.
    const forwardBase = tf.memory().numBytes;
    const forward = await tf.profile(() => {
      evaluate(model, data, { batchSize: batch });
    });
    const forwardEstimate = passBytes(viewOf(model), batch, "forward");
    assert.ok(forwardEstimate >= forward.peakBytes - forwardBase, `${name}: forward estimate ${forwardEstimate} >= measured ${forward.peakBytes - forwardBase}`);
    console.log(`${name} batch ${batch}: train estimate / measured peak ${(estimate / measured).toFixed(2)}, forward ${(forwardEstimate / (forward.peakBytes - forwardBase)).toFixed(2)}`);
    tf.dispose([data.x, data.y]);
    model.dispose();
  }
});

test("the Hessian-vector product estimate bounds the measured peak of a Lanczos run (cpu)", async () => {
  await ready({ backend: "cpu" });
  const model = mlp([784, 64, 10]);
  const data = labelled(64, [784]);
  const base = tf.memory().numBytes;
  const profile = await tf.profile(async () => {
    await sharpness(model, data, { traceSamples: 0, iterations: 3, precision: "float32", progress: false });
  });
  const estimate = passBytes(viewOf(model), 64, "hvp");
  assert.ok(estimate >= profile.peakBytes - base, `estimate ${estimate} >= measured ${profile.peakBytes - base}`);
  console.log(`hvp mlp 784-64-10 batch 64: estimate / measured peak ${(estimate / (profile.peakBytes - base)).toFixed(2)}`);
  tf.dispose([data.x, data.y]);
  model.dispose();
});

test("wasm: the CIFAR-size CNN at batch 128 fails before allocating, names a batch that fits, and the session goes on", async () => {
  await ready({ backend: "wasm" });
  const model = cifarCnn();
  const data = labelled(128, [32, 32, 3]);
  const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
  const before = tf.memory();
  let fits = 0;
  await assert.rejects(train(model, data, { batchSize: 128, progress: false }), (error: unknown) => {
    typedError(MemoryError, "out-of-memory", /use batchSize \d+ or less/)(error);
    fits = (error as MemoryError).fits ?? 0;
    return true;
  });
  assert.deepEqual([tf.memory().numTensors, tf.memory().numBytes], [before.numTensors, before.numBytes], "nothing was allocated");
  // The batch it names fits the heap by the same estimate (which tf.profile bounds above): 1 <= fits < 128.
  assert.ok(fits >= 1 && fits < 128 && passBytes(viewOf(model), fits, "train") <= 0.75 * WASM_HEAP_MAX_BYTES, `fits ${fits}`);
  assert.equal(fits, largestBatch(viewOf(model), 0.75 * WASM_HEAP_MAX_BYTES - before.numBytes, "train"));
  assert.deepEqual(model.getWeights().map((w) => Array.from(w.dataSync())), weights, "the model is untouched");
  // A probe runs afterwards on the same backend.
  const small = mlp([4, 8, 3]);
  const blob = blobs({ n: 8, k: 3, dim: 4, seed: 1 });
  assert.ok(Number.isFinite((await sharpness(small, blob)).lambdaMax));
  tf.dispose([data.x, data.y, blob.x, blob.y]);
  model.dispose();
});

test("wasm: a backend failure inside train is a BackendError; the model keeps its weights and the session continues on cpu", async () => {
  await ready({ backend: "wasm" });
  const model = mlp([4, 8, 3]);
  const data = blobs({ n: 8, k: 3, dim: 4, seed: 1 });
  const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
  // A hook that exhausts the wasm heap (8 x 1 GB): the module aborts, as an oversized convolution did.
  const exhaust = { every: 1, onStep: () => tf.dispose(Array.from({ length: 8 }, () => tf.zeros([2.5e8]))) };
  await assert.rejects(train(model, data, { progress: false, hooks: [exhaust] }), typedError(BackendError, "backend-failed", /ws\.ready\(\{ backend: "cpu" \}\)/));
  assert.equal(tf.getBackend(), "cpu");
  assert.deepEqual(model.getWeights().map((w) => Array.from(w.dataSync())), weights, "the model reads back as before the call");
  const again = blobs({ n: 8, k: 3, dim: 4, seed: 1 });
  const run = await train(model, again, { progress: false });
  assert.ok(Number.isFinite(run.finalLoss));
});
