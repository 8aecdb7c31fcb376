/** The exact identities of neural teleportation (reference file, identities 1-10) on MLPs and CNNs, in float32. */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { assertNoLeak, assertClose, useTestBackend } from "../helpers";
import { viewOf, readParams, lossOf, defaultLoss, mlp } from "../../src/model";
import { hvp, hessianOperator, denseHessian } from "../../src/math/hessian";
import { Rng } from "../../src/math/rng";
import { makeOptimizer } from "../../src/train/optimizer";
import { teleport } from "../../src/teleport";
import { cobStructure, factorsOf, sampleCob, endsOf, samplingMoments, applyCob } from "../../src/teleport/structure";
import { landscapeOf, gradientAt, valuesOf, cobLoss } from "../../src/teleport/landscape";
import { teleportVariables } from "../../src/teleport/during-training";
import { mlpModel, bnMlp, bnCnn, poolCnn, classification, relDiff } from "./fixtures";

before(useTestBackend);

const FUNCTION_TOL = 1e-5;

test("1-2. function and data loss preserved (rel <= 1e-5) on an MLP (r = 0.9) and CNNs with BN / max / avg pooling / dropout (r = 0.5)", () => {
  const cases: [string, tf.LayersModel, number, number[]][] = [
    ["mlp", mlpModel(), 0.9, [6]],
    ["bn cnn", bnCnn(), 0.5, [8, 8, 2]],
    ["avg cnn", poolCnn(1, "avg"), 0.9, [8, 8, 2]],
    ["max cnn", poolCnn(2, "max"), 0.9, [8, 8, 2]],
    ["bn leaky mlp", bnMlp(3), 0.9, [5]],
  ];
  for (const [name, model, r, shape] of cases) {
    const data = classification(shape, 24, 3);
    const weightsBefore = readParams(model);
    assertNoLeak(() => teleport(model, { cobRange: r, seed: 4 }).model.dispose(), `teleport ${name}`);
    const result = teleport(model, { cobRange: r, seed: 4 });
    assert.ok(result.check.rel <= FUNCTION_TOL, `${name}: probe check rel ${result.check.rel}`);
    // The data loss too, and the user's model is untouched.
    const view = viewOf(model);
    const after = readParams(result.model);
    const kind = defaultLoss(view, "classification");
    const l0 = lossOf(view, weightsBefore, data.x, data.y, kind).dataSync()[0];
    const l1 = lossOf(view, after, data.x, data.y, kind).dataSync()[0];
    assert.ok(Math.abs(l1 - l0) <= FUNCTION_TOL * Math.max(1, Math.abs(l0)), `${name}: loss ${l0} -> ${l1}`);
    assert.equal(relDiff(readParams(model), weightsBefore), 0, `${name}: the input model is untouched`);
    assert.ok(relDiff(after, weightsBefore) > 1e-3, `${name}: the weights did move`);
    // Weight decay is NOT invariant.
    const norm = (ps: tf.Tensor[]) => ps.reduce((a, p, i) => a + (view.params[i].trainable ? tf.sum(tf.square(p)).dataSync()[0] : 0), 0);
    assert.ok(Math.abs(norm(after) / norm(weightsBefore) - 1) > 1e-3, `${name}: ||w'||^2 differs from ||w||^2`);
    tf.dispose([...weightsBefore, ...after, data.x, data.y]);
    result.model.dispose();
  }
});

test("3. tau = 1 is the identity, the inverse restores the weights (rel 1e-6), and teleports compose: tau2.(tau1.w) = (tau1 tau2).w", () => {
  const model = bnCnn(3);
  const structure = cobStructure(viewOf(model));
  const ones = structure.groups.map((g) => new Float64Array(g.size).fill(1));
  const original = readParams(model);
  const same = teleport(model, { cob: ones });
  assert.equal(relDiff(readParams(same.model), original), 0, "tau = 1 changes nothing");
  const t1 = teleport(model, { cobRange: 0.5, seed: 1 });
  assertNoLeak(() => t1.undo().model.dispose(), "undo");
  const back = t1.undo();
  assert.ok(relDiff(readParams(back.model), original) <= 1e-6, `undo: ${relDiff(readParams(back.model), original)}`);
  const t2 = teleport(model, { cobRange: 0.5, seed: 2 });
  const twice = teleport(t1.model, { cob: t2.cob });
  const product = teleport(model, { cob: t1.cob.map((c, k) => c.tau.map((t, i) => t * t2.cob[k].tau[i])) });
  assert.ok(relDiff(readParams(twice.model), readParams(product.model)) <= 1e-6, "composition");
  tf.dispose(original);
});

