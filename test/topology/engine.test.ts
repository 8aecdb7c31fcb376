import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { assertClose, assertNoLeak, useTestBackend } from "../helpers";
import { persistence } from "../../src/topology/persistence";
import { computePersistence } from "../../src/topology/engine";
import { distancesOfMatrix, enclosingRadius } from "../../src/topology/input";
import { ripserAvailable, runRipser } from "../../src/topology/reference";
import { Rng } from "../../src/math/rng";
import { assertSameDiagrams, fixtures, fromJSON, lowerDistances, pointFile, ripserFile } from "./fixtures";

before(useTestBackend);

test("random16 (integer metric) equals Ripser exactly: 14 H1 and 6 H2 bars", async () => {
  const r = await persistence({ distances: lowerDistances("random16.lower_distance_matrix") }, { maxDim: 2 });
  assertSameDiagrams(r.diagrams, ripserFile("random16.lower_distance_matrix.ripser-dim2.txt"), 0, "random16");
  assert.equal(r.diagrams[1].length, 14);
  assert.equal(r.diagrams[2].length, 6);
});

test("projective plane over Z/2: H1 [1,2) and H2 [1,2), as Ripser", async () => {
  const r = await persistence({ distances: lowerDistances("projective_plane.lower_distance_matrix") }, { maxDim: 2 });
  assertSameDiagrams(r.diagrams, ripserFile("projective_plane.ripser-dim2.txt"), 0, "RP^2");
  assert.deepEqual(r.diagrams[1], [[1, 2]]);
  assert.deepEqual(r.diagrams[2], [[1, 2]]);
});

test("sphere_3_192 equals Ripser (1e-5: Ripser prints 6 digits) with its single H2 bar [0.72048, 1.65562)", async () => {
  const r = await persistence({ distances: lowerDistances("sphere_3_192.lower_distance_matrix") }, { maxDim: 2 });
  assertSameDiagrams(r.diagrams, ripserFile("sphere_3_192.ripser-dim2.txt"), 1e-5, "sphere_3_192");
  assert.equal(r.diagrams[2].length, 1);
  assertClose(r.diagrams[2][0], [0.72048, 1.65562], { rtol: 1e-5, what: "H2 bar" });
});

test("o3_1024 at threshold 1.4 equals Ripser in dimensions 0-2", async () => {
  const r = await persistence(pointFile("o3_1024.txt"), { maxDim: 2, threshold: 1.4 });
  assertSameDiagrams(r.diagrams, ripserFile("o3_1024.ripser-dim2-thr1.4.txt"), 1e-5, "o3_1024");
});

test("evenly spaced circles match the closed form and GUDHI (float32 distances: 1e-6 relative)", async () => {
  for (const n of [6, 8, 9, 10, 12]) {
    const points = Array.from({ length: n }, (_, k) => [Math.cos((2 * Math.PI * k) / n), Math.sin((2 * Math.PI * k) / n)]);
    const r = await persistence(points, { maxDim: 2 });
    const f = fixtures[`circle_${n}`].expected;
    assertSameDiagrams(r.diagrams, [fromJSON(f.H0), fromJSON(f.H1), fromJSON(f.H2)], 1e-6, `circle ${n}`);
    const h1: number[][] = [[2 * Math.sin(Math.PI / n), 2 * Math.sin((Math.PI * Math.ceil(n / 3)) / n)]];
    assertClose(r.diagrams[1], h1, { rtol: 1e-6, what: `circle ${n} H1 closed form` });
    const h2 = n % 3 === 0 ? Array.from({ length: n / 3 - 1 }, () => [Math.sqrt(3), 2 * Math.sin((Math.PI * (n / 3 + 1)) / n)]) : [];
    assertClose(r.diagrams[2], h2, { rtol: 1e-6, what: `circle ${n} H2 closed form` });
  }
});

test("unit square: H1 [1, sqrt 2); H0 deaths are the MST edge lengths", async () => {
  const r = await persistence(fixtures.unit_square.points, { maxDim: 1 });
  assertClose(r.diagrams[1], [[1, Math.SQRT2]], { rtol: 1e-6, what: "square H1" });
  assertClose(r.diagrams[0], [[0, 1], [0, 1], [0, 1], [0, Infinity]], { what: "square H0" });
});

