import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { assertClose, assertNoLeak, useTestBackend } from "../helpers";
import { train } from "../../src/train";
import { blobs } from "../../src/data/synthetic";
import { symmetricEigen } from "../../src/math/eigen";
import { Rng } from "../../src/math/rng";
import { cloud, furthestPointSample, squaredDistance } from "../../src/topology/cloud";
import { dbscan, mapper } from "../../src/topology/mapper";
import { pca } from "../../src/topology/pca";
import { learningNet, trajectory } from "../../src/topology/trajectory";
import { Trajectory } from "../../src/train/trajectory";
import type { TrainRun } from "../../src/train/run";

before(useTestBackend);

/** A 4-class blob problem in R^16 and a 16-8-6-4 sigmoid net trained with weights recorded every 4 steps. */
async function recordedRun(init: "zeros" | number, symmetryNoise: number) {
  const data = blobs({ n: 32, k: 4, dim: 16, std: 1, seed: 1 });
  const model = learningNet({ sizes: [16, 8, 6, 4], init, symmetryNoise, seed: 2 });
  const run = await train(model, data, { epochs: 12, batchSize: 16, lr: 2, seed: 3, progress: false, record: { every: 4 } });
  data.x.dispose();
  data.y.dispose();
  return { model, run };
}

test("cloud: point (neuron j, snapshot k) is column j of the recorded kernel; bad runs are refused", async () => {
  const { model, run } = await recordedRun(0.1, 0);
  const c = cloud(run, { layer: "dense1", every: 2 });
  assert.equal(c.neurons, 6);
  assert.equal(c.dim, 8);
  assert.deepEqual(c.steps, run.trajectory!.steps.filter((_, i) => i % 2 === 0));
  const k = 1;
  const kernel = run.trajectory!.snapshot("dense1", 2);
  for (let j = 0; j < 6; j++) assert.deepEqual(Array.from(c.points.subarray((k * 6 + j) * 8, (k * 6 + j + 1) * 8)), Array.from({ length: 8 }, (_, t) => kernel[t * 6 + j]));
  assert.throws(() => cloud({ trajectory: null } as never), /recorded no weights/);
  assert.throws(() => cloud(run, { layer: "nope" }), /not recorded/);
  model.dispose();
});

test("zero init without noise: every neuron stays bit-identical, and the result says nothing branched", async () => {
  const { model, run } = await recordedRun("zeros", 0);
  const r = await assertNoLeak(() => trajectory(run, { layer: "dense0", subsample: 20 }), "trajectory");
  assert.ok(r.groupCounts.every((g) => g === 1));
  assert.equal(r.firstBranchStep, null);
  assert.deepEqual(r.symmetry, { symmetricStart: true, symmetricEnd: true });
  assert.match(r.summary(), /no symmetry-breaking noise, nothing branched/);
  model.dispose();
});

test("neuron groups follow a hand-built trajectory: 4 equal neurons split [4] -> [3, 1] -> [2, 1, 1]", async () => {
  // Kernels [in = 2, out = 4]: neuron j's incoming weights are column j.
  const columns = (cols: number[][]) => Float32Array.from([0, 1].flatMap((t) => cols.map((c) => c[t])));
  const t = new Trajectory({ dense0: [2, 4] });
  t.push(0, { dense0: columns([[1, 1], [1, 1], [1, 1], [1, 1]]) });
  t.push(10, { dense0: columns([[1, 1], [1, 1.001], [1, 1], [3, 1]]) });
  t.push(20, { dense0: columns([[1, 1], [1, 2], [1, 1.001], [3, 1]]) });
  const run = { trajectory: t } as unknown as TrainRun;
  const r = await trajectory(run, { groupTolerance: 0.01, subsample: 6, mapper: { cluster: { eps: 0.5 } } });
  assert.deepEqual(r.groups, [[[0, 1, 2, 3]], [[0, 1, 2], [3]], [[0, 2], [1], [3]]]);
  assert.equal(r.firstBranchStep, 10);
  assert.deepEqual(r.symmetry, { symmetricStart: true, symmetricEnd: false });
  assert.ok(r.figures().length >= 4);
  const surface = r.figures().find((f) => f.data[0]?.type === "scatter3d");
  const scene = surface?.layout.scene as Record<string, { title: { text: string } }>;
  assert.deepEqual(["xaxis", "yaxis", "zaxis"].map((axis) => scene[axis].title.text), ["PC1", "PC2", "PC3"], "the learning surface's axes are the principal components");
  assert.equal(r.figures().filter((f) => String(JSON.stringify(f.layout.title)).includes("Persistence diagram")).length, 1, "one persistence diagram for all dimensions");
  assert.equal(r.toJSON().kind, "trajectory");
});

