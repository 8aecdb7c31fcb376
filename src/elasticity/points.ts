/** Which samples are probed (rows) and which are watched (columns), and their class labels. */
import * as tf from "@tensorflow/tfjs";
import type { Dataset } from "../data/dataset";
import { Rng } from "../math/rng";

/** A count (random subset, seeded), explicit indices, or a fixed number of samples per class. */
export type PointSpec = number | number[] | { perClass: number; classes?: number[] };

export function selectPoints(spec: PointSpec, data: Dataset, rng: Rng, where: string): number[] {
  const n = data.x.shape[0];
  if (Array.isArray(spec)) {
    if (spec.length === 0) throw new Error(`${where}: the list of points is empty`);
    for (const i of spec) {
      if (!Number.isInteger(i) || i < 0 || i >= n) throw new Error(`${where}: point index ${i} is not an integer in [0, ${n})`);
    }
    return spec.slice();
  }
  if (typeof spec === "number") {
    if (!Number.isInteger(spec) || spec < 1) throw new Error(`${where}: the number of points must be a positive integer, got ${spec}`);
    return spec >= n ? Array.from({ length: n }, (_, i) => i) : Array.from(rng.permutation(n).subarray(0, spec)).sort((a, b) => a - b);
  }
  if (!spec || !Number.isInteger(spec.perClass) || spec.perClass < 1) throw new Error(`${where}: perClass must be a positive integer, got ${JSON.stringify(spec?.perClass)}`);
  const labels = labelsOf(data);
  if (!labels) throw new Error(`${where}: { perClass } needs classification data (int32 labels)`);
  const classes = spec.classes ?? [...new Set(labels)].sort((a, b) => a - b);
  const order = rng.permutation(n);
  const chosen: number[] = [];
  for (const c of classes) {
    const members = Array.from(order).filter((i) => labels[i] === c).slice(0, spec.perClass);
    if (members.length === 0) throw new Error(`${where}: class ${c} has no samples in the data`);
    chosen.push(...members.sort((a, b) => a - b));
  }
  return chosen;
}

/** Class labels of a classification dataset, or null for regression. */
export function labelsOf(data: Dataset): number[] | null {
  return data.task === "classification" ? Array.from(data.y.dataSync()) : null;
}

/** The samples at the given indices (new tensors). */
export function gatherRows(t: tf.Tensor, indices: number[]): tf.Tensor {
  return tf.tidy(() => tf.gather(t, tf.tensor1d(indices, "int32")));
}
