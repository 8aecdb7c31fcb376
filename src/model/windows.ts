/**
 * Convolution and pooling from pad / slice / reshape / concat / matMul only. TF.js 4.22 has no second
 * derivative of conv2d or of the pooling gradients (Hessian-vector products fail), and its wasm backend has no
 * Conv2DBackpropFilter (training a CNN fails there); these ops have first and second derivatives on every backend.
 */
import * as tf from "@tensorflow/tfjs";

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
function stridedAxis(x: tf.Tensor4D, axis: 1 | 2, start: number, count: number, stride: number, padValue: number): tf.Tensor4D {
  const needed = start + count * stride;
  if (needed > x.shape[axis]) {
    const pads: [number, number][] = [[0, 0], [0, 0], [0, 0], [0, 0]];
    pads[axis] = [0, needed - x.shape[axis]];
    x = tf.pad(x, pads, padValue);
  }
  const begin = [0, 0, 0, 0];
  const size = [-1, -1, -1, -1];
  begin[axis] = start;
  size[axis] = count * stride;
  const sliced = tf.slice(x, begin, size);
  if (stride === 1) return sliced;
  const split = sliced.shape.slice() as number[];
  split.splice(axis, 1, count, stride);
  const first = [-1, -1, -1, -1, -1];
  first[axis + 1] = 1;
  const shape = sliced.shape.slice() as number[];
  shape[axis] = count;
  return tf.slice(sliced.reshape(split), [0, 0, 0, 0, 0], first).reshape(shape) as tf.Tensor4D;
}

/** The kh*kw shifted views of x ([N, outH, outW, C] each), row-major over the window, as conv and pooling see them. */
function windowTaps(x: tf.Tensor4D, size: Pair, strides: Pair, padding: Padding, dilation: Pair, padValue: number): tf.Tensor4D[] {
  const [outH, top, bottom] = axisGeometry(x.shape[1], size[0], strides[0], dilation[0], padding);
  const [outW, left, right] = axisGeometry(x.shape[2], size[1], strides[1], dilation[1], padding);
  const padded = top + bottom + left + right > 0 ? tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]], padValue) : x;
  const taps: tf.Tensor4D[] = [];
  for (let i = 0; i < size[0]; i++) {
    const rows = stridedAxis(padded, 1, i * dilation[0], outH, strides[0], padValue);
    for (let j = 0; j < size[1]; j++) taps.push(stridedAxis(rows, 2, j * dilation[1], outW, strides[1], padValue));
  }
  return taps;
}

/** NHWC convolution with a [kh, kw, in, out] kernel, equal to tf.conv2d. */
export function conv2d(x: tf.Tensor4D, kernel: tf.Tensor4D, strides: Pair, padding: Padding, dilation: Pair): tf.Tensor4D {
  const [kh, kw, inC, outC] = kernel.shape;
  const taps = windowTaps(x, [kh, kw], strides, padding, dilation, 0);
  const patches = taps.length === 1 ? taps[0] : tf.concat(taps, 3);
  const [n, outH, outW] = patches.shape;
  const flat = tf.matMul(patches.reshape([n * outH * outW, kh * kw * inC]), kernel.reshape([kh * kw * inC, outC]));
  return flat.reshape([n, outH, outW, outC]);
}

/** Max pooling, equal to tf.maxPool (padding never wins the max). */
export function maxPool(x: tf.Tensor4D, size: Pair, strides: Pair, padding: Padding): tf.Tensor4D {
  const taps = windowTaps(x, size, strides, padding, [1, 1], Number.NEGATIVE_INFINITY);
  return taps.reduce((a, b) => tf.maximum(a, b));
}

/** Average pooling, equal to tf.avgPool ("same" padding averages over the real entries only). */
export function avgPool(x: tf.Tensor4D, size: Pair, strides: Pair, padding: Padding): tf.Tensor4D {
  const sum = tf.addN(windowTaps(x, size, strides, padding, [1, 1], 0));
  if (padding === "valid") return tf.div(sum, size[0] * size[1]);
  const counts = tf.addN(windowTaps(tf.ones([1, x.shape[1], x.shape[2], 1]), size, strides, padding, [1, 1], 0));
  return tf.div(sum, counts);
}
