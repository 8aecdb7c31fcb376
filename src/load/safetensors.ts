/**
 * The safetensors format: an 8-byte little-endian header length N, N bytes of JSON
 * ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}), then the raw
 * little-endian tensor bytes, which the offsets (relative to the end of the header) must cover exactly.
 * Files are read through a file handle: the header first, then one tensor at a time, so a 2 GB file is
 * never held twice; every offset is checked against the file size before anything is read.
 */
import { writeFileAtomic } from "../io";
import * as fs from "fs";
import { FileFormatError } from "../errors";

export type SafetensorsDtype =
  | "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U64" | "U32" | "U16" | "U8" | "BOOL" | "F8_E4M3" | "F8_E5M2";

const ITEM_BYTES: Record<SafetensorsDtype, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1,
};
const FLOAT_DTYPES: ReadonlySet<SafetensorsDtype> = new Set<SafetensorsDtype>(["F64", "F32", "F16", "BF16"]);

/** The largest header accepted (the reference implementation's limit): a longer one is corrupt, not a model. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Number of elements. */
  size: number;
  /** Byte range inside the data section (after the header). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Tensors in header order. */
  entries: TensorEntry[];
  metadata: Record<string, string>;
  /** Byte position of the data section in the file (8 + header length). */
  dataStart: number;
  fileSize: number;
}

/** Where the bytes come from: a file read by position through a handle, or bytes already in memory. */
export interface ByteSource {
  readonly label: string;
  readonly size: number;
  /** Exactly `length` bytes from `offset` in a fresh buffer (never a view of a shared one). */
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export type SafetensorsInput = string | Uint8Array | ArrayBuffer;

const MAX_READ_BYTES = 1 << 30;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Opens a path (streamed through a file handle) or wraps bytes; throws a clear error for a missing file. */
export async function openSource(input: SafetensorsInput): Promise<ByteSource> {
  if (!LITTLE_ENDIAN_HOST) throw new Error("weightscope reads safetensors (little-endian) on little-endian hosts only");
  if (typeof input === "string") return openFile(input);
  if (input instanceof ArrayBuffer) return memorySource(new Uint8Array(input));
  if (input instanceof Uint8Array) return memorySource(input);
  throw new Error(`safetensors input must be a file path, a Uint8Array/Buffer or an ArrayBuffer, got ${describe(input)}`);
}

async function openFile(path: string): Promise<ByteSource> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(path, "r");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FileFormatError(code === "ENOENT" ? "file-not-found" : "file-format", code === "ENOENT" ? `safetensors file not found: ${path}` : `cannot open safetensors file ${path}: ${(e as Error).message}`, path);
  }
  const stat = await handle.stat();
  if (!stat.isFile()) {
    await handle.close();
    throw new Error(`${path} is not a file`);
  }
  const source: ByteSource = {
    label: path,
    size: stat.size,
    async read(offset, length) {
      checkRange(source, offset, length);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        // fs reads take at most 2 GiB - 1 bytes at a time: a larger tensor is read in 1 GiB pieces.
        const { bytesRead } = await handle.read(out, done, Math.min(length - done, MAX_READ_BYTES), offset + done);
        if (bytesRead === 0) throw new Error(`${path}: file ended at byte ${offset + done} while reading ${length} bytes from ${offset} (was it truncated while being read?)`);
        done += bytesRead;
      }
      return out;
    },
    close: () => handle.close(),
  };
  return source;
}

function memorySource(bytes: Uint8Array): ByteSource {
  const source: ByteSource = {
    label: `<${bytes.length} bytes>`,
    size: bytes.length,
    async read(offset, length) {
      checkRange(source, offset, length);
      // A copy, not Buffer#slice (which returns a view of the caller's memory).
      const out = new Uint8Array(length);
      out.set(bytes.subarray(offset, offset + length));
      return out;
    },
    close: async () => undefined,
  };
  return source;
}

function checkRange(source: ByteSource, offset: number, length: number): void {
  if (!(offset >= 0 && length >= 0 && offset + length <= source.size)) {
    throw new Error(`${source.label}: read of ${length} bytes at ${offset} is outside the file (${source.size} bytes)`);
  }
}

