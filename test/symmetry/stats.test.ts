import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/math/rng";
import { haarRotation, determinant, orthogonalityError } from "../../src/symmetry/rotation";
import { bonferroniThreshold, minimumNetworks, twoSidedTail, maxAbs } from "../../src/symmetry/stats";
import { erfc } from "../../src/math/special";
import { ComponentIndex, ProductMoments, expandComponents } from "../../src/symmetry/moments";
import { assertClose } from "../helpers";

test("Haar rotations are orthogonal with determinant +1", () => {
  const rng = new Rng(3);
  for (let n = 1; n <= 7; n++) {
    for (let k = 0; k < 50; k++) {
      const q = haarRotation(n, rng);
      assert.ok(orthogonalityError(q, n) < 1e-12, `Q^T Q = I for n = ${n}`);
      assertClose(determinant(q, n), 1, { rtol: 0, atol: 1e-12, what: `det Q (n = ${n})` });
    }
  }
});

test("Haar rotations of SO(3) have E tr Q = 0, E (tr Q)^2 = 1 and E Q_00^2 = 1/3", () => {
  // Closed forms of Haar measure on SO(3) (tr Q = 1 + 2 cos theta, theta with density (1 - cos theta) / pi);
  // near-identity rotations such as exp(sum u_ij L_ij), u ~ U[0, 1), have E tr Q > 0 and fail this.
  const rng = new Rng(11);
  const samples = 4000;
  const trace: number[] = [];
  const q00sq: number[] = [];
  for (let k = 0; k < samples; k++) {
    const q = haarRotation(3, rng);
    trace.push(q[0] + q[4] + q[8]);
    q00sq.push(q[0] * q[0]);
  }
  const check = (values: number[], expected: number, what: string) => {
    const mean = values.reduce((a, v) => a + v, 0) / values.length;
    const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
    const z = (mean - expected) / (sd / Math.sqrt(values.length));
    assert.ok(Math.abs(z) < 4, `${what}: ${mean} vs ${expected} (z = ${z.toFixed(2)})`);
  };
  check(trace, 0, "E tr Q");
  check(trace.map((t) => t * t), 1, "E (tr Q)^2");
  check(q00sq, 1 / 3, "E Q_00^2");
});

test("determinant of known matrices", () => {
  assert.equal(determinant([2, 0, 0, 3], 2), 6);
  assertClose(determinant([0, 1, 1, 0], 2), -1);
  assertClose(determinant([1, 2, 3, 4, 5, 6, 7, 8, 10], 3), -3, { rtol: 1e-12 });
  assert.equal(determinant([1, 2, 2, 4], 2), 0);
});

test("normal tails and the Bonferroni threshold match tabulated values", () => {
  assertClose(erfc(0), 1, { rtol: 1e-7 });
  assertClose(erfc(1), 0.15729920705028513, { rtol: 2e-7 });
  assertClose(erfc(-1), 2 - 0.15729920705028513, { rtol: 2e-7 });
  assertClose(twoSidedTail(1.959963984540054), 0.05, { rtol: 1e-6 });
  assertClose(bonferroniThreshold(0.05, 1), 1.959963984540054, { rtol: 1e-6 });
  // alpha / components = 0.01 / 100 = 1e-4 two-sided: z = 3.890591886.
  assertClose(bonferroniThreshold(0.01, 100), 3.890591886413094, { rtol: 1e-6 });
  assert.throws(() => bonferroniThreshold(0, 10), /alpha must be in \(0, 1\)/);
});

test("networks needed: 18 for G2 and about 100 for G4 (the reference's 18/eps^2 and 100/eps^2 at eps = 1)", () => {
  assert.equal(minimumNetworks(2), 18);
  // 9 (E Z^8 / (E Z^4)^2 - 1) = 9 (105 / 9 - 1) = 96.
  assert.equal(minimumNetworks(4), 96);
  // 9 (E Z^2 / (E|Z|)^2 - 1) = 9 (pi / 2 - 1).
  assert.equal(minimumNetworks(1), Math.ceil(9 * (Math.PI / 2 - 1)));
});

test("maxAbs skips non-finite entries and handles 10^5 values", () => {
  assert.equal(maxAbs([1, -3, NaN, 2]), 3);
  assert.ok(Number.isNaN(maxAbs([NaN])));
  const many = Float64Array.from({ length: 200000 }, (_, i) => Math.sin(i));
  assert.ok(maxAbs(many) <= 1 && maxAbs(many) > 0.9999);
});

test("product moments over distinct components equal the float64 full-tensor moments", () => {
  const rng = new Rng(5);
  const features = 4;
  const samples = 7;
  const v = Float64Array.from({ length: samples * features }, () => rng.normal());
  for (const order of [1, 2, 3, 4]) {
    const index = new ComponentIndex(features, order);
    const acc = new ProductMoments(index);
    for (let m = 0; m < samples; m++) acc.add(v, m * features);
    const { mean, stderr } = acc.moments();
    // Every full-tensor entry, by brute force over all index tuples.
    for (let flat = 0; flat < features ** order; flat++) {
      const p = Array.from({ length: order }, (_, t) => Math.floor(flat / features ** (order - 1 - t)) % features);
      const products = Array.from({ length: samples }, (_, m) => p.reduce((a, q) => a * v[m * features + q], 1));
      const mu = products.reduce((a, x) => a + x, 0) / samples;
      const se = Math.sqrt(products.reduce((a, x) => a + (x - mu) ** 2, 0) / (samples - 1) / samples);
      const u = index.rankOf(p);
      assertClose(mean[u], mu, { rtol: 1e-12, atol: 1e-14, what: `order ${order} mean at ${p}` });
      assertClose(stderr[u], se, { rtol: 1e-9, atol: 1e-14, what: `order ${order} stderr at ${p}` });
    }
    // Multiplicities count every full-tensor entry once.
    let total = 0;
    for (let u = 0; u < index.size; u++) total += index.multiplicity(u);
    assert.equal(total, features ** order);
  }
});

test("expanded components are indexed [inputs...][outputs...]", () => {
  const inputs = 2;
  const outputs = 3;
  const index = new ComponentIndex(inputs * outputs, 2);
  const values = Float64Array.from({ length: index.size }, (_, u) => u);
  const full = expandComponents(index, values, inputs, outputs) as number[][][][];
  for (let i = 0; i < inputs; i++) for (let j = 0; j < inputs; j++) for (let a = 0; a < outputs; a++) for (let b = 0; b < outputs; b++) {
    assert.equal(full[i][j][a][b], index.rankOf([i * outputs + a, j * outputs + b]));
    assert.equal(full[i][j][a][b], full[j][i][b][a]);
  }
});

test("a correlator too large to hold is refused with its size", () => {
  assert.throws(() => new ComponentIndex(100, 4), /100\^4 = 1\.00e\+8 entries, more than 16777216/);
});
