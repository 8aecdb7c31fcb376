/** Bad input to the teleport calls: clear errors that name the problem, and the user's model left untouched. */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useTestBackend } from "../helpers";
import { mlp, readParams } from "../../src/model";
import { teleport } from "../../src/teleport";
import { mlpModel, bnCnn, classification, relDiff } from "./fixtures";

before(useTestBackend);

test("unsupported layers and activations are refused by name", () => {
  const norm = tf.sequential({ layers: [tf.layers.dense({ units: 4, inputShape: [3], name: "d0" }), tf.layers.layerNormalization({ name: "ln" }), tf.layers.dense({ units: 2, name: "out" })] });
  assert.throws(() => teleport(norm), /"ln" \(LayerNormalization\) is not supported/);
  assert.throws(() => teleport(mlp([3, 4, 2], { activation: "sigmoid" })), /layer "dense0".*sigmoid/);
  assert.throws(() => teleport(mlp([3, 4, 2], { activation: "tanh" })), /only allow sign flips.*"inter"/);
  const tanh = teleport(mlp([3, 4, 4, 2], { activation: "tanh", seed: 2 }), { sampling: "inter", seed: 1 });
  assert.ok(tanh.tau.every((t) => Math.abs(t) === 1) && tanh.tau.some((t) => t < 0), "tanh: inter flips signs only");
  assert.ok(tanh.check.rel <= 1e-5);
  const linear = teleport(mlpModel([3, 4, 2], 1, "linear"), { sampling: "negative", cobRange: 0.8 });
  assert.ok(linear.tau.every((t) => t < 0) && linear.check.rel <= 1e-5, "linear units take any non-zero tau");
});

test("sign flips through ReLU, max pooling or BatchNormalization are refused with the reason", () => {
  assert.throws(() => teleport(mlpModel(), { sampling: "inter" }), /only allow tau > 0.*relu.*min\(x, 0\)/);
  assert.throws(() => teleport(bnCnn(), { sampling: "negative" }), /layer "conv0" only allow tau > 0/);
  assert.throws(() => teleport(mlpModel(), { sampling: "centered", center: 0.2, cobRange: 0.5 }), /contains 0/);
});

test("bad options, bad CoBs and non-finite weights give clear errors and leave the model untouched", () => {
  const model = mlpModel();
  const weights = readParams(model);
  assert.throws(() => teleport(model, { cobRange: 1.2 }), /cobRange 1.2 >= 1/);
  assert.throws(() => teleport(model, { cobRange: -1 }), /cobRange must be a finite number >= 0/);
  assert.throws(() => teleport(model, { sampling: "sideways" as "intra" }), /unknown sampling "sideways"/);
  assert.throws(() => teleport(model, { cob: [[1, 2]] }), /array of 2 per-layer tau vectors/);
  assert.throws(() => teleport(model, { cob: [new Array(8).fill(1), new Array(6).fill(1)] }), /"dense1" must have 7 taus/);
  assert.throws(() => teleport(model, { cob: [new Array(8).fill(1), [1, 1, 1, -2, 1, 1, 1]] }), /only allow tau > 0.*given tau -2 for unit 3/);
  assert.throws(() => teleport(model, { cob: [new Array(8).fill(0), new Array(7).fill(1)] }), /tau 0 for unit 0 of layer "dense0" is not a finite non-zero number/);
  assert.throws(() => teleport(model, { probe: tf.zeros([2, 5]) }), /probe inputs have sample shape \[5\]/);
  assert.throws(() => teleport(model, { cob: [new Array(8).fill(1e39), new Array(7).fill(1)] }), /overflows float32/);
  assert.equal(relDiff(readParams(model), weights), 0);
  const bad = mlpModel();
  const w = bad.getWeights();
  const poisoned = w.map((t, i) => (i === 2 ? tf.tensor(Float32Array.from(t.dataSync(), (v, e) => (e === 5 ? NaN : v)), t.shape) : t.clone()));
  bad.setWeights(poisoned);
  assert.throws(() => teleport(bad), /parameter .*kernel.* of layer "dense1" holds NaN at flat index 5/);
  tf.dispose([...weights, ...poisoned]);
});

test("experiments refuse bad data and options clearly", async () => {
  const model = mlpModel();
  const data = classification([6]);
  await assert.rejects(teleport.sweep(model, { x: tf.zeros([4, 5]), y: tf.tensor1d([0, 1, 2, 0], "int32") }), /data x has sample shape \[5\] but model .* expects \[6\]/);
  await assert.rejects(teleport.sweep(model, { x: tf.fill([4, 6], NaN), y: tf.tensor1d([0, 1, 2, 0], "int32") }), /x holds NaN/);
  await assert.rejects(teleport.sweep(model, data, { sampling: "positive" }), /E\[tau\^-2\] = infinity/);
  await assert.rejects(teleport.levelCurve(model, data, { steps: 0 }), /steps must be a positive integer/);
  await assert.rejects(teleport.microAngles(model, data, { n: 0 }), /n must be a positive integer/);
  await assert.rejects(teleport.optimize(model, data, { objective: "fastest" as "gradNorm" }), /unknown objective "fastest"/);
  await assert.rejects(teleport.optimize(model, data, { cobRange: 1 }), /cobRange must be in \(0, 1\)/);
  tf.dispose([data.x, data.y]);
});
