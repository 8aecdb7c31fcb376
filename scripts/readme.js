#!/usr/bin/env node
// Builds README.md from docs/readme-head.md, docs/readme-gallery.md and the API reference in docs/api/*.md
// (sorted by name). `node scripts/readme.js --check` fails when README.md is out of date (used by the tests).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const docs = path.join(root, "docs");

/** Nests a section's headings one level under "API reference" (not inside code fences). */
function demoteHeadings(markdown) {
  let fenced = false;
  return markdown
    .split("\n")
    .map((line) => {
      if (line.startsWith("```")) fenced = !fenced;
      return !fenced && /^#{1,5} /.test(line) ? `#${line}` : line;
    })
    .join("\n");
}

function build() {
  const parts = [fs.readFileSync(path.join(docs, "readme-head.md"), "utf8")];
  const gallery = path.join(docs, "readme-gallery.md");
  if (fs.existsSync(gallery)) parts.push(fs.readFileSync(gallery, "utf8"));
  parts.push("# API reference\n\n`import * as ws from \"weightscope\"`. Options are shown with their defaults.\n");
  const api = path.join(docs, "api");
  for (const file of fs.readdirSync(api).filter((f) => f.endsWith(".md")).sort()) {
    parts.push(demoteHeadings(fs.readFileSync(path.join(api, file), "utf8")).trim() + "\n");
  }
  return parts.map((p) => p.trim()).join("\n\n") + "\n";
}

const readme = path.join(root, "README.md");
const text = build();
if (process.argv.includes("--check")) {
  const current = fs.existsSync(readme) ? fs.readFileSync(readme, "utf8") : "";
  if (current !== text) {
    console.error("README.md is out of date: run `node scripts/readme.js`");
    process.exit(1);
  }
} else {
  fs.writeFileSync(readme, text);
  console.log(`README.md written (${text.length} characters)`);
}
