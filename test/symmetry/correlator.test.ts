import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { ensemble, correlator } from "../../src/symmetry";
import { bonferroniThreshold } from "../../src/symmetry/stats";
import { assertClose, assertNoLeak, useTestBackend } from "../helpers";

before(useTestBackend);

const INPUTS_3D = [[1, 0, 0], [0.3, -0.5, 0.8], [-1, 1, 0.5]];

/** float64 arc-cosine kernel of the reference: |x||x'| (sin t + (pi - t) cos t) / (2 pi d). */
function reluKernel(x: number[], y: number[]): number {
  const nx = Math.hypot(...x);
  const ny = Math.hypot(...y);
  const cos = x.reduce((a, xi, i) => a + xi * y[i], 0) / (nx * ny);
  const t = Math.acos(Math.max(-1, Math.min(1, cos)));
  return (nx * ny * (Math.sin(t) + (Math.PI - t) * Math.cos(t))) / (2 * Math.PI * x.length);
}

test("ReLU G2 matches the closed form delta_ij |x||x'| (sin t + (pi - t) cos t) / (2 pi d) within Monte-Carlo error", async () => {
  // The reference's setting: d = 3, N = 50, D = 3, M = 20,000, no biases, W0 ~ N(0, 1/d), W1 ~ N(0, 1/N).
  const e = ensemble({ sizes: [3, 50, 3], activation: "relu" }, { networks: 20000, seed: 1 });
  const g2 = await assertNoLeak(() => correlator(e, INPUTS_3D, { order: 2 }), "correlator");
  const mean = g2.mean as number[][][][];
  const stderr = g2.stderr as number[][][][];
  const exact = g2.closedForm as number[][][][];
  // The closed form the class computes is the reference formula (float64, independent implementation).
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) {
    assertClose(exact[i][j][a][b], a === b ? reluKernel(INPUTS_3D[i], INPUTS_3D[j]) : 0, { rtol: 1e-12, atol: 1e-15, what: `closed form G2[${i}][${j}][${a}][${b}]` });
  }
  assertClose(exact[0][0][0][0], 1 / 6, { rtol: 1e-12, what: "G2_00(x, x) at |x| = 1" });
  // Monte Carlo within a max-|z| bound at family-wise level 0.001 over the 45 distinct components.
  const limit = bonferroniThreshold(0.001, 45);
  assert.ok(g2.maxClosedFormZ < limit, `max |z| ${g2.maxClosedFormZ} >= ${limit}`);
  assert.ok(Math.abs(mean[0][0][0][0] - 1 / 6) < limit * stderr[0][0][0][0]);
  // The standard error is what the reference measured (0.00178 at M = 20,000), to 10%.
  assertClose(stderr[0][0][0][0], 0.00178, { rtol: 0.1, what: "stderr of G2_00(x, x)" });
  assert.equal(g2.zeroErrorComponents, 0);
  assert.match(g2.summary(), /G2 of 20000 networks at 3 inputs x 3 outputs: 45 distinct components, closed form max \|z\|/);
  assert.doesNotThrow(() => JSON.stringify(g2.toJSON()));
  assert.equal(g2.figures().length, 2);
});

test("G1 under a mean shift of row 0 of W1 matches mu N |x| / sqrt(2 pi d)", async () => {
  const mu = 0.02;
  const width = 50;
  const e = ensemble({ sizes: [3, width, 3], activation: "relu", init: [{}, { mean: mu, rows: [0] }] }, { networks: 20000, seed: 2 });
  const g1 = await correlator(e, INPUTS_3D, { order: 1 });
  const mean = g1.mean as number[][];
  const stderr = g1.stderr as number[][];
  const limit = bonferroniThreshold(0.001, 9);
  INPUTS_3D.forEach((x, i) => {
    const predicted = (mu * width * Math.hypot(...x)) / Math.sqrt(2 * Math.PI * 3);
    assertClose((g1.closedForm as number[][])[i][0], predicted, { rtol: 1e-12, what: "closed-form G1" });
    for (let a = 0; a < 3; a++) {
      const expected = a === 0 ? predicted : 0;
      const z = (mean[i][a] - expected) / stderr[i][a];
      assert.ok(Math.abs(z) < limit, `G1[${i}][${a}] = ${mean[i][a]} vs ${expected}: |z| = ${Math.abs(z).toFixed(2)}`);
    }
  });
  // The reference's number at |x| = 1: 0.2303 predicted.
  assertClose(predicted0(mu, width), 0.2303, { rtol: 1e-3 });
  assert.ok(mean[0][0] > 0.2303 - limit * stderr[0][0] && mean[0][0] < 0.2303 + limit * stderr[0][0]);
});

