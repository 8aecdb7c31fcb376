#!/usr/bin/env node
/**
 * npm run tour: the main job. Installs what is missing (Jupyter and OpenBLAS from Debian's packages when root), installs
 * the kernelspec, executes every notebook under notebooks/ in the weightscope kernel and writes the executed
 * notebooks and their HTML (live Plotly charts) to out/.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { ROOT, APT_PACKAGES, missingJupyter, notebooks, executeNotebook, inspectNotebook } = require("./notebooks");
const { install } = require("../kernel/install");

/** Runs apt-get update, then `command` (an apt-get install) if the update succeeded; true when both did. */
function aptInstall(command) {
  const update = spawnSync("apt-get", ["update"], { stdio: "inherit" });
  const result = update.status === 0 ? spawnSync("sh", ["-c", command], { stdio: "inherit" }) : update;
  return result.status === 0;
}

function ensureJupyter() {
  const missing = missingJupyter();
  if (missing.length === 0) return;
  const command = `apt-get install -y --no-install-recommends ${APT_PACKAGES.join(" ")}`;
  if (process.getuid && process.getuid() === 0) {
    console.log(`Installing Jupyter from Debian's packages (missing: ${missing.join(", ")})...`);
    if (aptInstall(command) && missingJupyter().length === 0) return;
    console.error("Installing Jupyter failed.");
  } else {
    console.error(`Jupyter is missing (${missing.join(", ")}). Install it with:\n  sudo ${command}\nthen run \`npm run tour\` again.`);
  }
  process.exit(1);
}

const BLAS_PACKAGE = "libopenblas0-pthread";

/**
 * The blas backend (the fastest CPU backend) needs the system's OpenBLAS. Without it the notebooks still run,
 * on wasm, so a failed or impossible install is a note, not an error.
 */
function ensureBlas() {
  if (process.platform !== "linux" || process.env.WEIGHTSCOPE_BLAS) return;
  const { openBlas } = require("../dist/src/backend/blas/library");
  const found = () => {
    try {
      openBlas();
      return true;
    } catch {
      return false;
    }
  };
  if (found()) return;
  const command = `apt-get install -y --no-install-recommends ${BLAS_PACKAGE}`;
  if (process.getuid && process.getuid() === 0) {
    console.log(`Installing OpenBLAS from Debian's packages (${BLAS_PACKAGE}) for the blas backend...`);
    if (aptInstall(command) && found()) return;
    console.log("Installing OpenBLAS failed: the notebooks run on the wasm backend instead.");
  } else {
    console.log(`OpenBLAS is missing: the notebooks run on the wasm backend. For the faster blas backend:\n  sudo ${command}`);
  }
}

async function main() {
  ensureJupyter();
  if (!fs.existsSync(path.join(ROOT, "dist", "src", "index.js"))) {
    console.error("dist/ is missing: run `npm run build` (npm run tour does it for you).");
    process.exit(1);
  }
  ensureBlas();
  install({ scope: ["--user"], python: "/usr/bin/python3" });
  const outDir = path.join(ROOT, "out");
  const only = process.argv.slice(2);
  const list = notebooks().filter((nb) => only.length === 0 || only.some((o) => nb.includes(o)));
  const failures = [];
  for (const nb of list) {
    process.stdout.write(`Running ${path.relative(ROOT, nb)} ... `);
    const result = await executeNotebook(nb, outDir);
    const problems = result.ok ? inspectNotebook(result.executed).errors : [result.log.split("\n").slice(-15).join("\n")];
    if (problems.length) failures.push(result.name);
    console.log(`${problems.length ? "FAILED" : "ok"} (${result.seconds.toFixed(0)} s)${problems.length ? `\n  ${problems.join("\n  ")}` : ""}`);
  }
  console.log(`\nExecuted notebooks and their HTML reports are in ${path.relative(process.cwd(), outDir) || "."}/:`);
  for (const nb of list) console.log(`  file://${path.join(outDir, path.basename(nb, ".ipynb") + ".html")}`);
  console.log("Open the .html files in a browser (the charts are interactive and offline), or run `npm start` to open notebooks/ in Jupyter.");
  if (failures.length) {
    console.error(`\n${failures.length} notebook(s) failed: ${failures.join(", ")}`);
    process.exit(1);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
