/**
 * Calling a student's function without letting it crash the grader or leak tensors: the call runs in its
 * own TF.js scope, its output is read into plain arrays inside that scope, and afterwards every tensor and
 * variable the call created is disposed (returned, kept or forgotten alike). Inputs are fresh tensors per
 * call and are checked afterwards (not disposed, values unchanged).
 */
import * as tf from "@tensorflow/tfjs";
import { fmt } from "./result";

/** A problem with the student's output, reported as feedback (not a crash). */
export class OutputError extends Error {}

export type Outcome<T> = { ok: true; value: T } | { ok: false; message: string };

/**
 * Awaits `call()` (sync or async) and converts its output with `read` (which throws OutputError for a
 * wrong type, shape or NaN). Never throws; disposes everything the call created.
 */
export async function callStudent<T>(call: () => unknown, read: (output: unknown) => T): Promise<Outcome<T>> {
  const engine = tf.engine();
  const variablesBefore = new Set(Object.keys(engine.registeredVariables));
  engine.startScope("ws.check student call");
  const scope = engine.state.activeScope;
  try {
    const output = await call();
    return { ok: true, value: read(output) };
  } catch (error) {
    if (error instanceof OutputError) return { ok: false, message: error.message };
    return { ok: false, message: `your function threw ${describeError(error)}` };
  } finally {
    // Unwind scopes the student's code opened and never closed, then our own.
    while (engine.state.scopeStack.length > 0 && engine.state.activeScope !== scope) engine.endScope();
    if (engine.state.activeScope === scope) engine.endScope();
    for (const t of scope.track) if (!t.isDisposed) t.dispose();
    const variables = engine.registeredVariables;
    for (const name of Object.keys(variables)) if (!variablesBefore.has(name)) variables[name].dispose();
  }
}

/** "Name: message" on one line (a feedback line and the one-line summary must not break). */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.replace(/\s*\n\s*/g, " ");
}

/** What a value is, for feedback ("a tf.Tensor of shape [3, 4]", "an array of 2", "undefined"). */
export function describeValue(v: unknown): string {
  if (v instanceof tf.Tensor) return `a tf.Tensor of shape [${v.shape.join(", ")}]`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v === null || v === undefined) return String(v);
  if (typeof v === "number") return `the number ${fmt(v)}`;
  if (typeof v === "object" && typeof (v as { then?: unknown }).then === "function") return "a Promise";
  return `a ${typeof v}`;
}

/**
 * Reads a list of tensors with the expected shapes into float arrays; throws OutputError naming the
 * first entry that is not a tensor, has the wrong shape or holds NaN/Infinity.
 */
export function readTensorList(output: unknown, shapes: readonly number[][], what: string): Float32Array[] {
  if (!Array.isArray(output)) throw new OutputError(`your function returned ${describeValue(output)}, expected an array of ${shapes.length} tf.Tensor ${what}`);
  if (output.length !== shapes.length) throw new OutputError(`your function returned ${output.length} tensors, expected ${shapes.length} ${what}`);
  return output.map((t: unknown, i: number) => {
    if (!(t instanceof tf.Tensor)) throw new OutputError(`${what}[${i}] is ${describeValue(t)}, expected a tf.Tensor of shape [${shapes[i].join(", ")}]`);
    if (t.isDisposed) throw new OutputError(`${what}[${i}] was already disposed when your function returned it`);
    const shape: number[] = t.shape;
    if (shape.length !== shapes[i].length || shape.some((d, k) => d !== shapes[i][k])) {
      throw new OutputError(`${what}[${i}] has shape [${shape.join(", ")}], expected [${shapes[i].join(", ")}]`);
    }
    const values = Float32Array.from(t.dataSync() as ArrayLike<number>);
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new OutputError(`${what}[${i}] holds ${fmt(values[bad])} at flat index ${bad}`);
    return values;
  });
}

/** Reads a finite number (a tf.Scalar or a one-element tensor is refused with advice). */
export function readNumber(output: unknown): number {
  if (output instanceof tf.Tensor) throw new OutputError(`your function returned ${describeValue(output)}, expected a plain number (read it with (await t.data())[0])`);
  if (typeof output !== "number") throw new OutputError(`your function returned ${describeValue(output)}, expected a number`);
  if (!Number.isFinite(output)) throw new OutputError(`your function returned ${fmt(output)}, expected a finite number`);
  return output;
}

/** Reads a rows x columns array of finite numbers; `columns` null accepts any width (checked equal across rows). */
export function readMatrix(output: unknown, rows: number | null, columns: number | null, what: string): number[][] {
  if (!Array.isArray(output)) throw new OutputError(`your function returned ${describeValue(output)}, expected ${what} as number[][]`);
  if (rows !== null && output.length !== rows) throw new OutputError(`your function returned ${output.length} rows, expected ${rows} (${what})`);
  return output.map((row, i) => {
    if (!Array.isArray(row)) throw new OutputError(`row ${i} of your answer is ${describeValue(row)}, expected an array of numbers`);
    if (columns !== null && row.length !== columns) throw new OutputError(`row ${i} of your answer has ${row.length} entries, expected ${columns} (${what})`);
    return row.map((v, j) => {
      if (typeof v !== "number") throw new OutputError(`entry [${i}][${j}] of your answer is ${describeValue(v)}, expected a number`);
      if (Number.isNaN(v)) throw new OutputError(`entry [${i}][${j}] of your answer is NaN`);
      return v;
    });
  });
}

/** "" when the tensors still hold `values`, else what happened to the first one that does not. */
export function inputsChanged(tensors: readonly tf.Tensor[], values: readonly ArrayLike<number>[], what: string): string {
  for (let i = 0; i < tensors.length; i++) {
    if (tensors[i].isDisposed) return `${what}[${i}] was disposed by your function`;
    const now = tensors[i].dataSync();
    for (let k = 0; k < now.length; k++) {
      if (now[k] !== values[i][k]) return `${what}[${i}] was changed in place at flat index ${k} (${fmt(values[i][k])} -> ${fmt(now[k])})`;
    }
  }
  return "";
}

/** Index and value of the first entry where |a - e| > rtol * max(1, |e|), or null. */
export function firstMismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number): { index: number; expected: number; actual: number } | null {
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= rtol * Math.max(1, Math.abs(expected[i])))) return { index: i, expected: expected[i], actual: actual[i] };
  }
  return null;
}

/** Whether every entry matches within rtol * max(1, |e|). */
export function allClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number): boolean {
  return actual.length === expected.length && firstMismatch(actual, expected, rtol) === null;
}

/** A flat index of a tensor of this shape as "[i, j]". */
export function indexText(flat: number, shape: readonly number[]): string {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(flat % shape[d]);
    flat = Math.floor(flat / shape[d]);
  }
  return `[${idx.join(", ")}]`;
}
