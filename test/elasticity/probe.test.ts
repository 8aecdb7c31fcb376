/** The probe's behaviour: engines agree, S_rel(x, x) = 1, class pairs, relabelling, NaN reporting, errors, leaks. */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { mlp, cnn, readParams } from "../../src/model";
import { Rng } from "../../src/math/rng";
import { elasticity } from "../../src/elasticity";
import { classPairs } from "../../src/elasticity/pairs";
import { assertClose, assertNoLeak, useTestBackend } from "../helpers";

before(useTestBackend);

const quiet = { progress: false } as const;

function classification(n: number, d: number, classes: number, seed: number) {
  const rng = new Rng(seed);
  const labels = Array.from({ length: n }, (_, i) => i % classes);
  const xs = labels.map((c) => Array.from({ length: d }, (_, k) => (k === c ? 1.5 : 0) + rng.normal(0, 0.7)));
  return { x: tf.tensor2d(xs), y: tf.tensor1d(labels, "int32") };
}

test("the batched Dense engine matches the generic engine in every kind and mode, and S_rel(x, x) = 1 (1e-4)", async () => {
  const data = classification(12, 5, 3, 1);
  const model = mlp([5, 8, 6, 3], { seed: 2, activation: "tanh" });
  for (const mode of ["finite", "infinitesimal"] as const) {
    for (const kind of ["kl", "logit", "regression"] as const) {
      const options = { ...quiet, mode, kind, eta: 0.05, points: 12 };
      const dense = await assertNoLeak(() => elasticity(model, data, { ...options, engine: "dense" }), `dense ${kind} ${mode}`);
      const generic = await assertNoLeak(() => elasticity(model, data, { ...options, engine: "generic" }), `generic ${kind} ${mode}`);
      assert.equal(dense.settings.engine, "dense");
      assertClose(dense.srel, generic.srel, { rtol: 1e-3, atol: 1e-5, what: `${kind} ${mode}: dense vs generic` });
      assertClose(dense.srel.map((row, i) => row[i]), new Array(12).fill(1), { rtol: 1e-4, what: `${kind} ${mode}: S_rel(x, x)` });
      assert.ok(dense.srel.flat().every((v) => v >= 0), "S_rel >= 0");
    }
  }
  tf.dispose([data.x, data.y]);
});

test("finite steps approach the infinitesimal mode as eta shrinks", async () => {
  const data = classification(9, 4, 3, 3);
  const model = mlp([4, 10, 3], { seed: 4 });
  const limit = await elasticity(model, data, { ...quiet, points: 9 });
  const gap = async (eta: number) => {
    const r = await elasticity(model, data, { ...quiet, points: 9, mode: "finite", eta });
    return Math.max(...r.srel.flatMap((row, i) => row.map((v, j) => Math.abs(v - limit.srel[i][j]))));
  };
  const [coarse, fine] = [await gap(0.004), await gap(0.001)];
  assert.ok(fine < coarse / 2.5 && fine < 0.03, `gap to the limit: ${coarse} at eta 0.004, ${fine} at eta 0.001`);
  tf.dispose([data.x, data.y]);
});

test("a convolutional model runs on the generic engine; S_rel(x, x) = 1", async () => {
  const rng = new Rng(5);
  const x = tf.tensor4d(rng.normalArray(6 * 6 * 6), [6, 6, 6, 1]);
  const y = tf.tensor1d([0, 1, 0, 1, 0, 1], "int32");
  const model = cnn([6, 6, 1], { filters: [2], dense: [4], classes: 2, seed: 1 });
  const r = await assertNoLeak(() => elasticity(model, { x, y }, { ...quiet, points: 6 }));
  assert.equal(r.settings.engine, "generic");
  assertClose(r.srel.map((row, i) => row[i]), new Array(6).fill(1), { rtol: 1e-4, what: "S_rel(x, x)" });
  await assert.rejects(elasticity(model, { x, y }, { ...quiet, engine: "dense" }), /"dense" engine needs SGD steps on a chain of Dense layers/);
  tf.dispose([x, y]);
});

