/**
 * IDX reader (the MNIST file format): big-endian header with a type code and dimensions, then raw values.
 * Gzipped files are detected by their magic bytes. Every malformed file is a clear error naming the file.
 */
import * as fs from "node:fs";
import * as zlib from "node:zlib";
import { FileFormatError } from "../errors";

export interface IdxArray {
  /** Dimensions from the header, e.g. [60000, 28, 28]. */
  shape: number[];
  /** The values, in the file's element type. */
  values: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const ELEMENT_TYPES: Record<number, { name: string; size: number; read: (view: DataView, offset: number) => number; make: (n: number) => IdxArray["values"] }> = {
  0x08: { name: "ubyte", size: 1, read: (v, o) => v.getUint8(o), make: (n) => new Uint8Array(n) },
  0x09: { name: "byte", size: 1, read: (v, o) => v.getInt8(o), make: (n) => new Int8Array(n) },
  0x0b: { name: "short", size: 2, read: (v, o) => v.getInt16(o, false), make: (n) => new Int16Array(n) },
  0x0c: { name: "int", size: 4, read: (v, o) => v.getInt32(o, false), make: (n) => new Int32Array(n) },
  0x0d: { name: "float", size: 4, read: (v, o) => v.getFloat32(o, false), make: (n) => new Float32Array(n) },
  0x0e: { name: "double", size: 8, read: (v, o) => v.getFloat64(o, false), make: (n) => new Float64Array(n) },
};

/** Parses IDX bytes (plain or gzip). `source` names the file in error messages. */
export function parseIdx(bytes: Uint8Array, source = "IDX data"): IdxArray {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = zlib.gunzipSync(bytes);
    } catch (err) {
      throw new Error(`${source}: corrupt gzip stream (${(err as Error).message})`);
    }
  }
  if (bytes.length < 4) throw new Error(`${source}: not an IDX file (only ${bytes.length} bytes)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new Error(`${source}: not an IDX file (magic bytes ${bytes[0]}, ${bytes[1]} instead of 0, 0)`);
  const type = ELEMENT_TYPES[bytes[2]];
  if (!type) throw new Error(`${source}: unknown IDX element type 0x${bytes[2].toString(16)}`);
  const rank = bytes[3];
  if (rank === 0) throw new Error(`${source}: IDX header declares zero dimensions`);
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) throw new Error(`${source}: truncated IDX header (${bytes.length} bytes, need ${headerBytes})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let d = 0; d < rank; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = headerBytes + count * type.size;
  if (bytes.length !== expected) {
    throw new Error(`${source}: IDX header declares [${shape.join(", ")}] ${type.name} values (${expected} bytes) but the file has ${bytes.length} bytes${bytes.length < expected ? " (truncated)" : ""}`);
  }
  const values = type.make(count);
  if (type.size === 1) {
    values.set(bytes.subarray(headerBytes, expected) as unknown as ArrayLike<number>);
  } else {
    for (let i = 0; i < count; i++) values[i] = type.read(view, headerBytes + i * type.size);
  }
  return { shape, values };
}

/** Reads an IDX file (plain or .gz) from disk. */
export function readIdx(path: string): IdxArray {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FileFormatError(code === "ENOENT" ? "file-not-found" : "file-format", code === "ENOENT" ? `IDX file not found: ${path}` : `cannot read IDX file ${path}: ${(err as Error).message}`, path);
  }
  return parseIdx(bytes, path);
}

/** Encodes an array as IDX bytes (used to write test fixtures and user exports). */
export function encodeIdx(shape: number[], values: ArrayLike<number>, type: "ubyte" | "float" = "ubyte"): Uint8Array {
  const code = type === "ubyte" ? 0x08 : 0x0d;
  const size = ELEMENT_TYPES[code].size;
  const count = shape.reduce((a, b) => a * b, 1);
  if (values.length !== count) throw new Error(`encodeIdx: shape [${shape.join(", ")}] needs ${count} values, got ${values.length}`);
  const out = new Uint8Array(4 + 4 * shape.length + count * size);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const start = 4 + 4 * shape.length;
  for (let i = 0; i < count; i++) {
    if (type === "ubyte") out[start + i] = values[i];
    else view.setFloat32(start + i * 4, values[i], false);
  }
  return out;
}
