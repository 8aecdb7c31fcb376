/**
 * Backend selection: the auto order and its skip reasons, explicit requests, bad names, and the promise
 * that a machine without a usable GPU falls back with a one-line reason and nothing on stderr. Selection
 * state is per process, so the fresh-process cases run in child processes.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { ready, backendInfo, describeBackend, findVulkanLoader, BACKEND_ORDER, type BackendInfo } from "../../src/backend";
import { openblasCoreType } from "../../src/backend/blas/library";
import { useTestBackend } from "../helpers";

const root = path.resolve(__dirname, "../..");

/** Runs `script` (CommonJS, may require ./src/...) in a fresh Node with tsx; returns stdout, stderr, status. */
function fresh(script: string, env: NodeJS.ProcessEnv = {}): { stdout: string; stderr: string; status: number | null } {
  const base = { ...process.env };
  delete base.WEIGHTSCOPE_BACKEND;
  delete base.WEIGHTSCOPE_QUIET;
  const result = spawnSync(process.execPath, ["--import", "tsx", "-e", script], {
    cwd: root,
    encoding: "utf8",
    env: { ...base, ...env },
    timeout: 120_000,
  });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

const AUTO = `require("./src/backend").ready().then((info) => console.log(JSON.stringify(info)), (err) => { console.log("ERROR " + err.message); });`;

function lastJson(stdout: string): BackendInfo {
  return JSON.parse(stdout.trim().split("\n").pop() as string) as BackendInfo;
}

let quietAuto: BackendInfo | undefined;
/** What auto selection gives in a fresh process here (computed once: each fresh process takes seconds). */
function autoHere(): BackendInfo {
  quietAuto ??= lastJson(fresh(AUTO, { WEIGHTSCOPE_QUIET: "1" }).stdout);
  return quietAuto;
}

before(useTestBackend);

test("auto picks the first backend that starts, in the documented order, with a reason for each skip and silence on stderr", () => {
  const { stdout, stderr, status } = fresh(AUTO);
  assert.equal(status, 0, stderr);
  assert.equal(stderr, "", "nothing on stderr");
  const lines = stdout.trim().split("\n");
  assert.equal(lines.length, 2, `one announcement line, then the info: ${stdout}`);
  const info = lastJson(stdout);
  assert.equal(lines[0], describeBackend(info));
  assert.equal(info.requested, "auto");
  const chosen = BACKEND_ORDER.indexOf(info.name);
  assert.ok(chosen >= 0, `chose ${info.name}`);
  assert.deepEqual(info.skipped.map((s) => s.name), BACKEND_ORDER.slice(0, chosen), "every faster backend was tried and skipped, in order");
  for (const s of info.skipped) {
    assert.ok(s.reason.length > 10 && !s.reason.includes("\n"), `${s.name}: one-line reason "${s.reason}"`);
  }
  assert.equal(info.adapter !== null, info.name === "webgpu", "an adapter is reported exactly when webgpu runs");
});

test("WEIGHTSCOPE_QUIET=1 silences the announcement", () => {
  const { stdout, stderr } = fresh(AUTO, { WEIGHTSCOPE_QUIET: "1" });
  assert.equal(stderr, "");
  assert.equal(stdout.trim().split("\n").length, 1);
  quietAuto = lastJson(stdout);
});

test("a skipped backend asked for by name is an error carrying the same reason", () => {
  for (const skip of autoHere().skipped) {
    const { stdout, stderr } = fresh(AUTO, { WEIGHTSCOPE_BACKEND: skip.name });
    assert.equal(stderr, "", `${skip.name}: nothing on stderr`);
    assert.equal(stdout.trim(), `ERROR Backend "${skip.name}" was requested but is unavailable: ${skip.reason}`);
  }
});

test("a Vulkan loader that cannot load is reported from the adapter probe, and Dawn's complaint stays off stderr", () => {
  // An empty file named like the loader makes the dynamic loader fail inside Dawn, which then warns on
  // the probe's stderr; the parent must turn that into the skip reason and print nothing itself.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-vulkan-"));
  fs.writeFileSync(path.join(dir, "libvulkan.so.1"), "");
  try {
    const env = { LD_LIBRARY_PATH: `${dir}:${process.env.LD_LIBRARY_PATH ?? ""}`, WEIGHTSCOPE_QUIET: "1" };
    const { stdout, stderr } = fresh(AUTO, env);
    assert.equal(stderr, "");
    const webgpu = lastJson(stdout).skipped.find((s) => s.name === "webgpu");
    assert.ok(webgpu, "webgpu was skipped");
    // Without the optional packages there is nothing to probe; otherwise the probe must have run.
    if (!webgpu.reason.includes("optional package")) assert.match(webgpu.reason, /^no WebGPU adapter: .*Dawn said: /);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("findVulkanLoader looks in LD_LIBRARY_PATH first", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-vulkan-"));
  const file = path.join(dir, "libvulkan.so.1");
  fs.writeFileSync(file, "");
  try {
    assert.equal(findVulkanLoader({ LD_LIBRARY_PATH: `/nonexistent:${dir}` }), file);
    const found = findVulkanLoader({});
    assert.ok(found === null || found === "ld.so.cache" || fs.existsSync(found), `found ${found}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("backendInfo before ready() is a clear error", () => {
  const { stdout } = fresh(`try { require("./src/backend").backendInfo(); console.log("no error"); } catch (e) { console.log(e.message); }`);
  assert.match(stdout, /No backend selected yet: run `await ws.ready\(\)` first/);
});

test("an unknown backend name is rejected, naming the valid ones", async () => {
  await assert.rejects(ready({ backend: "cuda" as never }), /Unknown backend "cuda" in ready\(\{ backend \}\): use one of auto, tensorflow, webgpu, blas, wasm, cpu/);
  const { stdout } = fresh(AUTO, { WEIGHTSCOPE_BACKEND: "gpu" });
  assert.match(stdout, /ERROR Unknown backend "gpu" in WEIGHTSCOPE_BACKEND/);
});

test("switching between available backends by name, and ready() returns the same info while nothing changes", async () => {
  const names = autoHere().skipped.some((s) => s.name === "blas") ? (["wasm", "cpu"] as const) : (["blas", "wasm", "cpu"] as const);
  for (const name of names) {
    const info = await ready({ backend: name, verbose: false });
    assert.equal(info.name, name);
    assert.equal(tf.getBackend(), name);
    assert.equal(backendInfo().name, name);
    assert.equal(await ready({ backend: name }), info, "the same info object while the backend is unchanged");
    assert.equal(tf.tidy(() => tf.add(tf.scalar(2), tf.scalar(3)).dataSync()[0]), 5);
  }
  const copy = backendInfo();
  copy.skipped.push({ name: "cpu", reason: "edited" });
  assert.notEqual(backendInfo().skipped.length, copy.skipped.length, "backendInfo returns a copy");
});

test("the native tensorflow backend is detected by registration, not by a package of that name", () => {
  // danfojs's override hoists @tensorflow/tfjs under the name @tensorflow/tfjs-node here.
  let aliasName: string | undefined;
  try {
    aliasName = (JSON.parse(fs.readFileSync(require.resolve("@tensorflow/tfjs-node/package.json"), "utf8")) as { name: string }).name;
  } catch {
    aliasName = undefined;
  }
  const auto = autoHere();
  if (aliasName === "@tensorflow/tfjs") {
    assert.notEqual(auto.name, "tensorflow");
    const reason = auto.skipped.find((s) => s.name === "tensorflow")?.reason ?? "";
    assert.match(reason, /@tensorflow\/tfjs-node is an alias of @tensorflow\/tfjs, not the native binding/);
  } else {
    assert.ok(auto.name === "tensorflow" || auto.skipped.some((s) => s.name === "tensorflow"));
  }
});

test("no BLAS library at WEIGHTSCOPE_BLAS: auto skips blas with the reason, and blas by name is an error carrying it", () => {
  const env = { WEIGHTSCOPE_BLAS: "/nonexistent/libopenblas.so.0", WEIGHTSCOPE_QUIET: "1" };
  const auto = fresh(AUTO, env);
  assert.equal(auto.stderr, "");
  const info = lastJson(auto.stdout);
  const skip = info.skipped.find((s) => s.name === "blas");
  assert.ok(skip, `blas was skipped: ${auto.stdout}`);
  assert.equal(skip.reason, "no BLAS library from WEIGHTSCOPE_BLAS: /nonexistent/libopenblas.so.0: no such file");
  assert.ok(BACKEND_ORDER.indexOf(info.name) > BACKEND_ORDER.indexOf("blas"), `fell back to ${info.name}`);
  const named = fresh(AUTO, { ...env, WEIGHTSCOPE_BACKEND: "blas" });
  assert.equal(named.stdout.trim(), `ERROR Backend "blas" was requested but is unavailable: ${skip.reason}`);
});

test("a file that is not a BLAS library is skipped with the loader's reason", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-blas-"));
  const file = path.join(dir, "libopenblas.so.0");
  fs.writeFileSync(file, "not a library");
  try {
    const { stdout, stderr } = fresh(AUTO, { WEIGHTSCOPE_BLAS: file, WEIGHTSCOPE_QUIET: "1" });
    assert.equal(stderr, "");
    const skip = lastJson(stdout).skipped.find((s) => s.name === "blas");
    assert.match(skip?.reason ?? "", new RegExp(`^no BLAS library from WEIGHTSCOPE_BLAS: ${file.replace(/[.]/g, "\\.")}: .+`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("blas threads: WEIGHTSCOPE_THREADS and ready({ threads }) set them, backendInfo().device says how many; bad counts are clear errors", (t) => {
  if (autoHere().name !== "blas") {
    t.skip(`blas is not the auto choice here: ${autoHere().skipped.find((s) => s.name === "blas")?.reason ?? autoHere().name}`);
    return;
  }
  const script = `const b = require("./src/backend"); b.ready({ verbose: false }).then(async (i) => { console.log(i.device); const j = await b.ready({ threads: 2, verbose: false }); console.log(j.device + " | " + b.backendInfo().device); });`;
  const { stdout, stderr } = fresh(script, { WEIGHTSCOPE_THREADS: "1" });
  assert.equal(stderr, "");
  const [first, second] = stdout.trim().split("\n");
  assert.match(first, /^OpenBLAS [\d.]+ \((\w+ kernels, )?(pthreads|OpenMP|sequential), 1 thread\)$/);
  const sequential = first.includes("sequential");
  assert.match(second, sequential ? /1 thread\) \| .*1 thread\)$/ : /2 threads\) \| .*2 threads\)$/);
  const bad = fresh(AUTO, { WEIGHTSCOPE_THREADS: "two" });
  assert.match(bad.stdout, /ERROR WEIGHTSCOPE_THREADS="two": the thread count must be a positive integer/);
});

test("ready({ threads }) rejects a count that is not a positive integer", async () => {
  await assert.rejects(ready({ threads: 0 }), /ready\(\{ threads: 0 \}\): the thread count must be a positive integer/);
  await assert.rejects(ready({ threads: 1.5 }), /thread count must be a positive integer/);
});

test("OPENBLAS_CORETYPE: the kernel family from the CPU flags; a user's own setting wins and the hint does not leak to child processes", (t) => {
  if (os.arch() === "x64") {
    assert.equal(openblasCoreType("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma avx512f avx512cd avx512bw avx512dq avx512vl\n"), "SkylakeX");
    assert.equal(openblasCoreType("flags\t\t: fpu sse2 avx avx2 fma\n"), "Haswell");
    assert.equal(openblasCoreType("flags\t\t: fpu sse2 sse3 avx\n"), null);
  }
  assert.equal(openblasCoreType(null), null);
  if (autoHere().name !== "blas") {
    t.skip("blas is not the auto choice here");
    return;
  }
  const script = `require("./src/backend").ready({ verbose: false }).then((i) => console.log(i.device + " | " + String(process.env.OPENBLAS_CORETYPE)));`;
  const own = fresh(script, { OPENBLAS_CORETYPE: "Haswell" });
  assert.match(own.stdout.trim(), /\(Haswell kernels, .*\| Haswell$/);
  const hinted = fresh(script);
  assert.match(hinted.stdout.trim(), /\| undefined$/, "the hint is removed after the library loads");
});
