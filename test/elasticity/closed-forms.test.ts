/**
 * The closed forms of the reference file (shared/reference/elasticity.md), each against a float64
 * plain-TS reference with a stated float32 tolerance.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { mlp } from "../../src/model";
import { Rng } from "../../src/math/rng";
import { symmetricEigen } from "../../src/math/eigen";
import { elasticity } from "../../src/elasticity";
import { assertClose, assertNoLeak, useTestBackend } from "../helpers";

before(useTestBackend);

const quiet = { progress: false } as const;

function randomMatrix(rng: Rng, n: number, d: number): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal()));
}

const dot = (a: number[], b: number[]) => a.reduce((s, v, k) => s + v * b[k], 0);
const withOne = (x: number[]) => [...x, 1];

test("models linear in their parameters: S_rel = |phi.phi'| / ||phi||^2 and S_ker = phi.phi' for any eta (1e-4)", async () => {
  const rng = new Rng(1);
  const xs = randomMatrix(rng, 7, 3);
  const data = { x: tf.tensor2d(xs), y: tf.tensor2d(randomMatrix(rng, 7, 1)) };
  const model = mlp([3, 1], { seed: 3 });
  const expected = xs.map((a) => xs.map((b) => Math.abs(dot(withOne(a), withOne(b))) / dot(withOne(a), withOne(a))));
  const kernel = xs.map((a) => xs.map((b) => dot(withOne(a), withOne(b))));
  for (const engine of ["dense", "generic"] as const) {
    for (const eta of [0.01, 0.3]) {
      const r = await assertNoLeak(() => elasticity(model, data, { ...quiet, mode: "finite", eta, engine, minChange: 0 }), `finite eta ${eta}`);
      assertClose(r.srel, expected, { rtol: 1e-4, atol: 1e-5, what: `S_rel (${engine}, eta ${eta})` });
      assertClose(r.sker!, kernel, { rtol: 1e-4, atol: 1e-4, what: `S_ker (${engine}, eta ${eta})` });
    }
    const limit = await elasticity(model, data, { ...quiet, mode: "infinitesimal", engine });
    assertClose(limit.srel, expected, { rtol: 1e-5, atol: 1e-6, what: `S_rel infinitesimal (${engine})` });
    assertClose(limit.sker!, kernel, { rtol: 1e-5, atol: 1e-5, what: `S_ker infinitesimal (${engine})` });
  }
  // Vector outputs: df(x') = -eta (phi.phi') (f(x) - y), so the ratio of norms is the same closed form.
  const wide = mlp([3, 4], { seed: 5 });
  const wideData = { x: data.x, y: tf.tensor2d(randomMatrix(rng, 7, 4)) };
  const r = await elasticity(wide, wideData, { ...quiet, mode: "finite", eta: 0.2, minChange: 0 });
  assertClose(r.srel, expected, { rtol: 1e-4, atol: 1e-5, what: "S_rel with 4 outputs" });
  assert.equal(r.sker, null, "S_ker is only defined for one output");
  tf.dispose([data.x, data.y, wideData.y]);
});

/** The logits' change of a linear softmax classifier: dz(x') = -eta (x~.x~') (p(x) - e_y). */
function softmaxReference(xs: number[][], labels: number[], w: number[][], b: number[]) {
  const logits = (x: number[]) => b.map((bk, k) => bk + x.reduce((s, v, i) => s + v * w[i][k], 0));
  const probs = (z: number[]) => {
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, v) => a + v, 0);
    return e.map((v) => v / s);
  };
  const residual = (i: number) => probs(logits(xs[i])).map((p, k) => p - (k === labels[i] ? 1 : 0));
  const variance = (p: number[], c: number[]) => {
    const mean = dot(p, c);
    return p.reduce((s, pk, k) => s + pk * (c[k] - mean) ** 2, 0);
  };
  const logit = xs.map((a) => xs.map((c) => Math.abs(dot(withOne(a), withOne(c))) / dot(withOne(a), withOne(a))));
  const kl = xs.map((a, i) => xs.map((c) => {
    const ri = residual(i);
    const ratio = dot(withOne(a), withOne(c)) ** 2 / dot(withOne(a), withOne(a)) ** 2;
    return (ratio * variance(probs(logits(c)), ri)) / variance(probs(logits(a)), ri);
  }));
  return { logit, kl };
}

