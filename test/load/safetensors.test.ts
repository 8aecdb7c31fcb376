import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { useTestBackend } from "../helpers";
import { mlp } from "../../src/model";
import { encodeSafetensors, readSafetensors, readSafetensorsHeader, writeSafetensors, loadSafetensors, saveSafetensors, inspectSafetensors } from "../../src/load";

before(useTestBackend);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-st-"));

/** A file from a header (object or raw text), data bytes, and optionally a forged header length. */
function craft(header: unknown, data: Uint8Array = new Uint8Array(0), headerLength?: bigint): Uint8Array {
  const text = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

const f32 = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);

test("encode -> read returns the same names, shapes, bit patterns and metadata; the header is 8-byte aligned", async () => {
  const a = Float32Array.from([1.5, -0, NaN, 3e-45, -Infinity, 7]);
  const bytes = encodeSafetensors([{ name: "a", shape: [2, 3], values: a }, { name: "b.c", shape: [], values: new Float32Array([2]) }, { name: "n", shape: [1], values: new BigInt64Array([5n]) }], { note: "x" });
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(headerLength % 8, 0);
  const header = await readSafetensorsHeader(bytes);
  assert.deepEqual(header.entries.map((e) => [e.name, e.dtype, e.shape]), [["a", "F32", [2, 3]], ["b.c", "F32", []], ["n", "I64", [1]]]);
  const content = await readSafetensors(bytes, { only: ["a", "b.c"] });
  assert.deepEqual(Array.from(new Uint32Array((content.tensors.get("a") as { values: Float32Array }).values.slice().buffer)), Array.from(new Uint32Array(a.buffer)));
  assert.deepEqual(content.metadata, { note: "x" });
  await assert.rejects(readSafetensors(bytes), /tensor "n" has dtype I64; weights must be floating point/);
  await assert.rejects(readSafetensors(bytes, { only: ["zz"] }), /holds no tensor named zz/);
  // A Buffer view into a larger pool is read through a copy, not through its underlying ArrayBuffer.
  const pooled = Buffer.concat([Buffer.from([9, 9, 9]), Buffer.from(bytes)]).subarray(3);
  assert.deepEqual(Array.from((await readSafetensors(pooled, { only: ["b.c"] })).tensors.get("b.c")?.values ?? []), [2]);
});

