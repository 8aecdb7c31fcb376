#!/usr/bin/env node
// Runs the test suite with node's built-in runner; TypeScript tests load through tsx.
//   node scripts/test.js            every test (unit + end to end)
//   node scripts/test.js --unit     everything but test/e2e
//   node scripts/test.js test/math  only the files under the given paths
const { spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
const args = process.argv.slice(2);
const unitOnly = args.includes("--unit");
const roots = args.filter((a) => !a.startsWith("--"));

function collect(dir) {
  if (!fs.existsSync(dir)) return [];
  if (fs.statSync(dir).isFile()) return [dir];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return collect(p);
    return /\.test\.ts$/.test(e.name) ? [p] : [];
  });
}

let files = (roots.length ? roots : ["test"]).flatMap((r) => collect(path.resolve(root, r))).sort();
if (unitOnly) files = files.filter((f) => !f.includes(`${path.sep}e2e${path.sep}`));
if (files.length === 0) {
  console.error("no test files found");
  process.exit(1);
}
const result = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-reporter=spec", ...files.map((f) => path.relative(root, f))], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, WEIGHTSCOPE_QUIET: "1" },
});
process.exit(result.status ?? 1);
