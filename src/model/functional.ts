/**
 * The model as a pure function of its parameter tensors: forward pass and losses built from TF.js
 * ops, so tf.grad, per-sample gradients and Hessian-vector products can be taken with respect to
 * any parameter list (teleported, split or perturbed) without touching a LayersModel.
 */
import * as windows from "./windows";
import { matMul } from "../math/matmul";
import * as tf from "@tensorflow/tfjs";
import { finalActivation, type Activation, type Block, type ModelView } from "./view";
import * as secondOrder from "../math/second-order";

export interface ForwardOptions {
  /** Dropout active and BatchNormalization on batch statistics (default false: inference form). */
  training?: boolean;
  /** Seed of the dropout masks in training mode (so seeded training is reproducible). */
  dropoutSeed?: number;
  /** Stop before a final softmax and return logits (default false). */
  logits?: boolean;
  /** Receives the batch moments of each BatchNormalization block in training mode (disposed after the call: tf.keep what you need). */
  onBatchMoments?: (blockIndex: number, mean: tf.Tensor, variance: tf.Tensor) => void;
}

/** f(x; params) exactly as the LayersModel computes it (inference form unless training is set). */
export function forward(view: ModelView, params: readonly tf.Tensor[], x: tf.Tensor, options: ForwardOptions = {}): tf.Tensor {
  checkParams(view, params);
  const lastSoftmax = lastSoftmaxBlock(view);
  return tf.tidy(() => {
    let h = x;
    view.blocks.forEach((block, i) => {
      h = applyBlock(block, i, params, h, options, options.logits === true && i === lastSoftmax);
    });
    return h === x ? h.clone() : h;
  });
}

function applyBlock(block: Block, index: number, params: readonly tf.Tensor[], h: tf.Tensor, options: ForwardOptions, skipSoftmax: boolean): tf.Tensor {
  switch (block.kind) {
    case "dense": {
      const kernel = params[block.kernel] as tf.Tensor2D;
      const input = h.rank === 2 ? (h as tf.Tensor2D) : (h.reshape([-1, h.shape[h.rank - 1]]) as tf.Tensor2D);
      let out: tf.Tensor = matMul(input, kernel);
      if (block.bias !== null) out = tf.add(out, params[block.bias]);
      if (h.rank !== 2) out = out.reshape([...h.shape.slice(0, -1), block.units]);
      return activate(out, skipSoftmax ? "linear" : block.activation, block.alpha);
    }
    case "conv2d": {
      let out: tf.Tensor = windows.conv2d(h as tf.Tensor4D, params[block.kernel] as tf.Tensor4D, block.strides, block.padding, block.dilation);
      if (block.bias !== null) out = tf.add(out, params[block.bias]);
      return activate(out, skipSoftmax ? "linear" : block.activation, block.alpha);
    }
    case "maxPool":
      return windows.maxPool(h as tf.Tensor4D, block.poolSize, block.strides, block.padding);
    case "avgPool":
      return windows.avgPool(h as tf.Tensor4D, block.poolSize, block.strides, block.padding);
    case "flatten":
      return h.reshape([h.shape[0], -1]);
    case "dropout":
      return options.training && block.rate > 0 ? tf.dropout(h, block.rate, undefined, options.dropoutSeed === undefined ? undefined : options.dropoutSeed + index) : h;
    case "batchNorm": {
      let mean = params[block.movingMean];
      let variance = params[block.movingVariance];
      if (options.training) {
        const axes = h.shape.map((_, i) => i).slice(0, -1);
        const moments = tf.moments(h, axes);
        mean = moments.mean;
        variance = moments.variance;
        options.onBatchMoments?.(index, mean, variance);
      }
      let out = tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, block.epsilon)));
      if (block.gamma !== null) out = tf.mul(out, params[block.gamma]);
      if (block.beta !== null) out = tf.add(out, params[block.beta]);
      return out;
    }
    case "activation":
      return activate(h, skipSoftmax ? "linear" : block.activation, block.alpha);
  }
}

/**
 * Applies a named activation (the same set the view accepts). Activations whose TF.js gradients
 * cannot be differentiated again come from math/second-order, so Hessian-vector products are exact.
 */
export function activate(x: tf.Tensor, activation: Activation, alpha = 0.3): tf.Tensor {
  switch (activation) {
    case "linear": return x;
    case "relu": return tf.relu(x);
    case "relu6": return secondOrder.relu6(x);
    case "leakyRelu": return secondOrder.leakyRelu(x, alpha);
    case "elu": return secondOrder.elu(x);
    case "selu": return secondOrder.selu(x);
    case "sigmoid": return secondOrder.sigmoid(x);
    case "tanh": return secondOrder.tanh(x);
    case "softmax": return secondOrder.softmax(x);
    case "softplus": return tf.softplus(x);
    case "softsign": return tf.div(x, tf.add(tf.abs(x), 1));
    case "swish": return tf.mul(x, secondOrder.sigmoid(x));
  }
}