/** Reads and validates the header: lengths, JSON, duplicate names, dtypes, shapes and offsets. */
export async function readHeader(source: ByteSource): Promise<SafetensorsHeader> {
  const where = source.label;
  if (source.size < 8) throw new Error(`${where} is truncated: ${source.size} bytes, but a safetensors file starts with an 8-byte header length`);
  const lengthBytes = await source.read(0, 8);
  const headerLength = new DataView(lengthBytes.buffer).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw new Error(`${where} is not a safetensors file: its header length ${headerLength} is absurd (the limit is ${MAX_HEADER_BYTES} bytes)`);
  }
  const n = Number(headerLength);
  if (8 + n > source.size) {
    throw new Error(`${where} is truncated or corrupt: the header length ${n} points past the end of the file (${source.size} bytes, so at most ${source.size - 8} header bytes)`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(await source.read(8, n));
  } catch (e) {
    throw new Error(`${where}: the safetensors header is not valid UTF-8 (${(e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: the safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new Error(`${where}: the safetensors header must be a JSON object, got ${describe(json)}`);
  const duplicates = repeated(topLevelKeys(text));
  if (duplicates.length > 0) throw new Error(`${where}: the safetensors header names a tensor more than once: ${duplicates.join(", ")}`);

  const dataSize = source.size - 8 - n;
  const entries: TensorEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = metadataOf(value, where);
      continue;
    }
    entries.push(entryOf(name, value, dataSize, where));
  }
  checkCoverage(entries, dataSize, where);
  return { entries, metadata, dataStart: 8 + n, fileSize: source.size };
}

function metadataOf(value: unknown, where: string): Record<string, string> {
  if (value === null || typeof value !== "object" || Array.isArray(value) || Object.values(value).some((v) => typeof v !== "string")) {
    throw new Error(`${where}: "__metadata__" must be an object of strings, got ${JSON.stringify(value).slice(0, 200)}`);
  }
  return value as Record<string, string>;
}

function entryOf(name: string, value: unknown, dataSize: number, where: string): TensorEntry {
  const bad = (what: string) => new Error(`${where}: tensor "${name}" ${what}`);
  if (value === null || typeof value !== "object") throw bad(`has no {dtype, shape, data_offsets} entry (got ${describe(value)})`);
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== "string" || !(dtype in ITEM_BYTES)) throw bad(`has unknown dtype ${JSON.stringify(dtype)}; known: ${Object.keys(ITEM_BYTES).join(", ")}`);
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)) {
    throw bad(`has an invalid shape ${JSON.stringify(shape)}: dimensions must be non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o) || (o as number) < 0) || (offsets[0] as number) > (offsets[1] as number)) {
    throw bad(`has invalid data_offsets ${JSON.stringify(offsets)}: expected [begin, end] with 0 <= begin <= end`);
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataSize) throw bad(`has data_offsets [${begin}, ${end}] past the end of the data section (${dataSize} bytes): the file is truncated or corrupt`);
  const dims = shape as number[];
  const itemBytes = ITEM_BYTES[dtype as SafetensorsDtype];
  // Compared in BigInt so absurd shapes are reported, not overflowed.
  const bytes = dims.reduce((a, d) => a * BigInt(d), BigInt(itemBytes));
  if (bytes > BigInt(dataSize)) {
    throw bad(`declares shape [${dims.join(", ")}] (${bytes} bytes of ${dtype}), more than the whole data section holds (${dataSize} bytes): the shape is absurd or the file truncated`);
  }
  if (BigInt(end - begin) !== bytes) throw bad(`has shape [${dims.join(", ")}] of ${dtype} (${bytes} bytes) but data_offsets [${begin}, ${end}] span ${end - begin} bytes`);
  return { name, dtype: dtype as SafetensorsDtype, shape: dims, size: Number(bytes) / itemBytes, begin, end };
}

/** The data section must be covered exactly: no overlapping tensors, no holes, no trailing bytes. */
function checkCoverage(entries: TensorEntry[], dataSize: number, where: string): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let position = 0;
  let previous = "the header";
  for (const e of sorted) {
    if (e.begin < position) throw new Error(`${where}: tensors "${previous}" and "${e.name}" overlap (bytes ${e.begin}..${position})`);
    if (e.begin > position) throw new Error(`${where}: bytes ${position}..${e.begin} of the data section, after ${previous === "the header" ? previous : `"${previous}"`}, belong to no tensor`);
    position = e.end;
    previous = e.name;
  }
  if (position !== dataSize) throw new Error(`${where}: ${dataSize - position} bytes after the last tensor belong to no tensor (data section ${dataSize} bytes, tensors end at ${position})`);
}

/** Keys of the outermost JSON object, duplicates kept (JSON.parse silently keeps only the last). */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === "\\") i++;
      if (depth === 1) {
        let j = i + 1;
        while (j < text.length && /\s/.test(text[j])) j++;
        if (text[j] === ":") keys.push(JSON.parse(text.slice(start, i + 1)) as string);
      }
    } else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
  }
  return keys;
}

function repeated(names: string[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const n of names) (seen.has(n) ? twice : seen).add(n);
  return [...twice];
}

/** Reads one floating-point tensor and converts it to float32 (F64 values outside float32's range become +-Infinity). */
export async function readFloat32(source: ByteSource, header: SafetensorsHeader, entry: TensorEntry): Promise<Float32Array> {
  if (!FLOAT_DTYPES.has(entry.dtype)) {
    throw new Error(`${source.label}: tensor "${entry.name}" has dtype ${entry.dtype}; weights must be floating point (F32, F16, BF16 or F64)`);
  }
  const bytes = await source.read(header.dataStart + entry.begin, entry.end - entry.begin);
  return toFloat32(entry.dtype, bytes.buffer, entry.size);
}

