import { before, test } from "node:test";
import assert from "node:assert/strict";
import { useTestBackend } from "../helpers";
import { filtrationSort, WorkingColumn } from "../../src/topology/structures";
import { Rng } from "../../src/math/rng";

before(useTestBackend);

/** The pivot of a Z/2 column by brute force: the oldest entry of odd multiplicity. */
function naivePivot(entries: Map<number, { diam: number; count: number }>): [number, number] | null {
  let best: [number, number] | null = null;
  for (const [index, { diam, count }] of entries) {
    if (count % 2 === 0) continue;
    if (best === null || diam < best[0] || (diam === best[0] && index > best[1])) best = [diam, index];
  }
  return best;
}

test("working column: pivots equal a brute-force Z/2 column through pushes behind and ahead of the pivot", () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 20; trial++) {
    const column = new WorkingColumn();
    const naive = new Map<number, { diam: number; count: number }>();
    // Few distinct diameters (ties broken by index) and repeated indices (Z/2 cancellation).
    const diamOf = (index: number) => Math.fround(Math.floor((index * 7919) % 97) / 31);
    const add = (index: number) => {
      column.push(diamOf(index), index);
      const e = naive.get(index) ?? { diam: diamOf(index), count: 0 };
      e.count++;
      naive.set(index, e);
    };
    for (let step = 0; step < 300; step++) {
      const batch = 1 + rng.int(40);
      for (let k = 0; k < batch; k++) add(rng.int(400));
      const expected = naivePivot(naive);
      const found = column.pivot();
      assert.equal(found, expected !== null, `trial ${trial} step ${step}: column zero?`);
      if (expected) assert.deepEqual([column.pivotDiam, column.pivotIndex], expected, `trial ${trial} step ${step}`);
      // Now and then remove the pivot, as a reduction that pairs it would.
      if (expected && rng.uniform() < 0.3) {
        assert.ok(column.popPivot());
        naive.get(expected[1])!.count--;
      }
    }
  }
});

test("filtration sort: diameter ascending, ties by index descending, for small and large inputs and indices up to 2^50", () => {
  const rng = new Rng(41);
  for (const [count, maxIndex, distinct] of [[0, 10, 3], [1, 10, 3], [5, 10, 2], [32, 1000, 4], [33, 1000, 4], [1000, 2 ** 20, 50], [5000, 2 ** 50, 7], [5000, 300, 1]] as const) {
    const diam = Float32Array.from({ length: count }, () => Math.fround(rng.int(distinct) / 7));
    const index = Float64Array.from({ length: count }, () => Math.floor(rng.uniform() * maxIndex));
    const expected = Array.from({ length: count }, (_, i) => [diam[i], index[i]]).sort((a, b) => a[0] - b[0] || b[1] - a[1]);
    filtrationSort(diam, index, count);
    assert.deepEqual(Array.from({ length: count }, (_, i) => [diam[i], index[i]]), expected, `${count} entries, indices < ${maxIndex}`);
  }
});
