/** Reliability of the synthetic data sets (issue 19): NaN or absurd options are typed errors, never NaN data or an out-of-memory abort. */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { blobs, circles, regression1d, teacher } from "../../src/data";
import { InputError, MemoryError } from "../../src/errors";
import { assertNoLeak, typedError, useTestBackend } from "../helpers";

before(useTestBackend);

test("NaN, infinite and negative spreads are refused", () => {
  for (const std of [NaN, Infinity, -1]) assertNoLeak(() => assert.throws(() => blobs({ std }), typedError(InputError, "invalid-option", /std/)));
  assert.throws(() => regression1d({ noise: NaN }), typedError(InputError, "invalid-option", /noise/));
  assert.throws(() => circles({ radii: [1, NaN] }), typedError(InputError, "invalid-option", /radii/));
  assert.throws(() => teacher({ noise: -1 }), typedError(InputError, "invalid-option", /noise/));
  assert.throws(() => blobs({ k: 0 }), typedError(InputError, "invalid-option", /k must be a positive integer/));
  assert.throws(() => regression1d({ spacing: "random" as "grid" }), typedError(InputError, "invalid-option", /spacing/));
});

test("sizes beyond memory are MemoryErrors before allocating (regression1d n 2e9 aborted V8)", () => {
  assertNoLeak(() => assert.throws(() => regression1d({ n: 2e9 }), typedError(MemoryError, "out-of-memory", /smaller n/)));
  assertNoLeak(() => assert.throws(() => blobs({ n: 1e9, dim: 100 }), typedError(MemoryError, "out-of-memory")));
});
