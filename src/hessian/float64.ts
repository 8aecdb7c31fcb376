/**
 * Loss, gradient and Hessian-vector products of a Dense chain in float64, outside TF.js (which is
 * float32 only): backpropagation plus its directional derivative (Pearlmutter's R-operator). Exact
 * to double precision, so inertia counts and criticality (||grad||_1 <= 1e-12) can be decided.
 */
import type { Activation, ModelView } from "../model/view";
import type { LossKind } from "../model/functional";
import type { HessianOperator } from "../math/hessian";

type Op =
  | { kind: "affine"; kernel: number; bias: number | null; inputs: number; units: number }
  | { kind: "elementwise"; activation: Activation; alpha: number };

/** Data as float64 arrays: x [n, inputs] row-major; y float targets [n, outputs] or integer labels [n]. */
export interface ExactData {
  n: number;
  x: Float64Array;
  y: Float64Array | Int32Array;
}

/** What a float64 evaluation at one point keeps for later Hessian-vector products. */
interface Pass {
  /** Input of every op (inputs[0] is x); inputs[ops.length] is the network output (logits for cross-entropy). */
  inputs: Float64Array[];
  /** dLoss/d(input of op i), and for i = ops.length the loss gradient at the output. */
  grads: Float64Array[];
  loss: number;
  /** Gradient with respect to the parameters, concatenated in view order. */
  gradient: Float64Array;
  /** Softmax of the logits (cross-entropy only). */
  probabilities: Float64Array | null;
}

/**
 * A Dense chain in float64. `ExactNet.of(view)` returns null for any model it cannot evaluate exactly
 * (convolutions, BatchNormalization, non-trainable weights, a softmax not at the end): callers then
 * fall back to float32 TF.js products.
 */
export class ExactNet {
  private constructor(
    readonly view: ModelView,
    private readonly ops: Op[],
    /** A final softmax, folded into the cross-entropy loss like the functional model does. */
    private readonly endsInSoftmax: boolean,
    private readonly offsets: number[],
    readonly size: number,
  ) {}

  static of(view: ModelView): ExactNet | null {
    if (view.inputShape.length !== 1 || view.params.some((p) => !p.trainable)) return null;
    const ops: Op[] = [];
    let width = view.inputShape[0];
    let endsInSoftmax = false;
    for (const block of view.blocks) {
      if (endsInSoftmax) return null;
      if (block.kind === "dense") {
        ops.push({ kind: "affine", kernel: block.kernel, bias: block.bias, inputs: width, units: block.units });
        width = block.units;
        if (block.activation === "softmax") endsInSoftmax = true;
        else if (block.activation !== "linear") ops.push({ kind: "elementwise", activation: block.activation, alpha: block.alpha });
      } else if (block.kind === "activation") {
        if (block.activation === "softmax") endsInSoftmax = true;
        else if (block.activation !== "linear") ops.push({ kind: "elementwise", activation: block.activation, alpha: block.alpha });
      } else if (block.kind !== "dropout") {
        return null;
      }
    }
    const offsets: number[] = [];
    let size = 0;
    for (const p of view.params) {
      offsets.push(size);
      size += p.size;
    }
    return new ExactNet(view, ops, endsInSoftmax, offsets, size);
  }

  /** The loss and its gradient (flat, in view order). */
  evaluate(params: readonly ArrayLike<number>[], data: ExactData, kind: LossKind): { loss: number; gradient: Float64Array } {
    const pass = this.pass(params, data, kind);
    return { loss: pass.loss, gradient: pass.gradient };
  }

  /** The Hessian at params as an operator on flat float64 vectors (view order), exact to round-off. */
  operator(params: readonly ArrayLike<number>[], data: ExactData, kind: LossKind): HessianOperator {
    const pass = this.pass(params, data, kind);
    const weights = params.map((p) => Float64Array.from(p));
    let products = 0;
    const size = this.size;
    return {
      size,
      get products() {
        return products;
      },
      apply: (v: Float64Array): Float64Array => {
        if (v.length !== size) throw new Error(`Hessian operator of size ${size} applied to a vector of length ${v.length}`);
        products++;
        return this.hvp(weights, data, kind, pass, v);
      },
    };
  }

