/**
 * The probe step and its effect on the outputs, for a batch of probed samples x_i and affected points x'_j:
 *   finite:        change_ij = f(x'_j, w - eta d_i) - f(x'_j, w)
 *   infinitesimal: change_ij = d/deta f(x'_j, w - eta d_i) at eta = 0 = -J(x'_j) d_i   (no cancellation)
 * where d_i is the step direction of ONE sample (SGD: its loss gradient; Adam: a fresh Adam step).
 *
 * Two engines compute the same numbers:
 * - "dense": chains of Dense layers and elementwise activations with SGD steps. A Dense layer's
 *   per-sample gradient is the outer product a_i^T delta_i (input times back-propagated signal), so
 *   z_ij = h_ij W + b - eta (h_ij . a_i + 1) delta_i gives every perturbed forward pass at once, batched
 *   over probes and points; the infinitesimal mode carries the tangent through the same chain.
 * - "generic": any supported model and step, one gradient per probed sample, then one batched forward
 *   pass per row (finite), or (infinitesimal) the products of the step directions with the Jacobian
 *   rows of the affected points, from first-order gradients only.
 */
import * as tf from "@tensorflow/tfjs";
import { UnsupportedModelError } from "../errors";
import { activate, crossEntropyFromLogits, forward, lossOf, trainableLoss, type LossKind } from "../model/functional";
import type { Activation, ModelView } from "../model/view";
import { gradient } from "../math/hessian";
import { yieldToEventLoop } from "../display/progress";

export type StepRule = "sgd" | "adam";
export type Mode = "finite" | "infinitesimal";

/** Adam's epsilon (the first Adam update of a fresh optimizer is eta * g / (|g| + eps)). */
const ADAM_EPSILON = 1e-8;
/** Floats held by one chunk's [probes, points, width] activations: bounds memory, sets the chunk size. */
const CHUNK_FLOATS = 4_000_000;

export interface ProbeSetup {
  view: ModelView;
  params: readonly tf.Tensor[];
  loss: LossKind;
  /** Measure logits (final softmax dropped) rather than the model output. */
  logits: boolean;
  step: StepRule;
  mode: Mode;
  eta: number;
}

/** What one chunk of probes produces, all float32 copies on the JS side, row-major. */
export interface ChunkChanges {
  /** [probes, points, outputs] changes at the affected points. */
  pairs: Float32Array;
  /** [probes, outputs] change at each probe's own sample. */
  self: Float32Array;
  /** [probes] squared norm of the step direction (0: the probe does not move the weights). */
  stepNorm2: Float64Array;
}

export interface Engine {
  readonly name: "dense" | "generic";
  /** Rows per chunk (the caller awaits between chunks). */
  readonly chunk: number;
  /** Changes caused by probing samples x (with labels y) at the affected points. */
  changes(x: tf.Tensor, y: tf.Tensor): Promise<ChunkChanges>;
  dispose(): void;
}

/** The measured output (logits or model output) at a batch of points. */
export function measuredOutput(setup: ProbeSetup, x: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const out = forward(setup.view, setup.params, x, { logits: setup.logits });
    return out.reshape([x.shape[0], -1]) as tf.Tensor2D;
  });
}

/** Sum over samples of each sample's loss, from the loss's own output (logits for cross-entropy). */
function lossSum(out: tf.Tensor2D, y: tf.Tensor, kind: LossKind): tf.Scalar {
  const n = out.shape[0];
  if (kind === "crossEntropy") return tf.mul(crossEntropyFromLogits(out, y), n);
  const target = y.reshape(out.shape);
  const squared = tf.sum(tf.square(tf.sub(out, target)));
  return tf.div(squared, kind === "mse" ? out.shape[1] : 2);
}

/** dL/d(output) per sample at x: the factor the kernelized similarity divides by. */
export function lossSlope(setup: ProbeSetup, x: tf.Tensor, y: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => tf.grad((out: tf.Tensor) => lossSum(out as tf.Tensor2D, y, setup.loss))(measuredOutput(setup, x)) as tf.Tensor2D);
}

type ChainStep = { kind: "dense"; kernel: number; bias: number | null; units: number } | { kind: "act"; activation: Activation; alpha: number };

/**
 * The model as Dense layers and elementwise activations, or null when it is something else
 * (convolutions, normalisation, a softmax that is measured). Dropout is the identity at inference.
 */
