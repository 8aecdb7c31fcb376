import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { save, load, SavedResult, writeFileAtomic } from "../../src/io";
import { train, TrainRun } from "../../src/train";
import { mlp } from "../../src/model";
import { blobs } from "../../src/data/synthetic";
import { assertNoLeak, useTestBackend } from "../helpers";

before(useTestBackend);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-io-"));

describe("save / load", () => {
  it("a training run comes back as a TrainRun with the same history", async () => {
    const data = blobs({ n: 10, k: 2, dim: 3, seed: 1 });
    const model = mlp([3, 4, 2], { seed: 1 });
    const run = await train(model, data, { epochs: 2, batchSize: 5, progress: false });
    const file = path.join(dir, "run.json");
    assertNoLeak(() => save(run, file));
    const back = assertNoLeak(() => load(file));
    assert.ok(back instanceof TrainRun);
    assert.deepEqual(back.history, run.history);
    assert.deepEqual(fs.readdirSync(dir), ["run.json"], "no temporary file left behind");
    tf.dispose([data.x, data.y]);
    model.dispose();
  });

  it("NaN and Infinity survive; an unregistered kind loads as a SavedResult", () => {
    const original = new SavedResult("custom", { undefinedCount: 2, values: [1, Number.NaN, Number.POSITIVE_INFINITY, -Infinity] });
    const file = path.join(dir, "custom.json");
    save(original, file);
    const back = load(file);
    assert.ok(back instanceof SavedResult);
    assert.deepEqual(back.toJSON(), { kind: "custom", undefinedCount: 2, values: [1, Number.NaN, Infinity, -Infinity] });
  });

  it("clear errors for missing, damaged and foreign files", () => {
    assert.throws(() => load(path.join(dir, "nope.json")), /file not found/);
    const broken = path.join(dir, "broken.json");
    save(new SavedResult("custom", { a: 1 }), broken);
    fs.writeFileSync(broken, fs.readFileSync(broken, "utf8").slice(0, 30));
    assert.throws(() => load(broken), /damaged or not a weightscope result/);
    fs.writeFileSync(broken, JSON.stringify({ hello: 1 }));
    assert.throws(() => load(broken), /not a weightscope result file/);
    fs.writeFileSync(broken, JSON.stringify({ format: "weightscope-result", version: 99, result: { kind: "x" } }));
    assert.throws(() => load(broken), /format version 99/);
    fs.writeFileSync(broken, JSON.stringify({ format: "weightscope-result", version: 1, result: { kind: "train", info: {} } }));
    assert.throws(() => load(broken), /damaged train result/);
    assert.throws(() => save({} as never, path.join(dir, "x.json")), /expected a weightscope result/);
    assert.throws(() => save(new SavedResult("c", {}), path.join(dir, "missing-folder", "x.json")), /does not exist/);
  });

  it("an interrupted write leaves the old file intact", () => {
    const file = path.join(dir, "atomic.txt");
    writeFileAtomic(file, "old");
    const content = { toString: () => "never" } as unknown as Uint8Array; // writeSync throws on a non-buffer
    assert.throws(() => writeFileAtomic(file, content));
    assert.equal(fs.readFileSync(file, "utf8"), "old");
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes("atomic")), ["atomic.txt"]);
  });
});
