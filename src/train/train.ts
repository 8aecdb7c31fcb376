/**
 * ws.train: a training loop over the functional model with explicit optimizer state, per-step and
 * per-epoch history, optional weight trajectories, hooks for probes, a progress bar, and awaits
 * between steps so a notebook interrupt stops it cleanly. The trained model is updated in place.
 */
import * as tf from "@tensorflow/tfjs";
import { viewOf, weightedBlocks, type ModelView } from "../model/view";
import { forward, crossEntropyFromLogits, defaultLoss, lossOf, type LossKind } from "../model/functional";
import { readParams, assertFiniteParams } from "../model/params";
import { asDataset, type Dataset } from "../data/dataset";
import { Rng } from "../math/rng";
import { progress, yieldToEventLoop } from "../display/progress";
import { makeOptimizer, type OptimizerName, type OptimizerSpec, type OptimizerState } from "./optimizer";
import { Trajectory, type TrajectoryOptions } from "./trajectory";
import { TrainRun, type EpochRecord, type StepRecord } from "./run";
import { teleportHook, type TrainTeleportOptions } from "../teleport/during-training";

export interface StepContext {
  step: number;
  epoch: number;
  view: ModelView;
  /** All parameters in model.weights order (trainable and not); assign to move the model. */
  params: tf.Variable[];
  /** Indices (into params) of the trainable parameters; optimizer slots are aligned with them. */
  trainable: number[];
  optimizer: OptimizerState;
  data: Dataset;
  loss: LossKind;
  lr: number;
}

export interface TrainHook {
  /** Call every `every` optimizer steps (after the step); 0 or omitted: never during training. */
  every?: number;
  /** Also call once before the first step (step 0). */
  atStart?: boolean;
  onStep(ctx: StepContext): void | Promise<void>;
}

export interface RecordOptions extends TrajectoryOptions {
  /** Snapshot every k steps (default: once per epoch). Step 0 is always recorded. */
  every?: number;
  /** Names of Dense/Conv2D layers to record (default: all of them). */
  layers?: string[];
}

export interface TrainOptions {
  epochs?: number;
  /** Mini-batch size, or "full" for full-batch gradient descent (default 32). */
  batchSize?: number | "full";
  /** Learning rate (default 0.01 for SGD/momentum, 0.001 for Adam). */
  lr?: number;
  /** Multiplies lr by this factor after each epoch (default 1). */
  lrDecay?: number;
  optimizer?: OptimizerName | OptimizerSpec;
  loss?: LossKind | "auto";
  seed?: number;
  shuffle?: boolean;
  validation?: Dataset | { x: tf.Tensor; y: tf.Tensor };
  record?: RecordOptions | boolean;
  hooks?: TrainHook[];
  /** Show a progress bar (default true). */
  progress?: boolean;
  /** Keep one loss per `logEvery` steps in the step history (default 1). */
  logEvery?: number;
  /** Teleport the weights (once at the start by default) and carry the optimizer state across: see ws.teleport. */
  teleport?: TrainTeleportOptions;
}

const YIELD_MS = 50;

