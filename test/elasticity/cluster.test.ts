/** elasticity.cluster (spectral clustering and k-means of the symmetrised S_rel) and elasticity.kmeans. */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/math/rng";
import { elasticity, ElasticityResult } from "../../src/elasticity";
import { assertNoLeak, useTestBackend } from "../helpers";

before(useTestBackend);

function squareResult(srel: number[][]): ElasticityResult {
  const index = srel.map((_, i) => i);
  return new ElasticityResult({
    srel, sker: null, rows: index, columns: index, rowLabels: null, columnLabels: null, sameData: true, classNames: null,
    undefinedCount: 0, unresolvedRows: [], warnings: [], seconds: 0,
    settings: { kind: "regression", step: "sgd", mode: "infinitesimal", eta: null, loss: "halfMse", engine: "dense", model: "m" },
  });
}

/** Same partition up to renaming the clusters. */
function samePartition(assignment: number[], groups: number[]): boolean {
  return assignment.every((a, i) => assignment.every((b, j) => (a === b) === (groups[i] === groups[j])));
}

/**
 * S_rel of a kernel K(x, x') = s s' C(g, g') in the infinitesimal limit: S_rel = K(x, x') / K(x, x) = C s'/s
 * (C = 1 within a group, 0.5 across). The scales s in {1, 4} are independent of the groups, so the rows of
 * (S + S^T)/2 = C (s/s' + s'/s)/2 differ more by scale than by group.
 */
function scaledBlocks(seed: number): { srel: number[][]; groups: number[]; scales: number[] } {
  const rng = new Rng(seed);
  const groups = Array.from({ length: 40 }, (_, i) => i % 2);
  const scales = Array.from({ length: 40 }, (_, i) => (Math.floor(i / 2) % 2 ? 4 : 1));
  const order = Array.from(rng.permutation(40));
  const g = order.map((i) => groups[i]);
  const s = order.map((i) => scales[i]);
  const srel = g.map((gi, i) => g.map((gj, j) => (i === j ? 1 : (gi === gj ? 1 : 0.5) * (s[j] / s[i]) * (1 + 0.05 * rng.next()))));
  return { srel, groups: g, scales: s };
}

test("spectral clustering recovers planted blocks exactly where k-means on the rows splits them by row scale", () => {
  const { srel, groups, scales } = scaledBlocks(3);
  const result = squareResult(srel);
  const raw = elasticity.cluster(result, 2, { truth: groups, method: "kmeans" });
  assert.ok(samePartition(raw.assignment, scales), "k-means on the raw rows follows the scale, not the group");
  assert.equal(raw.purity, 0.5);
  const spectral = assertNoLeak(() => elasticity.cluster(result, 2, { truth: groups }), "elasticity.cluster");
  assert.equal(spectral.method, "spectral");
  assert.equal(spectral.purity, 1);
  assert.ok(samePartition(spectral.assignment, groups));
  // Ng-Jordan-Weiss with exactly k eigenvectors as well; the top eigenvalue of D^(-1/2) A D^(-1/2) is 1.
  const njw = elasticity.cluster(result, 2, { truth: groups, dimensions: 2 });
  assert.ok(samePartition(njw.assignment, groups));
  assert.ok(Math.abs(njw.eigenvalues![0] - 1) < 1e-12, `top eigenvalue ${njw.eigenvalues![0]}`);
  assert.equal(spectral.embedding!.length, 40);
  spectral.embedding!.forEach((row) => assert.ok(Math.abs(Math.hypot(...row) - 1) < 1e-12, "embedding rows have unit length"));
  assert.equal(spectral.isolated, 0);
});

test("k-means and spectral clustering are deterministic for a seed; k-means takes rows or a 2-D tensor", () => {
  const rng = new Rng(5);
  const centres = [[0, 0], [6, 0], [0, 6]];
  const truth = Array.from({ length: 45 }, (_, i) => i % 3);
  const points = truth.map((c) => centres[c].map((v) => v + rng.normal()));
  const a = elasticity.kmeans(points, 3, { truth, seed: 1 });
  assert.equal(a.purity, 1);
  assert.deepEqual(elasticity.kmeans(points, 3, { truth, seed: 1 }).assignment, a.assignment);
  const x = tf.tensor2d(points);
  const fromTensor = assertNoLeak(() => elasticity.kmeans(x, 3, { truth, seed: 1 }), "elasticity.kmeans");
  assert.ok(samePartition(fromTensor.assignment, a.assignment), "float32 tensor rows give the same clusters");
  x.dispose();
  // Another seed starts k-means++ elsewhere; the best of the restarts is the same partition of separated blobs.
  assert.ok(samePartition(elasticity.kmeans(points, 3, { seed: 9 }).assignment, truth));
  // Inertia of the returned partition, recomputed in float64.
  const inertia = [0, 1, 2].reduce((sum, c) => {
    const members = points.filter((_, i) => a.assignment[i] === c);
    const mean = [0, 1].map((d) => members.reduce((s, m) => s + m[d], 0) / members.length);
    return sum + members.reduce((s, m) => s + (m[0] - mean[0]) ** 2 + (m[1] - mean[1]) ** 2, 0);
  }, 0);
  assert.ok(Math.abs(a.inertia - inertia) <= 1e-9 * inertia, `inertia ${a.inertia} vs ${inertia}`);

  const result = squareResult(scaledBlocks(11).srel);
  for (const method of ["spectral", "kmeans"] as const) {
    const first = elasticity.cluster(result, 3, { method, seed: 4 });
    const again = elasticity.cluster(result, 3, { method, seed: 4 });
    assert.deepEqual(again.assignment, first.assignment, `${method} is deterministic for a seed`);
    assert.equal(again.inertia, first.inertia);
  }
  assert.match(a.summary(), /k-means \(k = 3\) on the rows, 45 rows: sizes 15, 15, 15, purity 1/);
  assert.equal(a.toJSON().kind, "elasticity.cluster");
  assert.equal(a.figures().length, 1);
});

