/**
 * Readable last values: every object a notebook cell commonly ends with inspects as one line without tensor or
 * danfojs internals, and the library's plain objects carry an HTML bundle under Symbol.for("weightscope.mimeBundle").
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { inspect } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { Table } from "../../src/display/table";
import { backendInfo } from "../../src/backend";
import { blobs, regression1d } from "../../src/data/synthetic";
import { asDataset } from "../../src/data/dataset";
import { hessian } from "../../src/hessian";
import { mlp } from "../../src/model";
import { assertNoLeak, useTestBackend } from "../helpers";

before(useTestBackend);

const BUNDLE = Symbol.for("weightscope.mimeBundle");
const INTERNALS = /isDisposedInternal|strides|dataId|kept|\$data|\$config|\$index|\$columns|tableMaxRow/;

/** The bundle of a value that has one (the kernel's contract), or a failure naming what lacks it. */
function bundleOf(value: object): { data: Record<string, unknown>; metadata?: Record<string, unknown> } {
  const method = (value as Record<symbol, unknown>)[BUNDLE];
  assert.equal(typeof method, "function", "a mime bundle method under Symbol.for(\"weightscope.mimeBundle\")");
  const bundle = (method as () => { data: Record<string, unknown> }).call(value);
  assert.equal(typeof bundle.data["text/plain"], "string", "text/plain is always present");
  return bundle;
}

function assertOneLine(text: string): void {
  assert.ok(!text.includes("\n"), `one line: ${text}`);
  assert.doesNotMatch(text, INTERNALS);
}

describe("Table", () => {
  it("inspects as one line with its size and columns; HTML numbers to 5 significant digits", () => {
    const t = Table.fromRecords([{ epoch: 0, loss: 0.123456789 }, { epoch: 1, loss: 1.5e-7 }], "runs\nper epoch");
    assert.equal(inspect(t), 'Table "runs per epoch" (2 rows x 2 columns: epoch, loss)');
    assert.match(t.toHTML(), /<td>0\.12346<\/td>/);
    assert.match(t.toHTML(), /<td>1\.500e-7<\/td>/);
  });
});

describe("DataFrame from toDataFrame()", () => {
  const t = Table.fromRecords([
    { index: 1, eigenvalue: 1.2345678901234567, sign: "positive", max: 3 },
    { index: 2, eigenvalue: -0.000012345678, sign: "negative", max: 4 },
    { index: 3, eigenvalue: 12345678.9, sign: "zero", max: 5 },
  ]);

  it("a column named index becomes the row index; other member names get a trailing underscore", () => {
    const df = t.toDataFrame();
    assert.deepEqual(df.index, [1, 2, 3]);
    assert.deepEqual(df.columns, ["eigenvalue", "sign", "max_"]);
    assert.deepEqual(df.shape, [3, 3]);
    assert.equal(typeof df.max, "function", "danfojs's max() is not hidden by the column");
    const dup = Table.fromRecords([{ index: 1, v: 0 }, { index: 1, v: 1 }]).toDataFrame();
    assert.deepEqual(dup.columns, ["index_", "v"], "repeated values cannot be an index: renamed instead");
    assert.deepEqual(dup.index, [0, 1]);
  });

  it("inspects as one line and shows an HTML table with every row and formatted numbers", () => {
    const df = t.toDataFrame();
    const line = inspect(df);
    assertOneLine(line);
    assert.equal(line, "DataFrame 3 x 3 { eigenvalue (float32), sign (string), max_ (int32) }");
    const { data } = bundleOf(df);
    const html = data["text/html"] as string;
    assert.match(html, /<thead><tr><th><\/th><th>eigenvalue<\/th><th>sign<\/th><th>max_<\/th><\/tr><\/thead>/);
    assert.match(html, /<tr><th>1<\/th><td>1\.2346<\/td><td>positive<\/td><td>3<\/td><\/tr>/);
    assert.match(html, /<td>-1\.235e-5<\/td>/);
    assert.match(html, /<td>1\.235e\+7<\/td>/);
    assert.match(html, /3 rows x 3 columns/);
    assert.equal(data["text/plain"], line);
  });

  it("long frames show the first and last five rows; an empty table is an empty frame", () => {
    const long = new Table(["v"], Array.from({ length: 100 }, (_, i) => [i + 0.5])).toDataFrame();
    const html = bundleOf(long).data["text/html"] as string;
    assert.equal((html.match(/<tr><th>[^<]/g) ?? []).length, 11, "10 rows and one ellipsis row (the header row has an empty label)");
    assert.match(html, /<th>4<\/th><td>4\.5<\/td>[\s\S]*<th>\.\.\.<\/th>[\s\S]*<th>95<\/th><td>95\.5<\/td>/);
    assert.match(html, /100 rows x 1 columns/);
    const empty = new Table(["a", "b"], []).toDataFrame();
    assert.deepEqual(empty.shape, [0, 2]);
    assert.match(bundleOf(empty).data["text/html"] as string, /0 rows x 2 columns/);
  });

  it("a result's toDataFrame() is displayable the same way", async () => {
    const data = regression1d({ n: 6, seed: 1 });
    const model = mlp([1, 2, 1], { seed: 1 });
    const result = await assertNoLeak(() => hessian(model, data, { loss: "halfMse", progress: false }));
    assertOneLine(inspect(result));
    const df = result.toDataFrame();
    // Every eigenvalue reaches the frame (the Hessian table has an `index` column: no rows lost to the clash).
    assert.equal(df.shape[0], result.size);
    assert.deepEqual(df.column("eigenvalue").values, result.eigenvalues);
    assertOneLine(inspect(df));
    assert.match(bundleOf(df).data["text/html"] as string, new RegExp(`${result.size} rows x ${df.shape[1]} columns`));
    tf.dispose([data.x, data.y]);
    model.dispose();
  });
});