/** Gradients per CoB parameter at a model's weights on data. */
function gradsOf(model: tf.LayersModel, data: { x: tf.Tensor; y: tf.Tensor }) {
  const land = landscapeOf(model, data, "test");
  const params = readParams(model);
  const g = gradientAt(land, params);
  const w = valuesOf(land, params);
  tf.dispose(params);
  return { land, g, w };
}

test("4. gradients transform as g' = g / d, so w (.) g is invariant elementwise (MLP and BN CNN)", () => {
  for (const [model, shape] of [[mlpModel(), [6]], [bnCnn(2), [8, 8, 2]]] as [tf.LayersModel, number[]][]) {
    const data = classification(shape);
    const t = teleport(model, { cobRange: 0.7, seed: 9 });
    const a = gradsOf(model, data);
    const b = gradsOf(t.model, data);
    const d = factorsOf(a.land.structure, t.tau);
    const scale = Math.max(...a.g.map((x) => Math.max(...x.map(Math.abs))));
    a.g.forEach((gk, k) => {
      assertClose(b.g[k].map((x, e) => x * d[k][e]), gk, { rtol: 1e-4, atol: 1e-5 * scale, what: `g' d (param ${k})` });
      const wg = gk.map((x, e) => x * a.w[k][e]);
      assertClose(b.g[k].map((x, e) => x * b.w[k][e]), wg, { rtol: 1e-4, atol: 1e-5 * scale, what: `w' g' (param ${k})` });
    });
    tf.dispose([data.x, data.y]);
  }
});

test("5. per hidden ReLU unit, sum of w*g over incoming edges (with bias) equals the sum over outgoing edges", () => {
  for (const [model, shape] of [[mlpModel([6, 10, 9, 3], 4), [6]], [poolCnn(5, "max"), [8, 8, 2]]] as [tf.LayersModel, number[]][]) {
    const data = classification(shape);
    const { land, g, w } = gradsOf(model, data);
    const incoming = new Float64Array(land.structure.size);
    const outgoing = new Float64Array(land.structure.size);
    const magnitude = new Float64Array(land.structure.size);
    land.structure.params.forEach((p, k) => {
      for (let f = 0; f < p.size; f++) {
        const [o, i] = endsOf(p, f);
        const wg = w[k][f] * g[k][f];
        if (o >= 0) { incoming[o] += wg; magnitude[o] += Math.abs(wg); }
        if (i >= 0) { outgoing[i] += wg; magnitude[i] += Math.abs(wg); }
      }
    });
    for (let u = 0; u < land.structure.size; u++) {
      assert.ok(Math.abs(incoming[u] - outgoing[u]) <= 1e-5 * magnitude[u] + 1e-9, `unit ${u}: in ${incoming[u]} vs out ${outgoing[u]} (scale ${magnitude[u]})`);
    }
    tf.dispose([data.x, data.y]);
  }
});

