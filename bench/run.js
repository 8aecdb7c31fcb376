#!/usr/bin/env node
// npm run bench [-- name ...]: runs bench/<name>/run.ts for each benchmark (all by default), one after another.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const names = process.argv.slice(2);
const all = fs.readdirSync(__dirname).filter((d) => fs.existsSync(path.join(__dirname, d, "run.ts"))).sort();
const unknown = names.filter((n) => !all.includes(n));
if (unknown.length) {
  console.error(`unknown benchmark(s) ${unknown.join(", ")}; available: ${all.join(", ")}`);
  process.exit(1);
}
// References run on one CPU thread, BLAS included (torch.set_num_threads does not bound OpenBLAS's own pool).
process.env.OPENBLAS_NUM_THREADS = "1";
process.env.OMP_NUM_THREADS = "1";
let failed = 0;
for (const name of names.length ? names : all) {
  console.log(`\n=== bench/${name} ===`);
  const result = spawnSync(process.execPath, ["--import", "tsx", path.join(__dirname, name, "run.ts")], { stdio: "inherit", cwd: path.join(__dirname, "..") });
  if (result.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
