/**
 * a · b, in the fastest differentiable form for the backend. TF.js's autodiff of matMul uses transposed
 * products (x^T dy, dy w^T): the blas backend passes transposes to sgemm as flags, so there tf.matMul is used
 * as is. The wasm backend runs transposed matMuls 10-15x slower than a transpose followed by a plain product
 * (measured: 61 ms vs 4 ms for 784x128 · 128x256), so elsewhere the gradients are plain products of explicit
 * transposes. Those gradients use this same function, so second derivatives (Hessian-vector products) stay
 * fast and exact.
 */
import * as tf from "@tensorflow/tfjs";

const explicitTransposeMatMul: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b] = args as tf.Tensor2D[];
  (args[2] as tf.GradSaveFunc)([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as tf.Tensor2D[];
      return [matMul(dy, tf.transpose(sb)), matMul(tf.transpose(sa), dy)];
    },
  };
}) as Parameters<typeof tf.customGrad>[0]) as unknown as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

export function matMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.getBackend() === "blas" ? tf.matMul(a, b) : explicitTransposeMatMul(a, b);
}
