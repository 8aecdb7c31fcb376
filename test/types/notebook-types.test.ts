/**
 * Notebook-style expressions through the public API (`import * as ws`), written as a notebook user would, without
 * casts. `tsc -p tsconfig.json` (npm run build, npm run typecheck) compiles this file, so a type that forces `as any`
 * fails the build; the @ts-expect-error lines fail it if a wrong use stops being rejected. The tests also run them.
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as ws from "../../src/index";
import { assertNoLeak, useTestBackend } from "../helpers";

before(useTestBackend);

describe("notebook expressions type-check and run", () => {
  it("run.table().toDataFrame().shape is a number[] (danfojs-node's DataFrame type)", async () => {
    const data = ws.data.blobs({ n: 6, k: 2, dim: 2, seed: 1 });
    const model = ws.mlp([2, 3, 2], { seed: 1 });
    const run = await ws.train(model, data, { epochs: 2, batchSize: 6, progress: false });
    const shape: number[] = run.table().toDataFrame().shape;
    assert.deepEqual(shape, [2, run.table().columns.length]);
    const columns: string[] = run.toDataFrame().columns;
    assert.ok(columns.includes("loss"));
    const frame: ws.DataFrame = run.toDataFrame();
    assert.equal(frame.shape[0], 2);
    ws.tf.dispose([data.x, data.y]);
    model.dispose();
  });

  it("ws.persistence takes any rank-2 tensor (Tensor<Rank>) and number[][]; other ranks are a clear error", async () => {
    const points = ws.tf.randomNormal([20, 3]);
    const result = await assertNoLeak(() => ws.persistence(points, { maxDim: 1, workers: 0 }));
    const rows = points.arraySync() as number[][];
    const again = await ws.persistence(rows, { maxDim: 1, workers: 0 });
    assert.deepEqual(again.diagrams, result.diagrams);
    const graph = ws.mapper(points, { intervals: 3, pca: 2 });
    assert.ok(graph.nodes.length > 0);
    const flat = ws.tf.randomNormal([20]);
    await assert.rejects(ws.persistence(flat), /expected a rank-2 tensor \[points, coordinates\], got shape \[20\]/);
    await assert.rejects(ws.persistence({ distances: ws.tf.zeros([2, 2, 2]) }), /distances: expected a rank-2 tensor, got shape \[2, 2, 2\]/);
    ws.tf.dispose([points, flat]);
    await assert.rejects(ws.persistence(points), /points: the tensor has been disposed/);
  });

  it("ws.load(file, kind) is typed by the saved kind and checks it", async () => {
    const data = ws.data.blobs({ n: 4, k: 2, dim: 2, seed: 2 });
    const model = ws.mlp([2, 2, 2], { seed: 2 });
    const run = await ws.train(model, data, { epochs: 1, batchSize: 4, progress: false });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ws-types-")), "run.json");
    ws.save(run, file);
    const back = ws.load(file, "train");
    const epochs: number = back.history.epochs.length;
    assert.equal(epochs, 1);
    assert.ok(back instanceof ws.TrainRun);
    const plain: ws.Result = ws.load(file);
    assert.equal(plain.kind, "train");
    // @ts-expect-error without a kind the value is typed Result, which has no history
    ws.load(file).history;
    assert.throws(() => ws.load(file, "persistence"), /holds a "train" result, not "persistence"/);
    ws.tf.dispose([data.x, data.y]);
    model.dispose();
  });

  it("the teleportation notebook's annotations: ws.tf.LayersModel, ws.Trace, ws.Cell; awaited hessian and sharpness", async () => {
    const data = ws.data.regression1d({ n: 8, seed: 3 });
    const models: Record<string, ws.tf.LayersModel> = { a: ws.mlp([1, 2, 1], { seed: 3 }) };
    const traces: ws.Trace[] = [];
    const summary: Record<string, ws.Cell>[] = [];
    for (const [name, m] of Object.entries(models)) {
      const s = await ws.sharpness(m, data, { k: 1, traceSamples: 4, loss: "halfMse", progress: false });
      const h = await ws.hessian(m, data, { loss: "halfMse", progress: false });
      const lambda: number = s.lambdaMax;
      traces.push({ type: "bar", name, x: [name], y: [lambda] });
      summary.push({ name, "lambda max": lambda, "negative eigenvalues": h.inertia?.negative ?? null });
    }
    assert.equal(ws.Table.fromRecords(summary).rows.length, 1);
    assert.equal(ws.figure(traces).data.length, 1);
    ws.tf.dispose([data.x, data.y]);
    Object.values(models).forEach((m) => m.dispose());
  });
});
