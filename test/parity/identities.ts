/**
 * Identities every backend must satisfy, with tolerances stated per backend. The shared core that all
 * probes stand on (matMul, reductions, forward, gradients, Hessian-vector products, Lanczos, the SGD
 * step) is checked against float64 references or exact symmetries, so a backend that passes these gives
 * the probes the same numbers up to the stated float32 error.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { assertClose } from "../helpers";
import { Rng } from "../../src/math/rng";
import { symmetricEigen } from "../../src/math/eigen";
import { gradient, hvp, hessianOperator, lanczos, denseHessian } from "../../src/math/hessian";
import { mlp } from "../../src/model/build";
import { viewOf } from "../../src/model/view";
import { forward, lossOf, trainableLoss } from "../../src/model/functional";
import { readParams } from "../../src/model/params";
import { train } from "../../src/train/train";
import type { BackendName } from "../../src/backend";

export interface Tolerance {
  /**
   * Unit roundoff of the matMul/reduction arithmetic: 2^-24 for IEEE float32 (cpu, blas, wasm, WebGPU, whose
   * WGSL + and * are correctly rounded). Native TensorFlow on CUDA may use TF32 (10-bit mantissa) in
   * matMul on Ampere and later GPUs, so it is held to 2^-11.
   */
  unitRoundoff: number;
  /**
   * Relative tolerance of composite computations (softmax, log, chained ops) against float64, relative
   * to the scale of the quantity. 1e-5 where exp/log are accurate to a few ulps (cpu, blas, wasm); 1e-4 on
   * WebGPU, whose WGSL exp is only accurate to 3 + 2|x| ulps, and on TensorFlow for TF32.
   */
  rtol: number;
}

export const TOLERANCE: Record<BackendName, Tolerance> = {
  cpu: { unitRoundoff: 2 ** -24, rtol: 1e-5 },
  blas: { unitRoundoff: 2 ** -24, rtol: 1e-5 },
  wasm: { unitRoundoff: 2 ** -24, rtol: 1e-5 },
  webgpu: { unitRoundoff: 2 ** -24, rtol: 1e-4 },
  tensorflow: { unitRoundoff: 2 ** -11, rtol: 1e-4 },
};

export interface Identity {
  name: string;
  check(tol: Tolerance): void | Promise<void>;
}

/** Higham's gamma_n = n u / (1 - n u): the forward error bound factor of an n-term sum in any order. */
function gamma(n: number, u: number): number {
  return (n * u) / (1 - n * u);
}

function randomMatrix(rng: Rng, rows: number, cols: number): Float32Array {
  return Float32Array.from({ length: rows * cols }, () => rng.normal());
}

function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

/** A small classification set: x ~ N(0, 1), labels from a random linear teacher. */
function classification(rng: Rng, n: number, features: number, classes: number): { x: tf.Tensor2D; y: tf.Tensor1D; xs: Float32Array; labels: Int32Array } {
  const xs = randomMatrix(rng, n, features);
  const teacher = randomMatrix(rng, features, classes);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    for (let c = 0; c < classes; c++) {
      let s = 0;
      for (let f = 0; f < features; f++) s += xs[i * features + f] * teacher[f * classes + c];
      if (s > best) [best, labels[i]] = [s, c];
    }
  }
  return { x: tf.tensor2d(xs, [n, features]), y: tf.tensor1d(labels, "int32"), xs, labels };
}

const matMulBound: Identity = {
  name: "matMul is within Higham's bound |C - AB| <= gamma_n |A||B| of the float64 product",
  check(tol) {
    const [m, n, p] = [96, 200, 40];
    const rng = new Rng(1);
    const a = randomMatrix(rng, m, n);
    const b = randomMatrix(rng, n, p);
    const c = tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, n]), tf.tensor2d(b, [n, p])).dataSync());
    const g = gamma(n, tol.unitRoundoff);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < p; j++) {
        let exact = 0;
        let magnitude = 0;
        for (let k = 0; k < n; k++) {
          exact += a[i * n + k] * b[k * p + j];
          magnitude += Math.abs(a[i * n + k] * b[k * p + j]);
        }
        const ratio = Math.abs(c[i * p + j] - exact) / (g * magnitude);
        if (!(ratio <= 1)) throw new Error(`C[${i}][${j}] = ${c[i * p + j]}, float64 ${exact}: error ${ratio.toPrecision(3)}x the bound`);
      }
    }
  },
};

