import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { assertClose, assertNoLeak, useTestBackend } from "../helpers";
import { embed, ladderTarget } from "../../src/embed";
import { applyPlan, hiddenLayer, readArrays } from "../../src/embed/channels";
import { splitPlan } from "../../src/embed/split";
import { ExactNet, type ExactData } from "../../src/hessian";
import { denseHessian } from "../../src/math/hessian";
import { inertia, symmetricEigen, type Inertia } from "../../src/math/eigen";
import { Rng } from "../../src/math/rng";
import { cnn, mlp, viewOf, readParams, trainableLoss } from "../../src/model";
import { gradient } from "../../src/math/hessian";

before(useTestBackend);

/** Relative output change bound of E1 in float32 (observed <= 4e-7). */
const E1_TOL = 1e-5;

function inputs(n: number, d: number, seed: number): tf.Tensor2D {
  return tf.tensor2d(new Rng(seed).normalArray(n * d), [n, d]);
}

/** Runs fn, which returns results holding NEW models; checks that nothing but those models' weights was left behind. */
function onlyNewModels<T extends { model: tf.LayersModel }>(fn: () => T[]): T[] {
  const before = tf.memory().numTensors;
  const results = fn();
  const kept = results.reduce((a, r) => a + r.model.weights.length, 0);
  assert.equal(tf.memory().numTensors - before, kept, "tensors left besides the new models' weights");
  return results;
}

function disposeAll(...models: tf.LayersModel[]): void {
  models.forEach((m) => m.dispose());
}

test("E1: splits of any neuron of a deep MLP, with alpha inside and outside [0, 1], k-way, widen and null neurons keep the output (float32, 1e-5)", () => {
  const model = mlp([3, 6, 5, 4, 2], { activation: "tanh", seed: 3, init: { std: 0.9, bias: 0.4 } });
  const x = inputs(50, 3, 1);
  const before = readArrays(model);
  const results = onlyNewModels(() => [
    embed.split(model, { layer: 0, neuron: 2, alpha: -0.7, x }),
    embed.split(model, { layer: "dense1", neuron: 4, alpha: 0.3, x }),
    embed.split(model, { layer: 2, neuron: 0, alpha: [0.2, -0.5, 1.3], x }),
    embed.split(model, { layer: 1, neuron: 1, alpha: 2.5, copies: 4, x }),
    embed.widen(model, [9, 7, 10], { alphas: "random", seed: 5, x }),
    embed.nullNeuron(model, { layer: 1, count: 2, x }),
  ]);
  const widths = results.map((r) => r.widthsAfter);
  assert.deepEqual(widths, [[7, 5, 4], [6, 6, 4], [6, 5, 6], [6, 8, 4], [9, 7, 10], [6, 7, 4]]);
  for (const r of results) {
    assert.ok(r.check.rel <= E1_TOL && r.check.passed, `${r.summary()}`);
    assert.equal(r.check.samples, 50);
    assert.notEqual(r.model, model);
  }
  assert.equal(results[2].steps[0].alphas.length, 3);
  assert.deepEqual(results[3].steps[0].alphas, [2.5, -0.5, -0.5, -0.5]);
  model.weights.forEach((w, i) => assert.deepEqual(w.read().dataSync(), before[i], `source weight ${w.name} untouched`));
  assert.match(results[0].summary(), /1 split: widths \[6, 5, 4\] -> \[7, 5, 4\]/);
  assert.equal(results[5].table().rows.length, 1);
  tf.dispose(x);
  disposeAll(model, ...results.map((r) => r.model));
});

test("E1 on a CNN: channel splits through BatchNormalization, pooling and Flatten (NHWC) keep the output (1e-5)", () => {
  const model = cnn([8, 8, 2], { filters: [3, 4], dense: [5], classes: 3, batchNorm: true, pool: "max", seed: 2 });
  // Non-trivial BatchNormalization statistics, so the channel copies must carry them.
  const rng = new Rng(9);
  for (const layer of model.layers.filter((l) => l.getClassName() === "BatchNormalization")) {
    const ws = layer.getWeights().map((w) => tf.tensor(Float32Array.from({ length: w.size }, () => 0.5 + rng.next()), w.shape));
    layer.setWeights(ws);
    tf.dispose(ws);
  }
  const x = tf.tensor4d(rng.normalArray(10 * 8 * 8 * 2), [10, 8, 8, 2]);
  const [a, b, c] = onlyNewModels(() => [
    embed.split(model, { layer: "conv0", neuron: 1, alpha: 0.35, x }),
    embed.split(model, { layer: "conv1", neuron: 3, alpha: [1.4, -0.1, -0.3], x }),
    embed.widen(model, { dense0: 8, conv1: 6 }, { alphas: "random", seed: 1, x }),
  ]);
  for (const r of [a, b, c]) assert.ok(r.check.rel <= E1_TOL, r.summary());
  assert.deepEqual(c.widthsAfter, [3, 6, 8]);
  assert.equal(b.check.agreement, 1);
  tf.dispose(x);
  disposeAll(model, a.model, b.model, c.model);
});

