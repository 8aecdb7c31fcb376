/**
 * Convolution and pooling with first and second derivatives on every backend. TF.js 4.22 has no second
 * derivative of conv2d or of the pooling gradients (Hessian-vector products fail), and its wasm backend has no
 * Conv2DBackpropFilter (training a CNN fails there). On the blas backend the native kernels run, with gradients
 * that are themselves convolutions (for max pooling a gather and a scatter at the window maxima, for "valid"
 * average pooling the pooling's adjoint), so they differentiate again; elsewhere these ops are built from pad / slice /
 * reshape / concat / matMul only.
 */
import * as tf from "@tensorflow/tfjs";
import { matMul } from "../math/matmul";

type Padding = "valid" | "same";
type Pair = [number, number];

/** Output length and padding (before, after) of one spatial axis, as TensorFlow defines them. */
function axisGeometry(length: number, size: number, stride: number, dilation: number, padding: Padding): [number, number, number] {
  const span = (size - 1) * dilation + 1;
  if (padding === "valid") {
    const out = Math.ceil((length - span + 1) / stride);
    if (out < 1) throw new Error(`window of extent ${span} does not fit an input of length ${length} with "valid" padding`);
    return [out, 0, 0];
  }
  const out = Math.ceil(length / stride);
  const total = Math.max((out - 1) * stride + span - length, 0);
  return [out, Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** `count` entries of `axis`, from `start`, every `stride`-th (a strided slice built from slice and reshape). */
function stridedAxis(x: tf.Tensor4D, axis: 1 | 2, start: number, count: number, stride: number): tf.Tensor4D {
  const needed = start + count * stride;
  if (needed > x.shape[axis]) {
    const pads: [number, number][] = [[0, 0], [0, 0], [0, 0], [0, 0]];
    pads[axis] = [0, needed - x.shape[axis]]; // never selected: only completes the last run of `stride`
    x = tf.pad(x, pads);
  }
  const begin = [0, 0, 0, 0];
  const size = [-1, -1, -1, -1];
  begin[axis] = start;
  size[axis] = count * stride;
  const sliced = tf.slice(x, begin, size);
  if (stride === 1) return sliced;
  // Every stride-th entry: fold each run of `stride` entries into the next axis and keep the first of each run,
  // with rank-3 slices only (higher-rank slices are far slower on wasm).
  const [n, h, w, c] = sliced.shape;
  const shape: [number, number, number, number] = axis === 1 ? [n, count, w, c] : [n, h, count, c];
  const folded = axis === 1 ? sliced.reshape([n, count, stride * w * c]) : sliced.reshape([n * h, count, stride * c]);
  const inner = axis === 1 ? w * c : c;
  return tf.slice(folded, [0, 0, 0], [-1, -1, inner]).reshape(shape);
}

/** Repeats the first and last rows (axis 1) or columns (axis 2) of x: `before` and `after` copies. */
function edgePad(x: tf.Tensor4D, axis: 1 | 2, before: number, after: number): tf.Tensor4D {
  if (before === 0 && after === 0) return x;
  const size = [-1, -1, -1, -1];
  size[axis] = 1;
  const first = tf.slice(x, [0, 0, 0, 0], size);
  const lastBegin = [0, 0, 0, 0];
  lastBegin[axis] = x.shape[axis] - 1;
  const last = tf.slice(x, lastBegin, size);
  return tf.concat([...Array<tf.Tensor4D>(before).fill(first), x, ...Array<tf.Tensor4D>(after).fill(last)], axis);
}

/**
 * The kh*kw shifted views of x ([N, outH, outW, C] each), row-major over the window, as conv and pooling see them.
 * `fill` pads with a constant, or with copies of the edge ("edge": for max pooling, a copy of an entry that is in
 * the same window never changes the maximum).
 */
function windowTaps(x: tf.Tensor4D, size: Pair, strides: Pair, padding: Padding, dilation: Pair, fill: number | "edge"): tf.Tensor4D[] {
  const [outH, top, bottom] = axisGeometry(x.shape[1], size[0], strides[0], dilation[0], padding);
  const [outW, left, right] = axisGeometry(x.shape[2], size[1], strides[1], dilation[1], padding);
  const padded =
    fill === "edge"
      ? edgePad(edgePad(x, 1, top, bottom), 2, left, right)
      : top + bottom + left + right > 0
        ? tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]], fill)
        : x;
  const taps: tf.Tensor4D[] = [];
  for (let i = 0; i < size[0]; i++) {
    const rows = stridedAxis(padded, 1, i * dilation[0], outH, strides[0]);
    for (let j = 0; j < size[1]; j++) taps.push(stridedAxis(rows, 2, j * dilation[1], outW, strides[1]));
  }
  return taps;
}

