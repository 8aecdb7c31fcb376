/**
 * Fuzz-style guards of the topology tools (issue 19): sizes that would exhaust memory, options that
 * would turn a guard off or loop without end, and diagram distances at sizes H0 diagrams reach. Each
 * case must end quickly with a clear error naming the problem, or with a correct result.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { assertNoLeak, typedError, useTestBackend } from "../helpers";
import { InputError } from "../../src/errors";
import { mlp } from "../../src/model/build";
import { blobs } from "../../src/data/synthetic";
import { train, type TrainRun } from "../../src/train";
import { trajectory } from "../../src/topology/trajectory";
import { persistence } from "../../src/topology/persistence";
import { bottleneck, persistenceImage, wasserstein, type Diagram } from "../../src/topology/diagrams";
import { mapper } from "../../src/topology/mapper";
import { Rng } from "../../src/math/rng";

before(useTestBackend);

test("persistence on 60,000 points refuses before building the 60k x 60k distance matrix, naming a size that fits", async () => {
  const points = Array.from({ length: 60_000 }, (_, i) => [Math.cos(i), Math.sin(i)]);
  const started = performance.now();
  await assert.rejects(() => persistence(points, { progress: false }), /60000 points need a 60000 x 60000 distance matrix of 13733 MB, over the \d+ MB limit \(maxMemoryMB\); subsample to at most \d+ points/);
  // Building the matrix takes minutes and 14 GB; the refusal comes from the point count alone.
  assert.ok(performance.now() - started < 5000);
  // The same guard for a distance matrix given directly, and the advised size does fit.
  const n = 600;
  const lower = new Float32Array((n * (n - 1)) / 2).fill(1);
  const message = await persistence({ distances: lower }, { maxMemoryMB: 1 }).then(
    () => "",
    (e: Error) => e.message,
  );
  const fit = Number(/at most (\d+) points/.exec(message)?.[1]);
  assert.equal(fit, 504); // 4 n^2 + 64 n bytes (matrix and vertices) <= 1 MB
  await assert.doesNotReject(() => persistence(points.slice(0, fit), { maxMemoryMB: 1, maxDim: 0 }));
});

test("maxMemoryMB NaN, negative, zero, Infinity or a string is an error, never 'no limit'", async () => {
  const points = [[0, 0], [1, 0], [0, 1]];
  for (const bad of [NaN, -1, 0, Infinity, "100" as unknown as number]) {
    await assert.rejects(() => persistence(points, { maxMemoryMB: bad }), /persistence: maxMemoryMB must be a finite number of megabytes > 0/, String(bad));
    assert.throws(() => persistenceImage([[0, 1]], { maxMemoryMB: bad }), /persistenceImage: maxMemoryMB must be/, String(bad));
  }
  for (const [options, pattern] of [
    [{ threshold: NaN }, /threshold must be a number >= 0/],
    [{ threshold: -1 }, /threshold must be a number >= 0/],
    [{ maxDim: NaN }, /maxDim must be a non-negative integer/],
    [{ maxDim: 1.5 }, /maxDim must be a non-negative integer/],
    [{ workers: -1 }, /workers must be a non-negative integer/],
    [{ workers: 0.5 }, /workers must be a non-negative integer/],
    [{ metric: "hamming" as never }, /unknown metric "hamming"/],
  ] as const) await assert.rejects(() => persistence(points, options), pattern);
});

test("persistence past the memory limit at a threshold names a threshold that fits", async () => {
  const rng = new Rng(5);
  const points = Array.from({ length: 300 }, () => [rng.normal(), rng.normal(), rng.normal()]);
  await assert.rejects(() => persistence(points, { maxDim: 2, maxMemoryMB: 1.2 }), /need about \d+ MB, over the 1.2 MB limit \(maxMemoryMB\); threshold <= [\d.]+ would fit/);
});

test("persistenceImage with resolution 1e5 is refused with its memory estimate and a resolution that fits", () => {
  assert.throws(() => persistenceImage([[0, 1]], { resolution: 1e5 }), /resolution 100000 gives 100000 x 100000 pixels, about 76294 MB, over the \d+ MB limit \(maxMemoryMB, within the JS heap\); use resolution <= \d+/);
  // Raising maxMemoryMB does not lift the cap of V8's heap, which would abort the process.
  assert.throws(() => persistenceImage([[0, 1]], { resolution: 1e5, maxMemoryMB: 1e6 }), /within the JS heap/);
  assert.throws(() => persistenceImage([[0, 1]], { resolution: 0 }), /resolution must be a positive integer/);
  assert.equal(persistenceImage([[0, 1]], { resolution: 200 }).values.length, 200);
});

test("mapper with intervals 1e8 finishes (each point goes straight to its few intervals); bad covers are clear errors", () => {
  const rng = new Rng(6);
  const points = Array.from({ length: 400 }, () => [rng.uniform(), rng.uniform()]);
  const started = performance.now();
  const fine = mapper(points, { intervals: 1e8, pca: 0, cluster: { eps: 0.05 } });
  assert.ok(performance.now() - started < 5000);
  // With 1e8 intervals no two points share an interval, so every point is alone, noise for minSamples 2.
  assert.equal(fine.nodes.length, 0);
  assert.throws(() => mapper(points, { intervals: 0 }), /intervals must be a positive integer/);
  assert.throws(() => mapper(points, { intervals: 2.5 }), /intervals must be a positive integer/);
  assert.throws(() => mapper(points, { intervals: NaN }), /intervals must be a positive integer/);
  assert.throws(() => mapper(points, { intervals: 1e6, lens: points.map(([x, y]) => [x, y, x + y]), pca: 0 }), /more cover elements than can be numbered/);
  assert.throws(() => mapper(points, { overlap: 0.5, overlapPerc: 0.5 }), /not both/);
  assert.throws(() => mapper(points, { overlapPerc: -0.1 }), /overlapPerc must be a finite number >= 0/);
  assert.throws(() => mapper(points, { overlapPerc: Infinity }), /overlapPerc must be a finite number >= 0/);
  assert.throws(() => mapper(points, { overlap: 1 }), /overlap must be in \[0, 1\)/);
  assert.throws(() => mapper(points, { overlapPerc: 1e6, pca: 0 }), /a point lies in up to \d+ cover elements .* lower overlapPerc/);
  assert.throws(() => mapper(points, { cluster: { eps: NaN } }), /cluster.eps must be a finite number > 0/);
  assert.throws(() => mapper(points, { lens: [[1, 2, 3, 4]] }), /lens has 1 values for 400 points/);
});

test("bottleneck and W1 of two 2,000-point H0 diagrams finish, with W1 >= bottleneck and 0 against themselves", () => {
  const rng = new Rng(8);
  const h0 = (n: number): Diagram => Array.from({ length: n }, () => [0, rng.uniform(0, 1)]);
  const a = h0(2000);
  const b = h0(2000);
  const started = performance.now();
  const bn = bottleneck(a, b).distance;
  const w1 = wasserstein(a, b).distance;
  // Dense exact versions took 5.9 s at 800 points and grow cubically (minutes at 2,000).
  assert.ok(performance.now() - started < 60_000);
  assert.ok(bn > 0 && w1 >= bn, `bottleneck ${bn}, W1 ${w1}`);
  assert.equal(bottleneck(a, a).distance, 0);
  assert.equal(wasserstein(a, a).distance, 0);
  assert.throws(() => wasserstein(a, b, { relativeError: NaN }), /relativeError must be in \[0, 1\)/);
  assert.throws(() => wasserstein(a, b, { relativeError: 1 }), /relativeError must be in \[0, 1\)/);
});

test("guards leave no tensors behind (a tensor input refused for its size)", async () => {
  const t = tf.zeros([600, 2]) as tf.Tensor2D;
  await assertNoLeak(() => assert.rejects(() => persistence(t, { maxMemoryMB: 1 }), /600 points need a 600 x 600 distance matrix/), "persistence guard");
  t.dispose();
});

test("the distance matrix of a point cloud is built in slices too: timers run while 3,000 points' distances are computed", async () => {
  const rng = new Rng(9);
  const points = Array.from({ length: 3000 }, () => Array.from({ length: 50 }, () => rng.normal()));
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const started = performance.now();
  // maxDim 0 at threshold 0: the engine has no work, so the time is the 4.5M distances in R^50.
  const r = await persistence(points, { maxDim: 0, threshold: 0, progress: false });
  const elapsed = performance.now() - started;
  clearInterval(timer);
  if (elapsed > 200) assert.ok(ticks >= 2, `${ticks} timer ticks during ${elapsed.toFixed(0)} ms`);
  assert.equal(r.diagrams[0].length, 3000);
});

test("a saved run's JSON (no recorded weights) given to topology.trajectory is an InputError, not an internal message", async () => {
  const model = mlp([4, 6, 3], { seed: 1 });
  const data = blobs({ n: 16, k: 3, dim: 4, seed: 1 });
  const run = await train(model, data, { epochs: 1, batchSize: 8, progress: false, record: { every: 1 } });
  const saved = JSON.parse(JSON.stringify(run.toJSON())) as TrainRun;
  await assert.rejects(trajectory(saved, { layer: "dense0" }), typedError(InputError, "invalid-data", /a saved run's JSON keeps no recorded weights/));
  run.trajectory?.dispose();
  tf.dispose([data.x, data.y]);
  model.dispose();
});
