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
import { localDimension, pca } from "../../src/topology/pca";
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

/** A Y: three noisy branches of 150 points each from the origin, in the plane (seeded). */
function yCloud(seed: number): number[][] {
  const rng = new Rng(seed);
  const arms = [0, (2 * Math.PI) / 3, (4 * Math.PI) / 3];
  return arms.flatMap((a) => Array.from({ length: 150 }, (_, i) => {
    const r = (i + 1) / 150;
    return [r * Math.cos(a) + rng.normal(0, 0.005), r * Math.sin(a) + rng.normal(0, 0.005)];
  }));
}

test("Mapper with KeplerMapper 1.1's overlapPerc: a Y-shaped cloud gives a tree with one branching node; each point in at most 2 intervals", () => {
  const points = yCloud(21);
  const g = mapper(points, { lens: "l2norm", intervals: 10, overlapPerc: 0.5, cluster: { eps: 0.05 }, pca: 0 });
  assert.ok(g.isTree, g.summary());
  const degrees = g.nodes.map((n) => g.edges.filter((e) => e[0] === n.id || e[1] === n.id).length);
  assert.equal(degrees.filter((d) => d === 3).length, 1, `degrees ${degrees}`);
  assert.equal(degrees.filter((d) => d === 1).length, 3, "three leaves");
  // Interval k = [min + k c, min + (k + 1 + p) c): with p < 1 a point lies in at most two.
  const count = new Map<number, Set<number>>();
  for (const n of g.nodes) for (const i of n.members) count.set(i, (count.get(i) ?? new Set()).add(n.interval));
  assert.ok([...count.values()].every((s) => s.size <= 2));
  // Exact 1.1 membership on a hand-made lens: min 0, max 10, 5 intervals, c = 2, p = 0.5: [2k, 2k + 3).
  const line = Array.from({ length: 11 }, (_, i) => [i, 0]);
  const h = mapper(line, { lens: line.map((p) => p[0]), intervals: 5, overlapPerc: 0.5, cluster: { eps: 1.5, minSamples: 1 }, pca: 0 });
  assert.deepEqual(h.nodes.map((n) => n.members), [[0, 1, 2], [2, 3, 4], [4, 5, 6], [6, 7, 8], [8, 9, 10]]);
  // p = 0: half-open [2k, 2k + 2), so the maximum lies in no interval, as in KeplerMapper 1.1.
  const zero = mapper(line, { lens: line.map((p) => p[0]), intervals: 5, overlapPerc: 0, cluster: { eps: 1.5, minSamples: 1 }, pca: 0 });
  assert.deepEqual(zero.nodes.map((n) => n.members), [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]);
  // Today's overlap 0.99 on the same Y: every point in about 100 intervals, a graph full of cycles.
  assert.ok(mapper(points, { lens: "l2norm", intervals: 10, overlap: 0.9, cluster: { eps: 0.05 }, pca: 0 }).cycleRank > 0);
});

test("Mapper over a 2-D lens (hypercube cover): a planar grid gives a grid graph whose cycle rank is (n - 1)^2 squares' worth", () => {
  // 40 x 40 points on [0, 1]^2, lens = the coordinates, 4 x 4 cover with overlapPerc 0.5: 16 boxes, one cluster each.
  const points = Array.from({ length: 1600 }, (_, i) => [(i % 40) / 39, Math.floor(i / 40) / 39]);
  const g = mapper(points, { lens: points, intervals: 4, overlapPerc: 0.5, cluster: { eps: 0.05 }, pca: 0 });
  assert.equal(g.nodes.length, 16);
  assert.equal(g.info.lensDims, 2);
  // Boxes overlap with their right, upper and diagonal neighbours: 2 * 4 * 3 side edges + 2 * 3 * 3 diagonals.
  assert.equal(g.edges.length, 24 + 18);
  const pcaLens = mapper(points, { lens: "pca2", intervals: 3, overlapPerc: 0.5, cluster: { eps: 0.05 }, pca: 0 });
  assert.equal(pcaLens.info.lensDims, 2);
  assert.equal(pcaLens.components, 1);
});

test("local PCA: a planar patch in R^6 has dimension 2, a segment 1, a solid cube 3", () => {
  const rng = new Rng(31);
  const u = [1, 2, 0, -1, 0.5, 0].map((x) => x / Math.hypot(1, 2, 0, -1, 0.5, 0));
  const v = [0, 1, -2, 0, 0, 1];
  const dot = u.reduce((s, x, i) => s + x * v[i], 0);
  const w = v.map((x, i) => x - dot * u[i]);
  const wn = Math.hypot(...w);
  const plane = Array.from({ length: 500 }, () => {
    const [a, b] = [rng.uniform(), rng.uniform()];
    return u.map((x, i) => 3 + a * x + (b * w[i]) / wn);
  });
  assert.equal(localDimension(Float64Array.from(plane.flat()), 500, 6).dimension, 2);
  const segment = Array.from({ length: 300 }, () => { const t = rng.uniform(); return [t, 2 * t, -t]; });
  assert.equal(localDimension(Float64Array.from(segment.flat()), 300, 3).dimension, 1);
  const cube = Array.from({ length: 800 }, () => [rng.uniform(), rng.uniform(), rng.uniform()]);
  assert.equal(localDimension(Float64Array.from(cube.flat()), 800, 3, { neighbours: 30 }).dimension, 3);
  assert.throws(() => localDimension(new Float64Array(6), 3, 2, { neighbours: 2 }), /neighbours must be an integer from 3/);
});

test("neuron groups use a tolerance relative to each step's largest norm: early branching of small weights is seen", async () => {
  // Step 0: tiny weights (norm ~1e-3) already split into two groups 1e-4 apart; step 10: large (norm ~10), equal pairs.
  const columns = (cols: number[][]) => Float32Array.from([0, 1].flatMap((t) => cols.map((c) => c[t])));
  const t = new Trajectory({ dense0: [2, 4] });
  t.push(0, { dense0: columns([[1e-3, 0], [1e-3, 0], [1e-3, 1e-4], [1e-3, 1e-4]]) });
  t.push(10, { dense0: columns([[10, 0], [10, 0], [0, 10], [0, 10]]) });
  const run = { trajectory: t } as unknown as TrainRun;
  const r = await trajectory(run, { subsample: 0, mapper: { cluster: { eps: 1 } } });
  // 1% of the step's largest norm: 1e-5 at step 0 separates the pairs; 1% of the final norm (0.1) did not.
  assert.deepEqual(r.groupCounts, [2, 2]);
  assertClose(r.groupTolerances, [0.01 * Math.hypot(1e-3, 1e-4), 0.1], { rtol: 1e-6, what: "tolerances" });
  const fixed = await trajectory(run, { subsample: 0, groupTolerance: 0.1, mapper: { cluster: { eps: 1 } } });
  assert.deepEqual(fixed.groupCounts, [1, 2]);
  await assert.rejects(() => trajectory(run, { relativeTolerance: NaN }), /relativeTolerance must be a finite number >= 0/);
});