function onBlas(): boolean {
  return tf.getBackend() === "blas";
}

/**
 * value(...inputs) with the given gradient; the inputs and the `kept` tensors are saved for it (the forward
 * pass's own intermediates are gone when gradients run).
 */
function differentiable(inputs: tf.Tensor[], kept: tf.Tensor[], value: (...xs: tf.Tensor[]) => tf.Tensor, gradient: (dy: tf.Tensor, inputs: tf.Tensor[], kept: tf.Tensor[]) => tf.Tensor[]): tf.Tensor {
  const n = inputs.length;
  return tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xs = args.slice(0, n) as tf.Tensor[];
    (args[n] as tf.GradSaveFunc)([...xs, ...kept]);
    return { value: value(...xs), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => gradient(dy, saved.slice(0, n), saved.slice(n)) };
  }) as Parameters<typeof tf.customGrad>[0])(...inputs);
}

function kernel(name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap): tf.Tensor4D {
  return tf.engine().runKernel(name, inputs, attrs) as tf.Tensor4D;
}

type ConvGeometry = { strides: Pair; pad: Padding; dilations: Pair; dataFormat: "NHWC" };

/**
 * conv(x, w) and its two adjoints, each differentiable through the other two: with y = conv(x, w),
 * dL/dx = convInput(dy, w) and dL/dw = convFilter(x, dy), and both are bilinear, so their gradients are again
 * conv / convInput / convFilter. The backprop kernels of the blas backend honour dilations.
 */
function nativeConv(x: tf.Tensor4D, w: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  return differentiable([x, w], [], (a, b) => kernel("Conv2D", { x: a, filter: b }, { ...g }), (dy, [sx, sw]) => [
    convInput(dy as tf.Tensor4D, sw as tf.Tensor4D, sx.shape, g),
    convFilter(sx as tf.Tensor4D, dy as tf.Tensor4D, sw.shape, g),
  ]) as tf.Tensor4D;
}

function convInput(dy: tf.Tensor4D, w: tf.Tensor4D, inputShape: number[], g: ConvGeometry): tf.Tensor4D {
  return differentiable([dy, w], [], (a, b) => kernel("Conv2DBackpropInput", { dy: a, filter: b }, { ...g, inputShape }), (gx, [sdy, sw]) => [
    nativeConv(gx as tf.Tensor4D, sw as tf.Tensor4D, g),
    convFilter(gx as tf.Tensor4D, sdy as tf.Tensor4D, sw.shape, g),
  ]) as tf.Tensor4D;
}

function convFilter(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], g: ConvGeometry): tf.Tensor4D {
  return differentiable([x, dy], [], (a, b) => kernel("Conv2DBackpropFilter", { x: a, dy: b }, { ...g, filterShape }), (gw, [sx, sdy]) => [
    convInput(sdy as tf.Tensor4D, gw as tf.Tensor4D, sx.shape, g),
    nativeConv(sx as tf.Tensor4D, gw as tf.Tensor4D, g),
  ]) as tf.Tensor4D;
}

/** values.flat[indices] (shaped like indices), whose gradient is the scatter below and vice versa. */
function gatherAt(values: tf.Tensor, indices: tf.Tensor): tf.Tensor {
  return differentiable([values], [indices], (v) => tf.engine().runKernel("WsGather", { x: v, indices }) as tf.Tensor, (dy, _, [at]) => [scatterTo(dy, at, values.shape)]);
}

function scatterTo(values: tf.Tensor, indices: tf.Tensor, shape: number[]): tf.Tensor {
  return differentiable([values], [indices], (v) => tf.engine().runKernel("WsScatter", { x: v, indices }, { shape }) as tf.Tensor, (dy, _, [at]) => [gatherAt(dy, at)]);
}

