/**
 * End to end: every tutorial notebook executed by nbconvert in the real weightscope kernel (installed into a
 * temporary prefix), no error outputs, every figure a full Plotly bundle; then the HTML export opened in
 * headless Chromium, where every figure must have drawn an SVG plot.
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

// CommonJS helpers shared with `npm run tour` (typed by scripts/notebooks.d.ts).
import * as nb from "../../scripts/notebooks";
import * as kernel from "../../kernel/install";

const prefix = fs.mkdtempSync(path.join(os.tmpdir(), "weightscope-e2e-"));
const jupyterPath = path.join(prefix, "share", "jupyter");
const outDir = path.join(prefix, "out");

describe("tutorial notebooks in the real kernel", () => {
  before(() => {
    assert.deepEqual(nb.missingJupyter(), [], "Debian's Jupyter packages must be installed (see .ci/run)");
    assert.ok(fs.existsSync(path.join(nb.ROOT, "dist", "src", "index.js")), "run `npm run build` first (npm test does)");
    kernel.install({ scope: ["--prefix", prefix], python: nb.PYTHON });
    assert.ok(fs.existsSync(path.join(jupyterPath, "kernels", "weightscope", "kernel.json")), "kernelspec installed into the temporary prefix");
  });

  const list = nb.notebooks();
  it("has a quickstart and a tutorial per probe", () => {
    const names = list.map((f) => path.basename(f));
    assert.ok(names.includes("00-quickstart.ipynb"), `notebooks: ${names.join(", ")}`);
  });

  for (const file of list) {
    const name = path.basename(file);
    it(`${name} executes without errors and renders every figure`, { timeout: 15 * 60 * 1000 }, async () => {
      const result = await nb.executeNotebook(file, outDir, { jupyterPath });
      assert.ok(result.ok, `nbconvert failed on ${name}:\n${result.log.slice(-3000)}`);
      const report = nb.inspectNotebook(result.executed);
      assert.deepEqual(report.errors, [], `${name} has error outputs`);
      assert.deepEqual(report.badFigures, [], `${name} has malformed figure outputs`);
      assert.ok(report.figures > 0, `${name} shows no figure`);
      const figures = nb.renderedFigures(nb.renderedDom(result.html as string));
      assert.equal(figures.length, report.figures, `${name}: figure containers in the HTML vs figure outputs`);
      const blank = figures.flatMap((f, i) => (f.svg ? [] : [i]));
      assert.deepEqual(blank, [], `${name}: figures without an SVG plot in Chromium`);
    });
  }

  it("the Chromium check fails when plotly.js is missing from the page", { timeout: 5 * 60 * 1000 }, () => {
    const html = path.join(outDir, "00-quickstart.html");
    assert.ok(fs.existsSync(html), "the quickstart HTML export exists (its test ran first)");
    const stripped = fs.readFileSync(html, "utf8").replace(/<script type="text\/javascript">\/\*\*\s*\* plotly\.js v[\s\S]*?<\/script>/, "");
    assert.ok(!stripped.includes("* plotly.js v"), "plotly.js removed");
    const file = path.join(outDir, "no-plotly.html");
    fs.writeFileSync(file, stripped);
    const figures = nb.renderedFigures(nb.renderedDom(file));
    assert.ok(figures.length > 0);
    for (const f of figures) {
      assert.equal(f.svg, false, "no SVG without plotly.js");
      assert.equal(f.missingLibrary, true, "the readable missing-library message is shown");
    }
  });
});
