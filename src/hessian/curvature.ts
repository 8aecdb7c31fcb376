/**
 * The Hessian of a model's loss at its current weights, as one operator in either precision: float64
 * exact products for Dense chains (ExactNet) or float32 TF.js Hessian-vector products for any model
 * the view accepts. Every Hessian probe (spectrum, inertia, sharpness, trace) starts here.
 */
import * as tf from "@tensorflow/tfjs";
import { assertDataFits } from "../model/check";
import { assertPassFits } from "../model/memory";
import { asDataset, type Dataset } from "../data/dataset";
import { gradient, hessianOperator, type HessianOperator } from "../math/hessian";
import { defaultLoss, trainableLoss, type LossKind } from "../model/functional";
import { assertFiniteParams, readParams } from "../model/params";
import { viewOf, type ModelView } from "../model/view";
import { ExactNet, type ExactData } from "./float64";

export type Precision = "float64" | "float32";

export interface CurvatureOptions {
  /** Loss whose Hessian is taken (default: the model's loss for the task, as ws.train uses). */
  loss?: LossKind | "auto";
  /**
   * "float64": exact products in double precision (Dense chains only); "float32": TF.js products;
   * "auto" (default): the caller's choice of the two for its method.
   */
  precision?: Precision | "auto";
  /** Show a progress bar with elapsed time, rate and ETA (default true). */
  progress?: boolean;
}

/** The Hessian operator at one point with the loss and gradient there. */
export interface Curvature {
  view: ModelView;
  op: HessianOperator;
  precision: Precision;
  lossKind: LossKind;
  loss: number;
  /** Gradient of the loss (flat, trainable parameters in view order). */
  gradient: Float64Array;
}

/**
 * Runs `use` with the curvature of the loss at `params` (a full parameter list in model.weights
 * order, owned by the caller) on `data`. Tensors made here are disposed before returning.
 */
export function withCurvature<T>(view: ModelView, params: readonly tf.Tensor[], data: Dataset, options: CurvatureOptions, preferred: Precision, where: string, use: (c: Curvature) => T): T {
  assertFiniteParams(view, params, where);
  const lossKind = !options.loss || options.loss === "auto" ? defaultLoss(view, data.task) : options.loss;
  if (lossKind !== "crossEntropy" && lossKind !== "mse" && lossKind !== "halfMse") {
    throw new Error(`${where}: loss must be "crossEntropy", "mse", "halfMse" or "auto", got ${JSON.stringify(options.loss)}`);
  }
  assertDataFits(view, data, lossKind, where);
  assertPassFits(where, view, data.x.shape[0], "hvp", "samples");
  const requested = options.precision ?? "auto";
  if (requested !== "auto" && requested !== "float64" && requested !== "float32") {
    throw new Error(`${where}: precision must be "float64", "float32" or "auto", got ${JSON.stringify(requested)}`);
  }
  const exact = ExactNet.of(view);
  if (requested === "float64" && exact === null) {
    throw new Error(`${where}: float64 Hessians are computed for chains of Dense layers with elementwise activations (all weights trainable); model "${view.name}" is not one, use precision "float32"`);
  }
  const precision: Precision = requested === "auto" ? (exact !== null ? preferred : "float32") : requested;
  if (precision === "float64" && exact !== null) {
    const arrays = params.map((p) => Float64Array.from(p.dataSync()));
    const exactData = exactDataOf(data, lossKind);
    const { loss, gradient: g } = exact.evaluate(arrays, exactData, lossKind);
    return use({ view, op: exact.operator(arrays, exactData, lossKind), precision, lossKind, loss, gradient: g });
  }
  const unsupported = view.blocks.find((b) => b.kind === "conv2d" || b.kind === "maxPool" || b.kind === "avgPool");
  if (unsupported) {
    throw new Error(`${where}: layer "${unsupported.layer}" (${unsupported.className}) has no second derivatives in TF.js 4.22 (its gradient kernels have no gradients), so Hessians of models with Conv2D or pooling layers are not supported`);
  }
  const { loss: lossFn, trainable } = trainableLoss(view, params, data.x, data.y, lossKind);
  const loss = tf.tidy(() => lossFn(trainable).dataSync()[0]);
  const grads = gradient(lossFn, trainable);
  const flat = new Float64Array(grads.reduce((a, t) => a + t.size, 0));
  let offset = 0;
  for (const t of grads) {
    flat.set(t.dataSync(), offset);
    offset += t.size;
  }
  tf.dispose(grads);
  return use({ view, op: hessianOperator(lossFn, trainable), precision: "float32", lossKind, loss, gradient: flat });
}

/**
 * The same for a model: reads (and, once `use` has settled, disposes) a copy of its weights; the model is untouched
 * and may change while `use` awaits.
 */
export async function withModelCurvature<T>(model: tf.LayersModel, data: Dataset | { x: tf.Tensor; y: tf.Tensor }, options: CurvatureOptions, preferred: Precision, where: string, use: (c: Curvature) => Promise<T>): Promise<T> {
  const view = viewOf(model);
  const dataset = asDataset(data, where);
  const params = readParams(model);
  try {
    return await withCurvature(view, params, dataset, options, preferred, where, use);
  } finally {
    tf.dispose(params);
  }
}

function exactDataOf(data: Dataset, lossKind: LossKind): ExactData {
  const n = data.x.shape[0];
  const x = Float64Array.from(data.x.dataSync());
  const y = lossKind === "crossEntropy" ? Int32Array.from(data.y.dataSync()) : Float64Array.from(data.y.dataSync());
  return { n, x, y };
}

/** ||v||_2 and ||v||_1. */
export function norms(v: Float64Array): { l2: number; l1: number } {
  let l2 = 0;
  let l1 = 0;
  for (const x of v) {
    l2 += x * x;
    l1 += Math.abs(x);
  }
  return { l2: Math.sqrt(l2), l1 };
}