/** A 1-D tanh net f(x) = sum_j a_j tanh(w_j x + b_j) without output bias (6 parameters at width 2). */
function tanhNet(width: number): tf.LayersModel {
  return tf.sequential({ layers: [
    tf.layers.dense({ units: width, inputShape: [1], activation: "tanh", name: "hidden" }),
    tf.layers.dense({ units: 1, useBias: false, name: "out" }),
  ] });
}

/**
 * An exact float64 critical point by construction: targets y = f(x; theta) + r with the residual r
 * orthogonal to every column of the Jacobian, so grad = J^T (f - y) / n = -J^T r / n = 0.
 */
function criticalPoint(theta: { w: number[]; b: number[]; a: number[] }, n: number, residual: number, seed: number): { params: Float64Array[]; data: ExactData } {
  const xs = Float64Array.from({ length: n }, (_, i) => -1.5 + (3 * i) / (n - 1));
  const m = theta.w.length;
  const jacobian = Array.from(xs, (x) => {
    const t = theta.w.map((w, j) => Math.tanh(w * x + theta.b[j]));
    return [...t.map((tj, j) => theta.a[j] * (1 - tj * tj) * x), ...t.map((tj, j) => theta.a[j] * (1 - tj * tj)), ...t];
  });
  // Orthonormal basis of the Jacobian's columns (Gram-Schmidt twice), then z minus its projection.
  const basis: Float64Array[] = [];
  for (let c = 0; c < 3 * m; c++) {
    const v = Float64Array.from(jacobian, (row) => row[c]);
    for (let pass = 0; pass < 2; pass++) for (const q of basis) {
      const d = q.reduce((s, qi, i) => s + qi * v[i], 0);
      q.forEach((qi, i) => (v[i] -= d * qi));
    }
    const norm = Math.hypot(...v);
    basis.push(v.map((vi) => vi / norm));
  }
  const rng = new Rng(seed);
  const r = Float64Array.from({ length: n }, () => rng.normal());
  for (let pass = 0; pass < 2; pass++) for (const q of basis) {
    const d = q.reduce((s, qi, i) => s + qi * r[i], 0);
    q.forEach((qi, i) => (r[i] -= d * qi));
  }
  const scale = residual / Math.hypot(...r);
  const y = Float64Array.from(xs, (x, i) => theta.a.reduce((s, a, j) => s + a * Math.tanh(theta.w[j] * x + theta.b[j]), 0) + scale * r[i]);
  return { params: [Float64Array.from(theta.w), Float64Array.from(theta.b), Float64Array.from(theta.a)], data: { n, x: xs, y } };
}

function l1(v: Float64Array): number {
  return v.reduce((s, x) => s + Math.abs(x), 0);
}

function exactInertia(net: ExactNet, params: Float64Array[], data: ExactData): Inertia {
  const h = denseHessian(net.operator(params, data, "halfMse"));
  return inertia(symmetricEigen(h, net.size).values, 1e-7);
}

/** The float64 split of hidden neuron s of a 1-D tanh net, by the same plan embed.split applies. */
function splitExact(narrow: tf.LayersModel, params: Float64Array[], s: number, alpha: number): Float64Array[] {
  const layer = hiddenLayer(viewOf(narrow), "hidden", "test");
  return applyPlan(layer, params, splitPlan(layer.width, new Map([[s, [alpha, 1 - alpha]]])).plan).values;
}

const theta = { w: [1.3, -0.8], b: [0.2, 0.5], a: [0.9, -1.1] };