test("noisy circle and cube60 (LCG clouds) match the stored GUDHI barcodes; the circle has one long H1 bar", async () => {
  const circle = await persistence(pointFile("noisy_circle_lcg42.txt"), { maxDim: 1 });
  const c = fixtures.noisy_circle_lcg42.expected;
  assertSameDiagrams(circle.diagrams, [fromJSON(c.H0), fromJSON(c.H1)], 1e-6, "noisy circle");
  const long = circle.diagrams[1].filter((p) => p[1] - p[0] > 0.5);
  assert.equal(long.length, 1, "one long H1 bar");
  const cube = await persistence(pointFile("cube60_lcg7.txt"), { maxDim: 2 });
  const q = fixtures.cube60_lcg7.expected;
  assertSameDiagrams(cube.diagrams, [fromJSON(q.H0), fromJSON(q.H1), fromJSON(q.H2)], 1e-6, "cube60");
});

/** A seeded cloud in R^dim: uniform in a cube, or on a torus / sphere. */
function cloud(kind: "cube" | "torus" | "sphere", n: number, seed: number, dim = 3): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    if (kind === "cube") return Array.from({ length: dim }, () => rng.uniform());
    if (kind === "torus") {
      const a = rng.uniform(0, 2 * Math.PI);
      const b = rng.uniform(0, 2 * Math.PI);
      return [(2 + Math.cos(b)) * Math.cos(a), (2 + Math.cos(b)) * Math.sin(a), Math.sin(b)];
    }
    const v = [rng.normal(), rng.normal(), rng.normal()];
    const r = Math.hypot(...v);
    return v.map((x) => x / r);
  });
}

test("generated clouds equal Debian's ripser binary, dims 0-2, with and without a threshold", { skip: !ripserAvailable() && "ripser binary not installed (apt-get install ripser)" }, async () => {
  const cases: { name: string; points: number[][]; maxDim: number; threshold?: number }[] = [
    { name: "cube R^3, 50 points", points: cloud("cube", 50, 1), maxDim: 2 },
    { name: "cube R^3, 60 points, threshold 0.35", points: cloud("cube", 60, 2), maxDim: 2, threshold: 0.35 },
    { name: "torus, 80 points", points: cloud("torus", 80, 3), maxDim: 2 },
    { name: "torus, 120 points, threshold 1.2", points: cloud("torus", 120, 4), maxDim: 1, threshold: 1.2 },
    { name: "cube R^8, 150 points", points: cloud("cube", 150, 5, 8), maxDim: 1 },
    { name: "sphere, 70 points", points: cloud("sphere", 70, 6), maxDim: 2 },
  ];
  for (const c of cases) {
    const ours = await persistence(c.points, { maxDim: c.maxDim, threshold: c.threshold });
    const ref = runRipser({ points: c.points }, { maxDim: c.maxDim, threshold: c.threshold });
    assertSameDiagrams(ours.diagrams, ref.diagrams, 1e-5, c.name);
  }
});

test("a random sphere has one long H2 bar, longer than every H1 bar by half", async () => {
  const r = await persistence(cloud("sphere", 100, 11), { maxDim: 2 });
  const life = (d: [number, number][]) => d.map((p) => p[1] - p[0]).sort((a, b) => b - a);
  const h2 = life(r.diagrams[2]);
  assert.equal(h2.filter((l) => l > 0.3).length, 1);
  assert.ok(h2[0] > 1.5 * life(r.diagrams[1])[0], `H2 ${h2[0]} vs longest H1 ${life(r.diagrams[1])[0]}`);
});

test("inputs: tensor, typed rows, full matrix and lower triangle give the same diagrams, without leaking tensors", async () => {
  const points = cloud("torus", 40, 7);
  const expected = (await persistence(points, { maxDim: 1 })).diagrams;
  const t = tf.tensor2d(points);
  const fromTensor = await assertNoLeak(() => persistence(t, { maxDim: 1 }), "persistence(tensor)");
  t.dispose();
  assertSameDiagrams(fromTensor.diagrams, expected, 1e-6, "tensor");
  assertSameDiagrams((await persistence(points.map((p) => Float32Array.from(p)), { maxDim: 1 })).diagrams, expected, 1e-6, "Float32Array rows");
  const full = points.map((p) => points.map((q) => Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2])));
  assertSameDiagrams((await persistence({ distances: full }, { maxDim: 1 })).diagrams, expected, 1e-6, "full matrix");
  assertSameDiagrams((await persistence({ distances: full.map((r, i) => r.slice(0, i)) }, { maxDim: 1 })).diagrams, expected, 1e-6, "lower rows");
  assertSameDiagrams((await persistence({ distances: full.flatMap((r, i) => r.slice(0, i)) }, { maxDim: 1 })).diagrams, expected, 1e-6, "flat lower triangle");
});

