/**
 * The weightscope kernel in real Jupyter: Debian's jupyter_kernel_test conformance suite, and ipykernel's execution
 * semantics (errors, stop_on_error, rich last values) through jupyter_client and nbclient (kernel_semantics.py).
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";

// CommonJS helpers shared with `npm run tour` (typed by scripts/notebooks.d.ts).
import * as nb from "../../scripts/notebooks";
import * as kernel from "../../kernel/install";

const prefix = fs.mkdtempSync(path.join(os.tmpdir(), "weightscope-kernel-"));
const outDir = path.join(prefix, "out");

/** Runs a Python unittest module of this folder against the kernel installed into `prefix`. */
function unittest(module: string): string {
  const result = spawnSync(nb.PYTHON, ["-m", "unittest", "-v", module], {
    cwd: __dirname,
    encoding: "utf8",
    env: { ...process.env, JUPYTER_PATH: path.join(prefix, "share", "jupyter"), WEIGHTSCOPE_OUT: outDir },
    timeout: 8 * 60 * 1000,
  });
  const log = `${result.stdout}\n${result.stderr}`;
  assert.equal(result.status, 0, `${module} failed:\n${log.slice(-6000)}`);
  assert.match(log, /Ran [1-9]\d* tests?/, "the suite ran tests");
  return log;
}

describe("weightscope kernel", () => {
  before(() => {
    assert.deepEqual(nb.missingJupyter(), [], "Debian's Jupyter packages must be installed (see .ci/run)");
    kernel.install({ scope: ["--prefix", prefix], python: nb.PYTHON });
  });

  it("passes jupyter_kernel_test", { timeout: 10 * 60 * 1000 }, () => {
    unittest("kernel_protocol");
  });

  it("has ipykernel's error, stop_on_error and last-value semantics", { timeout: 10 * 60 * 1000 }, () => {
    assert.doesNotMatch(unittest("kernel_semantics"), /skipped/, "no test was skipped");
  });

  it("renders last values and every figure after re-runs, with one copy of plotly.js", { timeout: 10 * 60 * 1000 }, () => {
    assert.ok(fs.existsSync(path.join(nb.ROOT, "dist", "src", "index.js")), "run `npm run build` first (npm test does)");
    unittest("kernel_figures"); // executes, re-runs and clears cells, then exports figures.ipynb / figures.html
    const { figures, notebookBytes } = JSON.parse(fs.readFileSync(path.join(outDir, "figures.json"), "utf8")) as { figures: number; notebookBytes: number };
    const library = fs.statSync(require.resolve("plotly.js-dist-min")).size;
    assert.ok(notebookBytes > library && notebookBytes < library + 400_000, `saved notebook ${notebookBytes} bytes: one copy of plotly.js (${library} bytes)`);
    const drawn = nb.renderedFigures(nb.renderedDom(path.join(outDir, "figures.html")));
    assert.equal(drawn.length, figures, "figure containers in the HTML vs figure outputs");
    assert.deepEqual(drawn.map((f) => f.svg), Array(figures).fill(true), "every figure drew an SVG plot in Chromium");
  });
});