test("Mapper of a circle is one cycle, of a segment a tree (cycle rank = edges - nodes + components)", () => {
  const n = 200;
  const circle = Array.from({ length: n }, (_, i) => [Math.cos((2 * Math.PI * i) / n), Math.sin((2 * Math.PI * i) / n)]);
  const ring = mapper(circle, { lens: circle.map((p) => p[0]), intervals: 6, overlap: 0.3, cluster: { eps: 0.1 }, pca: 0 });
  assert.equal(ring.cycleRank, 1);
  assert.equal(ring.components, 1);
  assert.equal(ring.edges.length - ring.nodes.length + 1, 1);
  const segment = Array.from({ length: n }, (_, i) => [i / n, 0]);
  const line = mapper(segment, { lens: "l2norm", intervals: 8, overlap: 0.25, cluster: { eps: 0.02 }, pca: 0 });
  assert.ok(line.isTree);
  assert.equal(line.nodes.length, 8);
  assert.equal(line.edges.length, 7);
  assert.ok(line.figures()[0].data.length === 2);
  assert.throws(() => mapper(segment, { overlap: 1 }), /overlap/);
  assert.throws(() => mapper(segment, { lens: [1, 2] }), /lens has 2 values/);
});

test("DBSCAN: two separated blobs are two clusters, an isolated point is noise", () => {
  const pts = [0, 0, 0.1, 0, 0.2, 0, 5, 5, 5.1, 5, 20, 20];
  assert.deepEqual(dbscan(pts, 2, [0, 1, 2, 3, 4, 5], 0.15, 2), [[0, 1, 2], [3, 4]]);
});

test("PCA by subspace iteration matches the exact covariance eigen-decomposition (1e-6 relative)", () => {
  const rng = new Rng(5);
  const m = 400;
  const dim = 30;
  const scales = Array.from({ length: dim }, (_, j) => 10 / (1 + j));
  const data = new Float64Array(m * dim);
  for (let i = 0; i < m; i++) for (let j = 0; j < dim; j++) data[i * dim + j] = scales[j] * rng.normal() + 3;
  const p = pca(data, m, dim, 3);
  const mean = Array.from({ length: dim }, (_, j) => Array.from({ length: m }, (_, i) => data[i * dim + j]).reduce((a, b) => a + b) / m);
  const cov = new Float64Array(dim * dim);
  for (let i = 0; i < m; i++) for (let a = 0; a < dim; a++) for (let b = 0; b < dim; b++) cov[a * dim + b] += ((data[i * dim + a] - mean[a]) * (data[i * dim + b] - mean[b])) / (m - 1);
  const exact = symmetricEigen(cov, dim, true);
  assertClose(p.variances, Array.from(exact.values.subarray(0, 3)), { rtol: 1e-6, what: "PCA variances" });
  for (let c = 0; c < 3; c++) {
    const d = p.components[c].reduce((s, x, j) => s + x * exact.vectors![c][j], 0);
    assertClose(Math.abs(d), 1, { rtol: 1e-6, what: `component ${c} alignment` });
  }
  assertClose(p.totalVariance, Array.from({ length: dim }, (_, j) => cov[j * dim + j]).reduce((a, b) => a + b), { rtol: 1e-12, what: "total variance" });
});

test("furthest-point subsample: starts at point 0, then the furthest point; the cover radius is the Hausdorff distance", () => {
  const rng = new Rng(8);
  const m = 300;
  const data = Float64Array.from({ length: m * 3 }, () => rng.uniform());
  const s = furthestPointSample(data, m, 3, 25);
  assert.equal(s.indices[0], 0);
  const far = Array.from({ length: m }, (_, i) => squaredDistance(data, 3, 0, i));
  assert.equal(s.indices[1], far.indexOf(Math.max(...far)));
  const hausdorff = Math.sqrt(Math.max(...Array.from({ length: m }, (_, i) => Math.min(...s.indices.map((j) => squaredDistance(data, 3, i, j))))));
  assertClose(s.coverRadius, hausdorff, { rtol: 1e-12, what: "cover radius" });
});

test("learningNet: the paper's net has no biases, sigmoid layers and exact zeros without noise", () => {
  const model = learningNet({ sizes: [9, 4, 3], init: "zeros" });
  assert.equal(model.weights.length, 2);
  assert.ok(model.getWeights().every((w) => (w.dataSync() as Float32Array).every((v) => v === 0)));
  assert.throws(() => learningNet({ symmetryNoise: -1 }), /symmetryNoise/);
  model.dispose();
  void tf;
});

test("DBSCAN pruned by a 1-Lipschitz key (the L2 norm) finds the same clusters as the full comparison", () => {
  const rng = new Rng(12);
  const m = 400;
  const pts = Float64Array.from({ length: m * 3 }, () => rng.normal());
  const norms = Float64Array.from({ length: m }, (_, i) => Math.hypot(pts[3 * i], pts[3 * i + 1], pts[3 * i + 2]));
  const members = Array.from({ length: m }, (_, i) => i);
  for (const eps of [0.15, 0.3]) assert.deepEqual(dbscan(pts, 3, members, eps, 3, norms), dbscan(pts, 3, members, eps, 3));
});
