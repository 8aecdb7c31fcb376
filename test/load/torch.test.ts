/**
 * PyTorch parity: models built and run by torch (test/fixtures/torch_models.py, Debian's python3-torch)
 * give the same outputs in weightscope, and models exported by weightscope load into torch with
 * load_state_dict(strict=True) and give TF.js's outputs. Tolerance: float32 summation order differs
 * between the engines, so |tfjs - torch| <= 1e-5 * max|torch output| (1e-5 relative to the output scale).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { assertClose, assertNoLeak, useTestBackend } from "../helpers";
import { randomiseWeights } from "./support";
import { loadSafetensors, saveSafetensors, readSafetensors } from "../../src/load";

const PYTHON = "/usr/bin/python3";
const SCRIPT = path.resolve(__dirname, "../fixtures/torch_models.py");
const probe = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" });
const skip = probe.status === 0 ? false : `${PYTHON} with torch (Debian python3-torch) is not available: ${(probe.stderr || probe.error?.message || "").trim().split("\n").pop()}`;
if (skip) console.log(`# SKIPPED PyTorch parity tests: ${skip}`);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-torch-"));

function python(...args: string[]): void {
  const run = spawnSync(PYTHON, [SCRIPT, ...args], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`torch_models.py ${args.join(" ")} failed:\n${run.stderr}`);
}

before(async () => {
  await useTestBackend();
  if (!skip) python("generate", dir);
});

async function io(name: string): Promise<{ x: tf.Tensor; y: Float32Array; yShape: number[] }> {
  const { tensors } = await readSafetensors(path.join(dir, name));
  const x = tensors.get("x") as { shape: number[]; values: Float32Array };
  const y = tensors.get("y") as { shape: number[]; values: Float32Array };
  return { x: tf.tensor(x.values, x.shape), y: y.values, yShape: y.shape };
}

function closeToTorch(actual: ArrayLike<number>, expected: Float32Array, what: string): void {
  const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assertClose(Array.from(actual), Array.from(expected), { rtol: 1e-5, atol: 1e-5 * scale, what });
}

/** The PyTorch CNN of the fixture, in TF.js layers named like its modules (NHWC input). */
function tfCnn(): tf.LayersModel {
  return tf.sequential({ name: "torch_cnn", layers: [
    tf.layers.conv2d({ inputShape: [8, 8, 2], filters: 4, kernelSize: 3, padding: "same", name: "conv1" }),
    tf.layers.batchNormalization({ epsilon: 1e-5, name: "bn1" }),
    tf.layers.activation({ activation: "relu", name: "relu1" }),
    tf.layers.maxPooling2d({ poolSize: 2, name: "pool1" }),
    tf.layers.conv2d({ filters: 6, kernelSize: 3, activation: "relu", name: "conv2" }),
    tf.layers.flatten({ name: "flatten" }),
    tf.layers.dense({ units: 10, activation: "relu", name: "fc1" }),
    tf.layers.dense({ units: 5, name: "fc2" }),
  ] });
}

test("PyTorch MLP (nn.Sequential, 6 Linear layers) rebuilt from shapes gives PyTorch's outputs", { skip }, async () => {
  const { x, y, yShape } = await io("mlp_io.safetensors");
  const model = await loadSafetensors(path.join(dir, "mlp.safetensors"));
  // "net.10" after "net.8": the module order is numeric, not the string order of the names.
  assert.deepEqual(model.layers.map((l) => (l.getConfig() as { units: number }).units), [16, 16, 16, 16, 16, 3]);
  const out = model.predict(x) as tf.Tensor;
  assert.deepEqual(out.shape, yShape);
  closeToTorch(out.dataSync(), y, "MLP output vs PyTorch");
  tf.dispose([x, out]);
  model.dispose();
});

for (const dtype of ["F16", "BF16", "F64"]) {
  test(`PyTorch MLP stored as ${dtype} loads to float32 and gives PyTorch's outputs with the same rounded weights`, { skip }, async () => {
    const { x, y } = await io(`mlp_${dtype}_io.safetensors`);
    const model = await loadSafetensors(path.join(dir, `mlp_${dtype}.safetensors`));
    const out = model.predict(x) as tf.Tensor;
    closeToTorch(out.dataSync(), y, `MLP (${dtype} weights) output vs PyTorch`);
    tf.dispose([x, out]);
    model.dispose();
  });
}

test("F16, BF16 and F64 tensors convert to exactly torch's float32 values (subnormals, +-0, +-Inf, overflow)", { skip }, async () => {
  const stored = await readSafetensors(path.join(dir, "dtypes.safetensors"));
  const expected = await readSafetensors(path.join(dir, "dtypes_expected.safetensors"));
  assert.deepEqual([...stored.tensors.values()].map((t) => t.dtype), ["F16", "BF16", "F64"]);
  for (const [name, tensor] of stored.tensors) {
    const want = (expected.tensors.get(name) as { values: Float32Array }).values;
    // Bit patterns: -0 and +0 differ, every conversion is exact or correctly rounded as torch does it.
    assert.deepEqual(Array.from(new Uint32Array(tensor.values.slice().buffer)), Array.from(new Uint32Array(want.slice().buffer)), `${name} (${tensor.dtype})`);
  }
});

