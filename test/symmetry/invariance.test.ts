import { test, before } from "node:test";
import assert from "node:assert/strict";
import { ensemble, test as invarianceTest } from "../../src/symmetry";
import { determinant, orthogonalityError } from "../../src/symmetry/rotation";
import { assertClose, assertNoLeak, useTestBackend } from "../helpers";

before(useTestBackend);

const INPUTS_3D = [[1, 0, 0], [0.3, -0.5, 0.8], [-1, 1, 0.5]];

test("symmetric ensembles pass the output and input tests (G2 and G4); the rotations are in SO(n)", async () => {
  const e = ensemble({ sizes: [3, 50, 3], activation: "relu" }, { networks: 20000, seed: 1 });
  const output = await assertNoLeak(() => invarianceTest(e, INPUTS_3D, { group: "output", order: 2 }), "test");
  assert.equal(output.invariant, true, output.summary());
  // 45 distinct components x 3 rotations; the threshold is the Bonferroni one at alpha = 0.01.
  assert.equal(output.runs[0].components, 135);
  assert.ok(output.threshold > 3.9 && output.threshold < 4.1);
  for (const r of output.rotations) {
    assert.ok(orthogonalityError(r.flat(), 3) < 1e-12);
    assertClose(determinant(r.flat(), 3), 1, { rtol: 0, atol: 1e-12 });
  }
  const g4 = await invarianceTest(e, INPUTS_3D, { group: "output", order: 4, rotations: 1 });
  assert.equal(g4.invariant, true, g4.summary());
  const input = await invarianceTest(e, INPUTS_3D, { group: "input", order: 2 });
  assert.equal(input.invariant, true, input.summary());
  // The deviation of an invariant ensemble is Monte-Carlo noise: the same order as the noise level.
  assert.ok(output.runs[0].deviation < 3 * output.runs[0].noise, `${output.runs[0].deviation} vs noise ${output.runs[0].noise}`);
  assert.equal(output.figures().length, 2);
  assert.doesNotThrow(() => JSON.stringify(output.toJSON()));
  assert.match(output.summary(), /output SO\(3\) test of G2, 1 ensemble: max \|z\| \d+\.\d+ vs threshold 3\.96 \(alpha 0\.01\) -> invariant/);
});

test("the test's false-positive rate on symmetric ensembles is near its nominal level, and its z-scores are N(0, 1)", async () => {
  // 80 independent symmetric ensembles, one input, two outputs: 3 distinct G2 components, one rotation.
  // Bonferroni over 3 correlated z-scores at alpha = 0.3 rejects with probability between 0.1 (fully
  // correlated) and 0.3; the binomial(80, p) count then lies in [3, 36] with probability > 0.999.
  const seeds = 80;
  let rejected = 0;
  const first: number[] = [];
  for (let s = 0; s < seeds; s++) {
    const e = ensemble({ sizes: [2, 6, 2], activation: "relu" }, { networks: 400, seed: 100 + s });
    const t = await invarianceTest(e, [[0.8, -0.4]], { group: "output", order: 2, rotations: 1, alpha: 0.3, seed: s });
    if (!t.invariant) rejected++;
    first.push(t.runs[0].z[0]);
  }
  assert.ok(rejected >= 3 && rejected <= 36, `${rejected} of ${seeds} symmetric ensembles rejected at alpha 0.3`);
  // One component across independent seeds: mean 0 (se 1/sqrt(80)), variance 1 (chi^2_79 / 79 in [0.55, 1.55] at 0.999).
  const mean = first.reduce((a, v) => a + v, 0) / seeds;
  const variance = first.reduce((a, v) => a + (v - mean) ** 2, 0) / (seeds - 1);
  assert.ok(Math.abs(mean) < 3.3 / Math.sqrt(seeds), `mean z ${mean}`);
  assert.ok(variance > 0.55 && variance < 1.55, `variance of z ${variance}`);
});

test("the test detects broken output symmetry (row 0 of W1 with mean mu) and broken input symmetry", async () => {
  for (const seed of [1, 2, 3]) {
    const broken = ensemble({ sizes: [3, 50, 3], activation: "relu", init: [{}, { mean: 0.1, rows: [0] }] }, { networks: 2000, seed });
    const t = await invarianceTest(broken, INPUTS_3D, { group: "output", order: 2, seed });
    assert.equal(t.invariant, false, t.summary());
    assert.ok(t.maxZ > 2 * t.threshold, t.summary());
    assert.ok(t.runs[0].deviation > 5 * t.runs[0].noise);
  }
  // A mean on the first layer's weights makes E[W0 x] = mu (1.x): not invariant under input rotations,
  // while the output test still passes (the last layer is zero-mean).
  const shifted = ensemble({ sizes: [3, 20, 2], activation: "relu", init: [{ mean: 0.5 }, {}] }, { networks: 4000, seed: 5 });
  const input = await invarianceTest(shifted, INPUTS_3D, { group: "input", order: 2 });
  assert.equal(input.invariant, false, input.summary());
  const output = await invarianceTest(shifted, INPUTS_3D, { group: "output", order: 2 });
  assert.equal(output.invariant, true, output.summary());
});

test("Gauss-net across widths: every width is output-invariant", async () => {
  // The authors' setting at small M: d_in = 1, D = 5, 6 inputs 0.01 x {-1, -0.6, -0.2, 0.2, 0.6, 1}.
  const inputs = [-1, -0.6, -0.2, 0.2, 0.6, 1].map((v) => [0.01 * v]);
  const ensembles = [5, 50, 500].map((width, k) => ensemble({ sizes: [1, width, 5], activation: "gauss" }, { networks: 1000, seed: k }));
  const t = await invarianceTest(ensembles, inputs, { group: "output", order: 2, rotations: 2 });
  assert.equal(t.runs.length, 3);
  assert.deepEqual(t.runs.map((r) => r.width), [5, 50, 500]);
  assert.equal(t.invariant, true, t.summary());
  assert.equal(t.table().rows.length, 3);
});

test("bad input to the test: trivial group, mismatched ensembles, too few networks, bad options", async () => {
  const e = ensemble({ sizes: [1, 10, 3] }, { networks: 50 });
  await assert.rejects(invarianceTest(e, [[1]], { group: "input" }), /the input group SO\(1\) is trivial/);
  await assert.rejects(invarianceTest([e, ensemble({ sizes: [1, 10, 4] }, { networks: 50 })], [[1]]), /all ensembles must share the output size; \[1-10-4\] has 4, the first has 3/);
  await assert.rejects(invarianceTest(e, [[1]], { order: 4 }), /at least 96 are needed/);
  await assert.rejects(invarianceTest(e, [[1]], { group: "hidden" as never }), /group must be "output" or "input"/);
  await assert.rejects(invarianceTest(e, [[1]], { rotations: 0 }), /rotations must be a positive integer/);
  await assert.rejects(invarianceTest(e, [[1, 2]]), /input 0 has 2 coordinates/);
  await assert.rejects(invarianceTest([], [[1]]), /non-empty array/);
  await assert.rejects(invarianceTest(e, [[0]]), /every component .* has zero standard error/);
});
