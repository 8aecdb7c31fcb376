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
import { assertDataFits } from "../model/check";
import { assertPassFits, availableBytes, isBackendFailure, recoverFromBackendFailure, largestBatch } from "../model/memory";
import { InputError, checkOption, checkOptions, rules } from "../errors";
import { Rng } from "../math/rng";
import { optionalProgress, yieldToEventLoop } from "../display/progress";
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
const OPTIMIZERS = ["sgd", "momentum", "adam"] as const;
const OPTIMIZER_SLOTS: Record<OptimizerName, number> = { sgd: 0, momentum: 1, adam: 2 };

/** The run in progress (or queued last) on each model: calls on one model run one after another, never interleaved. */
const runs = new WeakMap<tf.LayersModel, Promise<unknown>>();

/**
 * Trains the model in place. Two calls on the same model are serialised (the second starts from the weights the
 * first leaves), so neither run's updates are lost.
 */
export function train(model: tf.LayersModel, data: Dataset | { x: tf.Tensor; y: tf.Tensor }, options: TrainOptions = {}): Promise<TrainRun> {
  const before = runs.get(model) ?? Promise.resolve();
  const run = before.then(() => trainNow(model, data, options));
  const settled = run.then(() => undefined, () => undefined);
  runs.set(model, settled);
  void settled.then(() => {
    if (runs.get(model) === settled) runs.delete(model);
  });
  return run;
}

async function trainNow(model: tf.LayersModel, data: Dataset | { x: tf.Tensor; y: tf.Tensor }, options: TrainOptions): Promise<TrainRun> {
  // Everything is validated before the first tensor is made, so a refused call leaks nothing and changes nothing.
  checkOptions("train", options, {
    epochs: rules.integer(1), lr: rules.positive(), lrDecay: rules.positive(), logEvery: rules.integer(1), seed: rules.finite(),
    shuffle: rules.boolean(), progress: rules.boolean(), loss: rules.oneOf("auto", "crossEntropy", "mse", "halfMse"),
  });
  if (options.batchSize !== "full") checkOption("train", "batchSize", options.batchSize ?? 32, rules.integer(1));
  const view = viewOf(model);
  const dataset = asDataset(data, "train");
  const validation = options.validation ? asDataset(options.validation, "train validation") : null;
  const epochs = options.epochs ?? 1;
  const n = dataset.x.shape[0];
  const batchSize = options.batchSize === "full" ? n : options.batchSize ?? 32;
  const lossKind = !options.loss || options.loss === "auto" ? defaultLoss(view, dataset.task) : options.loss;
  assertDataFits(view, dataset, lossKind, "train");
  if (validation) assertDataFits(view, validation, lossKind, "train validation");
  const spec = options.optimizer ?? "sgd";
  const optimizerName = typeof spec === "string" ? spec : spec?.name;
  checkOption("train", "optimizer", optimizerName, rules.oneOf(...OPTIMIZERS));
  let lr = options.lr ?? (optimizerName === "adam" ? 1e-3 : 1e-2);
  const rng = new Rng(options.seed ?? 0);
  const logEvery = options.logEvery ?? 1;
  const hooks = [...(options.teleport ? [teleportHook(options.teleport)] : []), ...(options.hooks ?? [])];
  const trajectoryShapes = recordedShapes(view, options.record);
  assertPassFits("train", view, Math.min(batchSize, n), "train", "batchSize", OPTIMIZER_SLOTS[optimizerName]);

  const initial = readParams(model);
  try {
    assertFiniteParams(view, initial, "train");
  } catch (error) {
    tf.dispose(initial);
    throw error;
  }
  // Host copies: if the backend fails, its heap (and the model's weights on it) cannot be trusted.
  const hostCopy = initial.map((t) => ({ values: t.dataSync().slice(), shape: t.shape }));
  const params = initial.map((t, i) => tf.variable(t, view.params[i].trainable));
  tf.dispose(initial);
  const trainable = view.params.filter((p) => p.trainable).map((p) => p.index);
  const trainableVars = trainable.map((i) => params[i]);
  const optimizer = makeOptimizer(spec, trainableVars);
  const trajectory = trajectoryShapes ? new Trajectory(trajectoryShapes, typeof options.record === "object" ? options.record : {}) : null;

  const stepsPerEpoch = Math.ceil(n / batchSize);
  const bar = optionalProgress(options.progress, `training ${view.name}`, epochs * stepsPerEpoch);
  const stepHistory: StepRecord[] = [];
  const epochHistory: EpochRecord[] = [];
  const started = Date.now();
  let lastYield = Date.now();
  let step = 0;
  let stopped: string | null = null;
  // The trainable weights at the start of the last step whose loss was finite: what the model gets back on divergence.
  let lastFinite: tf.Tensor[] = [];
  let candidate: tf.Tensor[] = [];
  let lastFiniteStep = 0;
  let backendFailed = false;

  const context = (epoch: number): StepContext => ({ step, epoch, view, params, trainable, optimizer, data: dataset, loss: lossKind, lr });
  const snapshot = () => {
    if (!trajectory) return;
    const kernels: Record<string, Float32Array> = {};
    for (const b of weightedBlocks(view)) if (trajectory.layers.includes(b.layer)) kernels[b.layer] = params[b.kernel].dataSync() as Float32Array;
    trajectory.push(step, kernels);
  };
  const recordEvery = trajectory ? (typeof options.record === "object" && options.record.every) || stepsPerEpoch : 0;
  const restoreLastFinite = (what: string) => {
    const restored = lastFinite.length ? lastFinite : candidate;
    restored.forEach((t, k) => trainableVars[k].assign(t));
    const which = lastFinite.length ? `of step ${lastFiniteStep}, the last with a finite loss` : "it started with";
    stopped = `${what}; the model keeps the weights ${which} (lower the learning rate)`;
  };

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
        candidate = trainableVars.map((v) => tf.clone(v));
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
          restoreLastFinite(`loss became ${lossValue} at step ${step}`);
          break;
        }
        tf.dispose(lastFinite);
        [lastFinite, candidate, lastFiniteStep] = [candidate, [], step - 1];
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
      // A finite loss can still be followed by an update that overflows: the weights the epoch ends with must be finite.
      if (!stopped && !trainableVars.every((v) => tf.tidy(() => tf.all(tf.isFinite(v)).dataSync()[0] === 1))) {
        restoreLastFinite(`the update of step ${step} made the weights non-finite`);
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
    backendFailed = isBackendFailure(error);
    if (backendFailed) {
      throw await recoverFromBackendFailure("train", error, () => {
        const restored = hostCopy.map((c) => tf.tensor(c.values, c.shape));
        model.setWeights(restored);
        tf.dispose(restored);
      });
    }
    // Interrupted or failed: keep what was learned so far in the model, report, and rethrow.
    model.setWeights(params);
    throw error;
  } finally {
    bar?.finish(stopped ?? `loss ${(epochHistory.at(-1)?.loss ?? NaN).toPrecision(4)}`);
    try {
      optimizer.dispose();
      tf.dispose(params);
      tf.dispose(lastFinite);
      tf.dispose(candidate);
    } catch (error) {
      if (!backendFailed) throw error; // nothing more can be freed on a backend that has failed
    }
  }
  return new TrainRun(
    { model: view.name, backend: tf.getBackend(), optimizer: optimizerName, loss: lossKind, batchSize, samples: n, seconds: (Date.now() - started) / 1000, stopped },
    { steps: stepHistory, epochs: epochHistory },
    trajectory,
  );
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

