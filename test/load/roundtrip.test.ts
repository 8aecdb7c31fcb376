import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { assertNoLeak, useTestBackend } from "../helpers";
import { bits, randomiseWeights } from "./support";
import { mlp, cnn, readParams } from "../../src/model";
import { loadSafetensors, saveSafetensors, readSafetensors, inspectSafetensors } from "../../src/load";
import { permuteAxes } from "../../src/load/layout";

before(useTestBackend);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-load-"));

/** A CNN with BatchNorm (non-trivial statistics) and a flatten of a 3x3x5 map into dense layers. */
function smallCnn(seed: number): tf.LayersModel {
  const model = cnn([7, 7, 2], { filters: [3, 5], batchNorm: true, dense: [6], classes: 4, seed });
  randomiseWeights(model, seed * 100);
  return model;
}

test("permuteAxes matches the index formula of a transpose [2,3,1,0] of a 2x3x4x5 array", () => {
  const shape = [2, 3, 4, 5];
  const values = Float32Array.from({ length: 120 }, (_, i) => i);
  const out = permuteAxes(values, shape, [2, 3, 1, 0]);
  // out[k][l][j][i] = values[i][j][k][l], out shape [4, 5, 3, 2]
  for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) for (let l = 0; l < 5; l++) {
    assert.equal(out[((k * 5 + l) * 3 + j) * 2 + i], values[((i * 3 + j) * 4 + k) * 5 + l]);
  }
});

test("MLP: TF.js -> safetensors -> TF.js is bit-exact, by name into a copy and rebuilt from shapes", async () => {
  const model = mlp([6, 9, 7, 3], { activation: "tanh", seed: 4, init: { std: 0.7, bias: 0.3 } });
  const file = path.join(dir, "mlp.safetensors");
  const saved = await assertNoLeak(() => saveSafetensors(model, file));
  assert.deepEqual(saved.names, ["dense0.weight", "dense0.bias", "dense1.weight", "dense1.bias", "dense2.weight", "dense2.bias"]);
  // PyTorch layout: Linear weight is [out, in].
  const content = await readSafetensors(file);
  assert.deepEqual(content.tensors.get("dense0.weight")?.shape, [9, 6]);
  assert.equal(content.metadata.format, "pt");

  const before = tf.memory().numTensors;
  const into = mlp([6, 9, 7, 3], { activation: "tanh", seed: 99 });
  const intoBits = bits(into);
  const filled = await loadSafetensors(file, { into });
  assert.deepEqual(bits(filled), bits(model));
  assert.deepEqual(bits(into), intoBits, "into must not be modified");
  assert.notEqual(filled, into);

  const rebuilt = await loadSafetensors(fs.readFileSync(file), { activation: "tanh" });
  assert.deepEqual(bits(rebuilt), bits(model));
  const x = tf.randomNormal([5, 6], 0, 1, "float32", 3);
  const [a, b] = [model.predict(x) as tf.Tensor, rebuilt.predict(x) as tf.Tensor];
  assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
  tf.dispose([x, a, b]);
  for (const m of [into, filled, rebuilt]) m.dispose();
  assert.equal(tf.memory().numTensors, before, "loading and disposing leaves no tensors");
  model.dispose();
});

test("CNN with BatchNorm and NHWC flatten: TF.js -> safetensors (PyTorch layout) -> TF.js is bit-exact", async () => {
  const model = smallCnn(1);
  const file = path.join(dir, "cnn.safetensors");
  const saved = await saveSafetensors(model, file, { map: { conv0: "features.0", bn0: "features.1", conv1: "features.4", bn1: "features.5", dense0: "classifier.0", logits: "classifier.2" } });
  assert.ok(saved.names.includes("features.1.num_batches_tracked"));
  const info = await inspectSafetensors(file);
  const shapes = Object.fromEntries(info.tensors.map((t) => [t.name, t.shape]));
  assert.deepEqual(shapes["features.0.weight"], [3, 2, 3, 3], "Conv2d weight is [out, in, kh, kw]");
  // 7x7 -> pool 3x3 -> pool 1x1 (5 channels): dense0 reads 5 features.
  assert.deepEqual(shapes["classifier.0.weight"], [6, 5]);
  assert.equal(info.table().rows.length, saved.names.length);

  const copy = smallCnn(2);
  const map = { conv0: "features.0", bn0: "features.1", conv1: "features.4", bn1: "features.5", dense0: "classifier.0", logits: "classifier.2" };
  const loaded = await assertNoLeak(async () => {
    const m = await loadSafetensors(file, { into: copy, map });
    const same = JSON.stringify(bits(m)) === JSON.stringify(bits(model));
    m.dispose();
    return same;
  });
  assert.ok(loaded, "weights bit-exact after the round trip");
  model.dispose();
  copy.dispose();
});

test("flatten of a multi-pixel map is permuted (NCHW <-> NHWC) and restored exactly", async () => {
  // 6x6 input, one pool: the first dense reads a 3x3x3 map, where (c,h,w) and (h,w,c) orders differ.
  const model = cnn([6, 6, 1], { filters: [3], dense: [], classes: 2, seed: 5 });
  const file = path.join(dir, "flat.safetensors");
  await saveSafetensors(model, file);
  const { tensors } = await readSafetensors(file);
  const torchWeight = tensors.get("logits.weight") as { shape: number[]; values: Float32Array };
  assert.deepEqual(torchWeight.shape, [2, 27]);
  // getWeights() returns the layer's own variable values: read, never dispose.
  const k = model.getLayer("logits").getWeights()[0].dataSync();
  // Torch feature index c*9 + h*3 + w holds the TF.js kernel row (h*3 + w)*3 + c.
  for (let o = 0; o < 2; o++) for (let c = 0; c < 3; c++) for (let h = 0; h < 3; h++) for (let w = 0; w < 3; w++) {
    assert.equal(torchWeight.values[o * 27 + c * 9 + h * 3 + w], k[((h * 3 + w) * 3 + c) * 2 + o]);
  }
  const back = await loadSafetensors(file, { into: model });
  assert.deepEqual(bits(back), bits(model));
  back.dispose();
  model.dispose();
});