function predicted0(mu: number, width: number): number {
  return (mu * width) / Math.sqrt(2 * Math.PI * 3);
}

test("Gauss-net G2 is delta_ij exp(-|x - x'|^2 / (2 d)) at any width", async () => {
  const inputs = [[-1], [0], [0.4], [1.5]];
  const e = ensemble({ sizes: [1, 20, 5], activation: "gauss" }, { networks: 20000, seed: 4 });
  const g2 = await correlator(e, inputs, { order: 2 });
  const exact = g2.closedForm as number[][][][];
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
    assertClose(exact[i][j][2][2], Math.exp(-((inputs[i][0] - inputs[j][0]) ** 2) / 2), { rtol: 1e-12, what: "Gauss kernel" });
    assert.equal(exact[i][j][1][2], 0);
  }
  const components = g2.index.size;
  assert.ok(g2.maxClosedFormZ < bonferroniThreshold(0.001, components), `max |z| ${g2.maxClosedFormZ}`);
});

test("ReLU G2 with biases: N s1^2 K(c) + sb1^2 with c = x.x'/d + sb0^2", async () => {
  const inputs = [[0.5, -1], [2, 0.3]];
  const e = ensemble({ sizes: [2, 30, 2], activation: "relu", bias: true, init: [{ biasStd: 0.5 }, { std: 0.3, biasStd: 0.2 }] }, { networks: 20000, seed: 6 });
  const g2 = await correlator(e, inputs, { order: 2 });
  const cov = (x: number[], y: number[]) => (x[0] * y[0] + x[1] * y[1]) / 2 + 0.25;
  const exact = g2.closedForm as number[][][][];
  for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
    const cxx = cov(inputs[i], inputs[i]);
    const cyy = cov(inputs[j], inputs[j]);
    const t = Math.acos(cov(inputs[i], inputs[j]) / Math.sqrt(cxx * cyy));
    const kernel = (Math.sqrt(cxx * cyy) * (Math.sin(t) + (Math.PI - t) * Math.cos(t))) / (2 * Math.PI);
    assertClose(exact[i][j][1][1], 30 * 0.09 * kernel + 0.04, { rtol: 1e-12, what: "closed form with biases" });
  }
  assert.ok(g2.maxClosedFormZ < bonferroniThreshold(0.001, g2.index.size), `max |z| ${g2.maxClosedFormZ}`);
});

test("the batched estimator equals float64 moments of the same networks run one by one as tf.Sequential models", async () => {
  const inputs = [[0.2, -0.7, 1], [1, 1, -0.5]];
  const networks = 100;
  const e = ensemble({ sizes: [3, 6, 4, 2], activation: "tanh", bias: true, init: [{}, { mean: 0.3, rows: [1, 3] }, {}] }, { networks, seed: 9, chunk: 32 });
  const outputs: number[][] = [];
  for (let m = 0; m < networks; m++) {
    const model = e.model(m);
    const y = tf.tidy(() => (model.predict(tf.tensor2d(inputs)) as tf.Tensor).arraySync() as number[][]);
    model.dispose();
    outputs.push(y.flat());
  }
  for (const order of [2, 4]) {
    const g = await correlator(e, inputs, { order });
    for (const r of g.records()) {
      const p = r.inputs.map((x, t) => x * 2 + r.outputs[t]);
      const products = outputs.map((f) => p.reduce((a, q) => a * f[q], 1));
      const mean = products.reduce((a, v) => a + v, 0) / networks;
      const se = Math.sqrt(products.reduce((a, v) => a + (v - mean) ** 2, 0) / (networks - 1) / networks);
      // float32 network outputs (two implementations of the same forward pass) -> 1e-4 relative.
      assertClose(r.mean, mean, { rtol: 1e-4, atol: 1e-6, what: `G${order} mean at ${p}` });
      assertClose(r.stderr, se, { rtol: 1e-4, atol: 1e-6, what: `G${order} stderr at ${p}` });
    }
    assert.equal(g.closedForm, null);
    assert.match(g.closedFormReason ?? "", order === 4 ? /no closed form for order 4/ : /one hidden layer/);
  }
});