test("representative cocycles vanish on every triangle born before the bar dies and not on the birth edge", async () => {
  const points = pointFile("noisy_circle_lcg42.txt");
  const r = await persistence(points, { maxDim: 1, cocycles: true });
  const dist = (i: number, j: number) => Math.fround(Math.hypot(points[i][0] - points[j][0], points[i][1] - points[j][1]));
  r.diagrams[1].forEach(([birth, death], k) => {
    const edges = new Set(r.cocycles![1][k].map(([a, b]) => `${Math.max(a, b)},${Math.min(a, b)}`));
    const has = (a: number, b: number) => (edges.has(`${Math.max(a, b)},${Math.min(a, b)}`) ? 1 : 0);
    assert.ok(r.cocycles![1][k].some(([a, b]) => dist(a, b) === Math.fround(birth)), "an edge of the birth diameter");
    const n = points.length;
    for (let a = 0; a < n; a++)
      for (let b = a + 1; b < n; b++)
        for (let c = b + 1; c < n; c++) {
          if (Math.max(dist(a, b), dist(a, c), dist(b, c)) >= Math.fround(death)) continue;
          assert.equal((has(a, b) + has(a, c) + has(b, c)) % 2, 0, `cocycle ${k} is not closed on triangle ${a},${b},${c}`);
        }
  });
});

test("bad input: NaN, ragged, empty, non-symmetric, negative, bad options", async () => {
  await assert.rejects(() => persistence([[0, 0], [1, NaN]]), /point 1 has a non-finite coordinate 1/);
  await assert.rejects(() => persistence([[0, 0], [1, 2, 3]]), /ragged rows: row 0 has 2 coordinates, row 1 has 3/);
  await assert.rejects(() => persistence([]), /empty/);
  await assert.rejects(() => persistence({ distances: [[0, 1], [2, 0]] }), /not symmetric/);
  await assert.rejects(() => persistence({ distances: [[0, -1], [-1, 0]] }), /negative/);
  await assert.rejects(() => persistence({ distances: [1, 2] }), /n\(n-1\)\/2 entries/);
  await assert.rejects(() => persistence([[0], [1]], { maxDim: -1 }), /maxDim/);
  await assert.rejects(() => persistence([[0], [1]], { threshold: NaN }), /threshold/);
  const t = tf.tensor1d([1, 2, 3]);
  await assert.rejects(() => persistence(t as unknown as tf.Tensor2D), /rank-2/);
  t.dispose();
});

test("work over the memory limit is refused with a threshold that fits, and that threshold runs", async () => {
  const points = cloud("cube", 300, 9, 4);
  const err = await persistence(points, { maxDim: 3, maxMemoryMB: 4 }).then(
    () => "",
    (e: Error) => e.message,
  );
  const m = /threshold <= ([0-9.e-]+) would fit/.exec(err);
  assert.ok(m, `expected a threshold advice, got: ${err}`);
  const r = await persistence(points, { maxDim: 3, maxMemoryMB: 4, threshold: Number(m[1]) });
  assert.ok(r.info.estimatedBytes <= 4 * 2 ** 20);
});

test("a single point and two points", async () => {
  assert.deepEqual((await persistence([[1, 2]], { maxDim: 1 })).diagrams, [[[0, Infinity]], []]);
  assertClose((await persistence([[0], [3]], { maxDim: 1 })).diagrams[0], [[0, 3], [0, Infinity]], { what: "two points" });
});

test("worker threads give exactly the single-thread diagrams and pair counts", async () => {
  const input = { distances: lowerDistances("sphere_3_192.lower_distance_matrix") };
  const serial = await persistence(input, { maxDim: 2, workers: 0 });
  const threaded = await persistence(input, { maxDim: 2, workers: 3 });
  assert.deepEqual(threaded.diagrams, serial.diagrams);
  assert.deepEqual(threaded.stats, serial.stats);
  assert.ok(threaded.info.workerChunks > 0, "the workers ran");
  assert.equal(serial.info.workerChunks, 0);
  await assert.rejects(() => persistence(input, { workers: -1 }), /workers/);
});

test("persistence yields to the event loop between slices (an interrupt gets through) and equals the synchronous engine", async () => {
  const input = { distances: lowerDistances("sphere_3_192.lower_distance_matrix") };
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const started = performance.now();
  const r = await persistence(input, { maxDim: 2, workers: 0, progress: false });
  const elapsed = performance.now() - started;
  clearInterval(timer);
  // Slices are 50 ms: a computation of several slices lets the timer run in between.
  if (elapsed > 200) assert.ok(ticks >= 2, `${ticks} timer ticks during ${elapsed.toFixed(0)} ms`);
  const m = distancesOfMatrix(input.distances);
  const sync = computePersistence({ distances: m.values, n: m.n, maxDim: 2, threshold: Math.fround(enclosingRadius(m)), cocycles: false });
  assert.deepEqual(r.diagrams.map((d) => d.length), sync.diagrams.map((d) => d.length));
  assertSameDiagrams(r.diagrams, sync.diagrams, 0, "async vs sync");
});
