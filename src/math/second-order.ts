/**
 * Activations and log-softmax whose gradients can themselves be differentiated in TF.js 4.22.
 * TF.js saves the OUTPUT of exp, tanh, sigmoid, softmax and logSoftmax as a detached copy for the
 * backward pass, so a gradient of their gradient (a Hessian-vector product) silently misses terms;
 * elu, selu, leakyRelu and relu6 have first-order gradients built from ops with no gradient at all.
 * Here each gradient is rebuilt from the saved INPUT with first-order-differentiable ops: the same
 * values and first derivatives, and correct second derivatives.
 */
import * as tf from "@tensorflow/tfjs";

/** f with a custom vector-Jacobian product computed from the saved input x. */
function fromInput(f: (x: tf.Tensor) => tf.Tensor, vjp: (x: tf.Tensor, dy: tf.Tensor) => tf.Tensor): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    (args[1] as tf.GradSaveFunc)([x]);
    return { value: f(x), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => vjp(saved[0], dy) };
  }) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;
}

/** An elementwise f with derivative f'(x) computed from x, so that tf.grads of a tf.grads is exact. */
function withInputDerivative(f: (x: tf.Tensor) => tf.Tensor, derivative: (x: tf.Tensor) => tf.Tensor): (x: tf.Tensor) => tf.Tensor {
  return fromInput(f, (x, dy) => tf.mul(dy, derivative(x)));
}

/** exp(min(x, 0)) without overflow and with a first-order gradient (relu's is input based). */
const expNonPositive = (x: tf.Tensor) => tf.exp(tf.neg(tf.relu(tf.neg(x))));

export const tanh = withInputDerivative(tf.tanh, (x) => tf.sub(1, tf.square(tf.tanh(x))));

export const sigmoid = withInputDerivative(tf.sigmoid, (x) => {
  const s = tf.sigmoid(x);
  return tf.mul(s, tf.sub(1, s));
});

export const elu = withInputDerivative(tf.elu, (x) => {
  const positive = tf.step(x);
  return tf.add(positive, tf.mul(tf.sub(1, positive), expNonPositive(x)));
});

const SELU_SCALE = 1.0507009873554805;
const SELU_ALPHA = 1.6732632423543772;

export const selu = withInputDerivative(tf.selu, (x) => {
  const positive = tf.step(x);
  return tf.mul(SELU_SCALE, tf.add(positive, tf.mul(tf.sub(1, positive), tf.mul(SELU_ALPHA, expNonPositive(x)))));
});

export const relu6 = withInputDerivative(tf.relu6, (x) => tf.mul(tf.step(x), tf.sub(1, tf.step(tf.sub(x, 6)))));

export function leakyRelu(x: tf.Tensor, alpha: number): tf.Tensor {
  return withInputDerivative((z) => tf.leakyRelu(z, alpha), (z) => tf.add(alpha, tf.mul(1 - alpha, tf.step(z))))(x);
}

/** Softmax over the last axis: J^T dy = s * (dy - <dy, s>). */
export const softmax = fromInput(tf.softmax, (x, dy) => {
  const s = tf.softmax(x);
  return tf.mul(s, tf.sub(dy, tf.sum(tf.mul(dy, s), -1, true)));
});

/** Log-softmax over the last axis: J^T dy = dy - softmax(x) * sum(dy). */
export const logSoftmax = fromInput(tf.logSoftmax, (x, dy) => tf.sub(dy, tf.mul(tf.softmax(x), tf.sum(dy, -1, true))));