test("E2: after a split the gradient maps exactly: alpha and 1 - alpha on the copies' input rows, the full gradient on both output columns (float64 1e-12, float32 TF.js 1e-5)", () => {
  const narrow = tanhNet(2);
  const wide = tanhNet(3);
  const net = ExactNet.of(viewOf(narrow)) as ExactNet;
  const wideNet = ExactNet.of(viewOf(wide)) as ExactNet;
  // A NON-critical point: arbitrary targets.
  const rng = new Rng(4);
  const data: ExactData = { n: 15, x: Float64Array.from({ length: 15 }, () => rng.normal()), y: Float64Array.from({ length: 15 }, () => rng.normal()) };
  const params = [Float64Array.from(theta.w), Float64Array.from(theta.b), Float64Array.from(theta.a)];
  const g = net.evaluate(params, data, "halfMse").gradient;
  const alpha = 0.3;
  const gw = wideNet.evaluate(splitExact(narrow, params, 1, alpha), data, "halfMse").gradient;
  // Narrow layout [w0 w1 | b0 b1 | a0 a1]; wide [w0 w1 w1' | b0 b1 b1' | a0 a1 a1'] with the copy last.
  const expected = [g[0], alpha * g[1], (1 - alpha) * g[1], g[2], alpha * g[3], (1 - alpha) * g[3], g[4], g[5], g[5]];
  const scale = Math.max(...expected.map(Math.abs));
  assertClose(Array.from(gw), expected, { atol: 1e-12 * scale, what: "float64 gradient map" });

  // The same identity on the TF.js model embed.split returns, in float32.
  const narrowModel = tanhNet(2);
  narrowModel.setWeights([tf.tensor2d([theta.w]), tf.tensor1d(theta.b), tf.tensor2d(theta.a.map((a) => [a]))]);
  const split = embed.split(narrowModel, { layer: "hidden", neuron: 1, alpha });
  const x = tf.tensor2d(Array.from(data.x), [15, 1]);
  const y = tf.tensor2d(Array.from(data.y as Float64Array), [15, 1]);
  const tfGrad = (m: tf.LayersModel) => {
    const view = viewOf(m);
    const p = readParams(m);
    const { loss, trainable } = trainableLoss(view, p, x, y, "halfMse");
    const grads = gradient(loss, trainable);
    const flat = grads.flatMap((t) => Array.from(t.dataSync()));
    tf.dispose([...p, ...grads]);
    return flat;
  };
  const g32 = tfGrad(narrowModel);
  const gw32 = tfGrad(split.model);
  assertClose(gw32, [g32[0], alpha * g32[1], (1 - alpha) * g32[1], g32[2], alpha * g32[3], (1 - alpha) * g32[3], g32[4], g32[5], g32[5]], { atol: 1e-5 * scale, what: "float32 gradient map" });
  tf.dispose([x, y]);
  disposeAll(narrow, wide, narrowModel, split.model);
});

test("E3, E7: a float64 critical point stays critical (||grad||_1 <= 1e-12) and the loss is constant along the whole alpha-line", () => {
  const narrow = tanhNet(2);
  const wide = tanhNet(3);
  const net = ExactNet.of(viewOf(narrow)) as ExactNet;
  const wideNet = ExactNet.of(viewOf(wide)) as ExactNet;
  const { params, data } = criticalPoint(theta, 24, 0.3, 1);
  const base = net.evaluate(params, data, "halfMse");
  assert.ok(l1(base.gradient) <= 1e-12, `narrow ||grad||_1 = ${l1(base.gradient)}`);
  assert.ok(base.loss > 1e-4, "a non-zero residual: not a global zero-loss fit");
  for (const alpha of [-1.5, 0, 0.3, 0.5, 1, 2.2]) {
    for (const s of [0, 1]) {
      const { loss, gradient: g } = wideNet.evaluate(splitExact(narrow, params, s, alpha), data, "halfMse");
      assert.ok(l1(g) <= 1e-12, `alpha ${alpha}, neuron ${s}: ||grad||_1 = ${l1(g)}`);
      assertClose(loss, base.loss, { rtol: 1e-14, what: `loss at alpha ${alpha}` });
    }
  }
  disposeAll(narrow, wide);
});

