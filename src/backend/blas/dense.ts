/**
 * The blas backend's dense kernels: matrix products through sgemm (transposes as BLAS flags, never
 * materialised) and the elementwise work of a training step as plain loops over Float32Arrays. Each kernel
 * handles float32 and hands every other case (other dtypes, layouts it does not cover) to the cpu backend's
 * kernel unchanged.
 */
import * as tf from "@tensorflow/tfjs";
import type { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import type { BlasLibrary } from "./library";

export type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: MathBackendCPU; attrs?: tf.NamedAttrMap };
export type Kernel = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/** The cpu backend's kernel of that name: what every fast path falls back to. */
export function cpuKernel(name: string): Kernel {
  const config = tf.getKernel(name, "cpu");
  if (!config) throw new Error(`the cpu backend has no kernel ${name}`);
  return config.kernelFunc as unknown as Kernel;
}

/** The float32 values of a tensor, or null when it is another dtype (the cue to fall back). */
export function floats(backend: MathBackendCPU, t: tf.TensorInfo): Float32Array | null {
  if (t.dtype !== "float32") return null;
  const values = backend.data.get(t.dataId).values;
  return values instanceof Float32Array ? values : null;
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Product of op(a) op(b) for rank >= 2 inputs whose batch dims are equal or one of them is 1. */
export function batchMatMulKernel(blas: BlasLibrary): Kernel {
  const fallback = cpuKernel("BatchMatMul");
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const out = matMulInto(blas, args.backend, a, b, transposeA, transposeB);
    return out ?? fallback(args);
  };
}

/** op(a) op(b) as a new tensor, or null for a case left to the cpu kernel (other dtypes, general broadcasts, errors). */
function matMulInto(blas: BlasLibrary, backend: MathBackendCPU, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): tf.TensorInfo | null {
  const av = floats(backend, a);
  const bv = floats(backend, b);
  if (!av || !bv || a.shape.length < 2 || b.shape.length < 2) return null;
  const ar = a.shape.length;
  const br = b.shape.length;
  const m = transposeA ? a.shape[ar - 1] : a.shape[ar - 2];
  const k = transposeA ? a.shape[ar - 2] : a.shape[ar - 1];
  const kb = transposeB ? b.shape[br - 1] : b.shape[br - 2];
  const n = transposeB ? b.shape[br - 2] : b.shape[br - 1];
  const batchA = size(a.shape.slice(0, -2));
  const batchB = size(b.shape.slice(0, -2));
  if (k !== kb) return null;
  let outer: number[];
  try {
    outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    return null; // the cpu kernel reports it
  }
  const batch = size(outer);
  // Each operand either has every batch (in the broadcast shape's order) or a single one.
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return null;
  const out = new Float32Array(batch * m * n);
  if (m > 0 && n > 0 && k > 0) {
    const lda = transposeA ? m : k;
    const ldb = transposeB ? k : n;
    if (batchB === 1 && !transposeA) {
      // A shared right operand: all of a's batches are one tall product.
      blas.sgemm(false, transposeB, batch * m, n, k, 1, av, lda, bv, ldb, 0, out, n);
    } else {
      for (let i = 0; i < batch; i++) {
        const aPart = batchA === 1 ? av : av.subarray(i * m * k, (i + 1) * m * k);
        const bPart = batchB === 1 ? bv : bv.subarray(i * k * n, (i + 1) * k * n);
        blas.sgemm(transposeA, transposeB, m, n, k, 1, aPart, lda, bPart, ldb, 0, out.subarray(i * m * n, (i + 1) * m * n), n);
      }
    }
  }
  return backend.makeTensorInfo([...outer, m, n], "float32", out);
}

/** Dense layer: product, bias along the last axis, then linear or relu; other activations go to the cpu kernel. */
export function fusedMatMulKernel(blas: BlasLibrary): Kernel {
  const fallback = cpuKernel("_FusedMatMul");
  return (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const { transposeA, transposeB, activation } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean; activation: string };
    const simple = (activation === "linear" || activation === "relu") && !preluActivationWeights;
    const biasValues = bias ? floats(args.backend, bias) : null;
    if (!simple || (bias && !biasValues) || !a || !b) return fallback(args);
    const product = matMulInto(blas, args.backend, a, b, transposeA, transposeB);
    if (!product) return fallback(args);
    if (bias && !repeatsAlongLastAxes(product.shape, bias.shape)) {
      args.backend.disposeIntermediateTensorInfo(product);
      return fallback(args);
    }
    biasAndActivation(args.backend.data.get(product.dataId).values as Float32Array, biasValues, activation === "relu");
    return product;
  };
}

