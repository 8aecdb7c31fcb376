#!/usr/bin/env node
/** npm start: installs the kernelspec for this user and starts Debian's Jupyter Notebook on notebooks/. */
"use strict";
const path = require("node:path");
const { spawn } = require("node:child_process");
const { ROOT, PYTHON, APT_PACKAGES, missingJupyter } = require("./notebooks");
const { install } = require("../kernel/install");

if (missingJupyter().length > 0) {
  console.error(`Jupyter is missing. Install it with:\n  sudo apt-get install -y --no-install-recommends ${APT_PACKAGES.join(" ")}`);
  process.exit(1);
}
install({ scope: ["--user"], python: PYTHON });
const args = ["-m", "notebook", `--notebook-dir=${path.join(ROOT, "notebooks")}`, ...process.argv.slice(2)];
if (process.getuid && process.getuid() === 0) args.push("--allow-root");
const child = spawn(PYTHON, args, { stdio: "inherit" });
child.on("exit", (code) => process.exit(code ?? 0));
