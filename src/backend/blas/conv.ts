/**
 * The blas backend's convolution and max-pooling kernels (NHWC, float32). A convolution is im2col + one sgemm
 * per chunk of samples (the patch matrix of a chunk stays under COLUMN_BUDGET floats, so memory does not grow
 * with the batch); its input gradient is sgemm + col2im, its filter gradient accumulates sgemms over chunks.
 * The backprop kernels also read a `dilations` attribute (TF.js's own have none), which src/model/windows.ts
 * passes so that dilated convolutions have gradients on this backend. Max pooling finds the argmax of each
 * window once; the pooled value, its gradient and that gradient's gradient are a gather and a scatter at those
 * positions (kernels WsPoolArgmax, WsGather, WsScatter).
 */
import * as tf from "@tensorflow/tfjs";
import type { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import type { BlasLibrary } from "./library";
import { cpuKernel, floats, biasAndActivation, repeatsAlongLastAxes, type Kernel, type KernelArgs } from "./dense";

type Pad = "same" | "valid" | number | tf.backend_util.ExplicitPadding;
interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: "NHWC" | "NCHW";
  dilations?: number | [number, number];
  dimRoundingMode?: "floor" | "round" | "ceil";
}
type Geometry = tf.backend_util.Conv2DInfo;

/** Floats of patch matrix per chunk (16 MB). */
const COLUMN_BUDGET = 1 << 20;

function geometry(xShape: readonly number[], filterShape: readonly number[], attrs: ConvAttrs): Geometry {
  return tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape as [number, number, number, number], attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, false, "channelsLast");
}

function isUnit(value: number | [number, number] | undefined): boolean {
  return value === undefined || (Array.isArray(value) ? value.every((v) => v === 1) : value === 1);
}

/** The sgemm sizes: patch-matrix rows per sample (output positions), patch length k, output channels. */
function gemmSizes(g: Geometry): { rows: number; k: number; outC: number } {
  return { rows: g.outHeight * g.outWidth, k: g.filterHeight * g.filterWidth * g.inChannels, outC: g.outChannels };
}

/** True when the patch matrix is x itself (1x1 filter, unit stride, no padding). */
function pointwise(g: Geometry): boolean {
  return g.filterHeight === 1 && g.filterWidth === 1 && g.strideHeight === 1 && g.strideWidth === 1 && g.padInfo.top === 0 && g.padInfo.left === 0 && g.outHeight === g.inHeight && g.outWidth === g.inWidth;
}

/**
 * For one sample, the offset in x (from the sample's start) of the C input channels that each (patch row,
 * window tap) reads, row-major over rows then taps, or -1 where the tap falls on padding.
 */
function tapOffsets(g: Geometry): Int32Array {
  const { inHeight, inWidth, inChannels: c, outHeight, outWidth, filterHeight, filterWidth } = g;
  const offsets = new Int32Array(outHeight * outWidth * filterHeight * filterWidth);
  let t = 0;
  for (let oh = 0; oh < outHeight; oh++) {
    for (let ow = 0; ow < outWidth; ow++) {
      for (let i = 0; i < filterHeight; i++) {
        const ih = oh * g.strideHeight - g.padInfo.top + i * g.dilationHeight;
        for (let j = 0; j < filterWidth; j++, t++) {
          const iw = ow * g.strideWidth - g.padInfo.left + j * g.dilationWidth;
          offsets[t] = ih >= 0 && ih < inHeight && iw >= 0 && iw < inWidth ? (ih * inWidth + iw) * c : -1;
        }
      }
    }
  }
  return offsets;
}

