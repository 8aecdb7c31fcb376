/**
 * End to end: the course assignments graded as nbgrader's autograde does (test/e2e/autograde.py: nbclient with
 * allow_errors in the real weightscope kernel, then nbgrader's per-cell rule: full points iff no error output and
 * nothing on stderr). Needs the kernel's error semantics (issue 16): with tslab's own queue reset every cell after
 * a failing one comes back "abort", unexecuted, and would keep its points.
 */
import { before, after, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn } from "node:child_process";

import * as nb from "../../scripts/notebooks";
import * as assignments from "../../scripts/assignments";
import * as kernel from "../../kernel/install";

const prefix = fs.mkdtempSync(path.join(os.tmpdir(), "weightscope-e2e-assignments-"));
const jupyterPath = path.join(prefix, "share", "jupyter");
// Inside the repository, so "weightscope" resolves from the notebooks' folder as it does for a course.
const work = path.join(nb.ROOT, "out", `e2e-assignments-${process.pid}`);
const NAMES = ["elasticity", "embedding", "symmetry", "teleportation", "topology"];
/** Seconds per cell: nbgrader's default is 30; this machine is shared, so allow more. */
const CELL_TIMEOUT = 120;

interface GradedCell {
  grade_id: string;
  points: number;
  score: number;
  status: string | null;
  feedback: string | null;
}
interface Autograde {
  cells: GradedCell[];
  missing_reply_fields: { cell: number; fields: string[] }[];
  other_failures: { cell: number; grade_id: string; status: string | null }[];
  score: number;
  max_score: number;
}

function autograde(notebook: string): Promise<Autograde> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, JUPYTER_PATH: [jupyterPath, process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter) };
    const child = spawn(nb.PYTHON, [path.join(__dirname, "autograde.py"), notebook, kernel.KERNEL_NAME, String(CELL_TIMEOUT)], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (status) => {
      if (status !== 0) reject(new Error(`autograde.py failed on ${notebook} (${status}):\n${err.slice(-3000)}`));
      else resolve(JSON.parse(out) as Autograde);
    });
  });
}

function variant(name: string, tag: string, edit: (source: string) => string, cellId: string): string {
  const source = JSON.parse(fs.readFileSync(path.join(assignments.SOURCE_DIR, `${name}.ipynb`), "utf8")) as assignments.Notebook;
  const cell = source.cells.find((c) => c.id === `${name}-${cellId}`);
  assert.ok(cell, `${name} has a cell ${cellId}`);
  const before = Array.isArray(cell.source) ? cell.source.join("") : cell.source;
  cell.source = edit(before);
  assert.notEqual(cell.source, before, `the ${tag} edit changed ${cellId}`);
  const file = path.join(work, tag, `${name}.ipynb`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(source));
  return file;
}

/** Every cell ran (none aborted): the failing test cell with an error, every other cell "ok". */
function assertOnlyFailure(graded: Autograde, failing: string): void {
  assert.deepEqual(graded.other_failures, [], "every non-test cell ran without error");
  assert.deepEqual(graded.cells.map((c) => [c.grade_id, c.status]), graded.cells.map((c) => [c.grade_id, c.grade_id === failing ? "error" : "ok"]));
}

describe("course assignments autograded in the real kernel", () => {
  before(() => {
    assert.deepEqual(nb.missingJupyter(), [], "Debian's Jupyter packages must be installed (see .ci/run)");
    assert.ok(fs.existsSync(path.join(nb.ROOT, "dist", "src", "index.js")), "run `npm run build` first (npm test does)");
    kernel.install({ scope: ["--prefix", prefix], python: nb.PYTHON });
    assignments.writeStudentVersions(path.join(work, "student"));
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  for (const name of NAMES) {
    it(`${name}: the instructor version scores full marks`, { timeout: 10 * 60 * 1000 }, async () => {
      const graded = await autograde(path.join(assignments.SOURCE_DIR, `${name}.ipynb`));
      assert.deepEqual(graded.other_failures, [], "every other cell ran without error");
      assert.deepEqual(graded.cells.map((c) => [c.grade_id, c.status, c.feedback]), graded.cells.map((c) => [c.grade_id, "ok", null]));
      assert.equal(graded.score, graded.max_score);
      assert.ok(graded.max_score >= 3);
    });

    it(`${name}: the student version scores zero, every test cell executed with one feedback line`, { timeout: 10 * 60 * 1000 }, async () => {
      const graded = await autograde(path.join(work, "student", `${name}.ipynb`));
      assert.deepEqual(graded.missing_reply_fields, [], "error replies carry ename, evalue and traceback (nbgrader indexes them)");
      assert.deepEqual(graded.cells.map((c) => c.status), graded.cells.map(() => "error"), "every test cell was executed and failed (none aborted)");
      assert.equal(graded.score, 0);
      for (const c of graded.cells) {
        assert.ok(c.feedback !== null && !c.feedback.startsWith("stderr:"), `${c.grade_id}: an error output, got ${String(c.feedback)}`);
        assert.match(c.feedback as string, /not implemented/, c.grade_id);
        // ws.check's message: the score line, then one feedback line (the stub throws in every case).
        const check = /ws\.check\.\w+: 0\/\d+ points\n(.*)$/s.exec(c.feedback as string);
        if (check) assert.equal(check[1].trim().split("\n").length, 1, `${c.grade_id}: ${c.feedback}`);
      }
    });
  }

  it("a deliberately wrong solution loses exactly that task's points: teleportation task 2 with unscaled biases", { timeout: 10 * 60 * 1000 }, async () => {
    const file = variant("teleportation", "unscaled-biases", (s) => s.replace("if (k % 2 === 1) return tauOut ? tf.mul(w, tauOut) : w.clone();", "if (k % 2 === 1) return w.clone();"), "task2_solution");
    const graded = await autograde(file);
    const byId = Object.fromEntries(graded.cells.map((c) => [c.grade_id, c]));
    assertOnlyFailure(graded, "task2_test");
    assert.equal(graded.score, graded.max_score - byId.task2_test.points);
    assert.equal(byId.task2_test.score, 0);
    assert.match(byId.task2_test.feedback as string, /the biases were not scaled/);
  });

  it("a deliberately wrong solution loses exactly that task's points: topology task 3 with births not counted at their own scale", { timeout: 10 * 60 * 1000 }, async () => {
    const file = variant("topology", "strict-birth", (s) => s.replace("birth <= scale", "birth < scale"), "task3_solution");
    const graded = await autograde(file);
    const byId = Object.fromEntries(graded.cells.map((c) => [c.grade_id, c]));
    assertOnlyFailure(graded, "task3_test");
    assert.equal(byId.task3_test.score, 0, String(byId.task3_test.feedback));
    assert.equal(graded.score, graded.max_score - byId.task3_test.points);
  });
});
