/** How much a network's function changed between two models (a teleport, an embedding), measured on probe inputs. */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../math/rng";
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
export function probeInputs(view: ModelView, x: tf.Tensor | undefined, samples: number, seed: number, purpose: string): tf.Tensor {
  if (x !== undefined) {
    if (!(x instanceof tf.Tensor)) throw new Error(`${purpose}: x must be a tf.Tensor of inputs`);
    const shape = x.shape.slice(1);
    if (shape.length !== view.inputShape.length || shape.some((d, i) => view.inputShape[i] !== -1 && d !== view.inputShape[i])) {
      throw new Error(`${purpose}: x has sample shape [${shape.join(", ")}] but model "${view.name}" expects [${view.inputShape.join(", ")}]`);
    }
    return x.clone();
  }
  const shape = [samples, ...view.inputShape.map((d) => (d < 0 ? 1 : d))];
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(new Rng(seed).normalArray(size), shape, "float32");
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