test("PyTorch CNN (BatchNorm, NCHW flatten) loaded into a TF.js CNN gives PyTorch's outputs on NHWC inputs", { skip }, async () => {
  const { x, y, yShape } = await io("cnn_io.safetensors");
  const template = tfCnn();
  const before = tf.memory().numTensors;
  const model = await loadSafetensors(path.join(dir, "cnn.safetensors"), { into: template });
  const nhwc = tf.transpose(x, [0, 2, 3, 1]);
  const out = model.predict(nhwc) as tf.Tensor;
  assert.deepEqual(out.shape, yShape);
  closeToTorch(out.dataSync(), y, "CNN output vs PyTorch");
  tf.dispose([nhwc, out]);
  model.dispose();
  assert.equal(tf.memory().numTensors, before);
  template.dispose();
  x.dispose();
});

test("a renamed TF.js CNN needs { map }: the positional guess is refused with the mapping, the explicit map loads", { skip }, async () => {
  const { x, y } = await io("cnn_io.safetensors");
  const build = (names: string[]) => tf.sequential({ layers: [
    tf.layers.conv2d({ inputShape: [8, 8, 2], filters: 4, kernelSize: 3, padding: "same", name: names[0] }),
    tf.layers.batchNormalization({ epsilon: 1e-5, name: names[1] }),
    tf.layers.activation({ activation: "relu" }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.conv2d({ filters: 6, kernelSize: 3, activation: "relu", name: names[2] }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 10, activation: "relu", name: names[3] }),
    tf.layers.dense({ units: 5, name: names[4] }),
  ] });
  const names = ["c0", "b0", "c1", "d0", "d1"];
  const template = build(names);
  await assert.rejects(loadSafetensors(path.join(dir, "cnn.safetensors"), { into: template }), (e: Error) => {
    assert.match(e.message, /mapping used: c0 <- bn1, b0 <- conv1, c1 <- conv2, d0 <- fc1, d1 <- fc2/);
    assert.match(e.message, /shape mismatch/);
    return true;
  });
  const map = { c0: "conv1", b0: "bn1", c1: "conv2", d0: "fc1", d1: "fc2" };
  const model = await loadSafetensors(path.join(dir, "cnn.safetensors"), { into: template, map });
  const out = tf.tidy(() => model.predict(tf.transpose(x, [0, 2, 3, 1])) as tf.Tensor);
  closeToTorch(out.dataSync(), y, "renamed CNN output vs PyTorch");
  tf.dispose([x, out]);
  model.dispose();
  template.dispose();
});

test("models exported by weightscope load into PyTorch (strict state_dict) and give TF.js's outputs", { skip }, async () => {
  // MLP: weightscope builder layer names mapped to nn.Sequential indices.
  const mlpModel = await loadSafetensors(path.join(dir, "mlp.safetensors"));
  randomiseWeights(mlpModel, 10);
  const mlpFile = path.join(dir, "mlp_export.safetensors");
  await assertNoLeak(() => saveSafetensors(mlpModel, mlpFile, { map: Object.fromEntries([0, 1, 2, 3, 4, 5].map((i) => [`dense${i}`, String(2 * i)])) }));

  // CNN: BatchNorm counters, conv and NCHW-flatten layouts must all be what torch expects.
  const cnnModel = tfCnn();
  randomiseWeights(cnnModel, 20);
  const cnnFile = path.join(dir, "cnn_export.safetensors");
  await saveSafetensors(cnnModel, cnnFile);
  // One python run (torch's import dominates its time).
  python("verify", dir, "mlp", mlpFile, path.join(dir, "mlp_torch_out.safetensors"), "cnn", cnnFile, path.join(dir, "cnn_torch_out.safetensors"));
  const mlpIo = await io("mlp_io.safetensors");
  const mlpOurs = mlpModel.predict(mlpIo.x) as tf.Tensor;
  const mlpTorch = (await readSafetensors(path.join(dir, "mlp_torch_out.safetensors"))).tensors.get("y") as { values: Float32Array };
  closeToTorch(mlpOurs.dataSync(), mlpTorch.values, "exported MLP: PyTorch output vs TF.js");
  const cnnIo = await io("cnn_io.safetensors");
  const cnnOurs = tf.tidy(() => cnnModel.predict(tf.transpose(cnnIo.x, [0, 2, 3, 1])) as tf.Tensor);
  const cnnTorch = (await readSafetensors(path.join(dir, "cnn_torch_out.safetensors"))).tensors.get("y") as { values: Float32Array };
  closeToTorch(cnnOurs.dataSync(), cnnTorch.values, "exported CNN: PyTorch output vs TF.js");
  tf.dispose([mlpOurs, mlpIo.x, cnnOurs, cnnIo.x]);
  mlpModel.dispose();
  cnnModel.dispose();
});

test("the committed PyTorch-trained MNIST MLP (notebook fixture) reaches the test accuracy PyTorch recorded", async () => {
  const { mnist } = await import("../../src/data");
  const { evaluate } = await import("../../src/train");
  const file = path.resolve(__dirname, "../fixtures/mnist_mlp.safetensors");
  const model = await loadSafetensors(file);
  const data = await mnist({ split: "test" });
  const accuracy = evaluate(model, data).accuracy as number;
  const recorded = Number((await readSafetensors(file, { only: [] })).metadata.test_accuracy);
  // Same weights, same 10,000 images: at most a couple of near-tied logits may flip under float32 summation order.
  assert.ok(Math.abs(accuracy - recorded) <= 2e-4, `accuracy ${accuracy} vs PyTorch's ${recorded}`);
  tf.dispose([data.x, data.y]);
  model.dispose();
});
