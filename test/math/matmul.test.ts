import { before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { matMul } from "../../src/math/matmul";
import { Rng } from "../../src/math/rng";
import { assertClose, assertNoLeak, useTestBackend } from "../helpers";

before(useTestBackend);

describe("matMul with transposed-free gradients", () => {
  const rng = new Rng(5);
  const random = (r: number, c: number) => tf.tensor2d(rng.normalArray(r * c), [r, c]);

  it("value, gradient and Hessian-vector product equal TF.js's matMul (float32, 1e-5)", () => {
    assertNoLeak(() =>
      tf.tidy(() => {
        const [a, b, target, va, vb] = [random(6, 5), random(5, 4), random(6, 4), random(6, 5), random(5, 4)];
        assertClose(matMul(a, b), tf.matMul(a, b), { rtol: 1e-6, atol: 1e-6, what: "value" });
        // A loss with curvature in both operands: sum((a b - t)^2).
        const loss = (mm: typeof matMul) => (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.sub(mm(x as tf.Tensor2D, y as tf.Tensor2D), target)));
        const ours = tf.grads(loss(matMul))([a, b]);
        const theirs = tf.grads(loss((x, y) => tf.matMul(x, y)))([a, b]);
        ours.forEach((g, i) => assertClose(g, theirs[i], { rtol: 1e-5, atol: 1e-5, what: `gradient ${i}` }));
        const hvp = (mm: typeof matMul) =>
          tf.grads((x: tf.Tensor, y: tf.Tensor) => {
            const [gx, gy] = tf.grads(loss(mm))([x, y]);
            return tf.add(tf.sum(tf.mul(gx, va)), tf.sum(tf.mul(gy, vb)));
          })([a, b]);
        const hOurs = hvp(matMul);
        const hTheirs = hvp((x, y) => tf.matMul(x, y));
        hOurs.forEach((h, i) => assertClose(h, hTheirs[i], { rtol: 1e-4, atol: 1e-4, what: `Hessian-vector product ${i}` }));
      }),
    );
  });
});