const sumBound: Identity = {
  name: "sum of 10^4 values is within gamma_n * sum|x| of the float64 sum",
  check(tol) {
    const n = 10_000;
    const rng = new Rng(2);
    const x = Float32Array.from({ length: n }, () => rng.normal(0.5, 1));
    const s = tf.tidy(() => tf.sum(tf.tensor1d(x)).dataSync()[0]);
    let exact = 0;
    let magnitude = 0;
    for (const v of x) {
      exact += v;
      magnitude += Math.abs(v);
    }
    const bound = gamma(n, tol.unitRoundoff) * magnitude;
    if (!(Math.abs(s - exact) <= bound)) throw new Error(`sum ${s} vs float64 ${exact}: |error| ${Math.abs(s - exact)} > bound ${bound}`);
  },
};

const forwardMatchesLayers: Identity = {
  name: "functional forward equals the layers model's predict",
  check(tol) {
    const model = mlp([20, 32, 16, 5], { seed: 3 });
    const view = viewOf(model);
    const params = readParams(model);
    const x = tf.tensor2d(randomMatrix(new Rng(3), 50, 20), [50, 20]);
    const ours = tf.tidy(() => forward(view, params, x).dataSync());
    const theirs = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    tf.dispose([...params, x]);
    model.dispose();
    assertClose(ours, theirs, { atol: tol.rtol * maxAbs(theirs), rtol: 0, what: "forward vs predict" });
  },
};

const reluRescaling: Identity = {
  name: "ReLU rescaling symmetry: hidden unit scaled by 2^k in, 2^-k out leaves the output bit-identical",
  check() {
    // Powers of two scale every product and partial sum exactly, and relu(2^k z) = 2^k relu(z), so any
    // IEEE backend must reproduce the output exactly, whatever its summation order.
    const model = mlp([10, 12, 4], { seed: 4 });
    const view = viewOf(model);
    const params = readParams(model);
    const x = tf.tensor2d(randomMatrix(new Rng(4), 30, 10), [30, 10]);
    const scale = Float32Array.from({ length: 12 }, (_, i) => 2 ** ((i % 5) - 2));
    const result = tf.tidy(() => {
      const [w0, b0, w1, b1] = params;
      const s = tf.tensor1d(scale);
      const moved = [tf.mul(w0, s), tf.mul(b0, s), tf.div(w1, s.reshape([12, 1])), b1];
      return { before: forward(view, params, x).dataSync(), after: forward(view, moved, x).dataSync() };
    });
    tf.dispose([...params, x]);
    model.dispose();
    assertClose(result.after, result.before, { rtol: 0, atol: 0, what: "output after rescaling" });
  },
};

const crossEntropyGradient: Identity = {
  name: "softmax cross-entropy gradient equals X^T (softmax(XW + b) - Y) / n",
  check(tol) {
    const [n, f, k] = [32, 12, 4];
    const rng = new Rng(5);
    const model = mlp([f, k], { seed: 5, init: { std: 0.5, bias: 0.5 } });
    const view = viewOf(model);
    const params = readParams(model);
    const data = classification(rng, n, f, k);
    const w = params[0].dataSync();
    const b = params[1].dataSync();
    const grads = gradient((p) => lossOf(view, p, data.x, data.y, "crossEntropy"), params);
    const got = grads.map((g) => g.dataSync());
    tf.dispose([...grads, ...params, data.x, data.y]);
    model.dispose();
    const gw = new Float64Array(f * k);
    const gb = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      const logits = Array.from({ length: k }, (_, c) => {
        let s = b[c];
        for (let j = 0; j < f; j++) s += data.xs[i * f + j] * w[j * k + c];
        return s;
      });
      const top = Math.max(...logits);
      const e = logits.map((l) => Math.exp(l - top));
      const z = e.reduce((s, v) => s + v, 0);
      for (let c = 0; c < k; c++) {
        const residual = (e[c] / z - (data.labels[i] === c ? 1 : 0)) / n;
        gb[c] += residual;
        for (let j = 0; j < f; j++) gw[j * k + c] += data.xs[i * f + j] * residual;
      }
    }
    assertClose(got[0], gw, { atol: tol.rtol * maxAbs(gw), rtol: 0, what: "dL/dW" });
    assertClose(got[1], gb, { atol: tol.rtol * maxAbs(gb), rtol: 0, what: "dL/db" });
  },
};

