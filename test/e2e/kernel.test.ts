/** Kernel protocol conformance: Debian's jupyter_kernel_test suite against the installed weightscope kernel. */
import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";

// CommonJS helpers shared with `npm run tour` (typed by scripts/notebooks.d.ts).
import * as nb from "../../scripts/notebooks";
import * as kernel from "../../kernel/install";

describe("weightscope kernel", () => {
  it("passes jupyter_kernel_test", { timeout: 5 * 60 * 1000 }, () => {
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), "weightscope-kernel-"));
    kernel.install({ scope: ["--prefix", prefix], python: nb.PYTHON });
    const result = spawnSync(nb.PYTHON, ["-m", "unittest", "-v", "kernel_protocol"], {
      cwd: __dirname,
      encoding: "utf8",
      env: { ...process.env, JUPYTER_PATH: path.join(prefix, "share", "jupyter") },
      timeout: 4 * 60 * 1000,
    });
    const log = `${result.stdout}\n${result.stderr}`;
    assert.equal(result.status, 0, `jupyter_kernel_test failed:\n${log.slice(-4000)}`);
    assert.match(log, /Ran [1-9]\d* tests?/, "the suite ran tests");
  });
});
