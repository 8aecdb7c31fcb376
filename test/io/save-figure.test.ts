/** ws.saveFigure: a standalone offline HTML page, checked by drawing it in headless Chromium. */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { saveFigure } from "../../src/io/figure";
import { figure, type Figure } from "../../src/display/figure";
import { Result } from "../../src/display/result";
import { Table } from "../../src/display/table";
// CommonJS helpers shared with `npm run tour` (typed by scripts/notebooks.d.ts).
import * as nb from "../../scripts/notebooks";

class Line extends Result {
  readonly kind = "line";
  summary(): string {
    return "a line";
  }
  figures(): Figure[] {
    return [figure([{ type: "scatter", mode: "lines", x: [0, 1, 2], y: [0, 1, 4] }], { title: "line" }), figure([{ type: "bar", x: ["a"], y: [1] }])];
  }
  table(): Table {
    return new Table(["x"], [[0]]);
  }
  protected data(): Record<string, unknown> {
    return {};
  }
}

describe("ws.saveFigure", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "weightscope-save-figure-"));

  it("writes a page that draws the figure offline in Chromium (plotly.js inlined once)", { timeout: 5 * 60 * 1000 }, () => {
    assert.ok(nb.CHROMIUM, "Chromium must be installed (see .ci/run)");
    const fromFigure = path.join(dir, "scatter.html");
    const fromResult = path.join(dir, "result.html");
    assert.equal(saveFigure(figure([{ type: "scatter", x: [1, 2, 3], y: [3, 1, 2] }], { title: "a </script> title" }), fromFigure), fromFigure);
    saveFigure(new Line(), fromResult);
    for (const file of [fromFigure, fromResult]) {
      const page = fs.readFileSync(file, "utf8");
      assert.equal(page.match(/\* plotly\.js v\d/g)?.length, 1, `${file}: one copy of plotly.js`);
      assert.ok(!/<script[^>]+src=/.test(page), `${file}: no external script`);
      const figures = nb.renderedFigures(nb.renderedDom(file));
      assert.equal(figures.length, 1, `${file}: one figure`);
      assert.equal(figures[0].svg, true, `${file}: plotly.js drew an SVG plot`);
    }
    const resultDom = nb.renderedDom(fromResult);
    assert.equal((resultDom.match(/class="xy"/g) ?? []).length, 2, "a result's main figure holds both of its figures as subplots");
    assert.match(fs.readFileSync(fromFigure, "utf8"), /<title>a &lt;\/script> title<\/title>/);
  });

  it("replaces the file atomically and leaves no temporary file", () => {
    const file = path.join(dir, "again.html");
    fs.writeFileSync(file, "old");
    saveFigure(figure([{ type: "bar", x: ["a"], y: [2] }]), file);
    assert.match(fs.readFileSync(file, "utf8"), /^<!DOCTYPE html>/);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith(".tmp")), []);
  });

  it("refuses what is not a figure, a path that is not .html, and a missing folder, with clear errors", () => {
    const f = figure([{ type: "bar", x: ["a"], y: [2] }]);
    assert.throws(() => saveFigure({ layout: {} } as unknown as Figure, path.join(dir, "x.html")), /expected a figure/);
    assert.throws(() => saveFigure(f, path.join(dir, "x.png")), /path ending in \.html \(got ".*x\.png"\)/);
    assert.throws(() => saveFigure(f, path.join(dir, "no", "such", "x.html")), /does not exist/);
    assert.throws(() => saveFigure(new (class extends Line { override figures() { return []; } })(), path.join(dir, "x.html")), /has no figure/);
  });
});