const leastSquaresHessian: Identity = {
  name: "least-squares Hessian: hvp, dense Hessian and Lanczos equal [X 1]^T [X 1] / n",
  check(tol) {
    const [n, f] = [40, 6];
    const rng = new Rng(6);
    const model = mlp([f, 1], { seed: 6 });
    const view = viewOf(model);
    const params = readParams(model);
    const xs = randomMatrix(rng, n, f);
    const x = tf.tensor2d(xs, [n, f]);
    const y = tf.tensor2d(randomMatrix(rng, n, 1), [n, 1]);
    // halfMse = (1 / 2n) sum (x.w + b - y)^2, so H = A^T A / n with A = [X 1] (kernel entries first, then bias).
    const d = f + 1;
    const h = new Float64Array(d * d);
    for (let i = 0; i < n; i++) {
      const row = [...xs.subarray(i * f, (i + 1) * f), 1];
      for (let r = 0; r < d; r++) for (let c = 0; c < d; c++) h[r * d + c] += (row[r] * row[c]) / n;
    }
    const loss = (p: tf.Tensor[]) => lossOf(view, p, x, y, "halfMse");
    const v = Float64Array.from({ length: d }, () => rng.normal());
    const direction = [tf.tensor2d(Float32Array.from(v.subarray(0, f)), [f, 1]), tf.tensor1d([v[f]])];
    const hv = hvp(loss, params, direction);
    const hvFlat = [...hv[0].dataSync(), ...hv[1].dataSync()];
    const expectedHv = Array.from({ length: d }, (_, r) => v.reduce((s, vc, c) => s + h[r * d + c] * vc, 0));
    const op = hessianOperator(loss, params);
    const dense = denseHessian(op);
    const top = lanczos(op, 3, { iterations: d, seed: 6 });
    tf.dispose([...direction, ...hv, ...params, x, y]);
    model.dispose();
    const scale = maxAbs(h);
    assertClose(hvFlat, expectedHv, { atol: tol.rtol * scale * maxAbs(v) * d, rtol: 0, what: "H v" });
    assertClose(dense, h, { atol: tol.rtol * scale, rtol: 0, what: "dense Hessian" });
    const exact = symmetricEigen(h, d).values.subarray(0, 3);
    assertClose(top.values, exact, { atol: tol.rtol * scale * d, rtol: 0, what: "Lanczos top-3" });
  },
};

const mlpLanczosMatchesDense: Identity = {
  name: "Lanczos top-2 of an MLP's cross-entropy Hessian equals the dense Hessian's eigenvalues",
  check(tol) {
    const rng = new Rng(7);
    const model = mlp([4, 6, 3], { seed: 7 });
    const view = viewOf(model);
    const params = readParams(model);
    const data = classification(rng, 24, 4, 3);
    const { loss, trainable } = trainableLoss(view, params, data.x, data.y, "crossEntropy");
    const op = hessianOperator(loss, trainable);
    const eig = symmetricEigen(denseHessian(op), op.size).values;
    const top = lanczos(op, 2, { iterations: op.size, seed: 7 });
    tf.dispose([...params, data.x, data.y]);
    model.dispose();
    // Both see the same float32 operator; they differ by its round-off asymmetry, a few rtol of the spectrum.
    assertClose(top.values, eig.subarray(0, 2), { atol: 10 * tol.rtol * Math.abs(eig[0]), rtol: 0, what: "Lanczos vs dense eigenvalues" });
  },
};

const sgdStep: Identity = {
  name: "one full-batch SGD step of train() moves the weights by -lr * gradient",
  async check(tol) {
    const lr = 0.1;
    const rng = new Rng(8);
    const model = mlp([8, 16, 3], { seed: 8 });
    const view = viewOf(model);
    const before = readParams(model);
    const data = classification(rng, 64, 8, 3);
    const grads = gradient((p) => lossOf(view, p, data.x, data.y, "crossEntropy"), before);
    const expected = before.map((p, i) => tf.tidy(() => tf.sub(p, tf.mul(lr, grads[i])).dataSync()));
    const run = await train(model, { x: data.x, y: data.y }, { epochs: 1, batchSize: "full", lr, optimizer: "sgd", shuffle: false, progress: false });
    const after = readParams(model);
    const got = after.map((p) => p.dataSync());
    const scale = Math.max(...before.map((p) => maxAbs(p.dataSync())));
    tf.dispose([...before, ...grads, ...after, data.x, data.y]);
    assert.equal(run.history.steps.length, 1, "one full-batch step");
    model.dispose();
    got.forEach((g, i) => assertClose(g, expected[i], { atol: tol.rtol * scale, rtol: 0, what: `${view.params[i].name} after one step` }));
  },
};

export const IDENTITIES: Identity[] = [matMulBound, sumBound, forwardMatchesLayers, reluRescaling, crossEntropyGradient, leastSquaresHessian, mlpLanczosMatchesDense, sgdStep];