/** Index of the block whose softmax ends the network, or -1. */
function lastSoftmaxBlock(view: ModelView): number {
  for (let i = view.blocks.length - 1; i >= 0; i--) {
    const b = view.blocks[i];
    if (b.kind === "activation" || b.kind === "dense" || b.kind === "conv2d") return b.activation === "softmax" ? i : -1;
  }
  return -1;
}

export type LossKind = "crossEntropy" | "mse" | "halfMse";

/**
 * Mean loss over the batch.
 * - crossEntropy: softmax cross-entropy of the logits against int32 labels [n] (a final softmax is
 *   folded into the loss, never applied twice).
 * - mse: mean over samples and outputs of (f - y)^2 (Keras' convention).
 * - halfMse: mean over samples of 1/2 ||f - y||^2 (the papers' convention).
 */
export function lossOf(view: ModelView, params: readonly tf.Tensor[], x: tf.Tensor, y: tf.Tensor, kind: LossKind, options: Omit<ForwardOptions, "logits"> = {}): tf.Scalar {
  return tf.tidy(() => lossOfUntidy(view, params, x, y, kind, options));
}

function lossOfUntidy(view: ModelView, params: readonly tf.Tensor[], x: tf.Tensor, y: tf.Tensor, kind: LossKind, options: Omit<ForwardOptions, "logits">): tf.Scalar {
  if (kind === "crossEntropy") {
    const logits = forward(view, params, x, { ...options, logits: true }) as tf.Tensor2D;
    return crossEntropyFromLogits(logits, y);
  }
  const out = forward(view, params, x, options);
  const target = y.rank === 1 && out.rank === 2 ? y.reshape([-1, 1]) : y;
  const squared = tf.square(tf.sub(out, target));
  return (kind === "mse" ? tf.mean(squared) : tf.div(tf.sum(squared), 2 * out.shape[0])) as tf.Scalar;
}

/** Per-sample cross-entropy mean, from logits [n, k] and int32 labels [n]. */
export function crossEntropyFromLogits(logits: tf.Tensor2D, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const oneHot = tf.oneHot(labels.toInt(), logits.shape[1]);
    return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, secondOrder.logSoftmax(logits)), 1))) as tf.Scalar;
  });
}

/** The loss a model is trained with on a task by default, and a clear error for combinations that make no sense. */
export function defaultLoss(view: ModelView, task: "classification" | "regression"): LossKind {
  const last = finalActivation(view);
  if (task === "classification") {
    if (last !== "softmax" && last !== "linear") {
      throw new Error(`classification needs a model that ends in logits (linear) or softmax; "${view.name}" ends in ${last}`);
    }
    if (view.outputShape.length !== 1 || view.outputShape[0] < 2) {
      throw new Error(`classification needs an output of shape [classes >= 2]; "${view.name}" outputs [${view.outputShape.join(", ")}]`);
    }
    return "crossEntropy";
  }
  return "mse";
}

function checkParams(view: ModelView, params: readonly tf.Tensor[]): void {
  if (params.length !== view.params.length) {
    throw new Error(`expected ${view.params.length} parameter tensors for model "${view.name}", got ${params.length}`);
  }
  for (const spec of view.params) {
    const p = params[spec.index];
    if (!p || p.shape.length !== spec.shape.length || p.shape.some((d, i) => d !== spec.shape[i])) {
      throw new Error(`parameter ${spec.name} must have shape [${spec.shape.join(", ")}], got [${p?.shape.join(", ") ?? "missing"}]`);
    }
  }
}

/**
 * The loss as a function of the trainable parameters only (non-trainable ones, such as
 * BatchNormalization statistics, held at the given values): the form tf.grads and the Hessian need.
 */
export function trainableLoss(view: ModelView, params: readonly tf.Tensor[], x: tf.Tensor, y: tf.Tensor, kind: LossKind): { loss: (trainable: tf.Tensor[]) => tf.Scalar; trainable: tf.Tensor[] } {
  const trainableIndex = view.params.filter((p) => p.trainable).map((p) => p.index);
  const loss = (trainable: tf.Tensor[]): tf.Scalar => {
    const full = params.slice();
    trainableIndex.forEach((index, i) => (full[index] = trainable[i]));
    return lossOf(view, full, x, y, kind);
  };
  return { loss, trainable: trainableIndex.map((i) => params[i]) };
}