function toFloat32(dtype: SafetensorsDtype, buffer: ArrayBuffer, size: number): Float32Array {
  switch (dtype) {
    case "F32": return new Float32Array(buffer, 0, size);
    case "F64": return Float32Array.from(new Float64Array(buffer, 0, size));
    case "BF16": {
      // bfloat16 is the upper half of a float32.
      const halves = new Uint16Array(buffer, 0, size);
      const words = new Uint32Array(size);
      for (let i = 0; i < size; i++) words[i] = halves[i] << 16;
      return new Float32Array(words.buffer);
    }
    case "F16": {
      const table = halfTable();
      const halves = new Uint16Array(buffer, 0, size);
      const out = new Float32Array(size);
      for (let i = 0; i < size; i++) out[i] = table[halves[i]];
      return out;
    }
    default: throw new Error(`no float32 conversion for ${dtype}`);
  }
}

let halfValues: Float32Array | null = null;

/** All 65536 IEEE half-precision values as float32 (exact: every half is a float32). */
function halfTable(): Float32Array {
  if (halfValues) return halfValues;
  halfValues = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    halfValues[h] = exponent === 0 ? sign * fraction * 2 ** -24
      : exponent === 31 ? (fraction === 0 ? sign * Infinity : NaN)
      : sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
  }
  return halfValues;
}

export interface NamedArray {
  name: string;
  shape: number[];
  /** Float32 weights, or BigInt64 for integer bookkeeping tensors such as BatchNorm's num_batches_tracked. */
  values: Float32Array | BigInt64Array;
}

/** Tensors with their float32 values as plain arrays (no TF.js tensors), and the header's metadata. */
export interface SafetensorsContent {
  tensors: Map<string, { dtype: SafetensorsDtype; shape: number[]; values: Float32Array }>;
  metadata: Record<string, string>;
}

/** Reads every tensor (or those named in `only`) of a safetensors file or buffer as float32. */
export async function readSafetensors(input: SafetensorsInput, options: { only?: string[] } = {}): Promise<SafetensorsContent> {
  const source = await openSource(input);
  try {
    const header = await readHeader(source);
    const byName = new Map(header.entries.map((e) => [e.name, e] as const));
    const missing = (options.only ?? []).filter((n) => !byName.has(n));
    if (missing.length > 0) throw new Error(`${source.label} holds no tensor named ${missing.join(", ")}; it holds ${[...byName.keys()].join(", ")}`);
    const tensors: SafetensorsContent["tensors"] = new Map();
    for (const entry of header.entries) {
      if (options.only && !options.only.includes(entry.name)) continue;
      tensors.set(entry.name, { dtype: entry.dtype, shape: entry.shape, values: await readFloat32(source, header, entry) });
    }
    return { tensors, metadata: header.metadata };
  } finally {
    await source.close();
  }
}

/** The header of a safetensors file or buffer (names, dtypes, shapes, offsets; no tensor data is read). */
export async function readSafetensorsHeader(input: SafetensorsInput): Promise<SafetensorsHeader> {
  const source = await openSource(input);
  try {
    return await readHeader(source);
  } finally {
    await source.close();
  }
}

/** The header bytes (padded with spaces to a multiple of 8, as the reference writer does) and the data layout. */
function layout(tensors: readonly NamedArray[], metadata: Record<string, string>): { head: Uint8Array; dataSize: number } {
  const names = new Set<string>();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    if (t.name === "" || t.name === "__metadata__" || names.has(t.name)) throw new Error(`cannot write tensor name ${JSON.stringify(t.name)}: names must be non-empty, unique and not "__metadata__"`);
    names.add(t.name);
    const size = t.shape.reduce((a, d) => a * d, 1);
    if (size !== t.values.length) throw new Error(`tensor "${t.name}" has shape [${t.shape.join(", ")}] (${size} values) but ${t.values.length} values`);
    const dtype = t.values instanceof Float32Array ? "F32" : "I64";
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + t.values.byteLength] };
    offset += t.values.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const head = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  return { head, dataSize: offset };
}

function bytesOf(values: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** The safetensors bytes of `tensors` (F32, or I64 for BigInt64Array values) in memory. */
export function encodeSafetensors(tensors: readonly NamedArray[], metadata: Record<string, string> = {}): Uint8Array {
  const { head, dataSize } = layout(tensors, metadata);
  const out = new Uint8Array(head.length + dataSize);
  out.set(head, 0);
  let offset = head.length;
  for (const t of tensors) {
    out.set(bytesOf(t.values), offset);
    offset += t.values.byteLength;
  }
  return out;
}

/**
 * Writes `tensors` to `path`, one tensor at a time, atomically (ws.save's writer: temporary file, fsync, rename),
 * so a failure never leaves a half-written file under the final name.
 */
export async function writeSafetensors(path: string, tensors: readonly NamedArray[], metadata: Record<string, string> = {}): Promise<void> {
  if (!LITTLE_ENDIAN_HOST) throw new Error("weightscope writes safetensors (little-endian) on little-endian hosts only");
  const { head } = layout(tensors, metadata);
  function* chunks(): Generator<Uint8Array> {
    yield head;
    for (const t of tensors) yield bytesOf(t.values);
  }
  writeFileAtomic(path, chunks(), `cannot write safetensors file ${path}`);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v;
}