test("E4, E5, E6: inertia after a split = inertia before + (0, 1, 0) + inertia(a_s alpha (1 - alpha) S) (float64, exact counts); counts never decrease", () => {
  const narrow = tanhNet(2);
  const wide = tanhNet(3);
  const net = ExactNet.of(viewOf(narrow)) as ExactNet;
  const wideNet = ExactNet.of(viewOf(wide)) as ExactNet;
  const { params, data } = criticalPoint(theta, 24, 0.05, 1);
  const before = exactInertia(net, params, data);
  assert.equal(before.negative + before.zero + before.positive, 6);
  const residual = Float64Array.from(data.y, (yi, i) => theta.a.reduce((s, a, j) => s + a * Math.tanh(theta.w[j] * data.x[i] + theta.b[j]), 0) - yi);
  let sawSaddle = false;
  for (const s of [0, 1]) {
    // S = (1/n) sum_i r_i sigma''(z_i) x~_i x~_i^T with x~ = [x, 1], z = w_s x + b_s.
    const S = [0, 0, 0, 0];
    data.x.forEach((x, i) => {
      const t = Math.tanh(theta.w[s] * x + theta.b[s]);
      const c = (residual[i] * -2 * t * (1 - t * t)) / data.n;
      S[0] += c * x * x;
      S[1] += c * x;
      S[2] += c * x;
      S[3] += c;
    });
    for (const alpha of [0.3, 0.5, 1, -0.4]) {
      const after = exactInertia(wideNet, splitExact(narrow, params, s, alpha), data);
      const extra = inertia(symmetricEigen(S.map((v) => theta.a[s] * alpha * (1 - alpha) * v), 2).values, 1e-7, 1e-13);
      assert.deepEqual(after, { negative: before.negative + extra.negative, zero: before.zero + 1 + extra.zero, positive: before.positive + extra.positive }, `neuron ${s}, alpha ${alpha}`);
      assert.ok(after.negative >= before.negative && after.zero >= before.zero + 1 && after.positive >= before.positive, "E6: counts never decrease");
      if (alpha === 1) assert.equal(after.zero, before.zero + 3, "alpha = 1: S drops out, three zero directions are added");
      if (after.negative > before.negative) sawSaddle = true;
    }
  }
  assert.deepEqual(before, { negative: 0, zero: 0, positive: 6 }, "the narrow point is a strict minimum");
  assert.ok(sawSaddle, "some split turns the minimum into a saddle");
  disposeAll(narrow, wide);
});

test("E8: reduce merges exact copies back: the narrow weights (float32 1e-6) and the function are restored; E9: effectiveWidth finds the narrow width", () => {
  const model = mlp([2, 4, 3], { activation: "relu", seed: 8, init: { std: 1, bias: 0.5 } });
  const widened = embed.widen(model, [11], { alphas: "random", seed: 2 });
  const groups = widened.steps.map((s) => s.copies);
  const untouched = [0, 1, 2, 3].filter((j) => !groups.some((g) => g[0] === j)).map((j) => [j]);
  const [reduced] = onlyNewModels(() => [embed.reduce(widened.model, [...groups, ...untouched].sort((a, b) => a[0] - b[0]), { layer: 0 })]);
  assert.deepEqual(reduced.widthsAfter, [4]);
  const original = readArrays(model);
  readArrays(reduced.model).forEach((w, i) => assertClose(Array.from(w), Array.from(original[i]), { rtol: 1e-6, atol: 1e-6, what: `weight ${i}` }));
  assert.ok(reduced.check.rel <= E1_TOL, reduced.summary());

  // E9: a width-3 net split into width 12 with random alphas and 1e-6 noise is detected as width 3.
  const narrow = mlp([1, 3, 1], { activation: "relu", seed: 4, init: { std: 1, bias: 1 } });
  const wide = embed.widen(narrow, [12], { alphas: "random", seed: 3 });
  const rng = new Rng(5);
  const noisy = wide.model.getWeights().map((w) => tf.tidy(() => w.add(tf.tensor(rng.normalArray(w.size, 0, 1e-6), w.shape))));
  wide.model.setWeights(noisy);
  tf.dispose(noisy);
  const found = assertNoLeak(() => embed.effectiveWidth(wide.model, { cosine: 0.999 }));
  assert.equal(found.width, 3);
  assert.deepEqual(found.groups.map((g) => g.length).sort((a, b) => a - b), [4, 4, 4]);
  const probe = inputs(40, 1, 2);
  const [merged] = onlyNewModels(() => [embed.reduce(wide.model, found, { x: probe })]);
  probe.dispose();
  assert.ok(merged.check.rel <= 1e-4, `merging noisy copies changes the function by ${merged.check.rel}`);
  assert.equal(found.figures().length, 2);
  disposeAll(model, widened.model, reduced.model, narrow, wide.model, merged.model);
});

