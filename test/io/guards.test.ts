/**
 * Reliability of saving and loading (issue 19): saves are atomic (also the two files of a TF.js model), a folder or
 * an empty name is refused before anything is written, a killed save's temporary file is removed by the next save,
 * trajectory spill files are deleted and a truncated one is an error, not zeros.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { save, load, writeFilesAtomic } from "../../src/io";
import { saveSafetensors, saveTfjs, loadTfjs } from "../../src/load";
import { train, Trajectory } from "../../src/train";
import { mlp } from "../../src/model";
import { blobs } from "../../src/data";
import { FileFormatError, InputError } from "../../src/errors";
import { typedError, useTestBackend } from "../helpers";

before(useTestBackend);
const made: string[] = [];
process.on("exit", () => made.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));
const fresh = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-guards-"));
  made.push(dir);
  return dir;
};
const temps = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith(".tmp"));

test("ws.save to a folder or to \"\" is refused and leaves no temporary file", async () => {
  const dir = fresh();
  const model = mlp([4, 8, 3]);
  const d = blobs({ n: 4, k: 3, dim: 4, seed: 1 });
  const run = await train(model, d, { progress: false });
  assert.throws(() => save(run, dir), typedError(InputError, "invalid-option", /is a folder/));
  assert.throws(() => save(run, `${dir}/`), typedError(InputError, "invalid-option", /names a folder/));
  assert.throws(() => save(run, ""), typedError(InputError, "invalid-option", /empty/));
  assert.throws(() => save(run, path.join(dir, "missing", "run.json")), typedError(FileFormatError, "file-not-found"));
  assert.throws(() => load(path.join(dir, "none.json")), typedError(FileFormatError, "file-not-found"));
  assert.deepEqual(temps(dir), []);
  assert.deepEqual(temps(process.cwd()), []);
  await assert.rejects(saveSafetensors(model, dir), typedError(InputError, "invalid-option"));
  assert.deepEqual(temps(dir), []);
  tf.dispose([d.x, d.y]);
});

test("a multi-file save that fails half-way leaves every old file and no temporary file", () => {
  const dir = fresh();
  const [a, b] = [path.join(dir, "weights.bin"), path.join(dir, "model.json")];
  writeFilesAtomic([{ file: a, content: "old weights" }, { file: b, content: "old json" }]);
  function* failing(): Generator<Uint8Array> {
    yield Buffer.from("new json, first half");
    throw new Error("disk full");
  }
  assert.throws(() => writeFilesAtomic([{ file: a, content: "new weights" }, { file: b, content: failing() }]), typedError(FileFormatError, "file-write", /disk full/));
  assert.deepEqual([fs.readFileSync(a, "utf8"), fs.readFileSync(b, "utf8")], ["old weights", "old json"]);
  assert.deepEqual(temps(dir), []);
});

test("save.tfjs replaces both files together: overwriting with another architecture reloads as the new model", async () => {
  const dir = fresh();
  await saveTfjs(mlp([4, 8, 3], { seed: 1 }), dir);
  const wider = mlp([4, 16, 3], { seed: 2 });
  const json = await saveTfjs(wider, dir);
  const back = await loadTfjs(json);
  assert.deepEqual(back.getWeights().map((w) => Array.from(w.dataSync())), wider.getWeights().map((w) => Array.from(w.dataSync())));
  assert.deepEqual(temps(dir), []);
  await assert.rejects(saveTfjs(wider, ""), typedError(InputError, "invalid-option"));
  back.dispose();
});

test("the temporary file of a killed save is removed by the next save of that file", async () => {
  const dir = fresh();
  const file = path.join(dir, "big.safetensors");
  // A child process saves a 64M-parameter model and is killed (SIGKILL) while its temporary file is being written.
  const script = `const ws = require(${JSON.stringify(path.resolve(__dirname, "../../src"))});
    ws.ready({ backend: "cpu" }).then(() => ws.save.safetensors(ws.mlp([8000, 8000], { init: "zeros" }), ${JSON.stringify(file)}));`;
  const child = spawn(process.execPath, ["--import", "tsx", "-e", script], { stdio: "ignore", env: { ...process.env, WEIGHTSCOPE_QUIET: "1" } });
  const started = Date.now();
  while (temps(dir).length === 0 && Date.now() - started < 60000) await new Promise((r) => setTimeout(r, 5));
  child.kill("SIGKILL");
  await new Promise((r) => child.on("exit", r));
  assert.equal(temps(dir).length, 1, "the killed save left its temporary file");
  assert.ok(!fs.existsSync(file), "and no file under the final name");
  await saveSafetensors(mlp([4, 3]), file);
  assert.deepEqual(temps(dir), [], "the next save removed it");
});

test("trajectory spill files: a truncated file is an error (not zeros), dispose deletes the file, a disposed one is named", () => {
  const dir = fresh();
  const traj = new Trajectory({ dense0: [2, 2] }, { maxMemoryMB: 0, spillDir: dir });
  traj.push(0, { dense0: Float32Array.from([1, 2, 3, 4]) });
  traj.push(1, { dense0: Float32Array.from([5, 6, 7, 8]) });
  assert.deepEqual(Array.from(traj.snapshot("dense0", 1)), [5, 6, 7, 8]);
  const [spill] = fs.readdirSync(dir);
  fs.truncateSync(path.join(dir, spill), 20);
  assert.throws(() => traj.snapshot("dense0", 1), typedError(FileFormatError, "file-format", /truncated/));
  traj.dispose();
  assert.deepEqual(fs.readdirSync(dir), [], "dispose deleted the spill file");
  assert.throws(() => traj.snapshot("dense0", 0), typedError(FileFormatError, "file-not-found", /disposed/));
});

test("spill files left by a process are deleted when it exits", async () => {
  const dir = fresh();
  const script = `const { Trajectory } = require(${JSON.stringify(path.resolve(__dirname, "../../src/train"))});
    const t = new Trajectory({ a: [2] }, { maxMemoryMB: 0, spillDir: ${JSON.stringify(dir)} });
    t.push(0, { a: Float32Array.from([1, 2]) });
    if (require("fs").readdirSync(${JSON.stringify(dir)}).length !== 1) process.exit(3);`;
  const code = await new Promise((resolve) => spawn(process.execPath, ["--import", "tsx", "-e", script], { stdio: "inherit" }).on("exit", resolve));
  assert.equal(code, 0, "the child wrote its spill file");
  assert.deepEqual(fs.readdirSync(dir), [], "and it was deleted at exit");
});
