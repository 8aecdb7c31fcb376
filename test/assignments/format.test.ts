/**
 * The course assignments as files: nbgrader schema v3 metadata on every cell (nbgrader/nbgraderformat/v3),
 * the weightscope kernelspec, tasks with solution and test cells, the student versions made by
 * scripts/assignments.js (nbgrader's ClearSolutions rules), and the tutorial runner leaving them out.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as assignments from "../../scripts/assignments";
import * as tutorials from "../../scripts/notebooks";

const NAMES = ["elasticity", "embedding", "symmetry", "teleportation", "topology"];
const KEYS = new Set(["schema_version", "grade", "locked", "solution", "task", "grade_id", "points", "checksum", "cell_type"]);

type Cell = assignments.Notebook["cells"][number];

function load(name: string): assignments.Notebook {
  return JSON.parse(fs.readFileSync(path.join(assignments.SOURCE_DIR, `${name}.ipynb`), "utf8")) as assignments.Notebook;
}

function text(cell: Cell): string {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

/** nbgrader's schema v3 rules for one cell's metadata.nbgrader; the problems found ([] when valid). */
function schemaProblems(cell: Cell, ids: Set<string>): string[] {
  const m = cell.metadata.nbgrader;
  if (m === undefined) return [];
  const problems: string[] = [];
  for (const key of Object.keys(m)) if (!KEYS.has(key)) problems.push(`unknown key "${key}"`);
  if (m.schema_version !== 3) problems.push(`schema_version ${String(m.schema_version)}, expected 3`);
  for (const key of ["grade", "locked", "solution"]) if (typeof m[key] !== "boolean") problems.push(`${key} must be a boolean`);
  if ("task" in m && typeof m.task !== "boolean") problems.push("task must be a boolean");
  if ("points" in m && !(typeof m.points === "number" && m.points >= 0)) problems.push("points must be a number >= 0");
  if ("cell_type" in m && !["raw", "code", "markdown"].includes(m.cell_type as string)) problems.push("bad cell_type");
  if ("checksum" in m && !(typeof m.checksum === "string" && m.checksum.length === 32)) problems.push("checksum must be 32 characters");
  if (m.grade || m.solution || m.locked || m.task) {
    const id = m.grade_id;
    if (typeof id !== "string" || id === "" || !/^[a-zA-Z0-9_-]*$/.test(id)) problems.push(`grade_id ${JSON.stringify(id)} must be a non-empty [a-zA-Z0-9_-] string`);
    else if (ids.has(id)) problems.push(`grade_id "${id}" is not unique`);
    else ids.add(id);
  }
  if (m.grade && !("points" in m)) problems.push("a grade cell needs points");
  if (m.task) {
    if (cell.cell_type !== "markdown") problems.push("task cells must be markdown");
  } else if (cell.cell_type === "markdown" && m.grade !== m.solution) {
    problems.push("a markdown grade cell must also be a solution cell and vice versa");
  }
  return problems;
}

test("the schema check rejects what nbgrader rejects (so the check below can fail)", () => {
  const cell = (cell_type: string, nbgrader: Record<string, unknown>): Cell => ({ cell_type, source: "", metadata: { nbgrader } });
  const ok = { schema_version: 3, grade: false, solution: false, locked: false };
  assert.deepEqual(schemaProblems(cell("code", ok), new Set()), []);
  assert.match(schemaProblems(cell("code", { ...ok, extra: 1 }), new Set()).join(), /unknown key "extra"/);
  assert.match(schemaProblems(cell("code", { ...ok, schema_version: 2 }), new Set()).join(), /schema_version 2/);
  assert.match(schemaProblems(cell("code", { ...ok, grade: true, grade_id: "a" }), new Set()).join(), /needs points/);
  assert.match(schemaProblems(cell("code", { ...ok, locked: true, grade_id: "a b" }), new Set()).join(), /grade_id "a b"/);
  assert.match(schemaProblems(cell("code", { ...ok, locked: true, grade_id: "a" }), new Set(["a"])).join(), /not unique/);
  assert.match(schemaProblems(cell("markdown", { ...ok, grade: true, grade_id: "a", points: 1 }), new Set()).join(), /markdown grade cell must also be a solution/);
  assert.match(schemaProblems(cell("code", { ...ok, task: true, grade_id: "a" }), new Set()).join(), /task cells must be markdown/);
});

