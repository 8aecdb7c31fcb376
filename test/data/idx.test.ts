import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { parseIdx, readIdx, encodeIdx } from "../../src/data/idx";

describe("IDX reader", () => {
  it("round-trips ubyte and float arrays, plain and gzipped", () => {
    const u = encodeIdx([2, 3], [0, 1, 2, 253, 254, 255]);
    assert.deepEqual(parseIdx(u), { shape: [2, 3], values: Uint8Array.from([0, 1, 2, 253, 254, 255]) });
    const f = encodeIdx([3], [0.5, -2, 1e-3], "float");
    const back = parseIdx(zlib.gzipSync(f));
    assert.deepEqual(back.shape, [3]);
    assert.deepEqual(Array.from(back.values), [0.5, -2, Math.fround(1e-3)]);
  });

  it("reads big-endian header fields exactly (MNIST label file magic 0x00000801)", () => {
    const bytes = Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 2, 7, 9]);
    assert.deepEqual(parseIdx(bytes), { shape: [2], values: Uint8Array.from([7, 9]) });
  });

  it("clear errors for damaged files", () => {
    assert.throws(() => parseIdx(Uint8Array.from([1, 2]), "f"), /not an IDX file \(only 2 bytes\)/);
    assert.throws(() => parseIdx(Uint8Array.from([7, 0, 8, 1, 0, 0, 0, 1, 5]), "f"), /magic bytes 7, 0/);
    assert.throws(() => parseIdx(Uint8Array.from([0, 0, 0x42, 1, 0, 0, 0, 1, 5]), "f"), /unknown IDX element type 0x42/);
    assert.throws(() => parseIdx(Uint8Array.from([0, 0, 8, 2, 0, 0]), "f"), /truncated IDX header/);
    const truncated = encodeIdx([4, 4], new Array(16).fill(1)).slice(0, 20);
    assert.throws(() => parseIdx(truncated, "data.idx"), /data\.idx: IDX header declares \[4, 4\] ubyte values \(28 bytes\) but the file has 20 bytes \(truncated\)/);
    assert.throws(() => parseIdx(Uint8Array.from([0x1f, 0x8b, 1, 2, 3]), "z.gz"), /z\.gz: corrupt gzip stream/);
    assert.throws(() => readIdx(path.join(os.tmpdir(), "does-not-exist.idx")), /IDX file not found/);
  });

  it("reads a file from disk", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ws-idx-")), "a.idx");
    fs.writeFileSync(file, encodeIdx([1, 2], [3, 4]));
    assert.deepEqual(Array.from(readIdx(file).values), [3, 4]);
  });
});