test("bad input: output layer, unknown layer, bad neuron, alphas not summing to 1, narrower widen, overlapping groups, NaN weights; nothing leaks", () => {
  const model = mlp([2, 3, 2], { activation: "tanh", seed: 1 });
  assertNoLeak(() => {
    assert.throws(() => embed.split(model, { layer: 1, neuron: 0 }), /layer "dense1" is the output layer/);
    assert.throws(() => embed.split(model, { layer: "nope", neuron: 0 }), /has no Dense\/Conv2D layer "nope"; hidden layers: dense0/);
    assert.throws(() => embed.split(model, { neuron: 3 }), /neuron must be an integer in 0..2/);
    assert.throws(() => embed.split(model, { neuron: 0, alpha: [0.5, 0.6] }), /must sum to 1 to keep the function, got sum 1.1/);
    assert.throws(() => embed.split(model, { neuron: 0, alpha: NaN }), /alpha must be a finite number/);
    assert.throws(() => embed.widen(model, [2]), /has 3 neurons; widening cannot make it 2/);
    assert.throws(() => embed.widen(model, [4, 5]), /has 1 hidden layers \(dense0\), got 2 widths/);
    assert.throws(() => embed.reduce(model, [[0, 1], [1, 2]]), /neuron 1 of "dense0" is in more than one group/);
    assert.throws(() => embed.effectiveWidth(model, { cosine: 1.5 }), /cosine must be in \(0, 1\]/);
  }, "rejected calls");
  const softmaxHidden = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2], activation: "softmax", name: "mix" }), tf.layers.dense({ units: 1, name: "out" })] });
  assert.throws(() => embed.split(softmaxHidden, { neuron: 0 }), /layer "mix" uses softmax, which mixes its neurons/);
  const poisoned = mlp([2, 3, 2], { activation: "tanh", seed: 1 });
  const bias = tf.tensor1d([0, Infinity, 0]);
  poisoned.layers[0].setWeights([poisoned.layers[0].getWeights()[0], bias]);
  assert.throws(() => embed.split(poisoned, { neuron: 0 }), /embed: parameter .* of layer "dense0" holds Infinity at flat index 1/);
  tf.dispose(bias);
  disposeAll(model, softmaxHidden, poisoned);
});

test("ladder: every width starts at the zero function's loss, stalls on the shared plateau at the width-1 global minimum 0.013502 with one condensed group, and only wider nets leave it; models are new", async () => {
  const before = tf.memory().numTensors;
  const result = await embed.ladder({ widths: [1, 2, 16], steps: 4000, every: 100 });
  assert.equal(result.steps.length, 41);
  // The zero function's loss, 1/2 mean y^2 on the 40 grid points (closed form; the 1e-3 init moves it by ~1e-6).
  const ys = Array.from({ length: 40 }, (_, i) => ladderTarget(-1 + (2 * i) / 39));
  const zeroLoss = ys.reduce((a, y) => a + 0.5 * y * y, 0) / 40;
  result.losses.forEach((l, i) => assertClose(l[0], zeroLoss, { rtol: 1e-4, what: `width ${result.widths[i]} initial loss` }));
  // The plateau: a recorded step where each width is within 2e-6 of 0.013502 with effective width 1.
  result.widths.forEach((w, i) => {
    const onPlateau = result.steps.some((_, t) => Math.abs(result.losses[i][t] - 0.013502) <= 2e-6 && result.effectiveWidths[i][t] === 1);
    assert.ok(onPlateau, `width ${w} never sits on the 0.013502 plateau with one group: ${result.losses[i].map((l) => l.toFixed(6)).join(" ")}`);
  });
  assert.ok(Math.abs(result.finalLosses[0] - 0.013502) <= 1e-6, `width-1 final loss ${result.finalLosses[0]}`);
  assert.ok(result.finalLosses[2] < 0.0134, `width 16 leaves the plateau: ${result.finalLosses[2]}`);
  assert.equal(result.models[0].weights.length, 3, "no output bias: f = sum_j a_j ReLU(w_j x + b_j)");
  assert.equal(tf.memory().numTensors - before, result.models.reduce((a, m) => a + m.weights.length, 0));
  await assert.rejects(embed.ladder({ widths: [0] }), /widths must be positive integers/);
  result.models.forEach((m) => m.dispose());
});

test("ladder: a width-4 net (seed 102) stalls at the lecture's width-2 critical value 0.012825 with two condensed groups", async () => {
  const result = await embed.ladder({ widths: [4], steps: 10000, every: 1000, seed: 102 });
  const [loss] = result.finalLosses;
  // 1e-5 absolute: the point is a non-smooth critical point (the second group's kink, at x = -b/w = 0.1795,
  // sits on a training point), where plain gradient descent settles at 0.012832 rather than exactly on it.
  assert.ok(Math.abs(loss - 0.012825) <= 1e-5, `final loss ${loss}`);
  assert.ok(Math.abs(result.losses[0][8] - loss) <= 1e-6, "a plateau: the loss no longer moves over the last 2,000 steps");
  assert.equal(result.effectiveWidths[0][10], 2);
  result.models.forEach((m) => m.dispose());
});