test("7. Hessian: H' v = D^-1 H D^-1 v by HVPs (dense + BN + LeakyReLU MLP, and a CNN with BN, average pooling, dropout and Flatten), and tr H' = sum H_ee / d_e^2 on the dense Hessian of a small MLP", () => {
  for (const [name, model, shape] of [["bn mlp", bnMlp(6), [5]], ["bn cnn", bnCnn(6, "avg"), [8, 8, 2]]] as [string, tf.LayersModel, number[]][]) {
    const data = classification(shape, 16);
    const t = teleport(model, { cobRange: 0.6, seed: 3 });
    const land = landscapeOf(model, data, "test");
    const p0 = readParams(model);
    const p1 = readParams(t.model);
    const d = factorsOf(land.structure, t.tau);
    const rng = new Rng(2);
    const v = land.structure.params.map((p) => Float64Array.from({ length: p.size }, () => rng.normal()));
    const at0 = cobLoss(land, p0);
    const at1 = cobLoss(land, p1);
    const tensors = (arrays: Float64Array[]) => arrays.map((a, k) => tf.tensor(Float32Array.from(a), at0.at[k].shape));
    const vt = tensors(v);
    const vScaled = tensors(v.map((a, k) => a.map((x, e) => x / d[k][e])));
    assertNoLeak(() => tf.dispose(hvp(at1.loss, at1.at, vt)), `${name}: hvp`);
    const h1 = hvp(at1.loss, at1.at, vt);
    const h0 = hvp(at0.loss, at0.at, vScaled);
    const scale = Math.max(...h0.map((h) => Math.max(...Array.from(h.dataSync(), Math.abs))));
    h1.forEach((h, k) => {
      const expected = Array.from(h0[k].dataSync(), (x, e) => x / d[k][e]);
      assertClose(Array.from(h.dataSync()), expected, { rtol: 1e-3, atol: 1e-4 * scale, what: `${name}: H'v param ${k}` });
    });
    tf.dispose([...p0, ...p1, ...vt, ...vScaled, ...h0, ...h1, data.x, data.y]);
    t.model.dispose();
  }

  const small = mlpModel([3, 5, 4, 2], 2);
  const smallData = classification([3], 12, 2);
  const ts = teleport(small, { cobRange: 0.8, seed: 5 });
  const ls = landscapeOf(small, smallData, "test");
  const diagonalOf = (m: tf.LayersModel) => {
    const ps = readParams(m);
    const { loss, at } = cobLoss(ls, ps);
    const h = denseHessian(hessianOperator(loss, at));
    const n = Math.round(Math.sqrt(h.length));
    tf.dispose(ps);
    return Array.from({ length: n }, (_, i) => h[i * n + i]);
  };
  const dFlat = factorsOf(ls.structure, ts.tau).flatMap((x) => Array.from(x));
  const diag0 = diagonalOf(small);
  const diag1 = diagonalOf(ts.model);
  const maxDiag = Math.max(...diag0.map(Math.abs));
  assertClose(diag1, diag0.map((h, e) => h / dFlat[e] ** 2), { rtol: 1e-3, atol: 1e-5 * maxDiag, what: "diag H'" });
  const trace0 = diag0.reduce((a, h, e) => a + h / dFlat[e] ** 2, 0);
  assertClose(diag1.reduce((a, b) => a + b, 0), trace0, { rtol: 1e-4, atol: 1e-5 * maxDiag, what: "tr H'" });
  tf.dispose([smallData.x, smallData.y]);
});

test("8. teleport, one SGD / momentum step, teleport back == the step with per-parameter learning rate lr / d^2; Adam state becomes m/d, v/d^2", () => {
  const model = mlpModel();
  const data = classification([6]);
  const land = landscapeOf(model, data, "test");
  const { structure, view } = land;
  const lr = 0.05;
  for (const name of ["sgd", "momentum", "adam"] as const) {
    const vars = readParams(model).map((p, i) => tf.variable(p, view.params[i].trainable));
    const trainable = view.params.filter((p) => p.trainable).map((p) => p.index);
    const trainableVars = trainable.map((i) => vars[i]);
    const optimizer = makeOptimizer(name, trainableVars);
    const step = () => {
      const grads = gradientAt(land, vars).map((g, k) => tf.tensor(Float32Array.from(g), vars[structure.params[k].index].shape));
      optimizer.apply(structure.params.map((p) => vars[p.index]), grads, lr);
      tf.dispose(grads);
    };
    step(); // some optimizer state to carry
    const w = valuesOf(land, vars);
    const g = gradientAt(land, vars);
    const slots = Object.fromEntries(Object.entries(optimizer.slots).map(([k, list]) => [k, list.map((v) => Float64Array.from(v.dataSync()))]));
    const tau = sampleCob(structure, { cobRange: 0.6 }, new Rng(8));
    const d = factorsOf(structure, tau);
    const before = tf.memory().numTensors;
    teleportVariables(structure, vars, trainable, optimizer, tau, false);
    assert.equal(tf.memory().numTensors, before, "teleportVariables leaks nothing");
    structure.params.forEach((p, k) => {
      const slot = trainable.indexOf(p.index);
      for (const [s, list] of Object.entries(optimizer.slots)) {
        const power = s === "v" ? 2 : 1;
        assertClose(Array.from(list[slot].dataSync()), Array.from(slots[s][slot], (x, e) => x / d[k][e] ** power), { rtol: 1e-5, atol: 1e-9, what: `${name} slot ${s}` });
      }
    });
    if (name !== "adam") {
      step();
      teleportVariables(structure, vars, trainable, optimizer, tau.map((t) => 1 / t), false);
      // Momentum buffer before this step, back in the original basis.
      const m = name === "momentum" ? slots.m : null;
      const expected = w.map((wk, k) => wk.map((x, e) => {
        const slot = trainable.indexOf(structure.params[k].index);
        const direction = m ? 0.9 * m[slot][e] + g[k][e] : g[k][e];
        return x - (lr * direction) / d[k][e] ** 2;
      }));
      const got = valuesOf(land, vars);
      got.forEach((x, k) => assertClose(Array.from(x), Array.from(expected[k]), { rtol: 1e-5, atol: 1e-6, what: `${name} preconditioned step, param ${k}` }));
    }
    optimizer.dispose();
    tf.dispose(vars);
  }
  tf.dispose([data.x, data.y]);
});

