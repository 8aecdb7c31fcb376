import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { regression1d, circles, blobs, teacher } from "../../src/data/synthetic";
import { useTestBackend } from "../helpers";

before(useTestBackend);

describe("synthetic data", () => {
  it("regression1d: y = target(x) exactly on an even grid", () => {
    const d = regression1d({ n: 5, target: (x) => 2 * x + 1, range: [0, 1] });
    assert.deepEqual(Array.from(d.x.dataSync()), [0, 0.25, 0.5, 0.75, 1]);
    assert.deepEqual(Array.from(d.y.dataSync()), [1, 1.5, 2, 2.5, 3]);
    assert.equal(d.task, "regression");
    tf.dispose([d.x, d.y]);
    assert.throws(() => regression1d({ target: "nope" as "sin" }), /unknown target "nope"/);
    assert.throws(() => regression1d({ range: [1, 0] }), /lo < hi/);
  });

  it("circles: points on the two radii (noise 0), labels 0 inner / 1 outer", () => {
    const d = circles({ n: 8, radii: [1, 3], noise: 0 });
    const x = d.x.arraySync() as number[][];
    const y = d.y.arraySync() as number[];
    x.forEach(([a, b], i) => assert.ok(Math.abs(Math.hypot(a, b) - (y[i] === 0 ? 1 : 3)) < 1e-6));
    tf.dispose([d.x, d.y]);
  });

  it("blobs and teacher are deterministic for a seed", () => {
    const a = blobs({ seed: 3 });
    const b = blobs({ seed: 3 });
    assert.deepEqual(Array.from(a.x.dataSync()), Array.from(b.x.dataSync()));
    const t = teacher({ n: 16, sizes: [4, 8, 2], seed: 5 });
    const pred = t.teacher.predict(t.x) as tf.Tensor;
    assert.deepEqual(Array.from(pred.dataSync()), Array.from(t.y.dataSync()), "labels are the teacher's outputs");
    tf.dispose([a.x, a.y, b.x, b.y, t.x, t.y, pred]);
    t.teacher.dispose();
    assert.throws(() => blobs({ k: 0 }), /k must be a positive integer/);
  });
});
