import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { useTestBackend } from "../helpers";
import { cnn, mlp } from "../../src/model";
import { bits } from "./support";
import { loadTfjs, saveTfjs } from "../../src/load";

before(useTestBackend);

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ws-tfjs-"));
let count = 0;
const fresh = () => path.join(root, `m${count++}`);

test("saveTfjs -> loadTfjs restores a CNN with BatchNorm bit-exactly, with the same predictions and no leaked tensors", async () => {
  const model = cnn([6, 6, 1], { filters: [2], batchNorm: true, dense: [5], classes: 3, seed: 7 });
  const json = await saveTfjs(model, fresh());
  const before = tf.memory().numTensors;
  const loaded = await loadTfjs(json);
  assert.deepEqual(bits(loaded), bits(model));
  assert.deepEqual(loaded.layers.map((l) => l.getClassName()), model.layers.map((l) => l.getClassName()));
  const x = tf.randomNormal([2, 6, 6, 1], 0, 1, "float32", 1);
  const [a, b] = [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
  assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
  tf.dispose([x, a, b]);
  loaded.dispose();
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

test("weights split over several shards (as tensorflowjs_converter writes them) load", async () => {
  const model = mlp([10, 20, 4], { seed: 2 });
  const dir = fresh();
  const json = await saveTfjs(model, dir);
  const bin = fs.readFileSync(path.join(dir, "weights.bin"));
  fs.writeFileSync(path.join(dir, "group1-shard1of2.bin"), bin.subarray(0, 333));
  fs.writeFileSync(path.join(dir, "group1-shard2of2.bin"), bin.subarray(333));
  fs.rmSync(path.join(dir, "weights.bin"));
  const manifest = JSON.parse(fs.readFileSync(json, "utf8"));
  manifest.weightsManifest[0].paths = ["group1-shard1of2.bin", "group1-shard2of2.bin"];
  fs.writeFileSync(json, JSON.stringify(manifest));
  const loaded = await loadTfjs(json);
  assert.deepEqual(bits(loaded), bits(model));
  loaded.dispose();
  model.dispose();
});

test("missing, corrupt, truncated, foreign and NaN-holding model files are clear errors and leak nothing", async () => {
  const model = mlp([3, 4, 2], { seed: 1 });
  const dir = fresh();
  const json = await saveTfjs(model, dir);
  const good = fs.readFileSync(json, "utf8");
  const bin = fs.readFileSync(path.join(dir, "weights.bin"));
  const before = tf.memory().numTensors;

  await assert.rejects(loadTfjs(path.join(dir, "absent.json")), /TF\.js model\.json not found: .*absent\.json/);
  fs.writeFileSync(json, good.slice(0, 50));
  await assert.rejects(loadTfjs(json), /model\.json .* is not valid JSON/);
  fs.writeFileSync(json, JSON.stringify({ format: "graph-model", modelTopology: {}, weightsManifest: [] }));
  await assert.rejects(loadTfjs(json), /is a TF\.js graph model \(format "graph-model"\); weightscope needs a Layers model/);
  fs.writeFileSync(json, JSON.stringify({ weightsManifest: [] }));
  await assert.rejects(loadTfjs(json), /has no "modelTopology"/);
  fs.writeFileSync(json, good);

  fs.writeFileSync(path.join(dir, "weights.bin"), bin.subarray(0, bin.length - 4));
  await assert.rejects(loadTfjs(json), /weight group 0 \(weights\.bin\) holds 100 bytes but its 4 weights need 104: the shards are truncated/);
  fs.writeFileSync(path.join(dir, "weights.bin"), Buffer.concat([bin, Buffer.alloc(8)]));
  await assert.rejects(loadTfjs(json), /holds 112 bytes but its 4 weights need 104: the shards are too long/);
  fs.rmSync(path.join(dir, "weights.bin"));
  await assert.rejects(loadTfjs(json), /weight shard weights\.bin cannot be read \(file not found\)/);

  const poisoned = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  poisoned[5] = NaN;
  fs.writeFileSync(path.join(dir, "weights.bin"), new Uint8Array(poisoned.buffer));
  await assert.rejects(loadTfjs(json), /parameter .*kernel.* of layer "dense0" holds NaN at flat index 5/);
  assert.equal(tf.memory().numTensors, before, "failed loads leave no tensors");
  model.dispose();
});

test("a Layers model with a layer weightscope does not probe is refused by name", async () => {
  const model = tf.sequential({ layers: [tf.layers.embedding({ inputDim: 5, outputDim: 3, inputLength: 2, name: "embed" }), tf.layers.flatten(), tf.layers.dense({ units: 2 })] });
  const json = await saveTfjs(model, fresh());
  const before = tf.memory().numTensors;
  await assert.rejects(loadTfjs(json), /layer "embed" \(Embedding\) is not supported by weightscope/);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});
