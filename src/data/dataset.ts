/**
 * The dataset every call accepts: `{ x, y }` tensors plus metadata. Classification data carries int32
 * labels [n]; regression data float32 targets [n, k].
 */
import * as tf from "@tensorflow/tfjs";
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
  return { x: d.x, y: d.y, task, classes: d.classes, name: d.name };
}

/** Throws an InputError naming the first NaN or infinity of a tensor. */
export function assertFiniteTensor(t: tf.Tensor, what: string): void {
  const values = t.dataSync();
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new InputError("invalid-data", `${what} holds ${values[i]} at flat index ${i}`);
  }
}