export async function train(model: tf.LayersModel, data: Dataset | { x: tf.Tensor; y: tf.Tensor }, options: TrainOptions = {}): Promise<TrainRun> {
  const view = viewOf(model);
  const dataset = asDataset(data, "train");
  const validation = options.validation ? asDataset(options.validation, "train validation") : null;
  const epochs = options.epochs ?? 1;
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`train: epochs must be a positive integer, got ${epochs}`);
  const n = dataset.x.shape[0];
  const batchSize = options.batchSize === "full" ? n : options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`train: batchSize must be a positive integer or "full", got ${String(options.batchSize)}`);
  const inputShape = dataset.x.shape.slice(1);
  if (inputShape.length !== view.inputShape.length || inputShape.some((d: number, i: number) => view.inputShape[i] !== -1 && d !== view.inputShape[i])) {
    throw new Error(`train: data x has sample shape [${inputShape.join(", ")}] but model "${view.name}" expects [${view.inputShape.join(", ")}]`);
  }
  const lossKind = !options.loss || options.loss === "auto" ? defaultLoss(view, dataset.task) : options.loss;
  if (lossKind === "crossEntropy") assertLabelsFit(dataset, view);
  const spec = options.optimizer ?? "sgd";
  const optimizerName = typeof spec === "string" ? spec : spec.name;
  let lr = options.lr ?? (optimizerName === "adam" ? 1e-3 : 1e-2);
  if (!(lr > 0)) throw new Error(`train: lr must be positive, got ${lr}`);
  const rng = new Rng(options.seed ?? 0);
  const logEvery = options.logEvery ?? 1;
  const hooks = [...(options.teleport ? [teleportHook(options.teleport)] : []), ...(options.hooks ?? [])];

  const initial = readParams(model);
  assertFiniteParams(view, initial, "train");
  const params = initial.map((t, i) => tf.variable(t, view.params[i].trainable));
  tf.dispose(initial);
  const trainable = view.params.filter((p) => p.trainable).map((p) => p.index);
  const trainableVars = trainable.map((i) => params[i]);
  const optimizer = makeOptimizer(spec, trainableVars);
  const trajectory = makeTrajectory(view, options.record);

  const stepsPerEpoch = Math.ceil(n / batchSize);
  const bar = options.progress === false ? null : progress(`training ${view.name}`, epochs * stepsPerEpoch);
  const stepHistory: StepRecord[] = [];
  const epochHistory: EpochRecord[] = [];
  const started = Date.now();
  let lastYield = Date.now();
  let step = 0;
  let stopped: string | null = null;

  const context = (epoch: number): StepContext => ({ step, epoch, view, params, trainable, optimizer, data: dataset, loss: lossKind, lr });
  const snapshot = () => {
    if (!trajectory) return;
    const kernels: Record<string, Float32Array> = {};
    for (const b of weightedBlocks(view)) if (trajectory.layers.includes(b.layer)) kernels[b.layer] = params[b.kernel].dataSync() as Float32Array;
    trajectory.push(step, kernels);
  };
  const recordEvery = trajectory ? (typeof options.record === "object" && options.record.every) || stepsPerEpoch : 0;

  try {
    snapshot();
    for (const h of hooks) if (h.atStart) await h.onStep(context(0));
    for (let epoch = 0; epoch < epochs && !stopped; epoch++) {
      const epochStart = Date.now();
      const order = options.shuffle === false ? Int32Array.from({ length: n }, (_, i) => i) : rng.permutation(n);
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      for (let b = 0; b < stepsPerEpoch; b++) {
        const idx = order.subarray(b * batchSize, Math.min(n, (b + 1) * batchSize));
        const dropoutSeed = rng.uint32();
        // Loss and hit count come back in one read: on a GPU every read waits for the device.
        const stepStats = tf.tidy(() => {
          const indices = tf.tensor1d(idx, "int32");
          const xb = tf.gather(dataset.x, indices);
          const yb = tf.gather(dataset.y, indices);
          let hitCount: tf.Scalar = tf.scalar(0, "int32");
          const { value, grads } = tf.variableGrads(() => {
            const options = { training: true, dropoutSeed, onBatchMoments: updateMovingStats(view, params) };
            if (lossKind !== "crossEntropy") return lossOf(view, params, xb, yb, lossKind, options);
            const logits = forward(view, params, xb, { ...options, logits: true }) as tf.Tensor2D;
            hitCount = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), yb.toInt()), "int32")));
            return crossEntropyFromLogits(logits, yb);
          }, trainableVars);
          optimizer.apply(trainableVars, trainableVars.map((v) => grads[v.name]), lr);
          const stats = tf.stack([value, tf.cast(hitCount, "float32")]);
          hitCount.dispose(); // kept to leave variableGrads' scope; tidy does not own it
          return stats;
        });
        const [lossValue, hits] = stepStats.dataSync();
        stepStats.dispose();
        step++;
        if (!Number.isFinite(lossValue)) {
          stopped = `loss became ${lossValue} at step ${step} (lower the learning rate)`;
          break;
        }
        lossSum += lossValue * idx.length;
        correct += hits;
        seen += idx.length;
        if (step % logEvery === 0) stepHistory.push({ step, epoch, loss: lossValue });
        if (recordEvery && step % recordEvery === 0) snapshot();
        for (const h of hooks) if (h.every && step % h.every === 0) await h.onStep(context(epoch));
        bar?.update(step, `epoch ${epoch + 1}/${epochs}  loss ${lossValue.toPrecision(4)}`);
        if (Date.now() - lastYield > YIELD_MS) {
          await yieldToEventLoop();
          lastYield = Date.now();
        }
      }
      if (seen === 0) break;
      const val = validation ? evaluateParams(view, params, validation, lossKind) : null;
      epochHistory.push({
        epoch, loss: lossSum / seen, accuracy: lossKind === "crossEntropy" ? correct / seen : null,
        valLoss: val?.loss ?? null, valAccuracy: val?.accuracy ?? null, lr, seconds: (Date.now() - epochStart) / 1000,
      });
      lr *= options.lrDecay ?? 1;
    }
    model.setWeights(params);
  } catch (error) {
    // Interrupted or failed: keep what was learned so far in the model, report, and rethrow.
    model.setWeights(params);
    throw error;
  } finally {
    bar?.finish(stopped ?? `loss ${(epochHistory.at(-1)?.loss ?? NaN).toPrecision(4)}`);
    optimizer.dispose();
    tf.dispose(params);
  }
  return new TrainRun(
    { model: view.name, backend: tf.getBackend(), optimizer: optimizerName, loss: lossKind, batchSize, samples: n, seconds: (Date.now() - started) / 1000, stopped },
    { steps: stepHistory, epochs: epochHistory },
    trajectory,
  );
}

