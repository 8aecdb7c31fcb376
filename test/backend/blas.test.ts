/**
 * The blas backend against the cpu backend, kernel by kernel: every replaced kernel on odd shapes, batch 1,
 * strides, dilations and both paddings, forward, gradients and second derivatives; the cases a fast path does
 * not cover (which must give the cpu kernel's answer); and Hessian-vector products through a CNN against
 * central differences. Skipped, with the reason, where no BLAS library loads.
 */
import { test, describe, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { ready } from "../../src/backend";
import { BlasBackend } from "../../src/backend/blas";
import { conv2d, maxPool, avgPool } from "../../src/model/windows";
import { cnn } from "../../src/model/build";
import { viewOf } from "../../src/model/view";
import { readParams } from "../../src/model/params";
import { trainableLoss } from "../../src/model/functional";
import { gradient, hvp } from "../../src/math/hessian";
import { train } from "../../src/train/train";
import { Rng } from "../../src/math/rng";
import { assertClose, assertNoLeak } from "../helpers";

let unavailable: string | null = null;
before(async () => {
  try {
    await ready({ backend: "blas", verbose: false });
  } catch (err) {
    unavailable = (err as Error).message;
  }
});

const U = 2 ** -24;
type Nested = number | Nested[];

/** fn's tensors read back as arrays, computed on blas and on cpu; fn builds its own inputs from plain arrays. */
async function onBoth(fn: () => tf.Tensor | tf.Tensor[]): Promise<{ blas: Nested[]; cpu: Nested[] }> {
  const run = () => {
    const out = tf.tidy(fn);
    const list = Array.isArray(out) ? out : [out];
    const arrays = list.map((t) => t.arraySync() as Nested);
    tf.dispose(list);
    return arrays;
  };
  await ready({ backend: "cpu", verbose: false });
  const cpu = run();
  await ready({ backend: "blas", verbose: false });
  const blas = assertNoLeak(run, "blas computation");
  return { blas, cpu };
}

/** Counts sgemm calls while fn runs on blas: proof that a fast path (or the fallback) was taken. */
function sgemmCalls(fn: () => void): number {
  const library = (tf.backend() as BlasBackend).library;
  const original = library.sgemm;
  let calls = 0;
  library.sgemm = (...args) => {
    calls++;
    original(...args);
  };
  try {
    tf.tidy(fn);
  } finally {
    library.sgemm = original;
  }
  return calls;
}

function maxAbs(value: Nested): number {
  return typeof value === "number" ? Math.abs(value) : Math.max(0, ...value.map(maxAbs));
}

const rng = new Rng(2024);
const data = (shape: number[]) => rng.normalArray(shape.reduce((a, b) => a * b, 1));
const tensor = (values: Float32Array, shape: number[]) => tf.tensor(values, shape);

function skipUnlessBlas(t: { skip: (m: string) => void }): boolean {
  if (unavailable !== null) t.skip(unavailable);
  return unavailable !== null;
}

describe("blas kernels equal the cpu kernels", () => {
  test("BatchMatMul: odd shapes, batch 1, every transpose, batch broadcasts on sgemm; int32 falls back", async (t) => {
    if (skipUnlessBlas(t)) return;
    const cases: { a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [];
    for (const [m, k, n] of [[1, 1, 1], [7, 13, 5], [1, 64, 3], [33, 65, 17]]) {
      for (const ta of [false, true]) for (const tb of [false, true]) cases.push({ a: ta ? [k, m] : [m, k], b: tb ? [n, k] : [k, n], ta, tb });
    }
    cases.push({ a: [3, 4, 5], b: [3, 5, 2], ta: false, tb: false });
    cases.push({ a: [3, 4, 5], b: [5, 2], ta: false, tb: false }); // shared right operand: one tall product
    cases.push({ a: [1, 5, 4], b: [3, 2, 5], ta: true, tb: true });
    cases.push({ a: [1, 3, 4, 5], b: [3, 5, 2], ta: false, tb: false });
    cases.push({ a: [0, 5], b: [5, 3], ta: false, tb: false });
    for (const c of cases) {
      const av = data(c.a);
      const bv = data(c.b);
      const k = c.ta ? c.a[c.a.length - 2] : c.a[c.a.length - 1];
      const { blas, cpu } = await onBoth(() => tf.matMul(tensor(av, c.a), tensor(bv, c.b), c.ta, c.tb));
      // Any summation order: |error| <= gamma_k sum|a||b|, and sum|a||b| < 4k for these normal entries (loose).
      assertClose(blas, cpu, { atol: 2 * k * U * 4 * k + 1e-7, rtol: 0, what: `matMul ${JSON.stringify(c)}` });
      const calls = sgemmCalls(() => tf.matMul(tensor(av, c.a), tensor(bv, c.b), c.ta, c.tb));
      assert.ok(calls > 0 || c.a[0] === 0, `${JSON.stringify(c)}: sgemm used`);
    }
    const intMatMul = () => tf.matMul(tf.tensor2d([[1, 2], [3, 4]], [2, 2], "int32"), tf.tensor2d([[5], [6]], [2, 1], "int32"));
    const ints = await onBoth(intMatMul);
    assert.equal(sgemmCalls(intMatMul), 0, "int32 goes to the cpu kernel");
    assert.deepEqual(ints.blas, ints.cpu);
    assert.deepEqual(ints.blas, [[[17], [39]]]);
  });

  test("_FusedMatMul: bias (vector, scalar, full), relu and linear on sgemm; elu and prelu fall back", async (t) => {
    if (skipUnlessBlas(t)) return;
    const a = data([6, 9]);
    const b = data([9, 4]);
    const biases: [Float32Array | null, number[]][] = [[null, []], [data([4]), [4]], [data([1]), [1]], [data([6, 4]), [6, 4]], [data([6, 1]), [6, 1]]];
    for (const activation of ["linear", "relu", "elu", "prelu"] as const) {
      for (const [bias, shape] of biases) {
        const { blas, cpu } = await onBoth(() =>
          tf.fused.matMul({ a: tensor(a, [6, 9]), b: tensor(b, [9, 4]), bias: bias ? tensor(bias, shape) : undefined, activation, preluActivationWeights: activation === "prelu" ? tf.fill([4], 0.25) : undefined }),
        );
        assertClose(blas, cpu, { atol: 9 * 9 * 4 * U * 4, rtol: 1e-6, what: `fused ${activation} bias [${shape.join(",")}]` });
      }
    }
  });

  test("Add, Sub, Mul, Div: same shape, scalars and every kind of broadcast, either way round; int32 falls back", async (t) => {
    if (skipUnlessBlas(t)) return;
    const pairs: [number[], number[]][] = [
      [[3, 4], [3, 4]], [[3, 4], []], [[], [3, 4]], [[3, 4], [1]], [[3, 4], [4]], [[4], [3, 4]], [[2, 3, 4], [3, 4]], [[1, 4], [3, 4]], [[2, 3, 4], [1, 1, 4]],
      [[3, 1], [3, 4]], [[3, 4], [3, 1]], [[2, 3, 1], [2, 3, 4]], [[2, 3, 4], [1, 3, 1]], [[4, 1], [1, 4]], [[2, 1, 4], [3, 1]], [[5, 6, 7], [5, 1, 7]],
      [[2, 1, 3, 1], [1, 4, 1, 5]], [[1], []], [[], []], [[0, 4], [4]],
    ];
    const ops = { add: tf.add, sub: tf.sub, mul: tf.mul, div: tf.div };
    for (const [name, op] of Object.entries(ops)) {
      for (const [sa, sb] of pairs) {
        const av = data(sa);
        const bv = data(sb);
        if (name === "div") bv[0] = 0; // x / 0: the same infinities (or NaN) as the cpu kernel
        const { blas, cpu } = await onBoth(() => op(tensor(av, sa), tensor(bv, sb)));
        assertClose(blas, cpu, { rtol: 0, what: `${name} [${sa}] [${sb}]` }); // one correctly rounded operation: bit-identical
      }
    }
    const ints = await onBoth(() => tf.add(tf.tensor1d([1, 2, 3], "int32"), tf.scalar(4, "int32")));
    assert.deepEqual(ints.blas, [[5, 6, 7]]);
    assert.deepEqual(ints.blas, ints.cpu);
  });

  test("Relu, Step, Neg, Exp, Log, Sqrt, Square and Sum over leading axes are exact (NaN kept); other axes fall back", async (t) => {
    if (skipUnlessBlas(t)) return;
    const x = data([5, 3, 4]);
    x[0] = -0;
    x[1] = NaN;
    x[2] = 0;
    x[3] = -Infinity;
    x[4] = Infinity;
    const { blas, cpu } = await onBoth(() => [
      tf.relu(tensor(x, [5, 3, 4])),
      tf.step(tensor(x, [5, 3, 4])),
      tf.step(tensor(x, [5, 3, 4]), 0.25),
      tf.neg(tensor(x, [5, 3, 4])),
      tf.exp(tensor(x, [5, 3, 4])),
      tf.log(tensor(x, [5, 3, 4])),
      tf.sqrt(tensor(x, [5, 3, 4])),
      tf.square(tensor(x, [5, 3, 4])),
      tf.sum(tensor(x, [5, 3, 4]), 0),
      tf.sum(tensor(x, [5, 3, 4]), [1, 0], true),
      tf.sum(tensor(x, [5, 3, 4]), -3),
      tf.sum(tensor(x, [5, 3, 4]), 1),
      tf.sum(tensor(x, [5, 3, 4])),
      tf.sum(tf.tensor2d([[1, 2], [3, 4]], [2, 2], "int32"), 0),
    ]);
    // Row sums in the same order as the cpu kernel's: bit-identical.
    assertClose(blas, cpu, { rtol: 0, what: "relu / sum" });
  });
});

type ConvCase = { n: number; h: number; w: number; c: number; k: [number, number]; out: number; s: [number, number]; d: [number, number]; p: "valid" | "same" };
const CONV_CASES: ConvCase[] = [
  { n: 1, h: 7, w: 6, c: 3, k: [3, 3], out: 5, s: [1, 1], d: [1, 1], p: "same" },
  { n: 3, h: 7, w: 6, c: 2, k: [3, 2], out: 4, s: [2, 2], d: [1, 1], p: "same" },
  { n: 2, h: 8, w: 9, c: 3, k: [2, 3], out: 3, s: [2, 3], d: [1, 1], p: "valid" },
  { n: 2, h: 5, w: 5, c: 4, k: [1, 1], out: 3, s: [1, 1], d: [1, 1], p: "valid" }, // pointwise: one sgemm on x itself
  { n: 1, h: 5, w: 5, c: 2, k: [1, 1], out: 3, s: [2, 1], d: [1, 1], p: "same" },
  { n: 2, h: 9, w: 8, c: 2, k: [3, 3], out: 3, s: [1, 1], d: [2, 2], p: "same" },
  { n: 1, h: 9, w: 9, c: 1, k: [2, 3], out: 2, s: [1, 1], d: [2, 3], p: "valid" },
  { n: 9, h: 40, w: 40, c: 20, k: [3, 3], out: 2, s: [1, 1], d: [1, 1], p: "same" }, // patch matrix in 2 chunks of samples
];

describe("blas convolutions and pooling equal the cpu backend's", () => {
  test("Conv2D and FusedConv2D forward (strides, dilations, both paddings, batch 1); NCHW and elu fall back", async (t) => {
    if (skipUnlessBlas(t)) return;
    for (const c of CONV_CASES) {
      const x = data([c.n, c.h, c.w, c.c]);
      const w = data([...c.k, c.c, c.out]);
      const bias = data([c.out]);
      const terms = c.k[0] * c.k[1] * c.c;
      const { blas, cpu } = await onBoth(() => {
        const xs = tensor(x, [c.n, c.h, c.w, c.c]) as tf.Tensor4D;
        const ws = tensor(w, [...c.k, c.c, c.out]) as tf.Tensor4D;
        return [
          tf.conv2d(xs, ws, c.s, c.p, "NHWC", c.d),
          tf.fused.conv2d({ x: xs, filter: ws, strides: c.s, pad: c.p, dilations: c.d, bias: tensor(bias, [c.out]), activation: "relu" }),
          tf.fused.conv2d({ x: xs, filter: ws, strides: c.s, pad: c.p, dilations: c.d, bias: tensor(bias, [c.out]), activation: "elu" }),
        ];
      });
      assertClose(blas, cpu, { atol: 2 * terms * U * 4 * terms, rtol: 0, what: `conv ${JSON.stringify(c)}` });
    }
    const [nx, nw] = [data([1, 2, 5, 5]), data([3, 3, 2, 2])];
    const nchw = await onBoth(() => tf.conv2d(tensor(nx, [1, 2, 5, 5]) as tf.Tensor4D, tensor(nw, [3, 3, 2, 2]) as tf.Tensor4D, 1, "same", "NCHW"));
    assertClose(nchw.blas, nchw.cpu, { atol: 1e-5, rtol: 0, what: "NCHW conv (cpu kernel)" });
  });

  test("Conv2DBackpropInput and Conv2DBackpropFilter (TF.js's conv2d gradients) equal the cpu kernels", async (t) => {
    if (skipUnlessBlas(t)) return;
    for (const c of CONV_CASES.filter((c) => c.d[0] === 1 && c.d[1] === 1)) {
      const x = data([c.n, c.h, c.w, c.c]);
      const w = data([...c.k, c.c, c.out]);
      const outShape = tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.c], [...c.k, c.c, c.out], c.s, 1, c.p).outShape;
      const rv = data(outShape);
      const { blas, cpu } = await onBoth(() => {
        const xs = tensor(x, [c.n, c.h, c.w, c.c]) as tf.Tensor4D;
        const ws = tensor(w, [...c.k, c.c, c.out]) as tf.Tensor4D;
        const r = tensor(rv, outShape);
        return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.p), r)))([xs, ws]);
      });
      const terms = Math.max(c.k[0] * c.k[1] * c.out, c.n * c.h * c.w);
      assertClose(blas, cpu, { atol: 2 * terms * U * 4 * terms, rtol: 0, what: `conv gradients ${JSON.stringify(c)}` });
    }
  });

  test("the model's conv2d, maxPool and avgPool (native on blas, built from slices on cpu): values, gradients and Hessian-vector products agree, dilations included", async (t) => {
    if (skipUnlessBlas(t)) return;
    for (const c of CONV_CASES.slice(0, 7)) {
      const x = data([c.n, c.h, c.w, c.c]);
      const w = data([...c.k, c.c, c.out]);
      const v = data([...c.k, c.c, c.out]);
      const vx = data([c.n, c.h, c.w, c.c]);
      const { blas, cpu } = await onBoth(() => {
        const xs = tensor(x, [c.n, c.h, c.w, c.c]) as tf.Tensor4D;
        const ws = tensor(w, [...c.k, c.c, c.out]) as tf.Tensor4D;
        // Loss nonlinear in both x and the kernel, through both poolings: second derivatives mix conv and pool adjoints.
        const loss = (a: tf.Tensor, b: tf.Tensor) => {
          const y = conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.p, c.d);
          const pooled = avgPool(maxPool(y, [2, 2], [1, 1], "same"), [2, 2], [2, 2], "same");
          return tf.add(tf.sum(tf.square(pooled)), tf.sum(tf.square(avgPool(y, [2, 2], [1, 1], "valid"))));
        };
        const grads = tf.grads(loss)([xs, ws]);
        const directional = (a: tf.Tensor, b: tf.Tensor) => {
          const [ga, gb] = tf.grads(loss)([a, b]);
          return tf.add(tf.sum(tf.mul(ga, tensor(vx, xs.shape))), tf.sum(tf.mul(gb, tensor(v, ws.shape))));
        };
        return [conv2d(xs, ws, c.s, c.p, c.d), loss(xs, ws), ...grads, ...tf.grads(directional)([xs, ws])];
      });
      for (let i = 0; i < blas.length; i++) {
        const scale = Math.max(1, maxAbs(cpu[i]));
        assertClose(blas[i], cpu[i], { atol: 1e-5 * scale, rtol: 0, what: `${["conv", "loss", "dL/dx", "dL/dw", "H v (x)", "H v (w)"][i]} ${JSON.stringify(c)}` });
      }
    }
  });

  test("tf.maxPool and its gradient (MaxPoolGrad) equal the cpu kernels (both paddings, strides, batch 1)", async (t) => {
    if (skipUnlessBlas(t)) return;
    for (const [shape, size, strides, pad] of [[[1, 7, 6, 3], [3, 3], [2, 2], "same"], [[2, 8, 9, 2], [2, 3], [2, 3], "valid"], [[2, 5, 5, 1], [2, 2], [1, 1], "valid"]] as const) {
      const x = data([...shape]);
      const outShape = tf.backend_util.computePool2DInfo([...shape], [...size], [...strides], 1, pad).outShape;
      const rv = data(outShape);
      const { blas, cpu } = await onBoth(() => {
        const xs = tensor(x, [...shape]) as tf.Tensor4D;
        const y = tf.maxPool(xs, [...size], [...strides], pad);
        const r = tensor(rv, outShape);
        return [y, tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, [...size], [...strides], pad), r)))(xs)];
      });
      assertClose(blas, cpu, { rtol: 0, what: `maxPool ${JSON.stringify([shape, size, strides, pad])}` });
    }
  });

  test("Hessian-vector products through CNNs: a smooth one (tanh, average pooling) matches central differences; a relu / max-pooling one equals the cpu backend's", async (t) => {
    if (skipUnlessBlas(t)) return;
    const own = new Rng(7); // its own stream: the data does not depend on which tests ran before
    const data = (shape: number[]) => own.normalArray(shape.reduce((a, b) => a * b, 1));
    const x = data([6, 8, 8, 2]);
    const labels = [0, 1, 2, 3, 4, 5];
    const setup = (activation: "tanh" | "relu", pool: "avg" | "max") => {
      const model = cnn([8, 8, 2], { filters: [3, 4], dense: [5], seed: 3, activation, pool });
      const params = readParams(model);
      const { loss, trainable } = trainableLoss(viewOf(model), params, tf.tensor4d(x, [6, 8, 8, 2]), tf.tensor1d(labels, "int32"), "crossEntropy");
      return { model, params, loss, trainable };
    };
    const directions = setup("tanh", "avg").trainable.map((p) => data(p.shape));

    await ready({ backend: "blas", verbose: false });
    const smooth = setup("tanh", "avg");
    const v = smooth.trainable.map((p, i) => tensor(directions[i], p.shape));
    const hv = hvp(smooth.loss, smooth.trainable, v);
    const eps = 3e-3;
    const shifted = (sign: number) => {
      const moved = smooth.trainable.map((p, i) => tf.tidy(() => tf.add(p, tf.mul(v[i], sign * eps))));
      const g = gradient(smooth.loss, moved);
      tf.dispose(moved);
      return g;
    };
    const plus = shifted(1);
    const minus = shifted(-1);
    hv.forEach((h, i) => {
      const fd = tf.tidy(() => tf.div(tf.sub(plus[i], minus[i]), 2 * eps));
      // Central differences: O(eps^2) truncation plus float32 rounding of the gradients over 2 eps (measured: 0.07% of max|Hv| in the first block).
      assertClose(h, fd, { atol: 1e-2 * Math.max(...Array.from(h.dataSync(), Math.abs)), rtol: 0, what: `H v block ${i}` });
      fd.dispose();
    });
    tf.dispose([...hv, ...plus, ...minus, ...v, ...smooth.params]);
    smooth.model.dispose();

    const { blas, cpu } = await onBoth(() => {
      const kinked = setup("relu", "max");
      const out = hvp(kinked.loss, kinked.trainable, kinked.trainable.map((p, i) => tensor(directions[i], p.shape)));
      kinked.model.dispose();
      return out;
    });
    blas.forEach((h, i) => assertClose(h, cpu[i], { atol: 1e-5 * Math.max(1, maxAbs(cpu[i])), rtol: 0, what: `relu/max-pool CNN H v block ${i}` }));
  });

  test("the CIFAR-size CNN (conv32-conv32-pool-conv64-conv64-pool-dense256-10, plain TF.js layers) takes a ws.train step at batch 128, leaking nothing", async (t) => {
    if (skipUnlessBlas(t)) return;
    await ready({ backend: "blas", verbose: false });
    const conv = (filters: number, inputShape?: number[]) => tf.layers.conv2d({ filters, kernelSize: 3, padding: "same", activation: "relu", inputShape });
    const model = tf.sequential({
      layers: [conv(32, [32, 32, 3]), conv(32), tf.layers.maxPooling2d({ poolSize: 2 }), conv(64), conv(64), tf.layers.maxPooling2d({ poolSize: 2 }), tf.layers.flatten(), tf.layers.dense({ units: 256, activation: "relu" }), tf.layers.dense({ units: 10 })],
    });
    const own = new Rng(11);
    const x = tf.tensor4d(own.normalArray(128 * 32 * 32 * 3), [128, 32, 32, 3]);
    const y = tf.tensor1d(Int32Array.from({ length: 128 }, (_, i) => i % 10), "int32");
    const before = model.getWeights()[0].dataSync().slice();
    const run = await assertNoLeak(() => train(model, { x, y, task: "classification" }, { epochs: 1, batchSize: 128, lr: 0.01, progress: false, shuffle: false }), "ws.train step");
    const loss = run.history.steps[0].loss;
    assert.ok(Number.isFinite(loss) && loss > 0, `first loss ${loss}`);
    const after = model.getWeights()[0].dataSync();
    assert.ok(after.some((v, i) => v !== before[i]), "the first kernel moved");
    tf.dispose([x, y]);
    model.dispose();
  });
});
