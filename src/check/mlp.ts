/**
 * The random ReLU MLPs the weight-space graders (teleport, split) hand to a student's function, as the
 * plain list [W1, b1, ..., WL, bL] (W as [in, out], as tf.layers.dense stores it), and the function
 * check on them, done by the library's own compareFunctions.
 */
import * as tf from "@tensorflow/tfjs";
import { mlp } from "../model/build";
import { viewOf, type ModelView } from "../model/view";
import { readArrays } from "../embed/channels";
import { compareFunctions, probeInputs, type FunctionCheck } from "../model/check";

export interface MlpCase {
  /** For feedback, e.g. "1 (ReLU MLP 3-5-2, seed 7)". */
  name: string;
  sizes: number[];
  model: tf.LayersModel;
  view: ModelView;
  /** The weights as float32 arrays, in [W1, b1, ..., WL, bL] order. */
  arrays: Float32Array[];
  shapes: number[][];
}

/** Layer sizes of the graded networks, cycled through by case number: shallow and deep, wide and narrow. */
const SIZES = [[3, 5, 2], [4, 6, 5, 3], [2, 4, 3, 4, 1], [5, 3, 6, 2]];

/**
 * A seeded ReLU MLP with non-zero biases (so a mistake in the biases shows) and weights of order 1.
 * The caller disposes `model`.
 */
export function randomMlp(index: number, seed: number, sizes = SIZES[index % SIZES.length]): MlpCase {
  const caseSeed = seed * 1000 + index;
  const model = mlp(sizes, { seed: caseSeed, init: { std: 0.8, bias: 0.5 }, name: `graded_mlp_${index}` });
  const view = viewOf(model);
  return {
    name: `${index + 1} (ReLU MLP ${sizes.join("-")}, seed ${caseSeed})`,
    sizes, model, view,
    arrays: readArrays(model),
    shapes: view.params.map((p) => p.shape.slice()),
  };
}

/** Fresh tensors holding the case's weights (handed to the student; the grader disposes them). */
export function weightTensors(arrays: readonly ArrayLike<number>[], shapes: readonly number[][]): tf.Tensor[] {
  return arrays.map((a, i) => tf.tensor(Float32Array.from(a), shapes[i], "float32"));
}

/** Names a flat weight list position: "W2" / "b2" (1-based layer numbers, as in the math). */
export function weightName(i: number): string {
  return `${i % 2 === 0 ? "W" : "b"}${Math.floor(i / 2) + 1}`;
}

/** Compares the case's network with `other` on 32 seeded N(0, 1) inputs. */
export function functionChange(c: MlpCase, other: tf.LayersModel, tolerance: number, seed: number): FunctionCheck {
  const x = probeInputs(c.view, undefined, 32, seed, "ws.check");
  try {
    return compareFunctions(c.model, other, x, tolerance);
  } finally {
    x.dispose();
  }
}
