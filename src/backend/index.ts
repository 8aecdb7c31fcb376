/**
 * Backend selection: tensorflow (native, only if it really registers) > webgpu (Dawn, only with an adapter)
 * > blas (the cpu kernels with the hot ones on the system BLAS, only where one loads) > wasm > cpu. A backend that was asked for by name and cannot start is an error, never a silent fallback.
 */
import * as tf from "@tensorflow/tfjs";
import { attachDisplay } from "../display/bundle";
import { Table } from "../display/table";
import { loadWebgpu, describeAdapter, type AdapterInfo } from "./webgpu";
import { registerBlasBackend, threadCount, BLAS, type BlasLibrary } from "./blas";

export { findVulkanLoader, type AdapterInfo } from "./webgpu";

export type BackendName = "tensorflow" | "webgpu" | "blas" | "wasm" | "cpu";
export const BACKEND_ORDER: readonly BackendName[] = ["tensorflow", "webgpu", "blas", "wasm", "cpu"];

export interface BackendInfo {
  /** The active TF.js backend. */
  name: BackendName;
  /** What runs the math: "native TensorFlow", the GPU adapter, "OpenBLAS 0.3.21 (pthreads, 2 threads)", "WebAssembly SIMD (1 thread)", "JavaScript". */
  device: string;
  /** Backends tried before this one in auto mode (or not tried), each with the reason it was skipped. */
  skipped: { name: BackendName; reason: string }[];
  /** "auto", or the backend that was asked for (option or WEIGHTSCOPE_BACKEND). */
  requested: BackendName | "auto";
  /** The GPU as WebGPU describes it; null unless the backend is "webgpu". */
  adapter: AdapterInfo | null;
}

export interface ReadyOptions {
  /** Backend to use; default: WEIGHTSCOPE_BACKEND, else "auto". */
  backend?: BackendName | "auto";
  /** Print the chosen backend (once per process). Default true, except under WEIGHTSCOPE_QUIET=1. */
  verbose?: boolean;
  /** Threads of the blas backend; default: WEIGHTSCOPE_THREADS, else the machine's cores. Applies when blas runs. */
  threads?: number;
}

interface Attempt {
  device: string;
  adapter?: AdapterInfo;
}

let current: BackendInfo | undefined;
let pending: Promise<BackendInfo> | undefined;
let announced = false;

/** Why a backend cannot start; thrown by the loaders and recorded as a skip reason in auto mode. */
class Unavailable extends Error {}

async function tryTensorflow(): Promise<Attempt> {
  const notes: string[] = [];
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    let manifest: { name?: string } | undefined;
    try {
      manifest = require(`${pkg}/package.json`) as { name?: string };
    } catch {
      continue;
    }
    // danfojs's override installs @tensorflow/tfjs under this name: it has no native binding, and only a
    // "tensorflow" backend that really registers proves a native one.
    if (manifest.name !== pkg) {
      notes.push(`${pkg} is an alias of ${manifest.name ?? "another package"}, not the native binding`);
      continue;
    }
    // libtensorflow logs CPU-feature notices on stderr at load unless told otherwise.
    process.env.TF_CPP_MIN_LOG_LEVEL ??= "2";
    try {
      require(pkg);
    } catch (err) {
      throw new Unavailable(`${pkg} is installed but did not load: ${(err as Error).message.split("\n")[0]}`);
    }
    if (tf.findBackendFactory("tensorflow") === undefined) {
      throw new Unavailable(`${pkg} loaded but registered no "tensorflow" backend with this @tensorflow/tfjs (it may use its own copy; install ${pkg}@${tf.version_core})`);
    }
    if (await tf.setBackend("tensorflow")) return { device: pkg.endsWith("gpu") ? "native TensorFlow (CUDA)" : "native TensorFlow (CPU)" };
    throw new Unavailable(`${pkg} registered "tensorflow" but it failed to initialise`);
  }
  const base = "neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed (optional; see docs/api/backend.md)";
  throw new Unavailable(notes.length ? `${base}; ${notes.join("; ")}` : base);
}

async function tryWasm(): Promise<Attempt> {
  try {
    require("@tensorflow/tfjs-backend-wasm");
  } catch (err) {
    throw new Unavailable(`@tensorflow/tfjs-backend-wasm did not load: ${(err as Error).message.split("\n")[0]}`);
  }
  if (!(await tf.setBackend("wasm"))) throw new Unavailable("the wasm backend failed to initialise");
  return { device: "WebAssembly SIMD (1 thread)" };
}

let blas: BlasLibrary | undefined;

async function tryBlas(threads: number): Promise<Attempt> {
  try {
    blas = registerBlasBackend();
  } catch (err) {
    throw new Unavailable((err as Error).message);
  }
  blas.setThreads(threads);
  if (!(await tf.setBackend(BLAS))) throw new Unavailable("the blas backend failed to initialise");
  return { device: blas.describe() };
}