/** The patch matrix of samples [first, first + count): one row per output position, C values per tap. */
function im2col(x: Float32Array, g: Geometry, offsets: Int32Array, first: number, count: number, col: Float32Array): void {
  const c = g.inChannels;
  const sampleSize = g.inHeight * g.inWidth * c;
  let to = 0;
  for (let n = first; n < first + count; n++) {
    const base = n * sampleSize;
    for (let t = 0; t < offsets.length; t++, to += c) {
      const from = offsets[t];
      if (from < 0) for (let q = 0; q < c; q++) col[to + q] = 0;
      else for (let q = 0, f = base + from; q < c; q++) col[to + q] = x[f + q];
    }
  }
}

/** The adjoint of im2col: every patch entry added back to the input position it was read from. */
function col2im(col: Float32Array, g: Geometry, offsets: Int32Array, first: number, count: number, dx: Float32Array): void {
  const c = g.inChannels;
  const sampleSize = g.inHeight * g.inWidth * c;
  let from = 0;
  for (let n = first; n < first + count; n++) {
    const base = n * sampleSize;
    for (let t = 0; t < offsets.length; t++, from += c) {
      const to = offsets[t];
      if (to >= 0) for (let q = 0, d = base + to; q < c; q++) dx[d + q] += col[from + q];
    }
  }
}

/**
 * Runs `work` on each chunk of samples [first, first + count) with a patch-matrix buffer sized for the largest
 * chunk and the tap offsets (the same for every sample).
 */
function inChunks(g: Geometry, work: (first: number, count: number, col: Float32Array, offsets: Int32Array) => void): void {
  const { rows, k } = gemmSizes(g);
  // Samples per chunk so that a chunk's patch matrix fits the budget (at least one).
  const step = Math.max(1, Math.floor(COLUMN_BUDGET / Math.max(rows * k, 1)));
  const col = new Float32Array(Math.min(step, g.batchSize) * rows * k);
  const offsets = tapOffsets(g);
  for (let first = 0; first < g.batchSize; first += step) work(first, Math.min(step, g.batchSize - first), col, offsets);
}

/** x * filter into out ([N, outH, outW, outC]). */
function convolve(blas: BlasLibrary, x: Float32Array, filter: Float32Array, g: Geometry, out: Float32Array): void {
  const { rows, k, outC } = gemmSizes(g);
  if (pointwise(g)) {
    blas.sgemm(false, false, g.batchSize * rows, outC, k, 1, x, k, filter, outC, 0, out, outC);
    return;
  }
  inChunks(g, (first, count, col, offsets) => {
    im2col(x, g, offsets, first, count, col);
    blas.sgemm(false, false, count * rows, outC, k, 1, col, k, filter, outC, 0, out.subarray(first * rows * outC, (first + count) * rows * outC), outC);
  });
}

function nhwc(attrs: ConvAttrs): boolean {
  return (attrs.dataFormat ?? "NHWC") === "NHWC";
}

export function conv2dKernel(blas: BlasLibrary): Kernel {
  const fallback = cpuKernel("Conv2D");
  return (args) => {
    const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs;
    const xv = floats(args.backend, x);
    const fv = floats(args.backend, filter);
    if (!xv || !fv || !nhwc(attrs) || x.shape.length !== 4) return fallback(args);
    const g = geometry(x.shape, filter.shape, attrs);
    const out = new Float32Array(g.batchSize * g.outHeight * g.outWidth * g.outChannels);
    convolve(blas, xv, fv, g, out);
    return args.backend.makeTensorInfo(g.outShape, "float32", out);
  };
}

/** Conv2D + bias + linear/relu; other activations and layouts go to the cpu kernel. */
export function fusedConv2dKernel(blas: BlasLibrary): Kernel {
  const fallback = cpuKernel("FusedConv2D");
  return (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const attrs = args.attrs as unknown as ConvAttrs & { activation: string };
    const xv = x && floats(args.backend, x);
    const fv = filter && floats(args.backend, filter);
    const bv = bias ? floats(args.backend, bias) : null;
    const simple = (attrs.activation === "linear" || attrs.activation === "relu") && !preluActivationWeights;
    if (!x || !filter || !xv || !fv || !simple || (bias && !bv) || !nhwc(attrs)) return fallback(args);
    const g = geometry(x.shape, filter.shape, attrs);
    if (bias && !repeatsAlongLastAxes(g.outShape, bias.shape)) return fallback(args);
    const out = new Float32Array(g.batchSize * g.outHeight * g.outWidth * g.outChannels);
    convolve(blas, xv, fv, g, out);
    biasAndActivation(out, bv, attrs.activation === "relu");
    return args.backend.makeTensorInfo(g.outShape, "float32", out);
  };
}

