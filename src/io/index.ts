/**
 * ws.save / ws.load for results and training runs: one JSON file per result, written atomically (temporary
 * file in the same folder, fsync, rename) so a crash never leaves a half-written file. Non-finite numbers
 * (NaN for undefined entries, Infinity for essential classes) survive the round trip.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Result } from "../display/result";
import { Table } from "../display/table";
import type { Figure } from "../display/figure";
import { TrainRun } from "../train/run";
import { FileFormatError, InputError, MemoryError, WeightscopeError } from "../errors";

const FORMAT = "weightscope-result";
const VERSION = 1;

type Reviver = (json: Record<string, unknown>) => Result;
const revivers = new Map<string, Reviver>([["train", (json) => TrainRun.fromJSON(json)]]);

/** Lets a result kind come back as its own class from ws.load (probes register their fromJSON). */
export function registerResult(kind: string, revive: Reviver): void {
  revivers.set(kind, revive);
}

function encodeNumbers(_key: string, value: unknown): unknown {
  if (typeof value === "number" && !Number.isFinite(value)) return { $number: String(value) };
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number>);
  return value;
}

function decodeNumbers(_key: string, value: unknown): unknown {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "$number") {
      const text = (value as { $number: unknown }).$number;
      if (text === "NaN" || text === "Infinity" || text === "-Infinity") return Number(text);
    }
  }
  return value;
}

type Content = string | Uint8Array | Iterable<Uint8Array>;