test("class-pair averages: hand-computed means, self pairs and NaN left out", () => {
  const s = [
    [1, 0.5, 0.2, NaN],
    [0.7, 1, 0.4, 0.1],
    [0.3, 0.2, 1, 0.9],
  ];
  const p = classPairs(s, [0, 0, 1], [0, 0, 1, 1], (i, j) => i === j, String);
  assert.deepEqual(p.classes, [0, 1]);
  assertClose(p.mean, [[(0.5 + 0.7) / 2, (0.2 + 0.4 + 0.1) / 3], [(0.3 + 0.2) / 2, 0.9]], { rtol: 1e-12, what: "class-pair means" });
  assert.deepEqual(p.count, [[2, 3], [2, 1]]);
  assertClose(p.same, (0.5 + 0.7 + 0.9) / 3, { rtol: 1e-12 });
  assertClose(p.cross, (0.2 + 0.4 + 0.1 + 0.3 + 0.2) / 5, { rtol: 1e-12 });
  // Relabelling the classes (0 <-> 1) transposes the class order of the matrix.
  const swapped = classPairs(s, [1, 1, 0], [1, 1, 0, 0], (i, j) => i === j, String);
  assertClose(swapped.mean, [[p.mean[1][1], p.mean[1][0]], [p.mean[0][1], p.mean[0][0]]], { rtol: 1e-12, what: "relabelled class pairs" });
});

test("class pairs of a subset of classes: only the probed classes as rows, only the affected classes as columns", async () => {
  // Hand-computed: rows of class 1 only, columns of classes 0, 1, 2 (no sample shared).
  const p = classPairs([[0.5, 0.2, 0.9, 0.4], [0.3, 0.6, NaN, 0.8]], [1, 1], [0, 1, 2, 2], () => false, (c) => `c${c}`);
  assert.deepEqual([p.classes, p.names, p.affected, p.affectedNames], [[1], ["c1"], [0, 1, 2], ["c0", "c1", "c2"]]);
  assertClose(p.mean, [[(0.5 + 0.3) / 2, (0.2 + 0.6) / 2, (0.9 + 0.4 + 0.8) / 3]], { rtol: 1e-12, what: "class-pair means" });
  assertClose(p.same, (0.2 + 0.6) / 2, { rtol: 1e-12 });
  // The probe with classes [3, 5, 8] of 10, affected points of every class: 3 rows of pairs, none all-NaN.
  const data = { ...classification(40, 10, 10, 4), task: "classification" as const, classes: Array.from({ length: 10 }, (_, c) => `digit ${c}`) };
  const model = mlp([10, 6, 10], { seed: 1 });
  const s = await elasticity(model, data, { ...quiet, points: { perClass: 2, classes: [3, 5, 8] }, against: 40 });
  assert.deepEqual(s.classPairs!.classes, [3, 5, 8]);
  assert.equal(s.classPairs!.affected.length, 10);
  const table = s.table();
  assert.equal(table.rows.length, 3 * 10);
  assert.deepEqual([...new Set(table.column("probed"))], ["digit 3", "digit 5", "digit 8"]);
  assert.ok(table.column("mean").every((v) => typeof v === "number" && Number.isFinite(v)), "no NaN cells");
  const [heatmap, pairs] = s.figures();
  assert.deepEqual(pairs.data[0].y, ["digit 3", "digit 5", "digit 8"]);
  assert.equal((pairs.data[0].x as string[]).length, 10);
  // The S_rel heatmap's axes are labelled by class name, one tick per class block.
  const yaxis = heatmap.layout.yaxis as { ticktext: string[]; tickvals: string[] };
  const xaxis = heatmap.layout.xaxis as { ticktext: string[]; tickvals: string[] };
  assert.deepEqual(yaxis.ticktext, ["digit 3", "digit 5", "digit 8"]);
  assert.deepEqual(xaxis.ticktext, data.classes);
  for (const [axis, values] of [[yaxis, heatmap.data[0].y], [xaxis, heatmap.data[0].x]] as const) {
    assert.ok(axis.tickvals.every((v) => (values as string[]).includes(v)), "tick values are categories of the axis");
  }
  assert.ok(yaxis.tickvals.every((v, k) => v.startsWith(`${yaxis.ticktext[k]} #`)), "each tick sits inside its class block");
  tf.dispose([data.x, data.y]);
});

