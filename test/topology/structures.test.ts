import { before, test } from "node:test";
import assert from "node:assert/strict";
import { useTestBackend } from "../helpers";
import { WorkingColumn } from "../../src/topology/structures";
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
