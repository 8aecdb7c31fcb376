import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { inspect } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { figure, grid, figureBundle, figureText, plotlyLibraryHtml, PLOTLY_MIME, MODEBAR_HEIGHT } from "../../src/display/figure";
import { Table } from "../../src/display/table";
import { showFigure, showTable } from "../../src/display/show";
import { inKernel } from "../../src/display/kernel";
import { train } from "../../src/train";
import { mlp } from "../../src/model";
import { blobs } from "../../src/data/synthetic";
import { assertSnapshot, useTestBackend } from "../helpers";

before(useTestBackend);

function captureLog(fn: () => void): string {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  try {
    fn();
  } finally {
    console.log = original;
  }
  return lines.join("\n");
}

describe("figures", () => {
  const f = figure([{ type: "scatter", x: [1, 2], y: [3, 4], name: "a</script>b" }], { title: "T" });

  it("one bundle: Plotly JSON as an object, HTML that draws it, plain text", () => {
    const bundle = figureBundle(f);
    const json = bundle[PLOTLY_MIME] as { data: unknown[]; layout: { title: unknown } };
    assert.equal(typeof json, "object");
    assert.deepEqual(json.data, f.data);
    const html = bundle["text/html"] as string;
    assert.match(html, /Plotly\.newPlot/);
    assert.ok(!html.includes("a</script>b"), "a closing script tag inside the data is escaped");
    assert.ok(!html.includes("plotly.js v"), "the library is not in a figure's bundle (one output carries it)");
    assert.match(html, /plotly\.js is not loaded on this page/, "a readable message when the library never arrives");
    assert.match(bundle["text/plain"] as string, /T/);
  });

  it("plotly.js as one offline script element", () => {
    const html = plotlyLibraryHtml();
    assert.match(html, /^<script type="text\/javascript">\/\*\*\s*\* plotly\.js v4\.\d+\.\d+/);
    assert.equal(html.match(/<\/script>/g)?.length, 1, "no closing tag inside the bundle");
    assert.ok(html.length > 1_000_000);
  });

  it("titles start below Plotly's toolbar, inside the top margin; every axis writes exponents (1e-4), not SI prefixes", () => {
    const log = figure([{ type: "scatter", x: [1e-9, 1e-4], y: [1e-9, 1e-4] }], { title: "A long title that would run under the toolbar", xaxis: { title: "x", type: "log" }, yaxis: { type: "log", exponentformat: "power" } });
    const title = log.layout.title as { text: string; yref: string; yanchor: string; pad: { t: number }; font?: { size: number } };
    assert.equal(title.text, "A long title that would run under the toolbar");
    assert.deepEqual([title.yref, title.yanchor], ["container", "top"]);
    assert.ok(title.pad.t >= MODEBAR_HEIGHT, "the title starts below the toolbar");
    const margin = log.layout.margin as { t: number };
    assert.ok(margin.t >= title.pad.t + 20 + 10, `the top margin (${margin.t} px) holds the toolbar, a 20 px title line and a gap`);
    assert.equal((log.layout.xaxis as { exponentformat: string }).exponentformat, "e");
    assert.equal((log.layout.yaxis as { exponentformat: string }).exponentformat, "power", "a probe's own choice is kept");
    const plain = figure([{ type: "scatter", x: [1], y: [2] }]);
    assert.equal((plain.layout.xaxis as { exponentformat: string }).exponentformat, "e", "axes the probe did not configure too");
    assert.equal(plain.layout.title, undefined, "no title, no title object");
    const scene = figure([{ type: "scatter3d", x: [1], y: [2], z: [3] }], { scene: { xaxis: { title: "PC1" } } }).layout.scene as Record<string, { exponentformat: string }>;
    assert.deepEqual(["xaxis", "yaxis", "zaxis"].map((k) => scene[k].exponentformat), ["e", "e", "e"]);
    const both = grid([log, plain], { title: "Both" });
    assert.ok((both.layout.margin as { t: number }).t > margin.t, "a grid's margin also holds the panels' titles");
    for (const key of ["xaxis", "yaxis", "xaxis2", "yaxis2"]) assert.notEqual((both.layout[key] as { exponentformat?: string }).exponentformat, undefined, key);
  });

  it("grid lays several figures out as subplots of one", () => {
    const g = grid([f, figure([{ type: "bar", x: ["u"], y: [1] }], { title: "U" })], { columns: 2 });
    assert.equal(g.data.length, 2);
    assert.equal((g.data[1] as { xaxis?: string }).xaxis, "x2");
  });

  it("outside a kernel, show prints the text form", () => {
    assert.equal(inKernel(), false);
    assert.equal(captureLog(() => showFigure(f)), figureText(f));
  });
});

describe("tables", () => {
  const t = Table.fromRecords([{ a: 1.23456789, b: "x|y" }, { a: Number.NaN, b: null }], "demo");

  it("HTML, markdown and text forms", () => {
    assert.match(t.toHTML(), /<th>a<\/th><th>b<\/th>/);
    assert.match(t.toMarkdown(), /\| a +\| b +\|/);
    assert.match(t.toMarkdown(), /x\\\|y/, "pipes escaped in markdown");
    const bundle = t.bundle();
    assert.deepEqual(Object.keys(bundle).sort(), ["text/html", "text/markdown", "text/plain"]);
    assert.match(captureLog(() => showTable(t)), /NaN/);
  });

  it("rejects ragged rows and converts to a danfojs DataFrame", () => {
    assert.throws(() => new Table(["a", "b"], [[1]]), /row 0 has 1 cells, expected 2/);
    const df = t.toDataFrame() as { shape: number[]; columns: string[] };
    assert.deepEqual(df.shape, [2, 2]);
    assert.deepEqual(df.columns, ["a", "b"]);
  });
});

describe("results", () => {
  it("a training run: one-line inspect, JSON, and its figures (snapshot)", async () => {
    const data = blobs({ n: 8, k: 2, dim: 2, seed: 4 });
    const model = mlp([2, 3, 2], { seed: 4 });
    const run = await train(model, data, { epochs: 3, batchSize: 8, lr: 0.5, progress: false, seed: 1 });
    const line = inspect(run);
    assert.ok(!line.includes("\n") && line.startsWith("TrainRun {"), line);
    const json = run.toJSON();
    assert.equal(json.kind, "train");
    assert.doesNotThrow(() => JSON.stringify(json));
    assertSnapshot("train-run-figures", run.figures());
    tf.dispose([data.x, data.y]);
    model.dispose();
  });
});

describe("plotly.js 3+ titles", () => {
  it("string titles in layout, axes and traces become { text } (plotly.js ignores plain strings)", () => {
    const f = figure([{ type: "heatmap", z: [[1]], colorbar: { title: "S_rel" } }], { title: "T", xaxis: { title: "x" } });
    assert.equal((f.layout.title as { text: string }).text, "T");
    assert.deepEqual((f.layout.xaxis as { title: unknown }).title, { text: "x" });
    assert.deepEqual((f.data[0].colorbar as { title: unknown }).title, { text: "S_rel" });
    const raw = { data: [], layout: { title: "raw" } };
    assert.deepEqual((figureBundle(raw)[PLOTLY_MIME] as { layout: { title: unknown } }).layout.title, { text: "raw" });
    assert.match(figureText(f), /Figure "T"/);
  });
});