test("linear softmax classifier: logit S_rel = |x~.x~'| / ||x~||^2 for any eta; KL tends to its closed form with error O(eta)", async () => {
  const rng = new Rng(2);
  const xs = randomMatrix(rng, 6, 3);
  const labels = [0, 1, 2, 0, 1, 2];
  const data = { x: tf.tensor2d(xs), y: tf.tensor1d(labels, "int32") };
  const model = mlp([3, 3], { seed: 4 });
  const [w, b] = model.getWeights().map((t) => t.arraySync()) as [number[][], number[]];
  const reference = softmaxReference(xs, labels, w, b);
  for (const eta of [0.05, 0.5]) {
    const r = await elasticity(model, data, { ...quiet, points: 6, kind: "logit", mode: "finite", eta });
    assertClose(r.srel, reference.logit, { rtol: 1e-4, atol: 1e-5, what: `logit S_rel, eta ${eta}` });
  }
  const limit = await elasticity(model, data, { ...quiet, points: 6, kind: "kl", mode: "infinitesimal" });
  assertClose(limit.srel, reference.kl, { rtol: 1e-4, atol: 1e-6, what: "KL S_rel, infinitesimal" });
  const errors: number[] = [];
  for (const eta of [0.02, 0.01, 0.005]) {
    const r = await elasticity(model, data, { ...quiet, points: 6, kind: "kl", mode: "finite", eta });
    errors.push(Math.max(...r.srel.flatMap((row, i) => row.map((v, j) => Math.abs(v - reference.kl[i][j])))));
  }
  // Halving eta halves the error (first order), within 25%.
  for (let k = 1; k < errors.length; k++) {
    const ratio = errors[k - 1] / errors[k];
    assert.ok(ratio > 1.5 && ratio < 2.5, `KL error ratio for halved eta is ${ratio.toFixed(3)} (errors ${errors.map((e) => e.toExponential(2)).join(", ")})`);
  }
  tf.dispose([data.x, data.y]);
});

test("single ReLU gate: df(x') = relu(w.x' - eta (w.x - y)(x.x')) - relu(w.x'); inactive probe -> NaN, counted", async () => {
  const w = [0.8, -0.5, 0.3];
  const xs = [[1, 0.2, 0.5], [0.5, 1, -0.2], [-1, 0.5, 0.1], [0.3, -0.4, 1], [2, 1.5, -0.5]];
  const ys = [0.2, -1, 0.5, 2, 3];
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [3], useBias: false, activation: "relu" })] });
  model.setWeights([tf.tensor2d(w, [3, 1])]);
  const data = { x: tf.tensor2d(xs), y: tf.tensor2d(ys, [5, 1]) };
  const eta = 0.1;
  const relu = (v: number) => Math.max(0, v);
  const change = (i: number, j: number) => relu(dot(w, xs[j]) - eta * (dot(w, xs[i]) - ys[i]) * dot(xs[i], xs[j])) - relu(dot(w, xs[j]));
  const expected = xs.map((_, i) => xs.map((__, j) => (dot(w, xs[i]) > 0 ? Math.abs(change(i, j)) / Math.abs(change(i, i)) : NaN)));
  assert.ok(expected.flat().some((v) => v === 0), "the data include an affected point inactive before and after");
  const inactive = xs.filter((x) => dot(w, x) <= 0).length;
  assert.ok(inactive > 0, "the data include an inactive probe");
  for (const engine of ["dense", "generic"] as const) {
    const r = await assertNoLeak(() => elasticity(model, data, { ...quiet, mode: "finite", eta, engine, minChange: 0 }));
    assertClose(r.srel, expected, { rtol: 1e-4, atol: 1e-6, what: `ReLU gate S_rel (${engine})` });
    assert.equal(r.undefinedCount, inactive * xs.length, "every entry of an inactive probe's row is counted");
    assert.match(r.warnings.join(" "), /undefined/);
  }
  tf.dispose([data.x, data.y]);
});