function assertLabelsFit(data: Dataset, view: ModelView): void {
  const classes = view.outputShape[view.outputShape.length - 1];
  const labels = data.y.dataSync();
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= classes) throw new Error(`train: label ${labels[i]} at index ${i} does not fit model "${view.name}", which has ${classes} outputs`);
  }
}

/** Moving-average update of BatchNormalization statistics from batch moments (Keras' rule). */
function updateMovingStats(view: ModelView, params: tf.Variable[]) {
  return (blockIndex: number, mean: tf.Tensor, variance: tf.Tensor) => {
    const block = view.blocks[blockIndex];
    if (block.kind !== "batchNorm") return;
    const m = block.momentum;
    params[block.movingMean].assign(tf.add(tf.mul(params[block.movingMean], m), tf.mul(mean, 1 - m)));
    params[block.movingVariance].assign(tf.add(tf.mul(params[block.movingVariance], m), tf.mul(variance, 1 - m)));
  };
}

function makeTrajectory(view: ModelView, record: TrainOptions["record"]): Trajectory | null {
  if (!record) return null;
  const options = record === true ? {} : record;
  const blocks = weightedBlocks(view);
  const names = options.layers ?? blocks.map((b) => b.layer);
  const shapes: Record<string, number[]> = {};
  for (const name of names) {
    const block = blocks.find((b) => b.layer === name);
    if (!block) throw new Error(`record: layer "${name}" is not a Dense/Conv2D layer of "${view.name}"; layers: ${blocks.map((b) => b.layer).join(", ")}`);
    shapes[name] = view.params[block.kernel].shape;
  }
  return new Trajectory(shapes, options);
}

export interface Evaluation { loss: number; accuracy: number | null; samples: number }

/** Loss and accuracy of a parameter list on a dataset, in batches (inference form). */
export function evaluateParams(view: ModelView, params: readonly tf.Tensor[], data: Dataset, loss: LossKind, batchSize = 1024): Evaluation {
  const n = data.x.shape[0];
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const [l, c] = tf.tidy(() => {
      const xb = data.x.slice(start, size);
      const yb = data.y.slice(start, size);
      if (loss !== "crossEntropy") return [lossOf(view, params, xb, yb, loss).dataSync()[0], 0];
      const logits = forward(view, params, xb, { logits: true }) as tf.Tensor2D;
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), yb.toInt()), "int32")).dataSync()[0];
      return [crossEntropyFromLogits(logits, yb).dataSync()[0], hits];
    });
    lossSum += l * size;
    correct += c;
  }
  return { loss: lossSum / n, accuracy: loss === "crossEntropy" ? correct / n : null, samples: n };
}

/** Loss and accuracy of a model on a dataset (the model's default loss for the task unless given). */
export function evaluate(model: tf.LayersModel, data: Dataset | { x: tf.Tensor; y: tf.Tensor }, options: { loss?: LossKind; batchSize?: number } = {}): Evaluation {
  const view = viewOf(model);
  const dataset = asDataset(data, "evaluate");
  const params = readParams(model);
  try {
    return evaluateParams(view, params, dataset, options.loss ?? defaultLoss(view, dataset.task), options.batchSize);
  } finally {
    tf.dispose(params);
  }
}
