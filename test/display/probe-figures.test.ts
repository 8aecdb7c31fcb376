/**
 * Snapshot tests of every probe's figures (Observable Plot style): small deterministic inputs on the cpu backend,
 * the Plotly JSON compared with test/__snapshots__ (numbers to 6 significant digits). A change in what a
 * figure shows fails here; UPDATE_SNAPSHOTS=1 rewrites the files after review.
 */
import { after, before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import * as ws from "../../src";
import { assertSnapshot, useTestBackend } from "../helpers";

before(useTestBackend);

/**
 * Drops what legitimately differs between runs (timings) before a snapshot, after checking what every figure must
 * have: a title placed below Plotly's toolbar and no SI-prefixed axis ticks.
 */
function stable(figures: ws.Figure[]): unknown {
  for (const f of figures) {
    const title = f.layout.title as { yref?: string; pad?: { t: number } } | undefined;
    assert.ok(title && title.yref === "container" && (title.pad?.t ?? 0) >= 30, `title placement: ${JSON.stringify(title)}`);
    const axes = Object.entries({ ...f.layout, ...(f.layout.scene as object | undefined) }).filter(([key]) => /^[xyz]axis\d*$/.test(key));
    for (const [key, axis] of axes) assert.equal((axis as { exponentformat?: string }).exponentformat, "e", `${key} of "${JSON.stringify(title)}"`);
  }
  return JSON.parse(JSON.stringify(figures, (key, value) => (/seconds|elapsed|millis|ms$/i.test(key) ? undefined : value)));
}

describe("probe figures", () => {
  const blobs = ws.data.blobs({ n: 6, k: 2, dim: 3, seed: 2 });
  const model = ws.mlp([3, 4, 2], { seed: 3 });
  after(() => {
    tf.dispose([blobs.x, blobs.y]);
    model.dispose();
  });

  it("teleport", () => {
    const t = ws.teleport(model, { cobRange: 0.5, seed: 1 });
    assertSnapshot("teleport-figures", stable(t.figures()));
    t.model.dispose();
  });

  it("elasticity", async () => {
    const s = await ws.elasticity(model, blobs, { points: { perClass: 3 }, progress: false });
    assertSnapshot("elasticity-figures", stable(s.figures()));
  });

  it("hessian", async () => {
    assertSnapshot("hessian-figures", stable((await ws.hessian(model, blobs, { exact: true, progress: false })).figures()));
  });

  it("embedding split", () => {
    const split = ws.embed.split(model, { neuron: 1, alpha: 0.3 });
    assertSnapshot("embed-split-figures", stable(split.figures()));
    split.model.dispose();
  });

  it("persistence", async () => {
    const square = [[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 2]];
    assertSnapshot("persistence-figures", stable((await ws.persistence(square, { maxDim: 1 })).figures()));
  });

  it("symmetry correlator", async () => {
    const e = ws.symmetry.ensemble({ sizes: [2, 8, 2], activation: "relu" }, { networks: 64, seed: 1 });
    const g = await ws.symmetry.correlator(e, [[1, 0], [0, 1]], { order: 2 });
    assertSnapshot("symmetry-correlator-figures", stable(g.figures()));
  });
});
