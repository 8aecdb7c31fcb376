import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { assertClose, assertNoLeak, typedError, useTestBackend } from "../helpers";
import { InputError } from "../../src/errors";
import { hessian, sharpness, hessianOf, ExactNet } from "../../src/hessian";
import { gradient, hvp } from "../../src/math/hessian";
import { Rng } from "../../src/math/rng";
import { mlp, cnn, viewOf, readParams, trainableLoss, lossOf, type Activation, type LossKind } from "../../src/model";

before(useTestBackend);

function regressionData(n: number, inputs: number, outputs: number, seed: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const rng = new Rng(seed);
  return { x: tf.tensor2d(rng.normalArray(n * inputs), [n, inputs]), y: tf.tensor2d(rng.normalArray(n * outputs), [n, outputs]) };
}

function classificationData(n: number, inputs: number, classes: number, seed: number): { x: tf.Tensor2D; y: tf.Tensor1D } {
  const rng = new Rng(seed);
  return { x: tf.tensor2d(rng.normalArray(n * inputs), [n, inputs]), y: tf.tensor1d(Int32Array.from({ length: n }, () => rng.int(classes)), "int32") };
}

function exactInputs(data: { x: tf.Tensor; y: tf.Tensor }, kind: LossKind) {
  return { n: data.x.shape[0], x: Float64Array.from(data.x.dataSync()), y: kind === "crossEntropy" ? Int32Array.from(data.y.dataSync()) : Float64Array.from(data.y.dataSync()) };
}

/** Dense(tanh) -> LeakyReLU layer -> Dense: the one activation mlp() cannot build. */
function leakyMlp(): tf.LayersModel {
  const model = tf.sequential({ layers: [
    tf.layers.dense({ units: 5, inputShape: [3], name: "d0" }), tf.layers.leakyReLU({ alpha: 0.2, name: "leaky" }),
    tf.layers.dense({ units: 4, activation: "tanh", name: "d1" }), tf.layers.dense({ units: 3, name: "d2" }),
  ] });
  const rng = new Rng(11);
  model.setWeights(model.weights.map((w) => tf.tensor(rng.normalArray(w.shape.reduce((a: number, b) => a * (b as number), 1), 0, 0.8), w.shape as number[])));
  return model;
}

const cases: { activation: Activation; output: Activation; kind: LossKind; build?: () => tf.LayersModel }[] = [
  { activation: "leakyRelu", output: "linear", kind: "halfMse", build: leakyMlp },
  { activation: "tanh", output: "linear", kind: "halfMse" },
  { activation: "swish", output: "linear", kind: "mse" },
  { activation: "sigmoid", output: "softmax", kind: "crossEntropy" },
  { activation: "softplus", output: "linear", kind: "crossEntropy" },
  { activation: "elu", output: "tanh", kind: "halfMse" },
  { activation: "selu", output: "sigmoid", kind: "mse" },
  { activation: "relu6", output: "linear", kind: "crossEntropy" },
];

for (const c of cases) {
  test(`float64 loss, gradient and HVP of a ${c.activation} MLP (${c.output} output, ${c.kind}) match TF.js (1e-5) and float64 finite differences (1e-7)`, () => {
    const model = c.build ? c.build() : mlp([3, 5, 4, 3], { activation: c.activation, output: c.output, seed: 7, init: { std: 0.8, bias: 0.3 } });
    const view = viewOf(model);
    const data = c.kind === "crossEntropy" ? classificationData(12, 3, 3, 1) : regressionData(12, 3, 3, 1);
    const params = readParams(model);
    const net = ExactNet.of(view);
    assert.ok(net, "a Dense chain has a float64 evaluator");
    const arrays = params.map((p) => Float64Array.from(p.dataSync()));
    const exactData = exactInputs(data, c.kind);
    const { loss, gradient: g } = net.evaluate(arrays, exactData, c.kind);

    const { loss: lossFn, trainable } = trainableLoss(view, params, data.x, data.y, c.kind);
    const tfLoss = tf.tidy(() => lossFn(trainable).dataSync()[0]);
    assertClose(loss, tfLoss, { rtol: 1e-5, what: "loss" });
    const tfGrad = gradient(lossFn, trainable);
    const flatGrad = tfGrad.flatMap((t) => Array.from(t.dataSync()));
    const gScale = Math.max(...flatGrad.map(Math.abs));
    assertClose(Array.from(g), flatGrad, { atol: 1e-5 * gScale, what: "gradient" });

    const rng = new Rng(3);
    const v = Float64Array.from({ length: net.size }, () => rng.normal());
    const hv = net.operator(arrays, exactData, c.kind).apply(v);
    // Central differences of the float64 gradient: error O(h^2) ~ 1e-10, far below the tolerance.
    const h = 1e-5;
    const shifted = (sign: number) => {
      let offset = 0;
      const moved = arrays.map((a) => {
        const out = a.map((x, i) => x + sign * h * v[offset + i]);
        offset += a.length;
        return out;
      });
      return net.evaluate(moved, exactData, c.kind).gradient;
    };
    const plus = shifted(1);
    const minus = shifted(-1);
    const fd = Array.from(plus, (p, i) => (p - minus[i]) / (2 * h));
    const hScale = Math.max(...fd.map(Math.abs));
    assertClose(Array.from(hv), fd, { atol: 1e-7 * hScale, what: "float64 HVP vs finite differences" });

    let offset = 0;
    const directions = trainable.map((t) => {
      const d = tf.tensor(Float32Array.from(v.subarray(offset, offset + t.size)), t.shape);
      offset += t.size;
      return d;
    });
    const tfHv = hvp(lossFn, trainable, directions);
    assertClose(Array.from(hv), tfHv.flatMap((t) => Array.from(t.dataSync())), { atol: 1e-4 * hScale, what: "float64 HVP vs TF.js HVP" });
    tf.dispose([...params, ...tfGrad, ...directions, ...tfHv, data.x, data.y]);
    model.dispose();
  });
}

