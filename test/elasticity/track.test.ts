/** elasticity.track, .locality and .cluster. */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { mlp, readParams } from "../../src/model";
import { blobs, circles } from "../../src/data/synthetic";
import { Rng } from "../../src/math/rng";
import { elasticity, ElasticityResult } from "../../src/elasticity";
import { geodesic, pearson } from "../../src/elasticity/locality";
import { assertClose, assertNoLeak, useTestBackend } from "../helpers";

before(useTestBackend);

test("track (regression): snapshot 0 is the untrained S_rel, the loss falls, the model is untouched, no leaks", async () => {
  const rng = new Rng(1);
  const n = 40;
  const xs = Array.from({ length: n }, () => [rng.normal(), rng.normal()]);
  const data = { x: tf.tensor2d(xs), y: tf.tensor2d(xs.map((x) => [Math.sin(2 * x[0])]), [n, 1]) };
  const model = mlp([2, 32, 1], { seed: 2 });
  const before = readParams(model);
  const run = await assertNoLeak(() => elasticity.track(model, data, { train: { epochs: 3, batchSize: 8, lr: 0.01 }, every: 5, points: 10, seeds: [0, 1], progress: false }));
  assert.equal(run.runs.length, 2);
  assert.deepEqual(run.steps, [0, 5, 10, 15], `steps ${run.steps}`);
  const start = await elasticity(model, data, { points: 10, seed: 0, progress: false });
  assertClose(run.runs[0][0].mean, start.mean, { rtol: 1e-9, what: "snapshot 0 = elasticity() before training" });
  const loss = run.spread((s) => s.loss).mean;
  assert.ok(loss[loss.length - 1] < loss[0], `loss falls: ${loss.join(", ")}`);
  assert.equal(run.figures().length, 2);
  assert.match(run.summary(), /mean S_rel .* -> .*, loss/);
  const after = readParams(model);
  before.forEach((t, i) => assert.deepEqual(Array.from(t.dataSync()), Array.from(after[i].dataSync()), "the user's model is not trained"));
  tf.dispose([...before, ...after, data.x, data.y]);
});

test("track (classification): class-pair curves per probed class; same-class rises above cross-class on blobs", async () => {
  const data = blobs({ n: 30, k: 3, dim: 4, std: 1, seed: 3 });
  const model = mlp([4, 16, 3], { seed: 4 });
  const run = await elasticity.track(model, data, { train: { epochs: 4, batchSize: 10, lr: 0.1 }, every: 6, perClass: 5, progress: false });
  assert.deepEqual(run.classes, [0, 1, 2]);
  const start = await elasticity(model, data, { points: { perClass: 5 }, seed: 0, progress: false });
  assertClose(run.runs[0][0].classPairs!, start.classPairs!.mean, { rtol: 1e-9, what: "snapshot 0 class pairs" });
  assert.equal(run.figures().length, 3, "one panel per probed class");
  for (let a = 0; a < 3; a++) {
    const margin = run.margin(a);
    assert.ok(margin[margin.length - 1] > 0, `class ${a}: same-class minus cross-class S_rel after training is ${margin[margin.length - 1]}`);
  }
  tf.dispose([data.x, data.y]);
});

test("geodesic distances: a chain's path lengths, infinite across components; Pearson of exact lines is +-1", () => {
  const line = [0, 1, 2, 3.5].map((v) => [v]);
  const far = [[100], [101]];
  const pts = [...line, ...far];
  const direct = pts.map((a) => pts.map((b) => Math.abs(a[0] - b[0])));
  const g = geodesic(direct, 1);
  assert.equal(g[0][3], 3.5);
  assert.equal(g[4][5], 1);
  assert.equal(g[0][4], Infinity);
  assertClose(pearson([1, 2, 3], [2, 4, 6]), 1, { rtol: 1e-12 });
  assertClose(pearson([1, 2, 3], [3, 2, 1]), -1, { rtol: 1e-12 });
});