/** Temporary files of an atomic write: `.<name>.<pid>.<time>.tmp` beside the target. */
const TEMP_NAME = /^\.(.+)\.(\d+)\.\d+\.tmp$/;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Deletes temporary files that a killed process left beside `file` (its own and other live processes' are kept). */
function removeStaleTemps(file: string): void {
  const dir = path.dirname(file);
  for (const name of fs.readdirSync(dir)) {
    const match = TEMP_NAME.exec(name);
    if (match && match[1] === path.basename(file) && !isRunning(Number(match[2]))) fs.rmSync(path.join(dir, name), { force: true });
  }
}

/** Checks a target path before anything is written: a non-empty file name in an existing folder, not a folder itself. */
function checkTarget(file: string, where: string): string {
  if (typeof file !== "string" || file.trim() === "") throw new InputError("invalid-option", `${where}: the file name is empty`, "file");
  if (/[\\/]$/.test(file)) throw new InputError("invalid-option", `${where}: ${file} names a folder; give a file name`, "file");
  const resolved = path.resolve(file);
  const dir = path.dirname(resolved);
  if (!fs.existsSync(dir)) throw new FileFormatError("file-not-found", `${where}: cannot save to ${file}: folder ${dir} does not exist`, file);
  if (fs.existsSync(resolved) && fs.statSync(resolved).isDirectory()) throw new InputError("invalid-option", `${where}: ${file} is a folder; give a file name`, "file");
  return resolved;
}

/**
 * Writes several files so that each is either the old one or the complete new one: every file goes to a
 * temporary file first (fsynced), and only when all are complete are they renamed into place, in order. A failure
 * before the renames leaves the old files untouched and removes the temporary ones.
 */
export function writeFilesAtomic(files: readonly { file: string; content: Content }[], where = "save"): void {
  const targets = files.map(({ file }) => checkTarget(file, where));
  targets.forEach(removeStaleTemps);
  const temps: string[] = [];
  try {
    files.forEach(({ content }, k) => {
      const temp = path.join(path.dirname(targets[k]), `.${path.basename(targets[k])}.${process.pid}.${Date.now()}.tmp`);
      temps.push(temp);
      const chunks = typeof content === "string" ? [Buffer.from(content, "utf8")] : content instanceof Uint8Array ? [content] : content;
      const fd = fs.openSync(temp, "w");
      try {
        for (const chunk of chunks) {
          for (let done = 0; done < chunk.length; ) done += fs.writeSync(fd, chunk, done, chunk.length - done);
        }
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    });
    temps.forEach((temp, k) => fs.renameSync(temp, targets[k]));
  } catch (err) {
    for (const temp of temps) fs.rmSync(temp, { force: true });
    if (err instanceof WeightscopeError) throw err;
    throw new FileFormatError("file-write", `${where}: writing ${files.map((f) => f.file).join(" and ")} failed (${(err as Error).message}); the old files are unchanged`, files[0]?.file);
  }
}

/**
 * Writes text, bytes or a sequence of byte chunks (streamed, e.g. one tensor at a time) to `file` atomically:
 * the file is either the old one or the complete new one.
 */
export function writeFileAtomic(file: string, content: Content, where = "save"): void {
  writeFilesAtomic([{ file, content }], where);
}

/** Saves a result (any probe's, or a training run) as JSON. Returns the path written. */
export function save(result: Result, file: string): string {
  if (!(result instanceof Result)) throw new InputError("invalid-data", "ws.save: expected a weightscope result (the object a probe or ws.train returned)", "result");
  checkTarget(file, "ws.save");
  let body: string;
  try {
    body = JSON.stringify({ format: FORMAT, version: VERSION, savedAt: new Date().toISOString(), result: result.toJSON() }, encodeNumbers);
  } catch (err) {
    // V8 strings hold at most about 512 MB: a long weight trajectory can exceed that as JSON text.
    if (err instanceof RangeError) throw new MemoryError(`ws.save: this ${result.kind} result is too large for one JSON file (over V8's 512 MB string limit); record fewer layers or snapshots (record: { layers, every }) and save again`, NaN, 2 ** 29);
    throw err;
  }
  writeFileAtomic(file, body, "ws.save");
  return file;
}

/** A saved result whose kind has no registered class: its data, a table of its scalar fields, no figures. */
export class SavedResult extends Result {
  constructor(
    readonly kind: string,
    private readonly fields: Record<string, unknown>,
  ) {
    super();
  }
  summary(): string {
    return `saved ${this.kind} result with fields ${Object.keys(this.fields).join(", ")}`;
  }
  figures(): Figure[] {
    return [];
  }
  table(): Table {
    const scalars = Object.entries(this.fields).filter(([, v]) => typeof v === "number" || typeof v === "string" || typeof v === "boolean");
    return Table.fromRecords(scalars.map(([field, value]) => ({ field, value: value as number | string | boolean })));
  }
  protected data(): Record<string, unknown> {
    return this.fields;
  }
}

/**
 * The class ws.load returns for each saved kind that has its own loader: `ws.load(file, "train")` is typed TrainRun.
 * Other kinds come back as SavedResult.
 */
export interface SavedKinds {
  train: TrainRun;
}

/**
 * Loads a result saved by ws.save; a missing, truncated or foreign file is a clear error. With `kind` the file must
 * hold a result of that kind (checked), and the value is typed as its class.
 */
export function load<K extends keyof SavedKinds>(file: string, kind: K): SavedKinds[K];
export function load(file: string, kind?: string): Result;
export function load(file: string, kind?: string): Result {
  if (kind !== undefined && typeof kind !== "string") throw new Error(`ws.load: kind must be a result kind such as "train", got ${typeof kind}`);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FileFormatError(code === "ENOENT" ? "file-not-found" : "file-format", code === "ENOENT" ? `ws.load: file not found: ${file}` : `ws.load: cannot read ${file}: ${(err as Error).message}`, file);
  }
  let parsed: { format?: unknown; version?: unknown; result?: unknown };
  try {
    parsed = JSON.parse(text, decodeNumbers) as typeof parsed;
  } catch (err) {
    throw new FileFormatError("file-format", `ws.load: ${file} is damaged or not a weightscope result (invalid JSON: ${(err as Error).message})`, file);
  }
  if (!parsed || parsed.format !== FORMAT) throw new FileFormatError("file-format", `ws.load: ${file} is not a weightscope result file (no "format": "${FORMAT}")`, file);
  if (parsed.version !== VERSION) throw new FileFormatError("file-format", `ws.load: ${file} has format version ${String(parsed.version)}; this weightscope reads version ${VERSION}`, file);
  const result = parsed.result as Record<string, unknown> | undefined;
  if (!result || typeof result.kind !== "string") throw new FileFormatError("file-format", `ws.load: ${file} holds no result (missing "kind")`, file);
  const { kind: saved, ...fields } = result;
  if (kind !== undefined && saved !== kind) throw new InputError("invalid-option", `ws.load: ${file} holds a "${saved}" result, not "${kind}"`, "kind");
  const revive = revivers.get(saved);
  if (!revive) return new SavedResult(saved, fields);
  try {
    return revive(result);
  } catch (err) {
    throw new FileFormatError("file-format", `ws.load: ${file} holds a damaged ${saved} result: ${(err as Error).message}`, file);
  }
}
