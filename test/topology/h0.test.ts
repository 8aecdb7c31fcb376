import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { persistence } from "../../src/topology";
import { Rng } from "../../src/math/rng";

describe("H0 alone", () => {
  it("maxDim 0 gives the same H0 as maxDim 1 (random, tied and near-identical points)", async () => {
    const rng = new Rng(3);
    const clouds = [
      Array.from({ length: 40 }, () => Array.from(rng.normalArray(5))),
      Array.from({ length: 36 }, (_, i) => [i % 6, Math.floor(i / 6)]),
      Array.from({ length: 32 }, () => Array.from(rng.normalArray(20, 0, 1e-6))),
    ];
    for (const cloud of clouds) {
      const h0 = (await persistence(cloud, { maxDim: 0 })).diagrams;
      assert.equal(h0.length, 1);
      assert.deepEqual(h0[0], (await persistence(cloud, { maxDim: 1 })).diagrams[0]);
    }
  });
});
