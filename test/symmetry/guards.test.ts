/** Reliability of the symmetry probe (issue 19): ensembles beyond memory are MemoryErrors before sampling; breaking leaks nothing. */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { ensemble, breaking } from "../../src/symmetry";
import { blobs } from "../../src/data";
import { InputError, MemoryError } from "../../src/errors";
import { assertNoLeak, typedError, useTestBackend } from "../helpers";

before(useTestBackend);

test("an ensemble of width 3e8 is a MemoryError before anything is sampled (V8 aborted before)", () => {
  assertNoLeak(() => assert.throws(() => ensemble({ sizes: [1, 3e8, 1] }, { networks: 10 }), typedError(MemoryError, "out-of-memory", /narrower layers/)));
  assert.throws(() => ensemble({ sizes: [2, 4, 1] }, { networks: 3, chunk: 0 }), typedError(InputError, "invalid-option", /chunk/));
});

test("symmetry.breaking leaves the tensor count unchanged (it leaked 2 per call)", async () => {
  const train = blobs({ n: 6, k: 3, dim: 4, seed: 1 });
  const test = blobs({ n: 4, k: 3, dim: 4, seed: 2 });
  const result = await assertNoLeak(() => breaking({ train, test }, { mu: [0.1], k: [1], epochs: 1, seeds: 1, hidden: 4, batchSize: 6 }));
  assert.equal(result.cells.length, 1, "one cell per (coding, mu, k)");
  tf.dispose([train.x, train.y, test.x, test.y]);
});