export function denseChain(view: ModelView, logits: boolean): ChainStep[] | null {
  const steps: ChainStep[] = [];
  for (const block of view.blocks) {
    if (block.kind === "dropout") continue;
    if (block.kind === "flatten" && steps.length === 0) continue;
    if (block.kind === "dense") {
      steps.push({ kind: "dense", kernel: block.kernel, bias: block.bias, units: block.units });
      if (block.activation !== "linear") steps.push({ kind: "act", activation: block.activation, alpha: block.alpha });
    } else if (block.kind === "activation") {
      steps.push({ kind: "act", activation: block.activation, alpha: block.alpha });
    } else {
      return null;
    }
  }
  if (view.inputShape.length !== 1 && view.blocks[0]?.kind !== "flatten") return null;
  const softmax = steps.findIndex((s) => s.kind === "act" && s.activation === "softmax");
  if (softmax >= 0) {
    if (!logits || softmax !== steps.length - 1) return null;
    steps.pop();
  }
  return steps;
}

export function makeEngine(setup: ProbeSetup, affected: tf.Tensor, choice: "auto" | "dense" | "generic"): Engine {
  const chain = setup.step === "sgd" ? denseChain(setup.view, setup.logits) : null;
  if (choice === "dense" && !chain) {
    throw new UnsupportedModelError(`elasticity: the "dense" engine needs SGD steps on a chain of Dense layers and elementwise activations; model "${setup.view.name}" with step "${setup.step}" needs engine "generic"`);
  }
  return chain && choice !== "generic" ? new DenseEngine(setup, chain, affected) : new GenericEngine(setup, affected);
}

class DenseEngine implements Engine {
  readonly name = "dense";
  readonly chunk: number;
  private readonly points: tf.Tensor3D;
  private readonly base: tf.Tensor3D;

  constructor(private readonly setup: ProbeSetup, private readonly chain: ChainStep[], affected: tf.Tensor) {
    const m = affected.shape[0];
    this.points = tf.tidy(() => affected.reshape([1, m, -1]) as tf.Tensor3D);
    this.base = tf.tidy(() => measuredOutput(setup, affected).expandDims(0) as tf.Tensor3D);
    const widest = Math.max(...chain.map((s) => (s.kind === "dense" ? s.units : 0)));
    this.chunk = Math.max(1, Math.floor(CHUNK_FLOATS / (m * widest)));
  }

  async changes(x: tf.Tensor, y: tf.Tensor): Promise<ChunkChanges> {
    const n = x.shape[0];
    const [pairs, self, norm2] = tf.tidy(() => {
      const flat = x.reshape([n, -1]) as tf.Tensor2D;
      const signals = this.signals(flat, y);
      const pairs = this.propagate(this.points, this.base, signals);
      const self = this.propagate(flat.expandDims(1) as tf.Tensor3D, measuredOutput(this.setup, x).expandDims(1) as tf.Tensor3D, signals);
      // ||a^T delta||^2 + ||delta||^2 = (||a||^2 + 1) ||delta||^2 per Dense layer (the bias term only with a bias).
      const norm2 = tf.addN(signals.inputs.map((a, l) => {
        const withBias = signals.bias[l] ? 1 : 0;
        return tf.mul(tf.add(tf.sum(tf.square(a), 1), withBias), tf.sum(tf.square(signals.deltas[l]), 1));
      }));
      return [pairs, self.squeeze([1]), norm2];
    });
    const out = { pairs: pairs.dataSync() as Float32Array, self: self.dataSync() as Float32Array, stepNorm2: Float64Array.from(norm2.dataSync()) };
    tf.dispose([pairs, self, norm2]);
    return out;
  }

  /** Inputs a_l and back-propagated signals delta_l = dL/dz_l of every Dense layer, per probed sample. */
  private signals(x: tf.Tensor2D, y: tf.Tensor): { inputs: tf.Tensor2D[]; deltas: tf.Tensor2D[]; bias: boolean[] } {
    const { params, loss } = this.setup;
    const dense = this.chain.filter((s): s is Extract<ChainStep, { kind: "dense" }> => s.kind === "dense");
    const inputs: tf.Tensor2D[] = [];
    let h: tf.Tensor2D = x;
    for (const s of this.chain) {
      if (s.kind === "dense") {
        inputs.push(h);
        h = affine(h, params[s.kernel], s.bias === null ? null : params[s.bias]);
      } else {
        h = activate(h, s.activation, s.alpha) as tf.Tensor2D;
      }
    }
    // Zero "taps" added to each pre-activation: the loss gradient with respect to a tap is delta_l.
    const taps = dense.map((s) => tf.zeros([x.shape[0], s.units]));
    const deltas = tf.grads((...t: tf.Tensor[]) => {
      let out: tf.Tensor2D = x;
      let l = 0;
      for (const s of this.chain) {
        if (s.kind === "dense") out = tf.add(affine(out, params[s.kernel], s.bias === null ? null : params[s.bias]), t[l++]);
        else out = activate(out, s.activation, s.alpha) as tf.Tensor2D;
      }
      return lossSum(out, y, loss);
    })(taps) as tf.Tensor2D[];
    return { inputs, deltas, bias: dense.map((s) => s.bias !== null) };
  }