test("confusion() is a clusters x groups count matrix with its labels; purity is the sum of row maxima over the rows", () => {
  // Hand-made: 7 points in 2 well-separated clumps; truth groups 3 and 8 mixed 3:1 and 1:2 (cluster order from the seed).
  const points = [[0, 0], [0.1, 0], [0, 0.1], [0.1, 0.1], [9, 9], [9.1, 9], [9, 9.1]];
  const truth = [3, 3, 3, 8, 8, 8, 3];
  const r = elasticity.kmeans(points, 2, { truth, seed: 0 });
  const conf = r.confusion();
  const first = r.assignment[0]; // the cluster of the clump at the origin
  const expected = first === 0 ? [[3, 1], [1, 2]] : [[1, 2], [3, 1]];
  assert.deepEqual(conf, { matrix: expected, rows: [0, 1], columns: [3, 8], rowLabels: ["cluster 0", "cluster 1"], columnLabels: ["group 3", "group 8"] });
  assert.equal(r.purity, (3 + 2) / 7);
  const table = r.table();
  assert.deepEqual(table.columns, ["cluster", "group 3", "group 8", "total"]);
  assert.deepEqual(table.rows, expected.map((row, c) => [`cluster ${c}`, ...row, row[0] + row[1]]));
  assert.throws(() => elasticity.kmeans(points, 2).confusion(), /confusion\(\) needs the true groups: pass \{ truth \}/);
});

test("NaN entries carry no similarity; a row with none left is counted as isolated", () => {
  const { srel, groups } = scaledBlocks(7);
  const lonely = srel.map((row, i) => row.map((v, j) => (i !== j && (i === 0 || j === 0) ? NaN : v)));
  const c = elasticity.cluster(squareResult(lonely), 2, { truth: groups });
  assert.equal(c.isolated, 1);
  assert.deepEqual(c.embedding![0], [0, 0, 0]);
  assert.ok(samePartition(c.assignment.slice(1), groups.slice(1)), "the other rows still follow the blocks");
  assert.match(c.summary(), /1 isolated rows/);
});

test("bad input: clear errors", () => {
  const { srel, groups } = scaledBlocks(1);
  const result = squareResult(srel);
  assert.throws(() => elasticity.cluster(result, 0), /k must be a positive integer, got 0/);
  assert.throws(() => elasticity.cluster(result, 41), /k = 41 is more than the 40 rows/);
  assert.throws(() => elasticity.cluster(result, 2, { method: "dbscan" as "kmeans" }), /method must be "spectral" or "kmeans", got "dbscan"/);
  assert.throws(() => elasticity.cluster(result, 2, { dimensions: 0 }), /dimensions must be an integer from 1 to the 40 rows, got 0/);
  assert.throws(() => elasticity.cluster(result, 2, { truth: groups.slice(1) }), /truth has 39 entries for 40 rows/);
  assert.throws(() => elasticity.cluster(result, 2, { restarts: 0 }), /restarts must be a positive integer/);
  const infinite = srel.map((row, i) => row.map((v, j) => (i === 2 && j === 3 ? Infinity : v)));
  assert.throws(() => elasticity.cluster(squareResult(infinite), 2), /entry \(2, 3\) is Infinity; S_rel must be finite and >= 0/);
  const rectangular = new ElasticityResult({ ...fieldsOf(result), srel: srel.slice(0, 3), rows: [0, 1, 2] });
  assert.throws(() => elasticity.cluster(rectangular, 2), /needs the same samples as rows and columns/);
  assert.throws(() => elasticity.kmeans([], 1), /non-empty array of rows/);
  assert.throws(() => elasticity.kmeans([[1, 2], [3]], 1), /row 1 has 1 entries, row 0 has 2/);
  assert.throws(() => elasticity.kmeans([[1, 2], [3, NaN]], 1), /entry \(1, 1\) is NaN/);
  const cube = tf.zeros([2, 2, 2]);
  assert.throws(() => elasticity.kmeans(cube, 1), /2-D tensor .* got shape \[2, 2, 2\]/);
  cube.dispose();
});

function fieldsOf(r: ElasticityResult): ConstructorParameters<typeof ElasticityResult>[0] {
  return { srel: r.srel, sker: r.sker, rows: r.rows, columns: r.columns, rowLabels: r.rowLabels, columnLabels: r.columnLabels, sameData: true, classNames: null, undefinedCount: r.undefinedCount, unresolvedRows: r.unresolvedRows, warnings: r.warnings, seconds: r.seconds, settings: r.settings };
}
