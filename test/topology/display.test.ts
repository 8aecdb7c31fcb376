/** What persistence.show() draws and tabulates: one diagram for all dimensions, a per-dimension table, every bar on demand. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertClose } from "../helpers";
import { persistence } from "../../src/topology";
import { Rng } from "../../src/math/rng";

// 12 points on the unit circle: H0 has 11 bars dying at 2 sin(pi/12) plus one infinite, H1 one bar [2 sin(pi/12), 2 sin(pi/3)),
// H2 three bars [2 sin(pi/3), 2 sin(5 pi/12)) (the diagrams equal Ripser's: test/topology/engine.test.ts).
const circle = Array.from({ length: 12 }, (_, k) => [Math.cos((k * Math.PI) / 6), Math.sin((k * Math.PI) / 6)]);
const edge = 2 * Math.sin(Math.PI / 12);
const death = 2 * Math.sin(Math.PI / 3);
const h2Death = 2 * Math.sin((5 * Math.PI) / 12);

test("persistence figure: every dimension in one diagram, one colour each, the diagonal, infinite deaths on a labelled line at the top", async () => {
  const r = await persistence(circle, { maxDim: 2, workers: 0 });
  const figures = r.figures();
  assert.equal(figures.length, 1, "one figure");
  const [fig] = figures;
  const byName = new Map(fig.data.map((trace) => [trace.name, trace]));
  const h0 = byName.get("H0 (12)")!;
  const h1 = byName.get("H1 (1)")!;
  const h0Infinite = byName.get("H0 ∞")!;
  assert.ok(h0 && h1 && h0Infinite && byName.get("diagonal") && byName.get("death = ∞"), [...byName.keys()].join("; "));
  assert.ok(byName.has("H2 (3)") && !byName.has("H2 ∞"), "H2 has three finite bars");
  assertClose(h1.x as number[], [edge], { rtol: 1e-6, what: "H1 birth" });
  assertClose(h1.y as number[], [death], { rtol: 1e-6, what: "H1 death" });
  assertClose(h0.y as number[], new Array(11).fill(edge), { rtol: 1e-6, what: "H0 deaths" });
  const colour = (trace: typeof h0) => (trace.marker as { color: string }).color;
  assert.equal(colour(h0), colour(h0Infinite), "finite and infinite points of a dimension share its colour");
  assert.notEqual(colour(h0), colour(h1));
  const top = (byName.get("death = ∞")!.y as number[])[0];
  assert.ok(top > death, "the infinity line is above every finite death");
  assert.deepEqual(h0Infinite.y, [top]);
  const diagonal = byName.get("diagonal")!;
  assert.deepEqual(diagonal.x, diagonal.y);
  const annotations = fig.layout.annotations as { text: string; y: number }[];
  assert.ok(annotations.some((a) => a.text === "∞" && a.y === top), "the line is labelled");
  assert.equal(r.barcode().data.length, 3, "the barcode: one trace per dimension");
});

test("persistence table: one row per dimension with counts and the longest bars; .bars() lists every bar", async () => {
  const r = await persistence(circle, { maxDim: 2, workers: 0 });
  const table = r.table();
  assert.deepEqual(table.columns, ["dim", "bars", "infinite", "longest bar birth", "longest bar death", "longest persistence", "2nd persistence", "3rd persistence"]);
  assert.deepEqual(table.column("dim"), ["H0", "H1", "H2"]);
  assert.deepEqual(table.column("bars"), [12, 1, 3]);
  assert.deepEqual(table.column("infinite"), [1, 0, 0]);
  const [h0, h1, h2] = table.rows;
  assertClose(h0.slice(3, 8) as number[], [0, edge, edge, edge, edge], { rtol: 1e-6, what: "H0 longest finite bars" });
  assertClose(h1.slice(3, 6) as number[], [edge, death, death - edge], { rtol: 1e-6, what: "H1 bar" });
  assert.deepEqual(h1.slice(6), [null, null]);
  assertClose(h2.slice(3) as number[], [death, h2Death, h2Death - death, h2Death - death, h2Death - death], { rtol: 1e-6, what: "H2 bars" });
  assert.equal(r.bars().rows.length, 16);
  const empty = (await persistence([[0, 0], [1, 0]], { maxDim: 1, workers: 0 })).table();
  assert.deepEqual(empty.rows[1], ["H1", 0, 0, null, null, null, null, null]);

  // 300 points up to H2: still one figure and a three-row table (the full list of bars stays available).
  const rng = new Rng(3);
  const cloud = Array.from({ length: 300 }, () => [rng.normal(), rng.normal(), rng.normal()]);
  const big = await persistence(cloud, { maxDim: 2, workers: 0 });
  assert.equal(big.figures().length, 1);
  assert.equal(big.table().rows.length, 3);
  assert.equal(big.bars().rows.length, big.diagrams.flat().length);
  const longest = big.table().column("longest persistence") as number[];
  big.diagrams.forEach((d, k) => {
    const finite = d.filter((p) => p[1] !== Infinity).map((p) => p[1] - p[0]);
    assert.equal(longest[k], Math.max(...finite), `H${k} longest bar`);
  });
});
