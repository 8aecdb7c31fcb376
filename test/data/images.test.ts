import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import * as tf from "@tensorflow/tfjs";
import { mnist, fashionMnist, fromIdx } from "../../src/data/images";
import { encodeIdx } from "../../src/data/idx";
import { assertNoLeak, useTestBackend } from "../helpers";

before(useTestBackend);

describe("mnist", () => {
  it("reads the real MNIST files: shapes, pixel range, labels of the first training images", async () => {
    const before = tf.memory().numTensors;
    const d = await mnist({ limit: 100 });
    assert.deepEqual(d.x.shape, [100, 784]);
    assert.equal(d.y.dtype, "int32");
    // The first five MNIST training labels are 5, 0, 4, 1, 9 (LeCun's file order).
    assert.deepEqual(Array.from(d.y.dataSync().slice(0, 5)), [5, 0, 4, 1, 9]);
    const px = d.x.dataSync();
    assert.ok(Math.min(...px) === 0 && Math.max(...px) === 1, "pixels scaled to [0, 1]");
    assert.equal(d.classes?.length, 10);
    tf.dispose([d.x, d.y]);
    assert.equal(tf.memory().numTensors, before);
  });

  it("test split, NHWC images, class selection with relabelling, seeded selection", async () => {
    const d = await mnist({ split: "test", limit: 50, flatten: false, only: [3, 8], seed: 7 });
    assert.deepEqual(d.x.shape, [50, 28, 28, 1]);
    assert.deepEqual(d.classes, ["3", "8"]);
    const labels = new Set(d.y.dataSync());
    assert.ok([...labels].every((l) => l === 0 || l === 1));
    const again = await mnist({ split: "test", limit: 50, flatten: false, only: [3, 8], seed: 7 });
    assert.deepEqual(Array.from(again.x.dataSync()), Array.from(d.x.dataSync()), "same seed, same images");
    tf.dispose([d.x, d.y, again.x, again.y]);
  });

  it("rejects bad options", async () => {
    await assert.rejects(() => mnist({ limit: 0 }), /limit must be a positive integer/);
    await assert.rejects(() => mnist({ only: [12] }), /class 12 in `only`/);
    await assert.rejects(() => mnist({ split: "validation" as "train" }), /split must be "train" or "test"/);
  });
});

describe("fashionMnist", () => {
  it("balanced first images from the package and 10 named classes", async () => {
    const d = await fashionMnist({ limit: 20 });
    assert.deepEqual(d.x.shape, [20, 784]);
    assert.deepEqual(Array.from(d.y.dataSync()), [...Array(10).keys(), ...Array(10).keys()]);
    assert.equal(d.classes?.[9], "Ankle boot");
    tf.dispose([d.x, d.y]);
  });

  it("reads official IDX files (gzip) from a folder", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-fashion-"));
    const pixels = Uint8Array.from({ length: 3 * 4 }, (_, i) => i * 20);
    fs.writeFileSync(path.join(dir, "t10k-images-idx3-ubyte.gz"), zlib.gzipSync(encodeIdx([3, 2, 2], pixels)));
    fs.writeFileSync(path.join(dir, "t10k-labels-idx1-ubyte"), encodeIdx([3], [9, 0, 4]));
    const d = await fashionMnist({ dir, split: "test" });
    assert.deepEqual(d.x.shape, [3, 4]);
    assert.deepEqual(Array.from(d.y.dataSync()), [9, 0, 4]);
    assert.ok(Math.abs(d.x.dataSync()[11] - 220 / 255) < 1e-7);
    tf.dispose([d.x, d.y]);
    await assert.rejects(() => fashionMnist({ dir, split: "train" }), /train-images-idx3-ubyte\[\.gz\] not found/);
  });
});

describe("fromIdx", () => {
  it("checks that images and labels agree", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-idx-"));
    fs.writeFileSync(path.join(dir, "img"), encodeIdx([2, 1, 3], [1, 2, 3, 4, 5, 6]));
    fs.writeFileSync(path.join(dir, "lab"), encodeIdx([3], [0, 1, 1]));
    await assert.rejects(() => fromIdx(path.join(dir, "img"), path.join(dir, "lab")), /2 images but labels of shape \[3\]/);
    fs.writeFileSync(path.join(dir, "lab"), encodeIdx([2], [0, 1]));
    const d = await assertNoLeak(async () => {
      const set = await fromIdx(path.join(dir, "img"), path.join(dir, "lab"));
      const shape = set.x.shape;
      tf.dispose([set.x, set.y]);
      return shape;
    });
    assert.deepEqual(d, [2, 3]);
  });
});