function dilationsSupported(args: KernelArgs, kernel: string): void {
  const attrs = args.attrs as unknown as ConvAttrs;
  if (!isUnit(attrs.dilations)) throw new Error(`${kernel} on the blas backend: dilations need the NHWC float32 form (got ${attrs.dataFormat} ${Object.values(args.inputs).map((t) => t?.dtype).join(", ")})`);
}

export function conv2dBackpropInputKernel(blas: BlasLibrary): Kernel {
  const fallback = cpuKernel("Conv2DBackpropInput");
  return (args) => {
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
    const dv = floats(args.backend, dy);
    const fv = floats(args.backend, filter);
    if (!dv || !fv || !nhwc(attrs)) {
      dilationsSupported(args, "Conv2DBackpropInput");
      return fallback(args);
    }
    const g = geometry(attrs.inputShape, filter.shape, attrs);
    const { rows, k, outC } = gemmSizes(g);
    const dx = new Float32Array(g.batchSize * g.inHeight * g.inWidth * g.inChannels);
    if (pointwise(g)) {
      blas.sgemm(false, true, g.batchSize * rows, k, outC, 1, dv, outC, fv, outC, 0, dx, k);
    } else {
      inChunks(g, (first, count, col, offsets) => {
        blas.sgemm(false, true, count * rows, k, outC, 1, dv.subarray(first * rows * outC), outC, fv, outC, 0, col, k);
        col2im(col, g, offsets, first, count, dx);
      });
    }
    return args.backend.makeTensorInfo(attrs.inputShape, "float32", dx);
  };
}

export function conv2dBackpropFilterKernel(blas: BlasLibrary): Kernel {
  const fallback = cpuKernel("Conv2DBackpropFilter");
  return (args) => {
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
    const xv = floats(args.backend, x);
    const dv = floats(args.backend, dy);
    if (!xv || !dv || !nhwc(attrs)) {
      dilationsSupported(args, "Conv2DBackpropFilter");
      return fallback(args);
    }
    const g = geometry(x.shape, attrs.filterShape, attrs);
    const { rows, k, outC } = gemmSizes(g);
    const dw = new Float32Array(k * outC);
    if (pointwise(g)) {
      blas.sgemm(true, false, k, outC, g.batchSize * rows, 1, xv, k, dv, outC, 0, dw, outC);
    } else {
      inChunks(g, (first, count, col, offsets) => {
        im2col(xv, g, offsets, first, count, col);
        blas.sgemm(true, false, k, outC, count * rows, 1, col, k, dv.subarray(first * rows * outC), outC, first === 0 ? 0 : 1, dw, outC);
      });
    }
    return args.backend.makeTensorInfo(attrs.filterShape, "float32", dw);
  };
}

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: Pad;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/** For each max-pool output, the flat index in x of its window's maximum (the first, on ties). */
function poolArgmax(x: Float32Array, xShape: readonly number[], attrs: PoolAttrs): { indices: Int32Array; shape: number[] } {
  const g = tf.backend_util.computePool2DInfo(xShape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const { inHeight, inWidth, inChannels: c, outHeight, outWidth } = g;
  const indices = new Int32Array(g.batchSize * outHeight * outWidth * c).fill(-1);
  const best = new Float32Array(c);
  let out = 0;
  for (let n = 0; n < g.batchSize; n++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++, out += c) {
        for (let i = 0; i < g.filterHeight; i++) {
          const ih = oh * g.strideHeight - g.padInfo.top + i;
          if (ih < 0 || ih >= inHeight) continue;
          for (let j = 0; j < g.filterWidth; j++) {
            const iw = ow * g.strideWidth - g.padInfo.left + j;
            if (iw < 0 || iw >= inWidth) continue;
            const base = ((n * inHeight + ih) * inWidth + iw) * c;
            for (let q = 0; q < c; q++) {
              const v = x[base + q];
              if (indices[out + q] < 0 || v > best[q]) {
                best[q] = v;
                indices[out + q] = base + q;
              }
            }
          }
        }
      }
    }
  }
  return { indices, shape: g.outShape };
}

