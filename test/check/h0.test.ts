import { before, test } from "node:test";
import assert from "node:assert/strict";
import { assertNoLeak, useTestBackend } from "../helpers";
import * as check from "../../src/check";

before(useTestBackend);

/** A student's H0 by Prim's algorithm in float64: each MST edge kills one component at its length. */
function correct(points: number[][]): [number, number][] {
  const n = points.length;
  const inTree = new Array<boolean>(n).fill(false);
  const best = new Array<number>(n).fill(Infinity);
  best[0] = 0;
  const out: [number, number][] = [];
  for (let step = 0; step < n; step++) {
    let u = -1;
    for (let v = 0; v < n; v++) if (!inTree[v] && (u < 0 || best[v] < best[u])) u = v;
    inTree[u] = true;
    if (step > 0) out.push([0, best[u]]);
    for (let v = 0; v < n; v++) if (!inTree[v]) best[v] = Math.min(best[v], Math.hypot(...points[u].map((x, k) => x - points[v][k])));
  }
  out.push([0, Infinity]);
  return out;
}

test("a correct H0 gets full marks on the circle (all deaths 2 sin(pi/12)), two points and random clouds", async () => {
  const result = await assertNoLeak(() => check.h0(correct));
  assert.equal(result.score, 4);
  assert.deepEqual(result.feedback, []);
  // The closed form on the first case: 12 evenly spaced points on the unit circle, 11 deaths 2 sin(pi/12).
  const circle = Array.from({ length: 12 }, (_, i) => [Math.cos((2 * Math.PI * i) / 12), Math.sin((2 * Math.PI * i) / 12)]);
  for (const [b, d] of correct(circle).slice(0, -1)) {
    assert.equal(b, 0);
    assert.ok(Math.abs(d - 2 * Math.sin(Math.PI / 12)) < 1e-12);
  }
});

test("deaths off by a factor (half the edge length, squared, any constant) lose the deaths point with the factor named", async () => {
  const scaled = (f: (d: number) => number) => (p: number[][]) => correct(p).map(([b, d]) => [b, d === Infinity ? d : f(d)] as [number, number]);
  const half = await check.h0(scaled((d) => d / 2));
  assert.deepEqual(half.identities.map((i) => i.passed), [true, true, true, false]);
  assert.match(half.feedback[0], /^finite deaths = minimum spanning tree edge lengths: case 1 \(12 points evenly spaced on the unit circle\): expected 0\.517638, got 0\.258819 .*half the edge length/);
  const squared = await check.h0(scaled((d) => d * d));
  assert.equal(squared.score, 3);
  assert.match(squared.feedback[0], /squared distances/);
  const tripled = await check.h0(scaled((d) => 3 * d));
  assert.match(tripled.feedback[0], /every death is 3 times the edge length/);
});

test("the missing infinite interval loses the count and the infinite death (2 of 4), named", async () => {
  const result = await check.h0((p) => correct(p).slice(0, -1));
  assert.deepEqual(result.identities.map((i) => i.passed), [false, true, false, true]);
  assert.match(result.feedback.join("\n"), /one interval per point: case 1 .*expected 12 intervals, got 11 \(the component that never dies is missing/);
});

test("births not at 0 and wrong output types are graded, not crashes", async () => {
  const births = await check.h0((p) => correct(p).map(([, d]) => [d === Infinity ? 0 : d, d] as [number, number]));
  assert.equal(births.identities[1].passed, false);
  const thrown = await check.h0(() => {
    throw new Error("not implemented");
  });
  assert.equal(thrown.score, 0);
  assert.deepEqual(thrown.feedback, ["case 1 (12 points evenly spaced on the unit circle): your function threw Error: not implemented"]);
  const flat = await check.h0((p) => correct(p).flat() as unknown as [number, number][]);
  assert.match(flat.feedback[0], /row 0 of your answer is the number 0, expected an array of numbers/);
  const nan = await check.h0((p) => correct(p).map(() => [0, NaN] as [number, number]));
  assert.match(nan.feedback[0], /entry \[0\]\[1\] of your answer is NaN/);
});