type PoolGeometry = { filterSize: Pair; strides: Pair; pad: Padding };

/**
 * Average pooling and its adjoint (the AvgPoolGrad kernel), each the other's gradient: both are linear. The
 * adjoint's kernel reads only the shape of its `input`, so the pooled tensor's input is kept for it.
 */
function nativeAvgPool(x: tf.Tensor4D, g: PoolGeometry): tf.Tensor4D {
  return differentiable([x], [], (v) => kernel("AvgPool", { x: v }, { ...g }), (dy, [sx]) => [avgPoolAdjoint(dy as tf.Tensor4D, sx as tf.Tensor4D, g)]) as tf.Tensor4D;
}

function avgPoolAdjoint(dy: tf.Tensor4D, input: tf.Tensor4D, g: PoolGeometry): tf.Tensor4D {
  return differentiable([dy], [input], (v) => kernel("AvgPoolGrad", { dy: v, input }, { ...g }), (gx) => [nativeAvgPool(gx as tf.Tensor4D, g)]) as tf.Tensor4D;
}

/** NHWC convolution with a [kh, kw, in, out] kernel, equal to tf.conv2d. */
export function conv2d(x: tf.Tensor4D, kernel: tf.Tensor4D, strides: Pair, padding: Padding, dilation: Pair): tf.Tensor4D {
  if (onBlas()) {
    axisGeometry(x.shape[1], kernel.shape[0], strides[0], dilation[0], padding);
    axisGeometry(x.shape[2], kernel.shape[1], strides[1], dilation[1], padding);
    return nativeConv(x, kernel, { strides, pad: padding, dilations: dilation, dataFormat: "NHWC" });
  }
  const [kh, kw, inC, outC] = kernel.shape;
  const taps = windowTaps(x, [kh, kw], strides, padding, dilation, 0);
  const [n, outH, outW] = taps[0].shape;
  // One matMul per window offset, summed: no [N, H, W, kh*kw*C] patch tensor to build.
  const weights = kernel.reshape([kh * kw, inC, outC]);
  const terms = taps.map((tap, t) => matMul(tap.reshape([n * outH * outW, inC]) as tf.Tensor2D, tf.squeeze(tf.slice(weights, [t, 0, 0], [1, -1, -1]), [0]) as tf.Tensor2D));
  return (terms.length === 1 ? terms[0] : tf.addN(terms)).reshape([n, outH, outW, outC]);
}

/**
 * Max pooling, equal to tf.maxPool. max(a, b) = b + relu(a - b): tf.maximum's gradient uses comparison ops that
 * have no gradient themselves, so Hessian-vector products through it would fail.
 */
export function maxPool(x: tf.Tensor4D, size: Pair, strides: Pair, padding: Padding): tf.Tensor4D {
  if (onBlas()) {
    // The window maxima's positions are constant under small changes of x: the pooled value is a gather there.
    const at = tf.engine().runKernel("WsPoolArgmax", { x }, { filterSize: size, strides, pad: padding }) as tf.Tensor;
    return gatherAt(x, at) as tf.Tensor4D;
  }
  const taps = windowTaps(x, size, strides, padding, [1, 1], "edge");
  return taps.reduce((a, b) => tf.add(b, tf.relu(tf.sub(a, b))));
}

/** Average pooling, equal to tf.avgPool ("same" padding averages over the real entries only). */
export function avgPool(x: tf.Tensor4D, size: Pair, strides: Pair, padding: Padding): tf.Tensor4D {
  // TF.js's AvgPoolGrad divides by the full window also where "same" padding cuts it: native for "valid" only.
  if (onBlas() && padding === "valid") return nativeAvgPool(x, { filterSize: size, strides, pad: padding });
  const sum = tf.addN(windowTaps(x, size, strides, padding, [1, 1], 0));
  if (padding === "valid") return tf.div(sum, size[0] * size[1]);
  const counts = tf.addN(windowTaps(tf.ones([1, x.shape[1], x.shape[2], 1]), size, strides, padding, [1, 1], 0));
  return tf.div(sum, counts);
}
