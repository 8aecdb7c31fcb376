import { test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CheckResult, Grading } from "../../src/check/result";

function sample(): CheckResult {
  const g = new Grading("demo", [{ name: "A" }, { name: "B", points: 2 }]);
  g.pass("1", "A");
  g.fail("1", "B", "0.5", "0.25", "at x[0]");
  g.callFailed("2", "your function threw Error: no");
  return g.result();
}

test("score: an identity earns its points only if it holds in every case; feedback names the first failing case, once per line", () => {
  const r = sample();
  assert.equal(r.score, 0);
  assert.equal(r.maxScore, 3);
  assert.equal(r.passed, false);
  assert.deepEqual(r.feedback, ["case 2: your function threw Error: no", "B: case 1: expected 0.5, got 0.25 (at x[0])"]);
  assert.throws(() => r.assert(), (e: Error) => e.message === "ws.check.demo: 0/3 points\ncase 2: your function threw Error: no\nB: case 1: expected 0.5, got 0.25 (at x[0])");
});

test("display: a table of cases, JSON, a one-line inspect summary; no figure", () => {
  const r = sample();
  const table = r.table();
  assert.deepEqual(table.columns, ["case", "identity", "passed", "expected", "actual", "note"]);
  assert.equal(table.rows.length, 4);
  const json = r.toJSON();
  assert.equal(json.kind, "check");
  assert.equal(json.score, 0);
  assert.equal(json.maxScore, 3);
  const text = inspect(r);
  assert.ok(!text.includes("\n"), text);
  assert.match(text, /^CheckResult \{ ws\.check\.demo: 0\/3 points; case 2: your function threw Error: no \}$/);
  assert.throws(() => r.figure(), /check result has no figure/);
});

test("a grader that forgets an identity or names an unknown one is a bug, reported as such", () => {
  const g = new Grading("demo", [{ name: "A" }, { name: "B" }]);
  g.pass("1", "A");
  assert.throws(() => g.result(), /identity "B" was never checked/);
  assert.throws(() => g.pass("1", "C"), /unknown identity "C"/);
});

test("a grader run first in a fresh process writes nothing to stderr (TF.js's first-use banner would zero an nbgrader test cell)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "weightscope-check-"));
  const script = path.join(dir, "grade.ts");
  const entry = path.resolve(__dirname, "../../src/check/index.ts");
  // The student's function makes tensors, so the backend's first write happens inside the grader.
  fs.writeFileSync(script, `import * as check from ${JSON.stringify(entry)};\n(async () => {\n  const r = await check.teleport((w) => w.map((t) => t.clone()), { cases: 1 });\n  console.log(r.score, r.maxScore);\n})();\n`);
  try {
    const env = { ...process.env };
    delete env.WEIGHTSCOPE_QUIET;
    const run = spawnSync(process.execPath, ["--import", "tsx", script], { cwd: path.resolve(__dirname, "../.."), encoding: "utf8", env, timeout: 120000 });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), "2 4", "a copy of the weights keeps the inputs and the function, nothing else");
    assert.equal(run.stderr, "", "nothing on stderr");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