test("mismatches list missing, unmatched and misshaped tensors with the mapping used", async () => {
  const model = mlp([4, 5, 2], { seed: 1 });
  const file = path.join(dir, "small.safetensors");
  await saveSafetensors(model, file, { map: { dense0: "net.0", dense1: "net.2" } });
  const before = tf.memory().numTensors;
  const wider = mlp([4, 6, 2], { seed: 1 });
  await assert.rejects(loadSafetensors(file, { into: wider }), (e: Error) => {
    assert.match(e.message, /shape mismatch: "net\.0\.weight" is \[5, 4\] in the file, layer "dense0" needs \[6, 4\]/);
    assert.match(e.message, /mapping used: dense0 <- net\.0, dense1 <- net\.2/);
    return true;
  });
  await assert.rejects(loadSafetensors(file, { into: model, map: { dense0: "net.0", dense1: "head" } }), (e: Error) => {
    assert.match(e.message, /missing: "head\.weight" \[2, 5\] for layer "dense1"/);
    assert.match(e.message, /unmatched tensors in the file: "net\.2\.weight" \[2, 5\], "net\.2\.bias" \[2\]/);
    return true;
  });
  await assert.rejects(loadSafetensors(file, { into: model, map: { dense0: "net.0" } }), /map must name every weighted layer .*missing: dense1/);
  const deeper = mlp([4, 5, 5, 2], { seed: 1 });
  await assert.rejects(loadSafetensors(file, { into: deeper }), /holds 2 weighted modules \(net\.0, net\.2\) but model .* has 3 weighted layers/);
  const conv = cnn([4, 4, 1], { filters: [2], dense: [], classes: 2 });
  await assert.rejects(loadSafetensors(file, { into: conv }), /shape mismatch/);
  for (const m of [wider, deeper, conv]) m.dispose();
  assert.equal(tf.memory().numTensors, before, "failed loads leave no tensors");
  model.dispose();
});

test("MLP building refuses Conv2d weights, non-chaining layers and mixed biases with a clear error", async () => {
  const conv = cnn([4, 4, 1], { filters: [2], dense: [], classes: 2 });
  const file = path.join(dir, "conv.safetensors");
  await saveSafetensors(conv, file);
  conv.dispose();
  const before = tf.memory().numTensors;
  await assert.rejects(loadSafetensors(file), /holds Conv2d weights \("conv0\.weight" \[2, 1, 3, 3\]\); a CNN cannot be rebuilt from shapes alone .* pass \{ into: model \}/);
  const w = (rows: number, cols: number) => new Float32Array(rows * cols).fill(0.5);
  const { encodeSafetensors } = await import("../../src/load");
  const broken = encodeSafetensors([
    { name: "a.weight", shape: [3, 4], values: w(3, 4) },
    { name: "b.weight", shape: [2, 5], values: w(2, 5) },
  ]);
  await assert.rejects(loadSafetensors(broken), /"b\.weight" takes 5 inputs but the module before outputs 3/);
  const mixed = encodeSafetensors([
    { name: "a.weight", shape: [3, 4], values: w(3, 4) },
    { name: "a.bias", shape: [3], values: w(3, 1) },
    { name: "b.weight", shape: [2, 3], values: w(2, 3) },
  ]);
  await assert.rejects(loadSafetensors(mixed), /some Linear layers have a bias and some do not \(b have none\)/);
  const noBias = encodeSafetensors([{ name: "a.weight", shape: [3, 4], values: w(3, 4) }, { name: "b.weight", shape: [2, 3], values: w(2, 3) }]);
  const built = await loadSafetensors(noBias);
  assert.deepEqual(built.weights.map((v) => v.shape), [[4, 3], [3, 2]]);
  built.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test("NaN or infinite weights are refused on load (naming the tensor) and on save; the user's model is untouched", async () => {
  const { encodeSafetensors } = await import("../../src/load");
  const values = new Float32Array(12).fill(0.1);
  values[7] = NaN;
  const bytes = encodeSafetensors([{ name: "fc.weight", shape: [3, 4], values }, { name: "fc.bias", shape: [3], values: new Float32Array(3) }]);
  const into = mlp([4, 3], { seed: 2 });
  const intoBits = bits(into);
  const before = tf.memory().numTensors;
  await assert.rejects(loadSafetensors(bytes, { into }), /tensor "fc\.weight" \(layer "dense0"\) holds NaN at flat index 7; weights must be finite/);
  await assert.rejects(loadSafetensors(bytes), /holds NaN at flat index 7/);
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(bits(into), intoBits);

  const params = readParams(into);
  const poisoned = params.map((p) => tf.fill(p.shape, Infinity));
  into.setWeights(poisoned);
  tf.dispose([...params, ...poisoned]);
  const file = path.join(dir, "never.safetensors");
  await assert.rejects(saveSafetensors(into, file), /saveSafetensors\(.*\): parameter .* holds Infinity/);
  assert.equal(fs.existsSync(file), false, "nothing written");
  into.dispose();
});