  /**
   * Changes of the measured output at points [B, M, in] (B = 1: the same points for every probe; B = probes:
   * one point per probe) when each probe i updates every Dense layer by -eta (a_i^T delta_i, delta_i).
   */
  private propagate(points: tf.Tensor3D, base: tf.Tensor3D, signals: { inputs: tf.Tensor2D[]; deltas: tf.Tensor2D[]; bias: boolean[] }): tf.Tensor3D {
    const { params, mode, eta } = this.setup;
    let h: tf.Tensor3D = points;
    let tangent: tf.Tensor3D | null = null;
    let l = 0;
    for (const s of this.chain) {
      if (s.kind === "act") {
        if (tangent) tangent = tf.mul(tangent, activationSlope(h, s.activation, s.alpha)) as tf.Tensor3D;
        h = activate(h, s.activation, s.alpha) as tf.Tensor3D;
        continue;
      }
      const kernel = params[s.kernel];
      const a = signals.inputs[l];
      const delta = signals.deltas[l];
      // (h_ij . a_i + 1) delta_i: the first-order change of z_ij caused by this layer's update.
      const coefficient = signals.bias[l] ? tf.add(rowDots(h, a), 1) : rowDots(h, a);
      const shift = tf.mul(coefficient.expandDims(2), delta.expandDims(1)) as tf.Tensor3D;
      const z = affine3(h, kernel, s.bias === null ? null : params[s.bias]);
      if (mode === "finite") {
        h = tf.sub(z, tf.mul(eta, shift)) as tf.Tensor3D;
      } else {
        tangent = (tangent ? tf.sub(affine3(tangent, kernel, null), shift) : tf.neg(shift)) as tf.Tensor3D;
        h = z;
      }
      l++;
    }
    return mode === "finite" ? (tf.sub(h, base) as tf.Tensor3D) : (tangent as tf.Tensor3D);
  }

  dispose(): void {
    tf.dispose([this.points, this.base]);
  }
}

function affine(h: tf.Tensor2D, kernel: tf.Tensor, bias: tf.Tensor | null): tf.Tensor2D {
  const z = tf.matMul(h, kernel as tf.Tensor2D) as tf.Tensor2D;
  return bias ? (tf.add(z, bias) as tf.Tensor2D) : z;
}

function affine3(h: tf.Tensor3D, kernel: tf.Tensor, bias: tf.Tensor | null): tf.Tensor3D {
  const [b, m, width] = h.shape;
  return affine(h.reshape([b * m, width]) as tf.Tensor2D, kernel, bias).reshape([b, m, -1]) as tf.Tensor3D;
}

/** [probes, M] dot products h_ij . a_i, for h [1, M, in] (shared points) or [probes, M, in]. */
function rowDots(h: tf.Tensor3D, a: tf.Tensor2D): tf.Tensor2D {
  if (h.shape[0] === 1) return tf.matMul(h.squeeze([0]) as tf.Tensor2D, a, false, true).transpose() as tf.Tensor2D;
  return tf.matMul(h, a.expandDims(2) as tf.Tensor3D).squeeze([2]) as tf.Tensor2D;
}

/** Elementwise derivative of an activation at z. */
function activationSlope(z: tf.Tensor, activation: Activation, alpha: number): tf.Tensor {
  return tf.grad((u: tf.Tensor) => tf.sum(activate(u, activation, alpha)))(z);
}

class GenericEngine implements Engine {
  readonly name = "generic";
  /** Finite: one perturbed forward pass per row. Infinitesimal: all rows share each Jacobian block. */
  readonly chunk: number;
  private readonly base: tf.Tensor2D;
  private readonly trainable: number[];

  constructor(private readonly setup: ProbeSetup, private readonly affected: tf.Tensor) {
    this.base = measuredOutput(setup, affected);
    this.trainable = setup.view.params.filter((p) => p.trainable).map((p) => p.index);
    this.chunk = setup.mode === "finite" ? 1 : Infinity;
  }

  async changes(x: tf.Tensor, y: tf.Tensor): Promise<ChunkChanges> {
    return this.setup.mode === "finite" ? this.finiteChanges(x, y) : this.infinitesimalChanges(x, y);
  }

