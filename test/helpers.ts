/**
 * Shared test helpers: leak checks, tolerant comparison of numbers and nested arrays, and the test backend.
 * Keep this file small and stable; every test folder imports it.
 */
import * as tf from "@tensorflow/tfjs";
import { ready, type BackendInfo, type BackendName } from "../src/backend";

function checkTensorCount(before: number, what: string): void {
  const after = tf.memory().numTensors;
  if (after !== before) throw new Error(`${what} leaked tensors: ${before} before, ${after} after (${after - before > 0 ? "+" : ""}${after - before})`);
}

/**
 * Runs fn and throws unless tf.memory().numTensors is the same afterwards; returns fn's value
 * (awaited when fn is async). fn must dispose what it creates and return plain values, not tensors.
 */
export function assertNoLeak<T>(fn: () => Promise<T>, what?: string): Promise<T>;
export function assertNoLeak<T>(fn: () => T, what?: string): T;
export function assertNoLeak<T>(fn: () => T | Promise<T>, what = "call"): T | Promise<T> {
  const before = tf.memory().numTensors;
  const value = fn();
  if (value instanceof Promise) {
    return value.then((v) => {
      checkTensorCount(before, what);
      return v;
    });
  }
  checkTensorCount(before, what);
  return value;
}

export interface CloseOptions {
  /** Relative tolerance: |a - e| <= atol + rtol * |e|. Default 1e-6 (float32 arithmetic). */
  rtol?: number;
  /** Absolute tolerance. Default 0. */
  atol?: number;
  /** What is compared, for the message, e.g. "Hessian-vector product". */
  what?: string;
}

type Numeric = number | ArrayLike<unknown> | tf.Tensor;

/**
 * Asserts that actual matches expected elementwise within atol + rtol*|expected|. Accepts numbers, (nested)
 * arrays, typed arrays and tensors (read with arraySync). NaN matches NaN and an infinity matches the same
 * infinity, so tests can state where a NaN is the documented answer. The message names the first bad index.
 */
export function assertClose(actual: Numeric, expected: Numeric, options: CloseOptions = {}): void {
  const { rtol = 1e-6, atol = 0, what = "value" } = options;
  const failures: string[] = [];
  let worst = 0;
  let count = 0;
  const walk = (a: unknown, e: unknown, path: string): void => {
    if (a instanceof tf.Tensor) a = a.arraySync();
    if (e instanceof tf.Tensor) e = e.arraySync();
    if (typeof e === "number") {
      if (typeof a !== "number") {
        failures.push(`${what}${path}: expected a number ${e}, got ${describe(a)}`);
        return;
      }
      count++;
      if (Number.isNaN(e) || Number.isNaN(a) || !Number.isFinite(e) || !Number.isFinite(a)) {
        if (!Object.is(a, e) && !(Number.isNaN(a) && Number.isNaN(e))) failures.push(`${what}${path}: ${a} vs expected ${e}`);
        return;
      }
      const err = Math.abs(a - e);
      const bound = atol + rtol * Math.abs(e);
      if (err > bound) {
        failures.push(`${what}${path}: ${a} vs expected ${e} (|diff| ${err.toExponential(3)} > ${bound.toExponential(3)})`);
        worst = Math.max(worst, err / Math.max(bound, Number.MIN_VALUE));
      }
      return;
    }
    if (!isArrayLike(e)) {
      failures.push(`${what}${path}: expected value is not a number or an array (${describe(e)})`);
      return;
    }
    if (!isArrayLike(a)) {
      failures.push(`${what}${path}: expected an array of length ${e.length}, got ${describe(a)}`);
      return;
    }
    if (a.length !== e.length) {
      failures.push(`${what}${path}: length ${a.length}, expected ${e.length}`);
      return;
    }
    for (let i = 0; i < e.length; i++) walk(a[i], e[i], `${path}[${i}]`);
  };
  walk(actual, expected, "");
  if (failures.length > 0) {
    const shown = failures.slice(0, 5).join("\n  ");
    const more = failures.length > 5 ? `\n  ... and ${failures.length - 5} more` : "";
    const ratio = worst > 0 ? ` (worst error ${worst.toPrecision(3)}x the tolerance)` : "";
    throw new Error(`${what} differs in ${failures.length} of ${count} entries (rtol ${rtol}, atol ${atol})${ratio}:\n  ${shown}${more}`);
  }
}

function isArrayLike(v: unknown): v is ArrayLike<unknown> {
  return Array.isArray(v) || ArrayBuffer.isView(v);
}

function describe(v: unknown): string {
  if (isArrayLike(v)) return `an array of length ${v.length}`;
  return `${typeof v} ${String(v)}`;
}

let testBackend: Promise<BackendInfo> | undefined;

/**
 * Selects the backend the tests run on, once per process: WEIGHTSCOPE_BACKEND when set (parity runs),
 * otherwise cpu, which is deterministic. Call it at the top of a test file: `before(useTestBackend)`.
 */
export function useTestBackend(): Promise<BackendInfo> {
  const name = (process.env.WEIGHTSCOPE_BACKEND ?? "cpu") as BackendName | "auto";
  testBackend ??= ready({ backend: name });
  return testBackend;
}

/** Rounds every number to `digits` significant digits, so snapshots do not depend on the last float bits. */
function roundDeep(value: unknown, digits: number): unknown {
  if (typeof value === "number") return Number.isFinite(value) ? Number(value.toPrecision(digits)) : String(value);
  if (Array.isArray(value)) return value.map((v) => roundDeep(v, digits));
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>, (v) => roundDeep(v, digits));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, roundDeep(v, digits)]));
  return value;
}

/**
 * Compares a JSON value (a figure, a table) with the stored snapshot test/__snapshots__/<name>.json, numbers
 * rounded to 6 significant digits. UPDATE_SNAPSHOTS=1 rewrites it; a missing snapshot is a failure.
 */
export function assertSnapshot(name: string, value: unknown): void {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const fs = require("node:fs") as typeof import("node:fs");
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const path = require("node:path") as typeof import("node:path");
  const file = path.join(__dirname, "__snapshots__", `${name}.json`);
  const actual = JSON.stringify(roundDeep(value, 6), null, 1) + "\n";
  if (process.env.UPDATE_SNAPSHOTS === "1") {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, actual);
    return;
  }
  if (!fs.existsSync(file)) throw new Error(`snapshot ${name} is missing: run the test with UPDATE_SNAPSHOTS=1 and review the file`);
  const expected = fs.readFileSync(file, "utf8");
  if (actual !== expected) {
    const a = actual.split("\n");
    const e = expected.split("\n");
    const line = a.findIndex((l, i) => l !== e[i]);
    throw new Error(`snapshot ${name} differs at line ${line + 1}:\n  expected: ${e[line]}\n  actual:   ${a[line]}\n(UPDATE_SNAPSHOTS=1 rewrites it after review)`);
  }
}

/**
 * A predicate for assert.throws / assert.rejects: the error is a `kind` (a ws.errors class) with this `code`.
 * Tests match kinds and codes, not sentences; a wrong error is rethrown so its message shows.
 */
export function typedError(kind: abstract new (...args: never[]) => Error & { code: string }, code: string, message?: RegExp): (error: unknown) => true {
  return (error: unknown) => {
    if (!(error instanceof kind) || error.code !== code || (message && !message.test(error.message))) {
      throw new Error(`expected a ${kind.name} with code "${code}"${message ? ` matching ${message}` : ""}, got ${error instanceof Error ? `${error.name}${"code" in error ? ` (${String(error.code)})` : ""}: ${error.message}` : String(error)}`);
    }
    return true;
  };
}