/** Kernel shapes of the layers to record (null: no recording), checked before training starts. */
function recordedShapes(view: ModelView, record: TrainOptions["record"]): Record<string, number[]> | null {
  if (!record) return null;
  const options = record === true ? {} : record;
  checkOptions("train record", options, { every: rules.integer(1), maxMemoryMB: rules.nonNegative() });
  const blocks = weightedBlocks(view);
  const names = options.layers ?? blocks.map((b) => b.layer);
  if (!Array.isArray(names) || names.length === 0) throw new InputError("invalid-option", `train: record.layers must list at least one Dense/Conv2D layer of "${view.name}"; layers: ${blocks.map((b) => b.layer).join(", ")}`, "record.layers");
  const shapes: Record<string, number[]> = {};
  for (const name of names) {
    const block = blocks.find((b) => b.layer === name);
    if (!block) throw new InputError("invalid-option", `train: record.layers: "${String(name)}" is not a Dense/Conv2D layer of "${view.name}"; layers: ${blocks.map((b) => b.layer).join(", ")}`, "record.layers");
    shapes[name] = view.params[block.kernel].shape;
  }
  return shapes;
}

export interface Evaluation { loss: number; accuracy: number | null; samples: number }

/**
 * Loss and accuracy of a parameter list on a dataset, in batches (inference form). Only sums over samples are
 * needed, so the batch shrinks to what the backend's memory holds.
 */
export function evaluateParams(view: ModelView, params: readonly tf.Tensor[], data: Dataset, loss: LossKind, requested = 1024): Evaluation {
  const n = data.x.shape[0];
  const batchSize = Math.min(requested, Math.max(1, largestBatch(view, availableBytes().bytes, "forward")));
  assertPassFits("evaluate", view, Math.min(batchSize, n), "forward", "batchSize");
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
  checkOptions("evaluate", options, { batchSize: rules.integer(1), loss: rules.oneOf("crossEntropy", "mse", "halfMse") });
  const view = viewOf(model);
  const dataset = asDataset(data, "evaluate");
  const loss = options.loss ?? defaultLoss(view, dataset.task);
  assertDataFits(view, dataset, loss, "evaluate");
  const params = readParams(model);
  try {
    assertFiniteParams(view, params, "evaluate");
    return evaluateParams(view, params, dataset, loss, options.batchSize);
  } finally {
    tf.dispose(params);
  }
}
