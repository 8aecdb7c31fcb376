/** The README is the API reference: it must be current, and every ws.* call in its examples must exist. */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import * as ws from "../../src";

const root = path.join(__dirname, "..", "..");

describe("README", () => {
  it("is built from docs/ (node scripts/readme.js)", () => {
    const result = spawnSync(process.execPath, [path.join(root, "scripts", "readme.js"), "--check"], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
  });

  it("every ws.* name in its code examples exists in the public API", () => {
    const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
    const code = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]).join("\n");
    const names = new Set([...code.matchAll(/\bws\.([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)/g)].map((m) => m[1]));
    assert.ok(names.size > 5, "the README has examples");
    const missing = [...names].filter((name) => {
      let value: unknown = ws;
      for (const part of name.split(".")) {
        if (value === null || value === undefined) return true;
        value = (value as Record<string, unknown>)[part];
      }
      return value === undefined;
    });
    assert.deepEqual(missing, [], "README examples call names that weightscope does not export");
  });
});
