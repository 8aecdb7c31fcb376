import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { mlp, readParams } from "../../src/model";
import { train, evaluate, Trajectory, TrainRun } from "../../src/train";
import { Rng } from "../../src/math/rng";

tf.setBackend("cpu");

/** A linear model y = x W (no bias) and data, with the float64 gradient of 1/2 mean ||xW - y||^2. */
function linearProblem() {
  const rng = new Rng(7);
  const n = 6, d = 3;
  const xs = Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal()));
  const ys = xs.map((r) => [r[0] - 2 * r[2] + 0.1 * rng.normal()]);
  const model = mlp([d, 1], { bias: false, seed: 2 });
  const w0 = Array.from(model.getWeights()[0].dataSync());
  const grad = (w: number[]) => w.map((_, j) => xs.reduce((s, r, i) => s + r[j] * (r.reduce((a, v, k) => a + v * w[k], 0) - ys[i][0]), 0) / n);
  const data = { x: tf.tensor2d(xs), y: tf.tensor2d(ys) };
  return { model, w0, grad, data };
}

test("one full-batch SGD step equals w - lr * grad (float64 reference, 1e-6)", async () => {
  const { model, w0, grad, data } = linearProblem();
  const before = tf.memory().numTensors;
  const run = await train(model, data, { epochs: 1, batchSize: "full", lr: 0.1, loss: "halfMse", progress: false });
  assert.equal(tf.memory().numTensors, before, "train leaks no tensors");
  const g = grad(w0);
  const w1 = Array.from(model.getWeights()[0].dataSync());
  w1.forEach((w, j) => assert.ok(Math.abs(w - (w0[j] - 0.1 * g[j])) <= 1e-6, `weight ${j}`));
  assert.equal(run.history.steps.length, 1);
  assert.ok(run instanceof TrainRun);
  tf.dispose([data.x, data.y]);
});

test("momentum and Adam follow their update rules exactly over two steps", async () => {
  for (const name of ["momentum", "adam"] as const) {
    const { model, w0, grad, data } = linearProblem();
    await train(model, data, { epochs: 2, batchSize: "full", lr: 0.05, optimizer: name, loss: "halfMse", progress: false });
    let w = w0.slice();
    let m = w.map(() => 0), v = w.map(() => 0);
    for (let t = 1; t <= 2; t++) {
      const g = grad(w);
      if (name === "momentum") {
        m = m.map((mi, j) => 0.9 * mi + g[j]);
        w = w.map((wi, j) => wi - 0.05 * m[j]);
      } else {
        m = m.map((mi, j) => 0.9 * mi + 0.1 * g[j]);
        v = v.map((vi, j) => 0.999 * vi + 0.001 * g[j] * g[j]);
        w = w.map((wi, j) => wi - (0.05 * m[j] / (1 - 0.9 ** t)) / (Math.sqrt(v[j] / (1 - 0.999 ** t)) + 1e-8));
      }
    }
    const got = Array.from(model.getWeights()[0].dataSync());
    got.forEach((x, j) => assert.ok(Math.abs(x - w[j]) <= 1e-5, `${name} weight ${j}: ${x} vs ${w[j]}`));
    tf.dispose([data.x, data.y]);
  }
});

test("classification training learns, records accuracy, and a trajectory spills to disk and reads back", async () => {
  const rng = new Rng(3);
  const n = 300;
  const labels = Int32Array.from({ length: n }, () => rng.int(3));
  const xs = Float32Array.from({ length: n * 2 }, (_, k) => (k % 2 === 0 ? Math.cos(labels[k >> 1] * 2.1) : Math.sin(labels[k >> 1] * 2.1)) * 2 + 0.3 * rng.normal());
  const data = { x: tf.tensor2d(xs, [n, 2]), y: tf.tensor1d(labels, "int32") };
  const model = mlp([2, 16, 3], { seed: 1 });
  const spillDir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-traj-"));
  const run = await train(model, data, { epochs: 5, batchSize: 30, lr: 0.1, seed: 4, progress: false, record: { every: 10, maxMemoryMB: 0.0005, spillDir } });
  const last = run.history.epochs.at(-1)!;
  assert.ok(last.accuracy !== null && last.accuracy > 0.9, `accuracy ${last.accuracy}`);
  assert.ok(evaluate(model, data).accuracy! > 0.9);
  const traj = run.trajectory!;
  assert.deepEqual(traj.steps.slice(0, 3), [0, 10, 20]);
  assert.ok(traj.spilledBytes > 0, "small budget spills");
  const final = model.getWeights()[0].dataSync();
  assert.deepEqual(Array.from(traj.snapshot("dense0", traj.length - 1)), Array.from(final), "last snapshot (step 50) is the final kernel");
  const revived = Trajectory.fromJSON(traj.toJSON());
  assert.deepEqual(Array.from(revived.snapshot("dense0", 2)), Array.from(traj.snapshot("dense0", 2)));
  traj.dispose();
  assert.match(run.summary(), /5 epochs, 50 steps/);
  assert.equal(run.figures().length, 2);
  // One epoch numbering (from 0) in the history, the step records, the table and the accuracy figure.
  assert.deepEqual(run.history.epochs.map((e) => e.epoch), [0, 1, 2, 3, 4]);
  assert.deepEqual([run.history.steps[0].epoch, run.history.steps.at(-1)!.epoch], [0, 4]);
  assert.deepEqual(run.table().column("epoch"), [0, 1, 2, 3, 4]);
  assert.deepEqual(run.figures()[1].data[0].x, [0, 1, 2, 3, 4]);
  tf.dispose([data.x, data.y]);
});

test("bad input is a clear error and leaves the model untouched", async () => {
  const model = mlp([3, 2]);
  const before = readParams(model);
  await assert.rejects(train(model, { x: tf.zeros([4, 5]), y: tf.zeros([4, 2]) }, { progress: false }), /sample shape \[5\] but model .* expects \[3\]/);
  await assert.rejects(train(model, { x: tf.zeros([4, 3]), y: tf.zeros([4, 2]) }, { epochs: 0, progress: false }), /epochs must be a positive integer/);
  await assert.rejects(train(model, { x: tf.tensor2d([[NaN, 0, 0]]), y: tf.zeros([1, 2]) }, { progress: false }), /NaN|Inf/);
  const after = readParams(model);
  before.forEach((t, i) => assert.deepEqual(Array.from(t.dataSync()), Array.from(after[i].dataSync())));
  tf.dispose([...before, ...after]);
});

test("labels beyond the model's outputs are refused", async () => {
  const model = mlp([2, 3]);
  await assert.rejects(train(model, { x: tf.zeros([2, 2]), y: tf.tensor1d([0, 5], "int32") }, { progress: false }), /label 5 at index 1 does not fit model .* 3 outputs/);
});