test("9. sampler moments: E[tau^2] = 1 + r^2/3 and E[tau^-2] = 1/(1 - r^2) for intra and inter (20000 draws, 4 standard errors)", () => {
  const structure = cobStructure(viewOf(mlp([2, 20000, 2], { activation: "linear" })));
  for (const sampling of ["intra", "inter"] as const) {
    for (const r of [0.5, 0.9]) {
      const tau = sampleCob(structure, { cobRange: r, sampling }, new Rng(11));
      const check = (values: number[], expected: number, what: string) => {
        const mean = values.reduce((a, b) => a + b, 0) / values.length;
        const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
        assert.ok(Math.abs(mean - expected) <= (4 * sd) / Math.sqrt(values.length), `${sampling} r=${r} ${what}: ${mean} vs ${expected}`);
      };
      const m = samplingMoments(sampling, r);
      assertClose(m.tau2, 1 + (r * r) / 3, { rtol: 1e-12 });
      assertClose(m.inverseTau2, 1 / (1 - r * r), { rtol: 1e-12 });
      check(Array.from(tau, (t) => t * t), m.tau2, "E[tau^2]");
      check(Array.from(tau, (t) => 1 / (t * t)), m.inverseTau2, "E[tau^-2]");
      if (sampling === "inter") assert.ok(Math.abs(tau.filter((t) => t < 0).length / tau.length - 0.5) < 0.02, "inter flips half the signs");
      else assert.ok(tau.every((t) => t >= 1 - r && t <= 1 + r), "intra stays in [1-r, 1+r]");
    }
  }
  assertClose((1 + 0.81 / 3) / (1 - 0.81), 6.684, { rtol: 1e-3, what: "boost at r = 0.9" });
});

test("10. the CoB is recoverable row by row from w and tau.w (atol 1e-6)", () => {
  const model = mlpModel([6, 8, 7, 3], 7);
  const t = teleport(model, { cobRange: 0.9, seed: 12 });
  const w = model.getWeights();
  const w1 = t.model.getWeights();
  let tauIn = new Float64Array(6).fill(1);
  for (let layer = 0; layer < 2; layer++) {
    const a = w[2 * layer].arraySync() as number[][];
    const b = w1[2 * layer].arraySync() as number[][];
    const units = a[0].length;
    // Unit i: W'[j, i] = tau_i W[j, i] / tau_j, read off the input j with the largest |W[j, i]|.
    const recovered = Float64Array.from({ length: units }, (_, i) => {
      let j = 0;
      for (let k = 1; k < a.length; k++) if (Math.abs(a[k][i]) > Math.abs(a[j][i])) j = k;
      return (b[j][i] * tauIn[j]) / a[j][i];
    });
    assertClose(Array.from(recovered), Array.from(t.cob[layer].tau), { atol: 1e-6, rtol: 1e-6, what: `tau of layer ${layer}` });
    tauIn = recovered;
  }
});

test("applyCob keeps BatchNormalization exact in inference form: sqrt(var' + eps) = tau sqrt(var + eps)", () => {
  const model = bnCnn(4);
  const view = viewOf(model);
  const structure = cobStructure(view);
  const tau = sampleCob(structure, { cobRange: 0.9 }, new Rng(3));
  const params = readParams(model);
  const moved = applyCob(structure, params, tau);
  for (const s of structure.stats) {
    const v0 = params[s.variance].dataSync();
    const v1 = moved[s.variance].dataSync();
    const expected = Array.from(v0, (v, c) => tau[s.offset + c] * Math.sqrt(v + s.epsilon));
    assertClose(Array.from(v1, (v) => Math.sqrt(v + s.epsilon)), expected, { rtol: 1e-6, what: `BN ${s.layer} scale` });
  }
  tf.dispose([...params, ...moved]);
});
