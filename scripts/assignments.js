#!/usr/bin/env node
/**
 * Student versions of the course assignments (notebooks/assignments/*.ipynb), as nbgrader's
 * generate_assignment makes them with ClearSolutions, for courses without nbgrader:
 *   node scripts/assignments.js [outDir]      (npm run assignments; default out/assignments/)
 * Rules (nbgrader's ClearSolutions): in a solution cell, every region from a line containing "BEGIN SOLUTION" to a
 * line containing "END SOLUTION" becomes the language's code stub, indented like the BEGIN line (both delimiter
 * lines dropped); a solution code cell without delimiters is replaced whole; a markdown solution cell becomes
 * "YOUR ANSWER HERE". A delimiter outside a solution cell, a nested BEGIN or a missing END is an error. Outputs
 * and execution counts are cleared. nbgrader's checksums are not added (nbgrader computes its own).
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const SOURCE_DIR = path.join(ROOT, "notebooks", "assignments");
const BEGIN = "BEGIN SOLUTION";
const END = "END SOLUTION";
/** ClearSolutions.code_stub, keyed by the kernelspec language (the same entry goes into nbgrader_config.py). */
const CODE_STUB = { typescript: '// YOUR CODE HERE\nthrow new Error("not implemented");' };
const TEXT_STUB = "YOUR ANSWER HERE";

function sourceText(cell) {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

/** The source with every solution region replaced by the stub (re-indented); throws on malformed regions. */
function clearRegions(source, stub, where) {
  const out = [];
  let indent = null;
  for (const line of source.split("\n")) {
    if (line.includes(BEGIN)) {
      if (indent !== null) throw new Error(`${where}: nested "${BEGIN}"`);
      indent = line.match(/^\s*/)[0];
      out.push(...stub.split("\n").map((s) => indent + s));
    } else if (line.includes(END)) {
      if (indent === null) throw new Error(`${where}: "${END}" without "${BEGIN}"`);
      indent = null;
    } else if (indent === null) {
      out.push(line);
    }
  }
  if (indent !== null) throw new Error(`${where}: "${BEGIN}" without "${END}"`);
  return out.join("\n");
}

/** The student version of one notebook (a new object; the instructor version is not changed). */
function studentVersion(notebook, name = "notebook") {
  const language = notebook.metadata?.kernelspec?.language;
  const stub = CODE_STUB[language];
  if (stub === undefined) throw new Error(`${name}: no code stub for kernelspec language "${language}" (known: ${Object.keys(CODE_STUB).join(", ")})`);
  const cells = notebook.cells.map((cell, index) => {
    const where = `${name} cell ${index}${cell.metadata?.nbgrader?.grade_id ? ` (${cell.metadata.nbgrader.grade_id})` : ""}`;
    const copy = JSON.parse(JSON.stringify(cell));
    const source = sourceText(cell);
    const hasRegion = source.includes(BEGIN) || source.includes(END);
    if (!cell.metadata?.nbgrader?.solution) {
      if (hasRegion) throw new Error(`${where}: solution delimiters in a cell not marked as a solution cell`);
    } else if (cell.cell_type === "code") {
      copy.source = hasRegion ? clearRegions(source, stub, where) : stub;
    } else if (cell.cell_type === "markdown") {
      copy.source = hasRegion ? clearRegions(source, TEXT_STUB, where) : TEXT_STUB;
    }
    if (copy.cell_type === "code") {
      copy.outputs = [];
      copy.execution_count = null;
    }
    return copy;
  });
  return { ...notebook, cells };
}

/** Writes the student version of every assignment into outDir; returns the written paths. */
function writeStudentVersions(outDir = path.join(ROOT, "out", "assignments"), sourceDir = SOURCE_DIR) {
  fs.mkdirSync(outDir, { recursive: true });
  return fs
    .readdirSync(sourceDir)
    .filter((f) => f.endsWith(".ipynb"))
    .sort()
    .map((file) => {
      const notebook = JSON.parse(fs.readFileSync(path.join(sourceDir, file), "utf8"));
      const target = path.join(outDir, file);
      fs.writeFileSync(target, JSON.stringify(studentVersion(notebook, file), null, 1) + "\n");
      return target;
    });
}

module.exports = { SOURCE_DIR, CODE_STUB, TEXT_STUB, clearRegions, studentVersion, writeStudentVersions };

if (require.main === module) {
  const written = writeStudentVersions(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  for (const file of written) console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
