import { test } from "node:test";
import assert from "node:assert/strict";
import { assertClose } from "../helpers";
import { bettiCurve, bottleneck, filterByPersistence, landscape, lifetimes, persistenceImage, persistentEntropy, wasserstein, type Diagram } from "../../src/topology/diagrams";
import { Rng } from "../../src/math/rng";
import { fixtures, fromJSON } from "./fixtures";
import { denseBottleneck, denseWasserstein } from "./dense-distances";
import { bottleneckMatching } from "../../src/topology/matching";

const gudhi = fixtures.diagram_distances.gudhi_doc_example;
const d1 = fromJSON(gudhi.d1);
const d2 = fromJSON(gudhi.d2);
const finite = (d: Diagram) => d.filter((p) => p[1] !== Infinity);

test("bottleneck: GUDHI's documented example is 0.75 (with and without essential classes); a single bar 0.2", () => {
  assertClose(bottleneck(d1, d2).distance, gudhi.bottleneck_exact_incl_essential, { rtol: 1e-12, what: "bottleneck" });
  assertClose(bottleneck(finite(d1), finite(d2)).distance, gudhi.bottleneck_finite_only, { rtol: 1e-12, what: "bottleneck finite" });
  const single = fixtures.diagram_distances.single_bar;
  assertClose(bottleneck(single.d1, single.d2).distance, single.bottleneck, { rtol: 1e-12, what: "single bar" });
});

test("Wasserstein: GUDHI's example W1 (L-inf ground) 1.437 / 1.237 finite; W2 (L2 ground) 0.94448", () => {
  // relativeError 0: the auction runs until its dual bound certifies the optimum up to round-off.
  const exact = { relativeError: 0 };
  assertClose(wasserstein(d1, d2, exact).distance, gudhi.W1_Linf_ground_incl_essential, { rtol: 1e-12, what: "W1 incl. essential" });
  assertClose(wasserstein(finite(d1), finite(d2), exact).distance, gudhi.W1_Linf_ground_finite_only, { rtol: 1e-12, what: "W1 finite" });
  assertClose(wasserstein(finite(d1), finite(d2), { order: 2, ground: "l2", ...exact }).distance, gudhi.W2_L2_ground_finite_only, { rtol: 1e-12, what: "W2 L2" });
  // The default stops within 1e-4 relative, never below the distance.
  const w = wasserstein(d1, d2).distance;
  assert.ok(w >= gudhi.W1_Linf_ground_incl_essential * (1 - 1e-12) && w <= gudhi.W1_Linf_ground_incl_essential * (1 + 1e-4), `W1 ${w}`);
});

/** Random diagrams; on a grid of quarter values (many equal costs: ties) or continuous. */
function randomDiagram(rng: Rng, n: number, grid: boolean): Diagram {
  return Array.from({ length: n }, () => {
    const b = grid ? rng.int(5) / 4 : rng.uniform(0, 1);
    return [b, b + (grid ? rng.int(4) / 4 : rng.uniform(0, 0.5) ** 2)];
  });
}