/** True when `small`, leading 1s dropped, is the last axes of `big`: its values repeat every size(small) entries. */
export function repeatsAlongLastAxes(big: readonly number[], small: readonly number[]): boolean {
  let first = 0;
  while (first < small.length && small[first] === 1) first++;
  const tail = small.slice(first);
  return tail.length <= big.length && tail.every((d, i) => d === big[big.length - tail.length + i]);
}

/**
 * In place: adds a bias that is one value or repeats every bias.length entries (the last axes), then relu if
 * asked.
 */
export function biasAndActivation(values: Float32Array, bias: Float32Array | null, relu: boolean): void {
  const inner = bias ? bias.length : values.length;
  for (let i = 0; i < values.length; i += inner) {
    for (let j = 0; j < inner; j++) {
      const v = bias ? values[i + j] + bias[j] : values[i + j];
      values[i + j] = relu && v < 0 ? 0 : v;
    }
  }
}

/**
 * Loops are compiled once per operation from its expression: V8 keeps type feedback per function body, so one
 * shared loop calling op(a, b) for Add, Sub, Mul and Div turns megamorphic, stops inlining and boxes every
 * float (measured on a loaded 2-core machine: a [128, 32, 32, 32] + [32] bias add took 300 ms that way, 60 ms
 * compiled).
 */
type BinaryLoop = (av: Float32Array, bv: Float32Array, out: Float32Array, shape: Int32Array, aStrides: Int32Array, bStrides: Int32Array) => void;
type UnaryLoop = (xv: Float32Array, out: Float32Array, alpha: number) => void;

/**
 * out = a (op) b over a broadcast given as the output's collapsed shape and each operand's strides in it (0
 * along its broadcast axes). Equal shapes are one flat loop; otherwise the last axis is the inner loop and an
 * odometer walks the others.
 */
function compileBinaryLoop(expression: string): BinaryLoop {
  const body = `
    const rank = shape.length;
    if (rank === 1 && aStrides[0] === 1 && bStrides[0] === 1) {
      for (let i = 0; i < out.length; i++) { const a = av[i], b = bv[i]; out[i] = ${expression}; }
      return;
    }
    const inner = shape[rank - 1], aStep = aStrides[rank - 1], bStep = bStrides[rank - 1];
    const counter = new Int32Array(rank);
    let aBase = 0, bBase = 0;
    for (let o = 0; o < out.length; o += inner) {
      for (let j = 0, ai = aBase, bi = bBase; j < inner; j++, ai += aStep, bi += bStep) { const a = av[ai], b = bv[bi]; out[o + j] = ${expression}; }
      for (let d = rank - 2; d >= 0; d--) {
        aBase += aStrides[d];
        bBase += bStrides[d];
        if (++counter[d] < shape[d]) break;
        aBase -= aStrides[d] * shape[d];
        bBase -= bStrides[d] * shape[d];
        counter[d] = 0;
      }
    }`;
  return new Function("av", "bv", "out", "shape", "aStrides", "bStrides", body) as BinaryLoop;
}

function compileUnaryLoop(expression: string): UnaryLoop {
  return new Function("xv", "out", "alpha", `for (let i = 0; i < out.length; i++) { const x = xv[i]; out[i] = ${expression}; }`) as UnaryLoop;
}

/**
 * The output shape of a broadcast and each operand's strides in it (0 along axes where it is broadcast), with
 * size-1 axes dropped and adjacent axes merged wherever both operands step through them contiguously (so
 * [n, k] + [k] is one [n, k] walk and [n, k] - [n, 1] an [n, k] walk with stride 0 inside). Null when the
 * shapes do not broadcast (the cpu kernel reports that).
 */
