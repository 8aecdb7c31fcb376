/**
 * The dataset every call accepts: `{ x, y }` tensors plus metadata. Classification data carries int32
 * labels [n]; regression data float32 targets [n, k].
 */
import * as tf from "@tensorflow/tfjs";
import { attachDisplay, escapeHtml } from "../display/bundle";
import { htmlTable, type Cell } from "../display/table";
import { InputError } from "../errors";

export interface Dataset {
  x: tf.Tensor;
  y: tf.Tensor;
  task: "classification" | "regression";
  classes?: string[];
  name?: string;
}

/**
 * Validates user data and fills in the task: an int32 1-D y means classification. Throws a clear
 * error (naming `where`) for non-tensors, mismatched sample counts, NaN/Inf values or bad labels.
 */
export function asDataset(data: Partial<Dataset> | { x: tf.Tensor; y: tf.Tensor }, where: string): Dataset {
  const d = data as Partial<Dataset>;
  if (!d || !(d.x instanceof tf.Tensor) || !(d.y instanceof tf.Tensor)) {
    throw new InputError("invalid-data", `${where}: data must be { x: tf.Tensor, y: tf.Tensor }`);
  }
  if (d.x.isDisposed || d.y.isDisposed) throw new InputError("invalid-data", `${where}: data tensors have been disposed`);
  const n = d.x.shape[0];
  if (d.x.rank < 2) throw new InputError("invalid-data", `${where}: x must have shape [samples, features...], got [${d.x.shape.join(", ")}]`);
  if (d.y.shape[0] !== n) throw new InputError("invalid-data", `${where}: x has ${n} samples but y has ${d.y.shape[0]}`);
  if (n === 0) throw new InputError("invalid-data", `${where}: the dataset is empty`);
  const task = d.task ?? (d.y.dtype === "int32" && d.y.rank === 1 ? "classification" : "regression");
  assertFiniteTensor(d.x, `${where}: x`);
  if (task === "classification") {
    if (d.y.rank !== 1) throw new InputError("invalid-data", `${where}: classification labels y must be a 1-D int32 tensor, got shape [${d.y.shape.join(", ")}]`);
    const labels = d.y.dataSync();
    const k = d.classes?.length ?? Infinity;
    for (let i = 0; i < labels.length; i++) {
      if (!Number.isInteger(labels[i]) || labels[i] < 0 || labels[i] >= k) {
        throw new InputError("invalid-data", `${where}: label ${labels[i]} at index ${i} is not a class index${Number.isFinite(k) ? ` in [0, ${k})` : ""}`);
      }
    }
  } else {
    assertFiniteTensor(d.y, `${where}: y`);
  }
  return describeDataset({ x: d.x, y: d.y, task, classes: d.classes, name: d.name });
}

/** Throws an InputError naming the first NaN or infinity of a tensor. */
export function assertFiniteTensor(t: tf.Tensor, what: string): void {
  const values = t.dataSync();
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new InputError("invalid-data", `${what} holds ${values[i]} at flat index ${i}`);
  }
}

/** Rows shown in a dataset's display. */
const PREVIEW_ROWS = 5;
/** Samples with at most this many values show them all; larger ones (images) show min, mean and max. */
const PREVIEW_VALUES = 4;

/**
 * Gives a dataset its notebook display (the loaders call this): one inspect line with name, task, shapes, dtypes
 * and classes instead of tensor internals, and an HTML card with the first rows. Returns the same object.
 */
export function describeDataset<D extends Dataset>(data: D): D {
  return attachDisplay(data, () => datasetLine(data), () => datasetHtml(data));
}

function tensorText(t: tf.Tensor): string {
  return t.isDisposed ? "(disposed)" : `[${t.shape.join(", ")}] ${t.dtype}`;
}

function classesText(classes: string[] | undefined): string {
  if (!classes) return "";
  const names = classes.length > 10 ? [...classes.slice(0, 10), "..."] : classes;
  return `, ${classes.length} classes (${names.join(", ")})`;
}

export function datasetLine(d: Dataset): string {
  return `Dataset${d.name ? ` "${d.name}"` : ""} { ${d.task}: x ${tensorText(d.x)}, y ${tensorText(d.y)}${classesText(d.classes)} }`;
}

/** Values of the first rows of a tensor, one flat array per sample (nothing left on the backend). */
function firstRows(t: tf.Tensor, count: number): number[][] {
  return tf.tidy(() => t.slice(0, count).reshape([count, -1]).arraySync() as number[][]);
}

function valueCells(row: number[], prefix: string): Record<string, Cell> {
  if (row.length <= PREVIEW_VALUES) return Object.fromEntries(row.map((v, j) => [row.length === 1 ? prefix : `${prefix}[${j}]`, v]));
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of row) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  return { [`${prefix} min`]: min, [`${prefix} mean`]: sum / row.length, [`${prefix} max`]: max };
}

export function datasetHtml(d: Dataset): string {
  const head = `<p><b>${escapeHtml(d.name ?? "Dataset")}</b>: ${escapeHtml(datasetLine(d))}</p>`;
  if (d.x.isDisposed || d.y.isDisposed) return head;
  const count = Math.min(PREVIEW_ROWS, d.x.shape[0], d.y.shape[0]);
  if (count === 0) return head;
  const xs = firstRows(d.x, count);
  const ys = firstRows(d.y, count);
  const records = xs.map((x, i): Record<string, Cell> => {
    const label = d.task === "classification" ? { label: ys[i][0], class: d.classes?.[ys[i][0]] ?? null } : valueCells(ys[i], "y");
    return { sample: i, ...valueCells(x, "x"), ...label };
  });
  const columns = Object.keys(records[0]);
  const rows = records.map((r) => columns.map((c) => r[c] ?? null));
  return `${head}\n${htmlTable(columns, rows, { title: `first ${count} of ${d.x.shape[0]} samples` })}`;
}