  private finiteChanges(x: tf.Tensor, y: tf.Tensor): ChunkChanges {
    const n = x.shape[0];
    const m = this.affected.shape[0];
    const pairs: Float32Array[] = [];
    const self: Float32Array[] = [];
    const stepNorm2 = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const change = tf.tidy(() => {
        const xi = x.slice(i, 1);
        const direction = this.direction(xi, y.slice(i, 1));
        stepNorm2[i] = tf.addN(direction.map((d) => tf.sum(tf.square(d)))).dataSync()[0];
        const moved = this.withTrainable(this.trainable.map((index, k) => tf.sub(this.setup.params[index], tf.mul(this.setup.eta, direction[k]))));
        // The probe's own sample rides along as an extra point.
        const points = tf.concat([this.affected, xi]);
        return tf.sub(measuredOutput({ ...this.setup, params: moved }, points), tf.concat([this.base, measuredOutput(this.setup, xi)]));
      });
      const values = change.dataSync() as Float32Array;
      const width = values.length / (m + 1);
      pairs.push(values.subarray(0, m * width));
      self.push(values.subarray(m * width));
      change.dispose();
    }
    return { pairs: concat(pairs), self: concat(self), stepNorm2 };
  }

  /**
   * -J(x') d_i for every row and point as (directions [n, P]) x (Jacobian rows [points x outputs, P])^T,
   * with Jacobian rows from first-order gradients only (TF.js has no second-order convolution gradients).
   */
  private async infinitesimalChanges(x: tf.Tensor, y: tf.Tensor): Promise<ChunkChanges> {
    const n = x.shape[0];
    const m = this.affected.shape[0];
    const width = this.base.shape[1];
    const directions = tf.tidy(() => tf.stack(Array.from({ length: n }, (_, i) => flat(this.direction(x.slice(i, 1), y.slice(i, 1))))) as tf.Tensor2D);
    const size = directions.shape[1];
    const block = Math.max(1, Math.floor(CHUNK_FLOATS / (width * size)));
    const pairs = new Float32Array(n * m * width);
    try {
      for (let start = 0; start < m; start += block) {
        const count = Math.min(block, m - start);
        const product = tf.tidy(() => tf.neg(tf.matMul(directions, this.jacobianRows(this.affected.slice(start, count)), false, true)));
        const values = product.dataSync();
        product.dispose();
        for (let i = 0; i < n; i++) pairs.set(values.subarray(i * count * width, (i + 1) * count * width), (i * m + start) * width);
        await yieldToEventLoop();
      }
      const [self, norm2] = tf.tidy(() => {
        const rows = Array.from({ length: n }, (_, i) => tf.neg(tf.matMul(this.jacobianRows(x.slice(i, 1)), directions.slice(i, 1), false, true)).reshape([width]));
        return [tf.stack(rows), tf.sum(tf.square(directions), 1)];
      });
      const out = { pairs, self: self.dataSync() as Float32Array, stepNorm2: Float64Array.from(norm2.dataSync()) };
      tf.dispose([self, norm2]);
      return out;
    } finally {
      directions.dispose();
    }
  }

  /** [points x outputs, P]: the gradient of each measured output at each point, point-major. */
  private jacobianRows(points: tf.Tensor): tf.Tensor2D {
    const width = this.base.shape[1];
    const current = this.trainable.map((index) => this.setup.params[index]);
    return tf.tidy(() => {
      const rows: tf.Tensor[] = [];
      for (let j = 0; j < points.shape[0]; j++) {
        const xj = points.slice(j, 1);
        for (let k = 0; k < width; k++) {
          const output = (p: tf.Tensor[]) => measuredOutput({ ...this.setup, params: this.withTrainable(p) }, xj).slice([0, k], [1, 1]).sum() as tf.Scalar;
          rows.push(flat(gradient(output, current)));
        }
      }
      return tf.stack(rows) as tf.Tensor2D;
    });
  }

  /** The step direction d of one sample for the trainable parameters (w+ = w - eta d). */
  private direction(x: tf.Tensor, y: tf.Tensor): tf.Tensor[] {
    const { view, params, loss, step } = this.setup;
    const objective = trainableLoss(view, params, x, y, loss);
    const g = gradient(objective.loss, objective.trainable);
    if (step === "sgd") return g;
    // A fresh Adam step after bias correction: m_hat = g, v_hat = g^2.
    return g.map((gi) => tf.div(gi, tf.add(tf.abs(gi), ADAM_EPSILON)));
  }

  /** The full parameter list with the trainable ones replaced. */
  private withTrainable(values: tf.Tensor[]): tf.Tensor[] {
    const full = this.setup.params.slice();
    this.trainable.forEach((index, k) => (full[index] = values[k]));
    return full;
  }

  dispose(): void {
    this.base.dispose();
  }
}

function flat(tensors: tf.Tensor[]): tf.Tensor1D {
  return tf.concat(tensors.map((t) => t.reshape([-1]))) as tf.Tensor1D;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