  private pass(params: readonly ArrayLike<number>[], data: ExactData, kind: LossKind): Pass {
    if (this.endsInSoftmax && kind !== "crossEntropy") {
      throw new Error(`model "${this.view.name}" ends in softmax; the exact (float64) Hessian supports it only with the crossEntropy loss`);
    }
    const n = data.n;
    const inputs: Float64Array[] = [data.x];
    let width = this.view.inputShape[0];
    for (const op of this.ops) {
      const h = inputs[inputs.length - 1];
      if (op.kind === "affine") {
        inputs.push(affine(h, n, op.inputs, op.units, params[op.kernel], op.bias === null ? null : params[op.bias]));
        width = op.units;
      } else {
        inputs.push(h.map((z) => act(op.activation, op.alpha, z)[0]));
      }
    }
    const out = inputs[inputs.length - 1];
    const { loss, grad, probabilities } = outputLoss(out, n, width, data.y, kind);
    const grads: Float64Array[] = new Array<Float64Array>(this.ops.length + 1);
    grads[this.ops.length] = grad;
    const gradient = new Float64Array(this.size);
    for (let i = this.ops.length - 1; i >= 0; i--) {
      const op = this.ops[i];
      const g = grads[i + 1];
      const h = inputs[i];
      if (op.kind === "affine") {
        accumulateParamGrads(gradient, this.offsets, op, h, g, n);
        grads[i] = timesTransposed(g, n, op.units, params[op.kernel], op.inputs);
      } else {
        grads[i] = g.map((gi, j) => gi * act(op.activation, op.alpha, h[j])[1]);
      }
    }
    return { inputs, grads, loss, gradient, probabilities };
  }

  /** H v by the R-operator: the directional derivative of the backward pass along v. */
  private hvp(params: readonly Float64Array[], data: ExactData, kind: LossKind, pass: Pass, v: Float64Array): Float64Array {
    const n = data.n;
    const direction = (index: number) => v.subarray(this.offsets[index], this.offsets[index] + this.view.params[index].size);
    // Forward: R(input of op i).
    const rInputs: (Float64Array | null)[] = [null];
    for (let i = 0; i < this.ops.length; i++) {
      const op = this.ops[i];
      const rh = rInputs[i];
      const h = pass.inputs[i];
      if (op.kind === "affine") {
        const rz = affine(h, n, op.inputs, op.units, direction(op.kernel), op.bias === null ? null : direction(op.bias));
        if (rh) addInto(rz, affine(rh, n, op.inputs, op.units, params[op.kernel], null));
        rInputs.push(rz);
      } else {
        rInputs.push(rh === null ? null : rh.map((r, j) => r * act(op.activation, op.alpha, h[j])[1]));
      }
    }
    const rOut = rInputs[this.ops.length] ?? new Float64Array(pass.inputs[this.ops.length].length);
    let rg = outputCurvature(rOut, n, pass.inputs[this.ops.length].length / n, pass.probabilities, kind);
    const out = new Float64Array(this.size);
    for (let i = this.ops.length - 1; i >= 0; i--) {
      const op = this.ops[i];
      const g = pass.grads[i + 1];
      const h = pass.inputs[i];
      const rh = rInputs[i];
      if (op.kind === "affine") {
        accumulateParamGrads(out, this.offsets, op, h, rg, n);
        if (rh) accumulateKernelGrad(out, this.offsets[op.kernel], rh, g, n, op.inputs, op.units);
        if (i === 0) break;
        const next = timesTransposed(rg, n, op.units, params[op.kernel], op.inputs);
        addInto(next, timesTransposed(g, n, op.units, direction(op.kernel), op.inputs));
        rg = next;
      } else {
        rg = rg.map((r, j) => {
          const [, d1, d2] = act(op.activation, op.alpha, h[j]);
          return r * d1 + (rh === null ? 0 : g[j] * d2 * rh[j]);
        });
      }
    }
    return out;
  }
}

/** z = h W + b for h [n, inputs], W [inputs, units] (TF.js Dense layout). */
function affine(h: ArrayLike<number>, n: number, inputs: number, units: number, kernel: ArrayLike<number>, bias: ArrayLike<number> | null): Float64Array {
  const z = new Float64Array(n * units);
  for (let s = 0; s < n; s++) {
    const row = s * units;
    if (bias) for (let u = 0; u < units; u++) z[row + u] = bias[u];
    for (let i = 0; i < inputs; i++) {
      const hv = h[s * inputs + i];
      if (hv === 0) continue;
      const k = i * units;
      for (let u = 0; u < units; u++) z[row + u] += hv * kernel[k + u];
    }
  }
  return z;
}

/** g W^T for g [n, units]: the gradient with respect to the affine map's input. */
function timesTransposed(g: Float64Array, n: number, units: number, kernel: ArrayLike<number>, inputs: number): Float64Array {
  const out = new Float64Array(n * inputs);
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < inputs; i++) {
      let acc = 0;
      for (let u = 0; u < units; u++) acc += g[s * units + u] * kernel[i * units + u];
      out[s * inputs + i] = acc;
    }
  }
  return out;
}

/** Adds h^T g to the kernel's slot and the column sums of g to the bias's slot. */
function accumulateParamGrads(out: Float64Array, offsets: number[], op: Extract<Op, { kind: "affine" }>, h: Float64Array, g: Float64Array, n: number): void {
  accumulateKernelGrad(out, offsets[op.kernel], h, g, n, op.inputs, op.units);
  if (op.bias !== null) {
    const b = offsets[op.bias];
    for (let s = 0; s < n; s++) for (let u = 0; u < op.units; u++) out[b + u] += g[s * op.units + u];
  }
}

