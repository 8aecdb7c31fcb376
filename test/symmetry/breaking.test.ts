import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { blobs } from "../../src/data/synthetic";
import { train } from "../../src/train/train";
import { breaking, ensemble, type BreakingData } from "../../src/symmetry";
import { assertClose, assertNoLeak, useTestBackend } from "../helpers";

before(useTestBackend);

/** Four Gaussian blobs in 6 dimensions, alternate points as train and test (both class-balanced). */
let data: BreakingData;
before(() => {
  const all = blobs({ n: 60, k: 4, dim: 6, std: 2.5, seed: 7 });
  const split = (parity: number): BreakingData["train"] => tf.tidy(() => {
    const indices = tf.tensor1d(Array.from({ length: 120 }, (_, i) => 2 * i + parity), "int32");
    return { x: tf.gather(all.x, indices), y: tf.gather(all.y, indices), task: "classification" as const, classes: all.classes };
  });
  data = { train: split(0), test: split(1) };
  tf.dispose([all.x, all.y]);
});
after(() => tf.dispose([data.train.x, data.train.y, data.test.x, data.test.y]));

const OPTIONS = { mu: [0, 0.3], k: [0, 2], targets: ["one-hot", "one-cold"] as ("one-hot" | "one-cold")[], epochs: 2, seeds: 2, hidden: 8, batchSize: 16, lr: 0.01 };

test("breaking: one cell per (targets, mu, k); symmetric cells share one run per seed; the size and residual symmetry are reported", async () => {
  const r = await assertNoLeak(() => breaking(data, OPTIONS), "breaking");
  assert.equal(r.cells.length, 2 * 2 * 2);
  assert.equal(r.settings.runs, 2 * 2 * 2, "symmetric + one broken density, 2 codings, 2 seeds");
  for (const c of r.cells) {
    const broken = c.mu !== 0 && c.k !== 0;
    assertClose(c.meanNorm, Math.abs(c.mu) * Math.sqrt(c.k * 8), { rtol: 1e-12 });
    assert.equal(c.residual, broken ? "SO(3)" : "SO(4)");
    assert.equal(c.epochs.length, 2);
    c.epochs.forEach((perEpoch, s) => {
      assert.equal(perEpoch.length, 2);
      // Accuracies are counts over the 120 test points.
      for (const a of perEpoch) assertClose(a * 120, Math.round(a * 120), { rtol: 0, atol: 1e-3 });
      assert.equal(c.best[s], Math.max(...perEpoch));
    });
    if (!broken) {
      const symmetric = r.cells.find((d) => d.targets === c.targets && d.mu === 0 && d.k === 0);
      assert.deepEqual(c.best, symmetric?.best);
      assert.equal(c.gain, 0);
    }
  }
  const brokenCell = r.cells.find((c) => c.targets === "one-cold" && c.mu === 0.3 && c.k === 2);
  const symmetric = r.cells.find((c) => c.targets === "one-cold" && c.meanNorm === 0);
  assertClose(brokenCell?.gain ?? NaN, ((brokenCell?.best[0] ?? 0) - (symmetric?.best[0] ?? 0) + (brokenCell?.best[1] ?? 0) - (symmetric?.best[1] ?? 0)) / 2, { rtol: 1e-12, atol: 1e-15 });
  assert.equal(r.grid("one-hot").accuracy.length, 2);
  assert.equal(r.figures().length, 3);
  assert.doesNotThrow(() => JSON.stringify(r.toJSON()));
  assert.match(r.summary(), /symmetry breaking, 2 seeds x 2 epochs on 120 images: one-hot: symmetric/);
  // Deterministic: the same call gives the same accuracies.
  const again = await breaking(data, { ...OPTIONS, targets: ["one-cold"], mu: [0.3], k: [2] });
  assert.deepEqual(again.cells[0].epochs, brokenCell?.epochs);
});

test("breaking: a run equals ws.train of ensemble.model(0) from the same density, scored by tf.layers predict with argmin for one-cold", async () => {
  const r = await breaking(data, { ...OPTIONS, mu: [0.3], k: [2], targets: ["one-cold"], seeds: 1 });
  const model = ensemble({ sizes: [6, 8, 4], activation: "relu", init: [{}, { mean: 0.3, rows: [0, 1] }] }, { networks: 1, seed: 0 }).model(0);
  const targets = tf.tidy(() => tf.sub(1, tf.oneHot(data.train.y, 4).toFloat()));
  await train(model, { x: data.train.x, y: targets, task: "regression" }, { epochs: 2, batchSize: 16, lr: 0.01, lrDecay: 0.7, optimizer: "adam", loss: "mse", seed: 0, progress: false });
  const labels = data.test.y.dataSync();
  const predicted = tf.tidy(() => tf.argMin(model.predict(data.test.x) as tf.Tensor, 1).dataSync());
  const accuracy = Array.from(labels).filter((l, i) => predicted[i] === l).length / labels.length;
  tf.dispose([targets]);
  model.dispose();
  assertClose(r.cells[0].epochs[0][1], accuracy, { rtol: 0, atol: 1e-6, what: "final-epoch accuracy" });
});

test("breaking: bad input is refused with a clear message", async () => {
  await assert.rejects(breaking({ train: data.train } as never), /data must be \{ train, test \}/);
  await assert.rejects(breaking(data, { k: [5] }), /k must be integers in 0..4 \(the number of classes\), got \[5\]/);
  await assert.rejects(breaking(data, { k: [0], mu: [NaN] }), /mu must be finite numbers/);
  await assert.rejects(breaking(data, { k: [0], targets: "two-hot" as never }), /targets must be "one-hot" or "one-cold"/);
  await assert.rejects(breaking(data, { k: [0], epochs: 0 }), /epochs must be a positive integer/);
  const images = tf.zeros([4, 2, 2, 1]);
  const labels = tf.tensor1d([0, 1, 0, 1], "int32");
  await assert.rejects(breaking({ train: { x: images, y: labels, task: "classification" }, test: data.test }), /train images must be flattened to \[n, features\], got shape \[4, 2, 2, 1\]/);
  tf.dispose([images, labels]);
  const values = tf.tensor2d([[1], [2]]);
  await assert.rejects(breaking({ train: { x: values, y: values, task: "regression" }, test: data.test }), /train data must be classification data/);
  values.dispose();
});