test("bottleneck (Hopcroft-Karp over a grid) equals the dense exact matching on 300 random diagram pairs, ties included", () => {
  const rng = new Rng(11);
  for (let t = 0; t < 300; t++) {
    const grid = t % 2 === 0;
    const a = randomDiagram(rng, rng.int(14), grid);
    const b = randomDiagram(rng, rng.int(14), grid);
    assert.equal(bottleneck(a, b).distance, denseBottleneck(a, b), `pair ${t}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  }
  // Larger: 150 points against 120.
  const a = randomDiagram(rng, 150, false);
  const b = randomDiagram(rng, 120, false);
  assert.equal(bottleneck(a, b).distance, denseBottleneck(a, b));
});

test("bottleneck by bisection of the float64 bit patterns (the path for diagrams too large to list the candidates) equals the dense exact one", () => {
  const rng = new Rng(14);
  const half = (d: Diagram) => {
    const finite = d.filter((p) => p[1] > p[0]);
    return { birth: Float64Array.from(finite, (p) => p[0]), death: Float64Array.from(finite, (p) => p[1]), toDiagonal: Float64Array.from(finite, (p) => (p[1] - p[0]) / 2) };
  };
  for (let t = 0; t < 100; t++) {
    const a = randomDiagram(rng, rng.int(12), t % 2 === 0);
    const b = randomDiagram(rng, rng.int(12), t % 2 === 0);
    assert.equal(bottleneckMatching(half(a), half(b), 0).distance, denseBottleneck(a, b), `pair ${t}`);
  }
});

test("bottleneck matching: every matched pair costs at most the distance, every point is used once", () => {
  const rng = new Rng(12);
  const a = randomDiagram(rng, 40, false);
  const b = randomDiagram(rng, 30, false);
  const { distance, pairs } = bottleneck(a, b);
  const cost = ([i, j]: [number, number]) => (i === -1 ? (b[j][1] - b[j][0]) / 2 : j === -1 ? (a[i][1] - a[i][0]) / 2 : Math.max(Math.abs(a[i][0] - b[j][0]), Math.abs(a[i][1] - b[j][1])));
  assert.ok(pairs.every((p) => cost(p) <= distance));
  assert.deepEqual(pairs.filter((p) => p[0] !== -1).map((p) => p[0]).sort((x, y) => x - y), a.map((_, i) => i).filter((i) => a[i][1] > a[i][0]));
  assert.deepEqual(pairs.filter((p) => p[1] !== -1).map((p) => p[1]).sort((x, y) => x - y), b.map((_, j) => j).filter((j) => b[j][1] > b[j][0]));
});

test("Wasserstein (auction) is within its relative error of the exact Hungarian optimum and never below it", () => {
  const rng = new Rng(13);
  for (let t = 0; t < 150; t++) {
    const grid = t % 2 === 0;
    const a = randomDiagram(rng, rng.int(14), grid);
    const b = randomDiagram(rng, rng.int(14), grid);
    for (const [order, ground] of [[1, "linf"], [2, "l2"]] as const) {
      for (const relativeError of [1e-4, 0.01]) {
        const w = wasserstein(a, b, { order, ground, relativeError }).distance;
        const exact = denseWasserstein(a, b, order, ground);
        assert.ok(w >= exact * (1 - 1e-12) && w <= exact * (1 + relativeError) + 1e-15, `W${order} ${ground} at ${relativeError}: ${w} vs exact ${exact}`);
      }
    }
  }
  const a = randomDiagram(rng, 150, false);
  const b = randomDiagram(rng, 120, false);
  const exact = denseWasserstein(a, b);
  const w = wasserstein(a, b).distance;
  assert.ok(w >= exact * (1 - 1e-12) && w <= exact * (1 + 1e-4), `150 x 120: ${w} vs ${exact}`);
});

test("hand-computed cases: a diagram against the empty one, different essential counts, matchings", () => {
  // Against the empty diagram every bar goes to the diagonal at (d - b) / 2.
  const d: Diagram = [[0, 2], [1, 1.5]];
  assert.equal(bottleneck(d, []).distance, 1);
  assert.equal(wasserstein(d, []).distance, 1.25);
  assert.equal(bottleneck([[0, Infinity]], []).distance, Infinity);
  assert.equal(bottleneck([], []).distance, 0);
  // [0,4] matches [0.5,4] (cost 0.5); [1,1.2] goes to the diagonal (0.1).
  const m = wasserstein([[0, 4], [1, 1.2]], [[0.5, 4]]);
  assertClose(m.distance, 0.6, { rtol: 1e-12, what: "W1" });
  assert.deepEqual(m.pairs.sort(), [[0, 0], [1, -1]]);
});

test("distances are symmetric, zero on equal diagrams, obey W1 >= bottleneck and the triangle inequality (random diagrams)", () => {
  const rng = new Rng(3);
  const random = (n: number): Diagram => Array.from({ length: n }, () => {
    const b = rng.uniform(0, 1);
    return [b, b + rng.uniform(0, 0.5)];
  });
  for (let trial = 0; trial < 10; trial++) {
    const [a, b, c] = [random(1 + rng.int(7)), random(1 + rng.int(7)), random(1 + rng.int(7))];
    for (const dist of [(x: Diagram, y: Diagram) => bottleneck(x, y).distance, (x: Diagram, y: Diagram) => wasserstein(x, y, { relativeError: 0 }).distance]) {
      assertClose(dist(a, b), dist(b, a), { rtol: 1e-12, what: "symmetry" });
      assert.equal(dist(a, a), 0);
      assert.ok(dist(a, c) <= dist(a, b) + dist(b, c) + 1e-12, "triangle inequality");
    }
    assert.ok(wasserstein(a, b, { relativeError: 0 }).distance >= bottleneck(a, b).distance - 1e-12);
  }
});

test("vectorisations of {(0,1),(0.5,2)}: entropy 0.673012, Betti curve [1,2,1,1,0], Bubenik landscapes", () => {
  const v = fixtures.vectorizations;
  const grid = [0, 0.5, 1, 1.5, 2];
  assertClose(persistentEntropy(v.diagram), v.persistence_entropy_natural_log, { rtol: 1e-12, what: "entropy" });
  assert.deepEqual(bettiCurve(v.diagram, grid).values, v["betti_curve_at_[0,0.5,1,1.5,2]_halfopen"]);
  const l = landscape(v.diagram, { levels: 2, grid });
  assertClose(l.values[0], v["bubenik_landscape_lambda1_at_[0,0.5,1,1.5,2]"], { rtol: 1e-12, what: "lambda1" });
  assertClose(l.values[1], v["bubenik_landscape_lambda2_at_[0,0.5,1,1.5,2]"], { rtol: 1e-12, what: "lambda2" });
  assert.ok(Number.isNaN(persistentEntropy([[1, 1]])), "no lifetime: NaN");
});

test("persistence image: pixels integrate each Gaussian exactly, so a covering grid sums to the total weight", () => {
  const d: Diagram = [[0.2, 1], [0.5, 0.9], [0.1, Infinity]];
  const img = persistenceImage(d, { resolution: 30, sigma: 0.05, birthRange: [-1, 2], persistenceRange: [-1, 2], weight: () => 1 });
  const total = img.values.flat().reduce((s, x) => s + x, 0);
  assertClose(total, 2, { rtol: 1e-6, what: "image mass (two finite bars)" });
  // The default linear weight p / max p: masses 1 and 0.4/0.8.
  const weighted = persistenceImage(d, { resolution: 30, sigma: 0.05, birthRange: [-1, 2], persistenceRange: [-1, 2] });
  assertClose(weighted.values.flat().reduce((s, x) => s + x, 0), 1.5, { rtol: 1e-6, what: "weighted mass" });
});

test("lifetimes, filtering, bad diagrams", () => {
  assert.deepEqual(lifetimes([[0, 1], [1, Infinity]]), [1, Infinity]);
  assert.deepEqual(filterByPersistence([[0, 1], [0, 0.1], [2, Infinity]], 0.5), [[0, 1], [2, Infinity]]);
  assert.throws(() => bottleneck([[0, NaN]], []), /NaN/);
  assert.throws(() => wasserstein([[2, 1]], []), /dies before it is born/);
  assert.throws(() => wasserstein([], [], { order: 0 }), /order/);
});