test("relabelling the classes together with the output units leaves S_rel unchanged and permutes the class pairs", async () => {
  const data = classification(9, 4, 3, 6);
  const model = mlp([4, 7, 3], { seed: 7 });
  const perm = [2, 0, 1]; // class c becomes perm[c]
  const permuted = mlp([4, 7, 3], { seed: 7 });
  const weights = model.getWeights();
  const [kernel, bias] = [weights[2].arraySync() as number[][], weights[3].arraySync() as number[]];
  const newKernel = kernel.map((row) => perm.map((_, k) => row[perm.indexOf(k)]));
  const newBias = perm.map((_, k) => bias[perm.indexOf(k)]);
  permuted.setWeights([weights[0], weights[1], tf.tensor2d(newKernel), tf.tensor1d(newBias)]);
  const labels = Array.from(data.y.dataSync());
  const relabelled = { x: data.x, y: tf.tensor1d(labels.map((c) => perm[c]), "int32") };
  for (const kind of ["kl", "logit"] as const) {
    const a = await elasticity(model, data, { ...quiet, kind, points: 9 });
    const b = await elasticity(permuted, relabelled, { ...quiet, kind, points: 9 });
    assertClose(b.srel, a.srel, { rtol: 1e-4, atol: 1e-6, what: `${kind} S_rel after relabelling` });
    const pa = a.classPairs!, pb = b.classPairs!;
    for (let c = 0; c < 3; c++) for (let d = 0; d < 3; d++) assertClose(pb.mean[perm[c]][perm[d]], pa.mean[c][d], { rtol: 1e-4, what: `class pair (${c}, ${d})` });
  }
  tf.dispose([data.x, data.y, relabelled.y]);
});

test("a finite step too small for float32 is reported (NaN rows, warning), not returned as noise", async () => {
  const data = classification(6, 3, 3, 8);
  const model = mlp([3, 5, 3], { seed: 9 });
  const r = await elasticity(model, data, { ...quiet, mode: "finite", eta: 1e-9, points: 6 });
  assert.equal(r.unresolvedRows.length, 6);
  assert.ok(r.srel.flat().every(Number.isNaN));
  assert.match(r.warnings[0], /below what float32 resolves; raise eta or use mode "infinitesimal"/);
  assert.match(r.summary(), /6 rows unresolved/);
  tf.dispose([data.x, data.y]);
});

test("results: against another set, square-only symmetrisation, JSON, figures and tables", async () => {
  const data = classification(8, 3, 2, 10);
  const other = classification(5, 3, 2, 11);
  const model = mlp([3, 4, 2], { seed: 1 });
  const r = await elasticity(model, data, { ...quiet, points: { perClass: 2 }, against: other });
  assert.equal(r.srel.length, 4);
  assert.equal(r.srel[0].length, 5);
  assert.deepEqual(r.rowLabels, [0, 0, 1, 1]);
  assert.throws(() => r.symmetrised(), /same samples as rows and columns/);
  const json = JSON.parse(JSON.stringify(r.toJSON()));
  assert.equal(json.kind, "elasticity");
  assert.equal(json.srel.length, 4);
  assert.equal(r.figures().length, 2);
  assert.equal(r.table().rows.length, 4);
  tf.dispose([data.x, data.y, other.x, other.y]);
});

test("bad input is a clear error and leaves the model untouched", async () => {
  const data = classification(6, 3, 3, 12);
  const model = mlp([3, 4, 3], { seed: 2 });
  const before = readParams(model);
  await assert.rejects(elasticity(model, { x: tf.zeros([6, 5]), y: data.y }, quiet), /sample shape \[5\] but model .* expects \[3\]/);
  await assert.rejects(elasticity(model, { x: tf.tensor2d([[NaN, 0, 0]]), y: tf.tensor1d([0], "int32") }, quiet), /NaN/);
  await assert.rejects(elasticity(model, data, { ...quiet, eta: -1 }), /eta must be a positive finite number/);
  await assert.rejects(elasticity(model, data, { ...quiet, kind: "kld" as "kl" }), /unknown kind "kld"/);
  await assert.rejects(elasticity(model, data, { ...quiet, points: [0, 9] }), /point index 9 is not an integer in \[0, 6\)/);
  await assert.rejects(elasticity(model, { x: data.x, y: tf.zeros([6, 3]) }, { ...quiet, kind: "kl" }), /kind "kl" needs classification data/);
  await assert.rejects(elasticity(model, { x: data.x, y: tf.tensor1d([0, 1, 2, 3, 4, 5], "int32") }, quiet), /label 3 at index 3 does not fit model/);
  const poisoned = mlp([3, 4, 3], { seed: 2 });
  poisoned.setWeights(poisoned.getWeights().map((w, i) => (i === 0 ? tf.fill(w.shape, NaN) : w)));
  await assert.rejects(elasticity(poisoned, data, quiet), /parameter .* holds NaN/);
  const lstm = tf.sequential({ layers: [tf.layers.simpleRNN({ units: 2, inputShape: [2, 3] })] });
  await assert.rejects(elasticity(lstm, data, quiet), /SimpleRNN.*not supported/);
  const after = readParams(model);
  before.forEach((t, i) => assert.deepEqual(Array.from(t.dataSync()), Array.from(after[i].dataSync())));
  tf.dispose([...before, ...after, data.x, data.y]);
});