describe("Dataset", () => {
  it("inspects as name, task, shapes, dtypes and classes; HTML previews the first rows without leaking", () => {
    const d = blobs({ n: 4, k: 2, dim: 2, seed: 3 });
    assert.equal(inspect(d), 'Dataset "blobs (2 x 4)" { classification: x [8, 2] float32, y [8] int32, 2 classes (blob 0, blob 1) }');
    const { data } = assertNoLeak(() => bundleOf(d));
    const html = data["text/html"] as string;
    assert.match(html, /first 5 of 8 samples/);
    assert.match(html, /<th>sample<\/th><th>x\[0\]<\/th><th>x\[1\]<\/th><th>label<\/th><th>class<\/th>/);
    const labels = d.y.arraySync() as number[];
    const x = d.x.arraySync() as number[][];
    assert.match(html, new RegExp(`<td>0</td><td>${Number(x[0][0].toPrecision(5))}</td><td>${Number(x[0][1].toPrecision(5))}</td><td>${labels[0]}</td><td>blob ${labels[0]}</td>`));
    tf.dispose([d.x, d.y]);
    assert.equal(inspect(d), 'Dataset "blobs (2 x 4)" { classification: x (disposed), y (disposed), 2 classes (blob 0, blob 1) }');
  });

  it("wide samples (images) preview as min, mean and max; user data gets the display through asDataset", () => {
    const x = tf.tensor2d([[0, 0.5, 1, 0.5, 0], [1, 1, 1, 1, 1]]);
    const y = tf.tensor2d([[2], [3]]);
    const d = asDataset({ x, y }, "test");
    assert.equal(inspect(d), "Dataset { regression: x [2, 5] float32, y [2, 1] float32 }");
    const html = assertNoLeak(() => bundleOf(d)).data["text/html"] as string;
    assert.match(html, /<th>x min<\/th><th>x mean<\/th><th>x max<\/th><th>y<\/th>/);
    assert.match(html, /<td>0<\/td><td>0<\/td><td>0\.4<\/td><td>1<\/td><td>2<\/td>/);
    tf.dispose([x, y]);
  });
});

describe("BackendInfo", () => {
  it("inspects as one line and shows a table of the backend and why others were skipped", () => {
    const info = backendInfo();
    const line = inspect(info);
    assertOneLine(line);
    assert.match(line, new RegExp(`^BackendInfo \\{ ${info.name} on `));
    const html = bundleOf(info).data["text/html"] as string;
    assert.match(html, new RegExp(`<td>backend</td><td>${info.name}</td>`));
    assert.deepEqual(Object.keys(info).sort(), ["adapter", "device", "name", "requested", "skipped"], "display properties are not enumerable");
  });
});