export function broadcastWalk(aShape: readonly number[], bShape: readonly number[]): { outShape: number[]; shape: Int32Array; aStrides: Int32Array; bStrides: Int32Array } | null {
  let out: number[];
  try {
    out = tf.backend_util.assertAndGetBroadcastShape(aShape as number[], bShape as number[]);
  } catch {
    return null;
  }
  const stridesIn = (shape: readonly number[]) => {
    const aligned = [...Array<number>(out.length - shape.length).fill(1), ...shape];
    const strides = new Array<number>(out.length);
    for (let d = out.length - 1, step = 1; d >= 0; d--) {
      strides[d] = aligned[d] === 1 ? 0 : step;
      step *= aligned[d];
    }
    return strides;
  };
  const as = stridesIn(aShape);
  const bs = stridesIn(bShape);
  const shape: number[] = [];
  const aStrides: number[] = [];
  const bStrides: number[] = [];
  out.forEach((extent, d) => {
    if (extent === 1) return;
    const last = shape.length - 1;
    if (last >= 0 && aStrides[last] === as[d] * extent && bStrides[last] === bs[d] * extent) {
      shape[last] *= extent;
      aStrides[last] = as[d];
      bStrides[last] = bs[d];
    } else {
      shape.push(extent);
      aStrides.push(as[d]);
      bStrides.push(bs[d]);
    }
  });
  if (shape.length === 0) {
    // One element: a flat loop of length 1.
    shape.push(1);
    aStrides.push(1);
    bStrides.push(1);
  }
  return { outShape: out, shape: Int32Array.from(shape), aStrides: Int32Array.from(aStrides), bStrides: Int32Array.from(bStrides) };
}

/**
 * Add / Sub / Mul / Div over float32 with any broadcast; other dtypes go to the cpu kernel. `expression`
 * computes the result from a and b.
 */
export function binaryKernel(name: string, expression: string): Kernel {
  const fallback = cpuKernel(name);
  const loop = compileBinaryLoop(expression);
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const av = floats(args.backend, a);
    const bv = floats(args.backend, b);
    const walk = av && bv ? broadcastWalk(a.shape, b.shape) : null;
    if (!av || !bv || !walk) return fallback(args);
    const out = new Float32Array(size(walk.outShape));
    if (out.length > 0) loop(av, bv, out, walk.shape, walk.aStrides, walk.bStrides);
    return args.backend.makeTensorInfo(walk.outShape, "float32", out);
  };
}

/**
 * An elementwise float32 function of one input x (and the kernel's `alpha` attribute, where it has one);
 * other dtypes go to the cpu kernel.
 */
export function unaryKernel(name: string, expression: string): Kernel {
  const fallback = cpuKernel(name);
  const loop = compileUnaryLoop(expression);
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const xv = floats(args.backend, x);
    if (!xv) return fallback(args);
    const out = new Float32Array(xv.length);
    loop(xv, out, (args.attrs?.alpha as number | undefined) ?? 0);
    return args.backend.makeTensorInfo(x.shape, "float32", out);
  };
}

/**
 * Sum over leading axes (a gradient's sum over the batch) as row additions; the cpu kernel would transpose
 * first. Sums over other axes go to the cpu kernel.
 */
export function sumKernel(): Kernel {
  const fallback = cpuKernel("Sum");
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const xv = floats(args.backend, x);
    const rank = x.shape.length;
    const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)).sort((p, q) => p - q);
    const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
    if (!xv || !leading) return fallback(args);
    const inner = size(x.shape.slice(axes.length));
    const sums = new Float64Array(inner); // float64 partial sums, as the cpu kernel keeps them
    for (let i = 0; i < xv.length; i += inner) for (let j = 0; j < inner; j++) sums[j] += xv[i + j];
    const out = Float32Array.from(sums);
    const shape = keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : x.shape.slice(axes.length);
    return args.backend.makeTensorInfo(shape, "float32", out);
  };
}

/**
 * Gather along one axis without batch dims (a training batch taken from the dataset) as slice copies; other
 * cases, and indices out of range (the cpu kernel's error), go to the cpu kernel.
 */
export function gatherKernel(): Kernel {
  const fallback = cpuKernel("GatherV2");
  return (args) => {
    const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims?: number };
    const xv = args.backend.data.get(x.dataId).values;
    const idx = args.backend.data.get(indices.dataId).values;
    const typed = (xv instanceof Float32Array || xv instanceof Int32Array) && idx instanceof Int32Array;
    if (!typed || (batchDims ?? 0) !== 0 || x.shape.length === 0) return fallback(args);
    const a = axis < 0 ? axis + x.shape.length : axis;
    const dim = x.shape[a];
    for (let i = 0; i < idx.length; i++) if (!(idx[i] >= 0 && idx[i] < dim)) return fallback(args);
    const outer = size(x.shape.slice(0, a));
    const inner = size(x.shape.slice(a + 1));
    const out = xv instanceof Float32Array ? new Float32Array(outer * idx.length * inner) : new Int32Array(outer * idx.length * inner);
    let to = 0;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < idx.length; i++, to += inner) {
        const from = (o * dim + idx[i]) * inner;
        out.set(xv.subarray(from, from + inner), to);
      }
    }
    return args.backend.makeTensorInfo([...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)], x.dtype, out);
  };
}