for (const name of NAMES) {
  test(`${name}.ipynb: nbgrader v3 metadata on every cell, weightscope kernel, 3-5 tasks, one hand-graded open question`, () => {
    const nb = load(name);
    assert.deepEqual(nb.metadata.kernelspec, { name: "weightscope", display_name: "TypeScript (weightscope)", language: "typescript" });
    const ids = new Set<string>();
    nb.cells.forEach((cell, i) => {
      assert.ok(cell.metadata.nbgrader, `cell ${i} has nbgrader metadata`);
      assert.deepEqual(schemaProblems(cell, ids), [], `cell ${i} (${String(cell.metadata.nbgrader?.grade_id)})`);
    });
    const meta = nb.cells.map((c) => c.metadata.nbgrader as Record<string, unknown>);
    const tests = nb.cells.filter((c, i) => c.cell_type === "code" && meta[i].grade && !meta[i].solution);
    const solutions = nb.cells.filter((c, i) => c.cell_type === "code" && meta[i].solution);
    const answers = nb.cells.filter((c, i) => c.cell_type === "markdown" && meta[i].grade && meta[i].solution);
    assert.ok(tests.length >= 3 && tests.length <= 5, `${tests.length} autograded tasks`);
    assert.equal(solutions.length, tests.length, "one solution cell per autograded task");
    assert.equal(answers.length, 1, "one open question");
    for (const t of tests) assert.equal(t.metadata.nbgrader?.locked, true, "test cells are locked");
    assert.ok(tests.some((t) => /await ws\.check\.\w+\(/.test(text(t)) && /\.assert\(\)/.test(text(t))), "a task graded by ws.check");
    assert.ok(tests.some((t) => /assert\.(ok|equal|deepStrictEqual)\(/.test(text(t))), "a task graded by plain asserts");
    for (const s of solutions) assert.match(text(s), /\/\/ BEGIN SOLUTION[\s\S]*\/\/ END SOLUTION/, "solutions between the delimiters");
    const figures = nb.cells.findIndex((c) => /\.show\(\)/.test(text(c)) && !/ws\.check/.test(text(c)));
    assert.ok(figures >= 0 && figures < nb.cells.indexOf(answers[0]), "the open question follows a cell showing the probe's figures");
  });
}

test("student versions: solution regions become the stub at the BEGIN line's indentation, answers YOUR ANSWER HERE, outputs cleared", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "weightscope-assignments-"));
  try {
    const written = assignments.writeStudentVersions(dir);
    assert.deepEqual(written.map((f) => path.basename(f, ".ipynb")), NAMES);
    for (const file of written) {
      const student = JSON.parse(fs.readFileSync(file, "utf8")) as assignments.Notebook;
      const instructor = load(path.basename(file, ".ipynb"));
      assert.equal(student.cells.length, instructor.cells.length);
      student.cells.forEach((cell, i) => {
        const source = text(cell);
        assert.ok(!source.includes("SOLUTION"), `${file} cell ${i} still has a delimiter`);
        const m = cell.metadata.nbgrader as Record<string, unknown>;
        if (m.solution && cell.cell_type === "code") assert.match(source, /\n {2}\/\/ YOUR CODE HERE\n {2}throw new Error\("not implemented"\);\n\}$/);
        else if (m.solution) assert.equal(source, "YOUR ANSWER HERE");
        else assert.equal(source, text(instructor.cells[i]), "other cells unchanged");
        if (cell.cell_type === "code") assert.deepEqual([cell.outputs, cell.execution_count], [[], null]);
      });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("ClearSolutions rules: re-indented stub, delimiter lines dropped, errors for nested, unclosed and misplaced regions, unknown languages", () => {
  const stub = assignments.CODE_STUB.typescript;
  assert.equal(assignments.clearRegions("a\n    // BEGIN SOLUTION\n    x = 1;\n    // END SOLUTION\nb", stub, "t"), 'a\n    // YOUR CODE HERE\n    throw new Error("not implemented");\nb');
  assert.throws(() => assignments.clearRegions("// BEGIN SOLUTION\n// BEGIN SOLUTION\n// END SOLUTION", stub, "t"), /t: nested "BEGIN SOLUTION"/);
  assert.throws(() => assignments.clearRegions("// BEGIN SOLUTION\nx", stub, "t"), /"BEGIN SOLUTION" without "END SOLUTION"/);
  assert.throws(() => assignments.clearRegions("x\n// END SOLUTION", stub, "t"), /"END SOLUTION" without "BEGIN SOLUTION"/);
  const nb = (language: string, nbgrader: Record<string, unknown>, source: string): assignments.Notebook => ({
    cells: [{ cell_type: "code", source, metadata: { nbgrader }, outputs: [], execution_count: null }],
    metadata: { kernelspec: { name: "k", display_name: "k", language } },
  });
  const solution = { schema_version: 3, grade: false, solution: true, locked: false, grade_id: "s" };
  assert.equal(text(assignments.studentVersion(nb("typescript", solution, "const x = 1;")).cells[0]), stub, "a solution cell without delimiters is replaced whole");
  assert.throws(() => assignments.studentVersion(nb("python", solution, "x = 1"), "n.ipynb"), /n\.ipynb: no code stub for kernelspec language "python"/);
  assert.throws(() => assignments.studentVersion(nb("typescript", { ...solution, solution: false }, "// BEGIN SOLUTION\n// END SOLUTION"), "n.ipynb"), /not marked as a solution cell/);
});

test("the tutorial runner (scripts/notebooks.js, the e2e notebook test and npm run tour) does not pick up the assignments", () => {
  const listed = tutorials.notebooks().map((f) => path.relative(tutorials.ROOT, f));
  assert.ok(listed.length > 0);
  assert.deepEqual(listed.filter((f) => f.includes("assignments")), []);
  assert.ok(fs.existsSync(path.join(tutorials.ROOT, "notebooks", "assignments", "teleportation.ipynb")));
});