function accumulateKernelGrad(out: Float64Array, offset: number, h: Float64Array, g: Float64Array, n: number, inputs: number, units: number): void {
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < inputs; i++) {
      const hv = h[s * inputs + i];
      if (hv === 0) continue;
      for (let u = 0; u < units; u++) out[offset + i * units + u] += hv * g[s * units + u];
    }
  }
}

function addInto(target: Float64Array, add: Float64Array): void {
  for (let i = 0; i < target.length; i++) target[i] += add[i];
}

/** Loss value and its gradient with respect to the network output (logits for cross-entropy). */
function outputLoss(out: Float64Array, n: number, k: number, y: Float64Array | Int32Array, kind: LossKind): { loss: number; grad: Float64Array; probabilities: Float64Array | null } {
  const grad = new Float64Array(out.length);
  let loss = 0;
  if (kind === "crossEntropy") {
    const p = new Float64Array(out.length);
    for (let s = 0; s < n; s++) {
      let max = -Infinity;
      for (let c = 0; c < k; c++) max = Math.max(max, out[s * k + c]);
      let sum = 0;
      for (let c = 0; c < k; c++) sum += (p[s * k + c] = Math.exp(out[s * k + c] - max));
      for (let c = 0; c < k; c++) p[s * k + c] /= sum;
      const label = y[s];
      loss -= out[s * k + label] - max - Math.log(sum);
      for (let c = 0; c < k; c++) grad[s * k + c] = (p[s * k + c] - (c === label ? 1 : 0)) / n;
    }
    return { loss: loss / n, grad, probabilities: p };
  }
  if (y.length !== out.length) throw new Error(`targets have ${y.length / n} values per sample but the model outputs ${k}`);
  // halfMse: sum (f - y)^2 / (2n); mse: mean over samples and outputs.
  const scale = kind === "halfMse" ? 1 / n : 2 / (n * k);
  for (let i = 0; i < out.length; i++) {
    const r = out[i] - y[i];
    loss += r * r;
    grad[i] = scale * r;
  }
  return { loss: kind === "halfMse" ? loss / (2 * n) : loss / (n * k), grad, probabilities: null };
}

/** The output Hessian of the loss applied to R(output). */
function outputCurvature(rOut: Float64Array, n: number, k: number, p: Float64Array | null, kind: LossKind): Float64Array {
  if (kind === "crossEntropy") {
    const probs = p as Float64Array;
    const out = new Float64Array(rOut.length);
    for (let s = 0; s < n; s++) {
      let dot = 0;
      for (let c = 0; c < k; c++) dot += probs[s * k + c] * rOut[s * k + c];
      for (let c = 0; c < k; c++) out[s * k + c] = (probs[s * k + c] * (rOut[s * k + c] - dot)) / n;
    }
    return out;
  }
  const scale = kind === "halfMse" ? 1 / n : 2 / (n * k);
  return rOut.map((r) => scale * r);
}

const SELU_SCALE = 1.0507009873554805;
const SELU_ALPHA = 1.6732632423543772;

/** [sigma(z), sigma'(z), sigma''(z)] of an elementwise activation, as TF.js defines it. */
export function act(activation: Activation, alpha: number, z: number): [number, number, number] {
  switch (activation) {
    case "linear": return [z, 1, 0];
    case "relu": return [Math.max(z, 0), z > 0 ? 1 : 0, 0];
    case "relu6": return [Math.min(Math.max(z, 0), 6), z > 0 && z < 6 ? 1 : 0, 0];
    case "leakyRelu": return z > 0 ? [z, 1, 0] : [alpha * z, alpha, 0];
    case "elu": return z > 0 ? [z, 1, 0] : [Math.expm1(z), Math.exp(z), Math.exp(z)];
    case "selu": return z > 0 ? [SELU_SCALE * z, SELU_SCALE, 0] : [SELU_SCALE * SELU_ALPHA * Math.expm1(z), SELU_SCALE * SELU_ALPHA * Math.exp(z), SELU_SCALE * SELU_ALPHA * Math.exp(z)];
    case "tanh": {
      const t = Math.tanh(z);
      return [t, 1 - t * t, -2 * t * (1 - t * t)];
    }
    case "sigmoid": {
      const s = sigmoid(z);
      return [s, s * (1 - s), s * (1 - s) * (1 - 2 * s)];
    }
    case "softplus": {
      const s = sigmoid(z);
      return [z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)), s, s * (1 - s)];
    }
    case "softsign": {
      const d = 1 + Math.abs(z);
      return [z / d, 1 / (d * d), (-2 * Math.sign(z)) / (d * d * d)];
    }
    case "swish": {
      const s = sigmoid(z);
      const ds = s * (1 - s);
      return [z * s, s + z * ds, 2 * ds + z * ds * (1 - 2 * s)];
    }
    case "softmax":
      throw new Error("softmax is not an elementwise activation");
  }
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}