test("locality: on two circles S_rel decays with distance more for ReLU than for a linear net", async () => {
  const data = circles({ n: 20, noise: 0, seed: 5 });
  const relu = mlp([2, 64, 2], { seed: 6 });
  const linear = mlp([2, 64, 2], { seed: 6, activation: "linear" });
  const options = { points: 40, distance: "euclidean" as const, kind: "logit" as const, progress: false };
  const a = await assertNoLeak(() => elasticity.locality(relu, data, options));
  const b = await elasticity.locality(linear, data, options);
  assert.equal(a.pairs.length, 40 * 39);
  assert.ok(a.correlation < b.correlation, `Pearson ReLU ${a.correlation} < linear ${b.correlation}`);
  assert.ok(a.near > a.far, `ReLU: near ${a.near} > far ${a.far}`);
  const geo = await elasticity.locality(relu, data, { ...options, distance: "geodesic", neighbors: 2 });
  assert.equal(geo.disconnected, 2 * 20 * 20, "pairs on different circles are not connected");
  tf.dispose([data.x, data.y]);
});

test("cluster: k-means on a two-block S_rel separates the blocks (purity 1), and needs a square matrix", () => {
  const groups = [0, 1, 0, 1, 0, 1, 1, 0];
  const rng = new Rng(7);
  const srel = groups.map((a, i) => groups.map((b, j) => (i === j ? 1 : a === b ? 0.8 : 0.1) + 0.05 * rng.next()));
  const result = new ElasticityResult({
    srel, sker: null, rows: groups.map((_, i) => i), columns: groups.map((_, i) => i), rowLabels: null, columnLabels: null, sameData: true, classNames: null,
    undefinedCount: 0, unresolvedRows: [], warnings: [], seconds: 0,
    settings: { kind: "regression", step: "sgd", mode: "infinitesimal", eta: null, loss: "halfMse", engine: "dense", model: "m" },
  });
  const c = elasticity.cluster(result, 2, { truth: groups });
  assert.equal(c.purity, 1);
  assert.ok(c.assignment.every((a, i) => (a === c.assignment[0]) === (groups[i] === groups[0])));
  assert.throws(() => elasticity.cluster(result, 9), /k = 9 is more than the 8 rows/);
});

test("track: a run whose loss turns non-finite is reported, and the others are not cut to its length", async () => {
  const rng = new Rng(8);
  const n = 40;
  const xs = Array.from({ length: n }, () => [3 * rng.normal(), 3 * rng.normal()]);
  const data = { x: tf.tensor2d(xs), y: tf.tensor2d(xs.map((x) => [Math.sin(x[0])]), [n, 1]) };
  // Seed 0 trains only the output bias (zero kernels, stable at lr 1); seed 1 is a He-initialised net that diverges at lr 1.
  const factory = (seed: number) => mlp([2, 32, 1], { seed, init: seed === 0 ? "zeros" : "he" });
  const run = await assertNoLeak(() => elasticity.track(factory, data, { train: { epochs: 2, batchSize: 1, lr: 1 }, every: 10, points: 8, seeds: [0, 1], progress: false }));
  assert.equal(run.stopped[0], null);
  assert.match(run.stopped[1] ?? "", /loss became/);
  assert.ok(run.runs[1].length < run.runs[0].length, `run 1 has ${run.runs[1].length} snapshots, run 0 ${run.runs[0].length}`);
  assert.deepEqual(run.steps, run.runs[0].map((s) => s.step), "steps of the longest run");
  assert.deepEqual(run.steps, Array.from({ length: 9 }, (_, k) => 10 * k), "2 epochs of 40 steps, every 10");
  const at = run.runsAt;
  assert.equal(at[0], 2);
  assert.equal(at[at.length - 1], 1);
  const last = run.steps.length - 1;
  assert.equal(run.spread((s) => s.loss).mean[last], run.runs[0][last].loss, "late snapshots average the runs still going");
  assert.equal(run.spread((s) => s.loss).std[last], 0);
  assert.match(run.summary(), /seed 1 stopped early \(loss became .*; last snapshot at step \d+\)/);
  assert.equal((run.toJSON() as { stopped: unknown[] }).stopped.length, 2);
  tf.dispose([data.x, data.y]);
});
