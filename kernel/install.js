#!/usr/bin/env node
/**
 * Installs the Jupyter kernelspec "weightscope" (display name "TypeScript (weightscope)"): this project's
 * tslab (through kernel/kernel.js) run by this Node binary. Idempotent (replaces an older copy). Usage:
 *   node kernel/install.js [--user | --prefix DIR | --sys-prefix] [--python /usr/bin/python3]
 * Default: --user. Uses Jupyter's own `kernelspec install`, so it lands wherever that Jupyter looks.
 */
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const KERNEL_NAME = "weightscope";
const DISPLAY_NAME = "TypeScript (weightscope)";
const ROOT = path.resolve(__dirname, "..");

function parseArgs(argv) {
  const options = { scope: ["--user"], python: "/usr/bin/python3" };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--user" || arg === "--sys-prefix") options.scope = [arg];
    else if (arg === "--prefix") options.scope = ["--prefix", path.resolve(argv[++i] ?? fail("--prefix needs a folder"))];
    else if (arg.startsWith("--prefix=")) options.scope = ["--prefix", path.resolve(arg.slice(9))];
    else if (arg === "--python") options.python = argv[++i] ?? fail("--python needs a path");
    else fail(`unknown option ${arg}`);
  }
  return options;
}

function fail(message) {
  console.error(`kernel:install: ${message}`);
  process.exit(1);
}

/** The kernel.json: absolute paths, so Jupyter finds the kernel whatever its PATH. */
function kernelSpec() {
  const tslab = path.join(ROOT, "node_modules", "tslab", "dist", "main.js");
  if (!fs.existsSync(tslab)) fail(`${tslab} not found: run \`npm install\` first`);
  return {
    argv: [process.execPath, path.join(__dirname, "kernel.js"), "--config-path", "{connection_file}"],
    display_name: DISPLAY_NAME,
    language: "typescript",
    interrupt_mode: "signal",
    metadata: { weightscope: { root: ROOT } },
  };
}

function install(options) {
  const probe = spawnSync(options.python, ["-c", "import jupyter_client"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    fail(`Jupyter is not installed for ${options.python}. Install it with:\n  sudo apt-get install -y --no-install-recommends jupyter-notebook jupyter-nbconvert jupyter-client python3-nbclient python3-ipykernel`);
  }
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), "weightscope-kernel-"));
  const specDir = path.join(staging, KERNEL_NAME);
  fs.mkdirSync(specDir);
  fs.writeFileSync(path.join(specDir, "kernel.json"), JSON.stringify(kernelSpec(), null, 2) + "\n");
  for (const logo of ["logo-32x32.png", "logo-64x64.png"]) {
    const src = path.join(__dirname, logo);
    if (fs.existsSync(src)) fs.copyFileSync(src, path.join(specDir, logo));
  }
  const args = ["-m", "jupyter_client.kernelspecapp", "install", "--replace", "--name", KERNEL_NAME, ...options.scope, specDir];
  const result = spawnSync(options.python, args, { encoding: "utf8" });
  fs.rmSync(staging, { recursive: true, force: true });
  if (result.status !== 0) fail(`jupyter kernelspec install failed:\n${result.stderr || result.stdout}`);
  const where = (result.stderr + result.stdout).match(/Installed kernelspec \S+ in (\S+)/);
  console.log(`Installed kernel "${DISPLAY_NAME}" (${KERNEL_NAME})${where ? ` in ${where[1]}` : ""}`);
  return where ? where[1] : undefined;
}

module.exports = { install, KERNEL_NAME, DISPLAY_NAME };

if (require.main === module) install(parseArgs(process.argv.slice(2)));
