/**
 * The rich last value: figures, tables and results carry a display bundle under Symbol.for("weightscope.mimeBundle"),
 * which the kernel sends as the cell's execute_result (test/e2e/kernel_semantics.py checks the kernel side).
 */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { inspect } from "node:util";
import { figure, grid, figureBundle, figureHtml, figureText, plotlyLibraryHtml, PLOTLY_MIME, type Figure } from "../../src/display/figure";
import { mimeBundle } from "../../src/display/kernel";
import { Result } from "../../src/display/result";
import { Table } from "../../src/display/table";
// CommonJS helpers shared with `npm run tour` (typed by scripts/notebooks.d.ts).
import * as nb from "../../scripts/notebooks";

/** A minimal probe result, so the base class's display is tested apart from any probe. */
class TwoPoints extends Result {
  readonly kind = "twoPoints";
  constructor(private readonly figureCount: number) {
    super();
  }
  summary(): string {
    return "two points";
  }
  figures(): Figure[] {
    return Array.from({ length: this.figureCount }, (_, i) => figure([{ type: "scatter", x: [0, 1], y: [i, i + 1] }], { title: `f${i}` }));
  }
  table(): Table {
    return new Table(["x", "y"], [[0, 0], [1, 1]], "points");
  }
  protected data(): Record<string, unknown> {
    return { x: [0, 1] };
  }
}

describe("mimeBundle", () => {
  it("is the shared key Symbol.for(\"weightscope.mimeBundle\")", () => {
    assert.equal(mimeBundle, Symbol.for("weightscope.mimeBundle"));
  });

  it("a figure: its Plotly JSON, HTML and text, while its JSON and spread copies stay plain", () => {
    const f = figure([{ type: "bar", x: ["a", "b"], y: [1, 2] }], { title: "bars" });
    const display = f[mimeBundle];
    assert.equal(typeof display, "function");
    const { data } = display!.call(f);
    const expected = figureBundle(f);
    assert.deepEqual(data[PLOTLY_MIME], expected[PLOTLY_MIME]);
    assert.equal(data["text/plain"], figureText(f));
    assert.match(data["text/html"] as string, /Plotly\.newPlot/);
    assert.deepEqual(Object.keys(f), ["data", "layout"], "the display method is not enumerable");
    assert.equal(JSON.stringify(f), JSON.stringify({ data: f.data, layout: f.layout }));
    assert.equal(({ ...f } as Figure)[mimeBundle], undefined, "a spread copy is plain JSON");
    assert.equal(typeof grid([f, f])[mimeBundle], "function");
  });

  it("a table: its HTML, markdown and text", () => {
    const t = new Table(["a"], [[1.5]], "T");
    assert.deepEqual(t[mimeBundle](), { data: t.bundle() });
  });

  it("a result: its main figure, with the one-line summary as text; the table when it has no figure", () => {
    const one = new TwoPoints(1);
    const shown = one[mimeBundle]().data;
    assert.equal(shown["text/plain"], inspect(one));
    assert.equal(shown["text/plain"], "TwoPoints { two points }");
    assert.deepEqual(shown[PLOTLY_MIME], figureBundle(one.figure())[PLOTLY_MIME]);

    const two = new TwoPoints(2);
    assert.equal((two[mimeBundle]().data[PLOTLY_MIME] as { data: unknown[] }).data.length, 2, "both figures as subplots");

    const none = new TwoPoints(0);
    const table = none[mimeBundle]().data;
    assert.equal(table["text/html"], none.table().toHTML());
    assert.equal(table["text/plain"], inspect(none));
    assert.equal(PLOTLY_MIME in table, false);
  });
});

describe("plotly.js carried again by a later cell", () => {
  it("does not run where the page already has plotly.js, and draws where it has none (Chromium)", { timeout: 5 * 60 * 1000 }, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "weightscope-carrier-"));
    const f = figure([{ type: "scatter", x: [1, 2], y: [2, 1] }]);
    const earlier = `<script>window.Plotly = { newPlot: function (el) { el.setAttribute("data-earlier-copy", "drew"); } };</script>`;
    const page = (head: string) => `<!DOCTYPE html><html><head><meta charset="utf-8">${head}${plotlyLibraryHtml()}</head><body>${figureHtml(f)}</body></html>`;
    fs.writeFileSync(path.join(dir, "again.html"), page(earlier));
    fs.writeFileSync(path.join(dir, "first.html"), page(""));
    const again = nb.renderedDom(path.join(dir, "again.html"));
    assert.match(again, /data-earlier-copy="drew"/, "the page's earlier plotly.js drew the figure");
    assert.deepEqual(nb.renderedFigures(again), [{ svg: false, missingLibrary: false }]);
    assert.deepEqual(nb.renderedFigures(nb.renderedDom(path.join(dir, "first.html"))), [{ svg: true, missingLibrary: false }]);
  });
});