test("NTK of a 2-layer ReLU net: S_ker -> K(x, x'), S_rel -> |K(x, x')| / K(x, x); S_ker symmetric PSD (1e-4)", async () => {
  const rng = new Rng(3);
  const d = 3, width = 16, n = 9;
  const model = tf.sequential({ layers: [
    tf.layers.dense({ units: width, inputShape: [d], activation: "relu" }),
    tf.layers.dense({ units: 1, useBias: false }),
  ] });
  const wj = randomMatrix(rng, d + 1, width); // rows: d input weights, then the bias
  const a = Array.from({ length: width }, () => rng.normal(0, 0.5));
  model.setWeights([tf.tensor2d(wj.slice(0, d)), tf.tensor1d(wj[d]), tf.tensor2d(a, [width, 1])]);
  const xs = randomMatrix(rng, n, d);
  const pre = (x: number[], j: number) => dot(withOne(x), wj.map((row) => row[j]));
  const K = xs.map((x) => xs.map((x2) => a.reduce((s, aj, j) => s + Math.max(0, pre(x, j)) * Math.max(0, pre(x2, j)) + (pre(x, j) > 0 && pre(x2, j) > 0 ? aj * aj * dot(withOne(x), withOne(x2)) : 0), 0)));
  const data = { x: tf.tensor2d(xs), y: tf.tensor2d(randomMatrix(rng, n, 1)) };
  for (const engine of ["dense", "generic"] as const) {
    const r = await assertNoLeak(() => elasticity(model, data, { ...quiet, engine }));
    assertClose(r.sker!, K, { rtol: 1e-4, atol: 1e-5, what: `NTK (${engine})` });
    assertClose(r.srel, K.map((row, i) => row.map((v) => Math.abs(v) / K[i][i])), { rtol: 1e-4, atol: 1e-6, what: `S_rel (${engine})` });
    const s = r.sker!;
    assertClose(s, s.map((row, i) => row.map((_, j) => s[j][i])), { rtol: 1e-4, atol: 1e-5, what: "S_ker symmetry" });
    const eig = symmetricEigen(s.flat(), n);
    assert.ok(eig.values[n - 1] >= -1e-4 * eig.values[0], `S_ker is PSD: smallest eigenvalue ${eig.values[n - 1]} vs largest ${eig.values[0]}`);
  }
  tf.dispose([data.x, data.y]);
});

test("fresh Adam step on a linear model: S_rel = |phi(x').sign(phi(x))| / ||phi(x)||_1 (1e-4)", async () => {
  const rng = new Rng(4);
  const xs = randomMatrix(rng, 5, 3);
  const data = { x: tf.tensor2d(xs), y: tf.tensor2d(randomMatrix(rng, 5, 1)) };
  const model = mlp([3, 1], { seed: 6 });
  const expected = xs.map((a) => xs.map((b) => {
    const p = withOne(a), q = withOne(b);
    return Math.abs(q.reduce((s, v, k) => s + v * Math.sign(p[k]), 0)) / p.reduce((s, v) => s + Math.abs(v), 0);
  }));
  for (const mode of ["finite", "infinitesimal"] as const) {
    const r = await elasticity(model, data, { ...quiet, step: "adam", mode, eta: 0.01, minChange: 0 });
    assert.equal(r.settings.engine, "generic");
    assertClose(r.srel, expected, { rtol: 1e-4, atol: 1e-5, what: `Adam S_rel (${mode})` });
  }
  tf.dispose([data.x, data.y]);
});
