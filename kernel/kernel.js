#!/usr/bin/env node
/**
 * The weightscope kernel: this project's tslab, with one protocol fix. tslab's kernel_info_reply lacks the
 * required "status" field (jupyter_kernel_test rejects it), so it is added here before the kernel starts.
 * Usage (from kernel.json): node kernel/kernel.js --config-path {connection_file}
 */
"use strict";
const path = require("node:path");

const tslabDist = path.join(__dirname, "..", "node_modules", "tslab", "dist");
const { JupyterHandlerImpl } = require(path.join(tslabDist, "jupyter.js"));
const { startKernel } = require(path.join(tslabDist, "main.js"));

const handleKernel = JupyterHandlerImpl.prototype.handleKernel;
JupyterHandlerImpl.prototype.handleKernel = function () {
  return { status: "ok", ...handleKernel.call(this) };
};

const index = process.argv.indexOf("--config-path");
if (index < 0 || !process.argv[index + 1]) {
  console.error("usage: node kernel/kernel.js --config-path <connection file>");
  process.exit(2);
}
startKernel({ configPath: process.argv[index + 1], enableFindLocal: false, jsKernel: false });
