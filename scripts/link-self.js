#!/usr/bin/env node
// Makes `import * as ws from "weightscope"` resolve from notebooks/ (and any folder below the repo):
// node_modules/weightscope -> the repository root, whose package.json has top-level main and types.
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
const link = path.join(root, "node_modules", "weightscope");
try {
  if (fs.realpathSync(link) === fs.realpathSync(root)) process.exit(0);
  fs.rmSync(link, { recursive: true, force: true });
} catch {
  // no link yet
}
fs.mkdirSync(path.dirname(link), { recursive: true });
fs.symlinkSync(path.relative(path.dirname(link), root), link, "dir");