const malformed: [string, Uint8Array, RegExp][] = [
  ["fewer than 8 bytes", new Uint8Array(5), /truncated: 5 bytes, but a safetensors file starts with an 8-byte header length/],
  ["a header length past the end", craft({}, new Uint8Array(2), 1000n), /header length 1000 points past the end of the file \(12 bytes/],
  ["an absurd header length", craft({}, new Uint8Array(0), 1n << 63n), /header length 9223372036854775808 is absurd/],
  ["bytes that are not UTF-8", (() => { const b = craft("{}  "); b[10] = 0xff; return b; })(), /not valid UTF-8/],
  ["invalid JSON", craft("{\"a\": {"), /header is not valid JSON/],
  ["a JSON array", craft("[1, 2]"), /must be a JSON object, got an array/],
  ["a duplicate tensor name", craft(`{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}`, f32([1, 2])), /names a tensor more than once: w/],
  ["an unknown dtype", craft({ w: { dtype: "Q4", shape: [1], data_offsets: [0, 4] } }, f32([1])), /tensor "w" has unknown dtype "Q4"/],
  ["a negative dimension", craft({ w: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, f32([1])), /tensor "w" has an invalid shape \[-1\]/],
  ["a fractional dimension", craft({ w: { dtype: "F32", shape: [1.5], data_offsets: [0, 4] } }, f32([1])), /invalid shape/],
  ["an absurd shape", craft({ w: { dtype: "F32", shape: [4294967296, 4294967296, 1024], data_offsets: [0, 4] } }, f32([1])), /declares shape \[4294967296, 4294967296, 1024\] \(75557863725914323419136 bytes of F32\), more than the whole data section holds \(4 bytes\)/],
  ["offsets that disagree with the shape", craft({ w: { dtype: "F32", shape: [1], data_offsets: [0, 8] } }, f32([1, 2])), /shape \[1\] of F32 \(4 bytes\) but data_offsets \[0, 8\] span 8 bytes/],
  ["reversed offsets", craft({ w: { dtype: "F32", shape: [0], data_offsets: [4, 0] } }, f32([1])), /invalid data_offsets \[4,0\]/],
  ["offsets past the end (truncated data)", craft({ w: { dtype: "F32", shape: [3], data_offsets: [0, 12] } }, f32([1, 2])), /data_offsets \[0, 12\] past the end of the data section \(8 bytes\): the file is truncated/],
  ["overlapping tensors", craft({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } }, f32([1, 2, 3])), /tensors "a" and "b" overlap/],
  ["a hole between tensors", craft({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, b: { dtype: "F32", shape: [1], data_offsets: [8, 12] } }, f32([1, 2, 3])), /bytes 4\.\.8 of the data section, after "a", belong to no tensor/],
  ["trailing bytes", craft({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, f32([1, 2])), /4 bytes after the last tensor belong to no tensor/],
  ["a tensor entry that is not an object", craft({ a: 3 }), /tensor "a" has no \{dtype, shape, data_offsets\} entry/],
  ["metadata that is not strings", craft({ __metadata__: { epoch: 3 } }), /"__metadata__" must be an object of strings/],
];

for (const [what, bytes, message] of malformed) {
  test(`a file with ${what} is a clear error, from bytes and from a path`, async () => {
    const before = tf.memory().numTensors;
    await assert.rejects(readSafetensorsHeader(bytes), message);
    const file = path.join(dir, "bad.safetensors");
    fs.writeFileSync(file, bytes);
    await assert.rejects(loadSafetensors(file), message);
    assert.equal(tf.memory().numTensors, before);
  });
}

test("a valid file cut short anywhere is refused, never read past its end", async () => {
  const model = mlp([8, 6, 3], { seed: 1 });
  const file = path.join(dir, "whole.safetensors");
  await saveSafetensors(model, file);
  const whole = fs.readFileSync(file);
  for (const cut of [0, 7, 8, 40, whole.length - 100, whole.length - 1]) {
    await assert.rejects(loadSafetensors(whole.subarray(0, cut), { into: model }), /truncated|not valid JSON/, `cut at ${cut}`);
  }
  model.dispose();
});

test("a missing file, a directory and a bad input type are clear errors", async () => {
  await assert.rejects(loadSafetensors(path.join(dir, "nope.safetensors")), /safetensors file not found: .*nope\.safetensors/);
  await assert.rejects(loadSafetensors(dir), /is not a file/);
  await assert.rejects(loadSafetensors(42 as unknown as string), /must be a file path, a Uint8Array\/Buffer or an ArrayBuffer, got number/);
  await assert.rejects(writeSafetensors(path.join(dir, "no/such/dir/x.safetensors"), []), /cannot write safetensors file/);
  assert.throws(() => encodeSafetensors([{ name: "a", shape: [1], values: new Float32Array(1) }, { name: "a", shape: [1], values: new Float32Array(1) }]), /names must be non-empty, unique/);
  assert.throws(() => encodeSafetensors([{ name: "a", shape: [2], values: new Float32Array(3) }]), /shape \[2\] \(2 values\) but 3 values/);
});

test("a file is streamed: header first, then each tensor once, through one file handle (no whole-file read)", async () => {
  const model = mlp([256, 512, 128, 10], { seed: 3 });
  const file = path.join(dir, "stream.safetensors");
  await saveSafetensors(model, file);
  const size = fs.statSync(file).size;
  const reads: [number, number][] = [];
  const open = fs.promises.open;
  const readFile = fs.promises.readFile;
  const readFileSync = fs.readFileSync;
  fs.promises.open = (async (...args: Parameters<typeof open>) => {
    const handle = await open(...args);
    const read = handle.read.bind(handle) as (b: Uint8Array, o: number, l: number, p: number) => Promise<fs.promises.FileReadResult<Uint8Array>>;
    (handle as unknown as { read: typeof read }).read = async (b, o, l, p) => {
      reads.push([p, l]);
      return read(b, o, l, p);
    };
    return handle;
  }) as typeof open;
  fs.promises.readFile = (() => { throw new Error("readFile used"); }) as typeof readFile;
  // The module object itself (the `import * as` namespace only has getters).
  const nodeFs = require("fs") as { readFileSync: unknown };
  nodeFs.readFileSync = () => { throw new Error("readFileSync used"); };
  let loaded: tf.LayersModel;
  try {
    loaded = await loadSafetensors(file, { into: model });
  } finally {
    fs.promises.open = open;
    fs.promises.readFile = readFile;
    nodeFs.readFileSync = readFileSync;
  }
  const header = await readSafetensorsHeader(file);
  assert.deepEqual(reads[0], [0, 8], "the header length first");
  assert.deepEqual(reads[1], [8, header.dataStart - 8], "then the header");
  assert.equal(reads.length, 2 + header.entries.length, "then one read per tensor");
  assert.equal(reads.reduce((a, [, l]) => a + l, 0), size, "every byte read exactly once");
  assert.equal(Math.max(...reads.map(([, l]) => l)), 256 * 512 * 4, "no read larger than the largest tensor");
  loaded.dispose();
  model.dispose();
});

test("inspectSafetensors lists tensors from the header and displays as a table and a figure", async () => {
  const model = mlp([3, 4, 2], { seed: 1 });
  const file = path.join(dir, "inspect.safetensors");
  await saveSafetensors(model, file, { metadata: { note: "hello" } });
  const info = await inspectSafetensors(file);
  assert.equal(info.parameters, 3 * 4 + 4 + 4 * 2 + 2);
  assert.match(info.summary(), /^4 tensors, 26 values \(F32\), \d+ bytes, /);
  assert.deepEqual(info.table().column("shape"), ["[4, 3]", "[4]", "[2, 4]", "[2]"]);
  assert.equal(info.figures()[0].data[0].type, "bar");
  assert.equal((info.toJSON().metadata as Record<string, string>).note, "hello");
  model.dispose();
});