async function tryCpu(): Promise<Attempt> {
  await tf.setBackend("cpu");
  return { device: "JavaScript (float32)" };
}

async function tryWebgpu(): Promise<Attempt> {
  const adapter = await loadWebgpu().catch((err: Error) => {
    throw new Unavailable(err.message);
  });
  if (!(await tf.setBackend("webgpu"))) throw new Unavailable("the webgpu backend failed to initialise");
  return { device: describeAdapter(adapter), adapter };
}

const LOADERS: Record<BackendName, (threads: number) => Promise<Attempt>> = {
  tensorflow: tryTensorflow,
  webgpu: tryWebgpu,
  blas: tryBlas,
  wasm: tryWasm,
  cpu: tryCpu,
};

function requestedBackend(option: ReadyOptions["backend"]): BackendName | "auto" {
  // An empty WEIGHTSCOPE_BACKEND (`WEIGHTSCOPE_BACKEND= node ...`) means unset.
  const raw = option ?? (process.env.WEIGHTSCOPE_BACKEND || "auto");
  if (raw !== "auto" && !(BACKEND_ORDER as readonly string[]).includes(raw)) {
    const source = option === undefined ? "WEIGHTSCOPE_BACKEND" : "ready({ backend })";
    throw new Error(`Unknown backend "${raw}" in ${source}: use one of auto, ${BACKEND_ORDER.join(", ")}`);
  }
  return raw as BackendName | "auto";
}

async function select(requested: BackendName | "auto", threads: number): Promise<BackendInfo> {
  tf.enableProdMode();
  const skipped: BackendInfo["skipped"] = [];
  const candidates = requested === "auto" ? BACKEND_ORDER : [requested];
  for (const name of candidates) {
    try {
      const attempt = await LOADERS[name](threads);
      return { name, device: attempt.device, skipped, requested, adapter: attempt.adapter ?? null };
    } catch (err) {
      if (requested !== "auto") throw new Error(`Backend "${name}" was requested but is unavailable: ${(err as Error).message}`);
      skipped.push({ name, reason: (err as Error).message });
    }
  }
  throw new Error(`No TF.js backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join("; ")}`);
}

/**
 * Picks and initialises the TF.js backend (once; later calls return the same info unless a different
 * backend is asked for) and prints it once. Call `await ws.ready()` at the top of a notebook.
 */
export function ready(options: ReadyOptions = {}): Promise<BackendInfo> {
  let requested: BackendName | "auto";
  let threads: number;
  try {
    requested = requestedBackend(options.backend);
    threads = threadCount(options.threads);
  } catch (err) {
    return Promise.reject(err);
  }
  if (current && (requested === "auto" || requested === current.name) && tf.getBackend() === current.name) {
    if (current.name === "blas" && blas && options.threads !== undefined) {
      blas.setThreads(threads);
      current = withSummary({ ...current, device: blas.describe() });
    }
    return Promise.resolve(current);
  }
  if (pending && requested === "auto") return pending;
  const run = select(requested, threads).then(
    (info) => {
      current = withSummary(info);
      pending = undefined;
      const verbose = options.verbose ?? process.env.WEIGHTSCOPE_QUIET !== "1";
      if (verbose && !announced) {
        announced = true;
        console.log(describeBackend(info));
      }
      return current;
    },
    (err: unknown) => {
      pending = undefined;
      throw err;
    },
  );
  pending = run;
  return run;
}

/** The backend chosen by ready(), or a clear error when ready() has not run yet. */
export function backendInfo(): BackendInfo {
  if (!current) throw new Error("No backend selected yet: run `await ws.ready()` first");
  return withSummary({ ...current, skipped: current.skipped.map((s) => ({ ...s })), adapter: current.adapter && { ...current.adapter } });
}

/**
 * Gives the info a one-line util.inspect form and an HTML table (as a cell's last value, `await ws.ready()` shows
 * them) instead of the whole object; the full reasons were already printed once.
 */
function withSummary(info: BackendInfo): BackendInfo {
  return attachDisplay(info, () => `BackendInfo { ${info.name} on ${info.device}${info.skipped.length ? `; skipped ${info.skipped.map((s) => s.name).join(", ")}` : ""} }`, () => backendHtml(info));
}

function backendHtml(info: BackendInfo): string {
  const skipped = Object.fromEntries(info.skipped.map((s) => [`skipped ${s.name}`, s.reason]));
  return Table.fromObject({ backend: info.name, device: info.device, requested: info.requested, ...skipped }, "weightscope backend").toHTML();
}

/** One line: the backend, its device and why faster ones were skipped. */
export function describeBackend(info: BackendInfo): string {
  const skipped = info.skipped.length ? `; skipped ${info.skipped.map((s) => `${s.name} (${s.reason})`).join(", ")}` : "";
  return `weightscope: TF.js backend "${info.name}" on ${info.device}${skipped}`;
}