test("the same seed gives the same ensemble; zero inputs give zero-error components reported as such", async () => {
  const e = ensemble({ sizes: [2, 8, 2], activation: "relu" }, { networks: 50, seed: 3 });
  const a = await correlator(e, [[1, 2], [0, 0]], { order: 2 });
  const b = await correlator(ensemble({ sizes: [2, 8, 2], activation: "relu" }, { networks: 50, seed: 3 }), [[1, 2], [0, 0]], { order: 2 });
  assert.deepEqual(Array.from(a.stats.mean), Array.from(b.stats.mean));
  // f(0) = 0 without biases: every component touching input 1 is exactly 0 with zero error.
  assert.equal(a.zeroErrorComponents, 2 * 2 + 3);
  assert.ok(a.closedFormZ.some(Number.isNaN));
  assert.ok(Number.isFinite(a.maxClosedFormZ));
});

test("the G2 heatmap's ticks name each (output, input) pair, and each cell is that pair's mean", async () => {
  const e = ensemble({ sizes: [2, 8, 3], activation: "relu" }, { networks: 40, seed: 2 });
  const g2 = await correlator(e, [[1, 2], [0.5, -1]], { order: 2 });
  const [heatmap] = g2.figures();
  const trace = heatmap.data[0] as { x: string[]; y: string[]; z: number[][] };
  const ticks = ["f0(x0)", "f1(x0)", "f2(x0)", "f0(x1)", "f1(x1)", "f2(x1)"];
  assert.deepEqual(trace.x, ticks);
  assert.deepEqual(trace.y, ticks);
  // z[r][c] = E[f_a(x_i) f_b(x_j)] for row f_a(x_i) and column f_b(x_j): mean[i][j][a][b].
  for (let r = 0; r < 6; r++) {
    for (let c = 0; c < 6; c++) assert.equal(trace.z[r][c], (g2.mean as number[][][][])[Math.floor(r / 3)][Math.floor(c / 3)][r % 3][c % 3], `cell ${ticks[r]} x ${ticks[c]}`);
  }
});

test("bad input: mismatched shapes, too few networks (with the number needed), bad order, NaN, bad spec", async () => {
  const e = ensemble({ sizes: [3, 10, 2] }, { networks: 50, seed: 0 });
  await assert.rejects(correlator(e, [[1, 2]], { order: 2 }), /input 0 has 2 coordinates but the ensemble \[3-10-2\] takes 3/);
  await assert.rejects(correlator(e, [[1, 2, 3]], { order: 4 }), /50 networks are too few for an order-4 correlator; at least 96 are needed/);
  const tiny = ensemble({ sizes: [3, 10, 2] }, { networks: 10, seed: 0 });
  await assert.rejects(correlator(tiny, [[1, 2, 3]], { order: 2 }), /at least 18 are needed/);
  await assert.rejects(correlator(e, [[1, 2, 3]], { order: 5 }), /order must be one of 1, 2, 3, 4, got 5/);
  await assert.rejects(correlator(e, [[1, NaN, 3]]), /input 0 holds a non-finite value/);
  await assert.rejects(correlator(e, []), /non-empty array of points/);
  await assert.rejects(correlator({} as never, [[1, 2, 3]]), /expects an ensemble from ws.symmetry.ensemble/);
  const vector = tf.tensor1d([1, 2, 3]);
  await assert.rejects(assertNoLeak(() => correlator(e, vector)), /2-D \[n, d\], got shape \[3\]/);
  vector.dispose();
  assert.throws(() => ensemble({ sizes: [3, 10, 2], init: [{}, {}, {}] }, { networks: 5 }), /init has 3 entries but sizes \[3,10,2\] has 2 layers/);
  assert.throws(() => ensemble({ sizes: [3, 10, 2], init: [{}, { rows: [2] }] }, { networks: 5 }), /rows must be distinct output units in 0..1, got \[2\]/);
  assert.throws(() => ensemble({ sizes: [3, 10, 2], init: [{ std: NaN }] }, { networks: 5 }), /std must be a finite number >= 0/);
  assert.throws(() => ensemble({ sizes: [3, 0, 2] }, { networks: 5 }), /sizes must be \[input, hidden..., output\] positive integers/);
  assert.throws(() => ensemble({ sizes: [3, 4, 2], activation: "softmax" as never }, { networks: 5 }), /unknown activation "softmax"/);
  assert.throws(() => ensemble({ sizes: [3, 4, 2] }, { networks: 0 }), /networks must be a positive integer/);
});

test("an ensemble reports the size of its mean shift: ||E W||_F = mu sqrt(rows * fanIn)", () => {
  const e = ensemble({ sizes: [784, 50, 10], init: [{}, { mean: 0.1, rows: [0, 1, 2, 3, 4] }] }, { networks: 2 });
  assertClose(e.meanNorms(), [0, 0.1 * Math.sqrt(5 * 50)], { rtol: 1e-12 });
});