function gather(values: Float32Array, indices: Int32Array): Float32Array {
  const out = new Float32Array(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = values[indices[i]];
  return out;
}

function scatter(values: Float32Array, indices: Int32Array, length: number): Float32Array {
  // Overlapping windows add several values into one entry: float64 sums, as the cpu kernel keeps them.
  const sums = new Float64Array(length);
  for (let i = 0; i < indices.length; i++) sums[indices[i]] += values[i];
  return Float32Array.from(sums);
}

function int32s(backend: MathBackendCPU, t: tf.TensorInfo): Int32Array {
  const values = backend.data.get(t.dataId).values;
  if (t.dtype !== "int32" || !(values instanceof Int32Array)) throw new Error(`expected int32 indices, got ${t.dtype}`);
  return values;
}

function requireFloats(backend: MathBackendCPU, t: tf.TensorInfo, kernel: string): Float32Array {
  const values = floats(backend, t);
  if (!values) throw new Error(`${kernel} on the blas backend takes float32, got ${t.dtype}`);
  return values;
}

export const poolArgmaxKernel: Kernel = (args) => {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { indices, shape } = poolArgmax(requireFloats(args.backend, x, "WsPoolArgmax"), x.shape, args.attrs as unknown as PoolAttrs);
  return args.backend.makeTensorInfo(shape, "int32", indices);
};

/** out = x.flat[indices], shaped like indices. */
export const gatherKernel: Kernel = (args) => {
  const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
  const idx = int32s(args.backend, indices);
  return args.backend.makeTensorInfo(indices.shape, "float32", gather(requireFloats(args.backend, x, "WsGather"), idx));
};

/** Zeros of attrs.shape with x added at the flat positions `indices` (the adjoint of WsGather). */
export const scatterKernel: Kernel = (args) => {
  const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
  const { shape } = args.attrs as unknown as { shape: number[] };
  const length = shape.reduce((a, b) => a * b, 1);
  return args.backend.makeTensorInfo(shape, "float32", scatter(requireFloats(args.backend, x, "WsScatter"), int32s(args.backend, indices), length));
};

/** tf.maxPool's kernel: argmax, then gather. Other dtypes go to the cpu kernel. */
export function maxPoolKernel(): Kernel {
  const fallback = cpuKernel("MaxPool");
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const xv = floats(args.backend, x);
    if (!xv || x.shape.length !== 4) return fallback(args);
    const { indices, shape } = poolArgmax(xv, x.shape, args.attrs as unknown as PoolAttrs);
    return args.backend.makeTensorInfo(shape, "float32", gather(xv, indices));
  };
}

/** tf.maxPool's gradient kernel: dy scattered to each window's argmax. */
export function maxPoolGradKernel(): Kernel {
  const fallback = cpuKernel("MaxPoolGrad");
  return (args) => {
    const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const xv = floats(args.backend, input);
    const dv = floats(args.backend, dy);
    if (!xv || !dv || input.shape.length !== 4) return fallback(args);
    const { indices } = poolArgmax(xv, input.shape, args.attrs as unknown as PoolAttrs);
    return args.backend.makeTensorInfo(input.shape, "float32", scatter(dv, indices, xv.length));
  };
}
