/**
 * The README's examples run as written: every ```ts block, in order, becomes a cell of one notebook that nbconvert
 * executes in the real weightscope kernel (installed into a temporary prefix); an error in any cell fails the test.
 * Only sizes are shrunk, by the textual substitutions the README states under its gallery.
 */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

// CommonJS helpers shared with `npm run tour` (typed by scripts/notebooks.d.ts).
import * as nb from "../../scripts/notebooks";
import * as kernel from "../../kernel/install";

/** The README's statement, as code: limit <= 300 (and the MNIST test split), epochs 1, networks <= 500, steps <= 200. */
const SUBSTITUTIONS: [RegExp, (match: string, value: string) => string][] = [
  [/\blimit: (\d+)/g, (_, n) => `limit: ${Math.min(Number(n), 300)}`],
  [/\{ split: "test" \}/g, () => `{ split: "test", limit: 300 }`],
  [/\bepochs: (\d+)/g, () => "epochs: 1"],
  [/\bnetworks: (\d+)/g, (_, n) => `networks: ${Math.min(Number(n), 500)}`],
  [/\bsteps: (\d+)/g, (_, n) => `steps: ${Math.min(Number(n), 200)}`],
];

interface Block { line: number; source: string }

/** The ```ts blocks of a markdown text with the line each starts on. */
function tsBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== "```ts") continue;
    const end = lines.findIndex((l, j) => j > i && l.trim() === "```");
    assert.ok(end > i, `README.md line ${i + 1}: a ts block without its closing fence`);
    blocks.push({ line: i + 1, source: lines.slice(i + 1, end).join("\n") });
    i = end;
  }
  return blocks;
}

function shrink(source: string): string {
  return SUBSTITUTIONS.reduce((text, [pattern, replace]) => text.replace(pattern, replace), source);
}

const prefix = fs.mkdtempSync(path.join(os.tmpdir(), "weightscope-readme-"));
const jupyterPath = path.join(prefix, "share", "jupyter");
const work = path.join(prefix, "notebook");
const outDir = path.join(prefix, "out");

describe("README examples in the real kernel", () => {
  const blocks = tsBlocks(fs.readFileSync(path.join(nb.ROOT, "README.md"), "utf8"));

  before(() => {
    assert.deepEqual(nb.missingJupyter(), [], "Debian's Jupyter packages must be installed (see .ci/run)");
    assert.ok(fs.existsSync(path.join(nb.ROOT, "dist", "src", "index.js")), "run `npm run build` first (npm test does)");
    kernel.install({ scope: ["--prefix", prefix], python: nb.PYTHON });
    // The notebook's folder resolves "weightscope" (and @types/node) as notebooks/ does: through the repository's node_modules.
    fs.mkdirSync(work, { recursive: true });
    fs.symlinkSync(path.join(nb.ROOT, "node_modules"), path.join(work, "node_modules"), "dir");
  });

  it("the substitutions change sizes only", () => {
    assert.equal(shrink('ws.data.mnist({ limit: 5000 }); ws.data.mnist({ split: "test" }); { epochs: 40, lr: 0.2 }; { networks: 20000 }; { steps: 10 }; { steps: 10000 }'),
      'ws.data.mnist({ limit: 300 }); ws.data.mnist({ split: "test", limit: 300 }); { epochs: 1, lr: 0.2 }; { networks: 500 }; { steps: 10 }; { steps: 200 }');
    assert.equal(shrink("ws.persistence(circle, { maxDim: 2 })"), "ws.persistence(circle, { maxDim: 2 })");
  });

  it("every ts block runs in order without an error", { timeout: 10 * 60 * 1000 }, async () => {
    assert.ok(blocks.length >= 30, `found ${blocks.length} ts blocks`);
    const notebook = {
      cells: blocks.map((b, i) => ({
        cell_type: "code", id: `readme-${i}`, execution_count: null, outputs: [],
        metadata: { readme_line: b.line }, source: shrink(b.source),
      })),
      metadata: { kernelspec: { name: kernel.KERNEL_NAME, display_name: kernel.DISPLAY_NAME, language: "typescript" } },
      nbformat: 4,
      nbformat_minor: 5,
    };
    const file = path.join(work, "readme.ipynb");
    fs.writeFileSync(file, JSON.stringify(notebook, null, 1));
    const result = await nb.executeNotebook(file, outDir, { jupyterPath, timeout: 300 });
    // nbclient's message quotes the failing cell between dashed lines: name the README line it came from.
    const quoted = result.log.match(/executing the following cell:\n-+\n([\s\S]*?)\n-+\n/)?.[1];
    const failed = quoted === undefined ? undefined : blocks.find((b) => shrink(b.source).trim() === quoted.trim());
    assert.ok(result.ok, `a README block failed${failed ? ` (the block at README.md line ${failed.line})` : ""}:\n${result.log.slice(-4000)}`);
    const report = nb.inspectNotebook(result.executed);
    const where = (e: string) => e.replace(/^cell (\d+)/, (_, k) => `README.md line ${blocks[Number(k)].line}`);
    assert.deepEqual(report.errors.map(where), [], "README blocks with error output");
    const executed = JSON.parse(fs.readFileSync(result.executed, "utf8")) as { cells: { outputs: unknown[] }[] };
    assert.equal(executed.cells.length, blocks.length);
    assert.ok(report.figures >= 10, `the examples' .show() calls drew ${report.figures} figures`);
    console.log(`README: ${blocks.length} blocks ran in ${result.seconds.toFixed(0)} s`);
  });
});