test("exact Hessian of least squares on a linear model is X~^T X~ / n in float64 (1e-12), inertia counts the rank deficit", async () => {
  const model = mlp([3, 1], { output: "linear", seed: 2 });
  // Third feature = first + second: [x, 1] has rank 3 of 4, so one zero eigenvalue.
  const rows = [[1, 2], [0.5, -1], [2, 0.25], [-1, 1.5], [0.3, 0.7]].map(([a, b]) => [a, b, a + b]);
  const x = tf.tensor2d(rows);
  const y = tf.tensor2d([[1], [0], [2], [-1], [0.5]]);
  const result = await assertNoLeak(() => hessian(model, { x, y }, { loss: "halfMse", progress: false }));
  assert.equal(result.method, "exact");
  assert.equal(result.precision, "float64");
  const stored = x.arraySync();
  const xt = stored.map((r) => [...r, 1]);
  const expected = Array.from({ length: 4 }, (_, i) => Array.from({ length: 4 }, (_, j) => xt.reduce((a, r) => a + r[i] * r[j], 0) / xt.length));
  const m = result.matrix as Float64Array;
  assertClose(Array.from({ length: 4 }, (_, i) => Array.from(m.subarray(i * 4, i * 4 + 4))), expected, { rtol: 1e-12, atol: 1e-14, what: "Hessian" });
  assert.deepEqual(result.inertia, { negative: 0, zero: 1, positive: 3 });
  tf.dispose([x, y]);
  model.dispose();
});

test("Lanczos (float32 TF.js products) finds the extreme eigenvalues of the exact float64 spectrum (1e-3 relative); the model is untouched", async () => {
  const model = mlp([2, 12, 1], { activation: "tanh", seed: 5, init: { std: 1, bias: 0.5 } });
  const data = regressionData(30, 2, 1, 4);
  const before = readParams(model).map((t) => {
    const a = Array.from(t.dataSync());
    t.dispose();
    return a;
  });
  const exact = await assertNoLeak(() => hessian(model, data, { loss: "halfMse", exact: true, progress: false }));
  const top = await assertNoLeak(() => hessian(model, data, { loss: "halfMse", exact: false, k: 3, iterations: 49, progress: false }));
  assert.equal(top.method, "lanczos");
  assert.equal(top.precision, "float32");
  const scale = Math.max(Math.abs(exact.max), Math.abs(exact.min));
  const n = exact.eigenvalues.length;
  const expected = [...exact.eigenvalues.slice(0, 3), ...exact.eigenvalues.slice(n - 3)];
  assertClose(top.eigenvalues, expected, { atol: 1e-3 * scale, what: "Lanczos extreme eigenvalues" });
  assert.equal(top.inertia, null);
  model.weights.forEach((w, i) => assert.deepEqual(Array.from(w.read().dataSync()), before[i], `weight ${w.name} unchanged`));
  // The exact trace is the sum of the eigenvalues; lambda_max agrees with the dense maximum.
  const sharp = await assertNoLeak(() => sharpness(model, data, { loss: "halfMse", k: 2, traceSamples: 200, seed: 3, progress: false }));
  assertClose(sharp.top, exact.eigenvalues.slice(0, 2), { atol: 1e-3 * scale, what: "sharpness top-2" });
  const trace = exact.eigenvalues.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sharp.trace - trace) <= 4 * sharp.traceStderr, `Hutchinson trace ${sharp.trace} +- ${sharp.traceStderr} vs exact ${trace}`);
  const exactSharp = await sharpness(model, data, { loss: "halfMse", method: "exact", k: 2, progress: false });
  assertClose(exactSharp.trace, trace, { rtol: 1e-12, what: "exact trace" });
  assert.match(sharp.summary(), /lambda_max/);
  assert.equal(sharp.figures().length, 1);
  assert.equal(exact.table().rows.length, exact.size);
  tf.dispose([data.x, data.y]);
  model.dispose();
});

