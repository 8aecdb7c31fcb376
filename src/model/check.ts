/** How much a network's function changed between two models (a teleport, an embedding), measured on probe inputs. */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../math/rng";
import { InputError, checkOption, rules } from "../errors";
import { assertBytesFit } from "./memory";
import { assertFiniteTensor, type Dataset } from "../data/dataset";
import type { LossKind } from "./functional";
import type { ModelView } from "./view";

export interface FunctionCheck {
  samples: number;
  /** max |f_after - f_before| over samples and outputs. */
  maxAbs: number;
  /** maxAbs / max(1, max |f_before|), as the teleport probe's check. */
  rel: number;
  /** Fraction of samples with the same argmax output (null for a single output). */
  agreement: number | null;
  /** The tolerance `passed` compares `rel` with. */
  tolerance: number;
  passed: boolean;
}

/** Probe inputs: the given tensor, or `samples` seeded standard normal inputs of the model's input shape. */
export function probeInputs(view: ModelView, x: tf.Tensor | undefined, samples: number, seed: number, purpose: string, name = "x"): tf.Tensor {
  if (x !== undefined) {
    if (!(x instanceof tf.Tensor)) throw new InputError("invalid-data", `${purpose}: ${name} must be a tf.Tensor of inputs`, name);
    if (x.isDisposed) throw new InputError("invalid-data", `${purpose}: the tensor of ${name} has been disposed`, name);
    assertSampleShape(view, x.shape.slice(1), `${purpose}: ${name}`);
    // A NaN input makes the compared outputs NaN, and a NaN difference would pass as "no change".
    assertFiniteTensor(x, `${purpose}: ${name}`);
    return x.clone();
  }
  checkOption(purpose, "samples", samples, rules.integer(1));
  const shape = [samples, ...view.inputShape.map((d) => (d < 0 ? 1 : d))];
  const size = shape.reduce((a, b) => a * b, 1);
  assertBytesFit(purpose, `${samples} probe inputs`, size * 4 * 3, "use fewer samples", "backend");
  return tf.tensor(new Rng(seed).normalArray(size), shape, "float32");
}

/** Throws unless a sample shape (without the batch axis) is the model's input shape. */
export function assertSampleShape(view: ModelView, shape: readonly number[], what: string): void {
  if (shape.length !== view.inputShape.length || shape.some((d, i) => view.inputShape[i] !== -1 && d !== view.inputShape[i])) {
    throw new InputError("invalid-data", `${what} ${/s$/.test(what) ? "have" : "has"} sample shape [${shape.join(", ")}] but model "${view.name}" expects [${view.inputShape.join(", ")}]`);
  }
}

/**
 * Throws unless the dataset fits the model under the loss: the sample shape, every class label below the number
 * of outputs (cross-entropy), the target width equal to the output width (squared errors); otherwise the loss would
 * be computed silently wrong (a one-hot of an out-of-range label is all zeros; a target of the wrong width broadcasts).
 */
export function assertDataFits(view: ModelView, data: Dataset, loss: LossKind, where: string): void {
  assertSampleShape(view, data.x.shape.slice(1), `${where}: data x`);
  const outputs = view.outputShape;
  if (loss === "crossEntropy") {
    const classes = outputs[outputs.length - 1];
    if (data.y.rank !== 1) throw new InputError("invalid-data", `${where}: cross-entropy needs class labels y of shape [samples], got [${data.y.shape.join(", ")}]`);
    const labels = data.y.dataSync();
    for (let i = 0; i < labels.length; i++) {
      if (!(Number.isInteger(labels[i]) && labels[i] >= 0 && labels[i] < classes)) {
        throw new InputError("invalid-data", `${where}: label ${labels[i]} at index ${i} does not fit model "${view.name}", which has ${classes} outputs (labels must be 0..${classes - 1})`);
      }
    }
    return;
  }
  const target = data.y.shape.slice(1);
  const sameWidth = target.length === outputs.length ? target.every((d, i) => outputs[i] === -1 || d === outputs[i]) : target.length === 0 && outputs.length === 1 && outputs[0] === 1;
  if (!sameWidth) {
    const perSample = outputs.reduce((a, b) => a * b, 1);
    throw new InputError("invalid-data", `${where}: the ${loss} loss needs targets y with ${perSample} value(s) per sample for "${view.name}" (outputs [${outputs.join(", ")}]; nothing is broadcast), got y of shape [${data.y.shape.join(", ")}]`);
  }
}

/**
 * Compares the two models' outputs on x (both models' own predict, so the check is independent of the
 * probe's arithmetic). One batch: predict's default batches of 32 re-read the whole input from the wasm
 * heap per batch (32 s instead of 1 s for 10,000 MNIST images).
 */
export function compareFunctions(before: tf.LayersModel, after: tf.LayersModel, x: tf.Tensor, tolerance: number): FunctionCheck {
  const batchSize = Math.max(1, x.shape[0]);
  const [a, b] = tf.tidy(() => [before, after].map((m) => (m.predict(x, { batchSize }) as tf.Tensor).reshape([x.shape[0], -1]).arraySync() as number[][]));
  let maxAbs = 0;
  let scale = 1;
  let agree = 0;
  a.forEach((row, i) => {
    row.forEach((v, j) => {
      maxAbs = Math.max(maxAbs, Math.abs(v - b[i][j]));
      scale = Math.max(scale, Math.abs(v));
    });
    if (argmax(row) === argmax(b[i])) agree++;
  });
  const rel = maxAbs / scale;
  return { samples: a.length, maxAbs, rel, agreement: a[0]?.length > 1 ? agree / a.length : null, tolerance, passed: rel <= tolerance };
}

function argmax(row: number[]): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}