test("a CNN is refused with the reason (TF.js has no second derivatives of Conv2D)", async () => {
  const model = cnn([6, 6, 1], { filters: [2], dense: [4], classes: 3, activation: "tanh", seed: 1 });
  const rng = new Rng(2);
  const x = tf.tensor4d(rng.normalArray(8 * 36), [8, 6, 6, 1]);
  const y = tf.tensor1d(Int32Array.from({ length: 8 }, () => rng.int(3)), "int32");
  await assertNoLeak(async () => {
    await assert.rejects(hessian(model, { x, y }), /layer "conv0" \(Conv2D\) has no second derivatives in TF.js/);
    await assert.rejects(hessian(model, { x, y }, { precision: "float64" }), /float64 Hessians are computed for chains of Dense layers/);
    await assert.rejects(sharpness(model, { x, y }), /Hessians of models with Conv2D or pooling layers are not supported/);
  });
  tf.dispose([x, y]);
  model.dispose();
});

test("bad input: NaN weights, wrong data shapes, bad options, too large for exact; nothing leaks and the model survives", async () => {
  const model = mlp([2, 3, 1], { activation: "tanh", seed: 1 });
  const data = regressionData(5, 2, 1, 1);
  const wrong = regressionData(5, 3, 1, 1);
  const twoTargets = tf.zeros([5, 2]);
  const labels = tf.tensor1d([0, 1, 0, 1, 0], "int32");
  await assertNoLeak(async () => {
    await assert.rejects(hessian(model, wrong), /sample shape \[3\] but model .* expects \[2\]/);
    await assert.rejects(hessian(model, { x: data.x, y: twoTargets }), /needs targets y with 1 value\(s\) per sample/);
    await assert.rejects(hessian(model, data, { k: 0, exact: false }), /k must be a positive integer/);
    await assert.rejects(hessian(model, data, { exact: "yes" as unknown as boolean }), /exact must be true, false or "auto"/);
    await assert.rejects(sharpness(model, data, { method: "power" as "lanczos" }), /method must be "lanczos" or "exact"/);
    await assert.rejects(sharpness(model, data, { traceSamples: 1 }), /traceSamples must be 0/);
    await assert.rejects(hessian(model, { x: data.x, y: labels }, { loss: "crossEntropy" }), typedError(InputError, "invalid-data", /label 1 at index 1 /));
  }, "rejected calls");
  const bad = mlp([2, 3, 1], { activation: "tanh", seed: 1 });
  const w = bad.layers[0].getWeights();
  const poisoned = tf.tensor2d([[NaN, 0, 0], [0, 0, 0]]);
  bad.layers[0].setWeights([poisoned, w[1]]);
  await assert.rejects(hessian(bad, data), /hessian: parameter .* of layer "dense0" holds NaN at flat index 0/);
  const big = mlp([30, 30, 1], { seed: 1 });
  const bigData = regressionData(4, 30, 1, 2);
  await assert.rejects(hessian(big, bigData, { exact: true }), /961 trainable parameters; the exact Hessian is computed for at most 800/);
  const view = viewOf(model);
  const params = readParams(model);
  const viaParams = await hessianOf(view, params, { ...data, task: "regression" }, { loss: "halfMse", progress: false });
  assert.equal(viaParams.size, 13);
  assert.ok(Number.isFinite(lossOf(view, params, data.x, data.y, "halfMse").dataSync()[0]));
  tf.dispose([...params, poisoned, twoTargets, labels, data.x, data.y, wrong.x, wrong.y, bigData.x, bigData.y]);
  [model, bad, big].forEach((m) => m.dispose());
});

test("hessian and sharpness await the event loop while they work (an interrupt can stop them)", async () => {
  const model = mlp([2, 3, 1], { activation: "tanh", seed: 1 });
  const data = regressionData(5, 2, 1, 1);
  let ticks = 0;
  let running = true;
  const tick = () => {
    ticks++;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  const exact = await hessian(model, data, { loss: "halfMse", exact: true, progress: false });
  const afterExact = ticks;
  // One product per parameter; the event loop ran after the first product at least (a synchronous loop gives 0 ticks).
  assert.equal(exact.products, exact.size);
  assert.ok(afterExact >= 1, `${afterExact} event-loop turns during ${exact.size} products`);
  const sharp = await sharpness(model, data, { loss: "halfMse", k: 1, traceSamples: 4, progress: false });
  running = false;
  assert.ok(ticks - afterExact >= 2, `${ticks - afterExact} event-loop turns during ${sharp.products} products (Lanczos, then Hutchinson)`);
  tf.dispose([data.x, data.y]);
  model.dispose();
});
