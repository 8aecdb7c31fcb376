/**
 * The system BLAS, reached through koffi (an FFI package with prebuilt binaries inside its npm tarball, so
 * `npm ci` needs no compiler and no install script). Float32Arrays are passed as pointers to their own
 * memory: no copies in either direction.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** Row-major single-precision GEMM: c = alpha op(a) op(b) + beta c, with op(a) m x k and op(b) k x n. */
export type Sgemm = (transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number, a: Float32Array, lda: number, b: Float32Array, ldb: number, beta: number, c: Float32Array, ldc: number) => void;

export interface BlasLibrary {
  sgemm: Sgemm;
  /** The file or name that was loaded. */
  file: string;
  /** Sets the number of BLAS threads (OpenBLAS; other libraries manage their own). */
  setThreads(count: number): void;
  /** e.g. "OpenBLAS 0.3.21 (SkylakeX kernels, pthreads, 2 threads)". */
  describe(): string;
}

const CBLAS_ROW_MAJOR = 101;
const CBLAS_NO_TRANS = 111;
const CBLAS_TRANS = 112;
const ACCELERATE = "/System/Library/Frameworks/Accelerate.framework/Accelerate";

interface KoffiLibrary {
  func(definition: string): (...args: unknown[]) => unknown;
}
interface Koffi {
  load(file: string): KoffiLibrary;
}

/** The libraries to try, in order: WEIGHTSCOPE_BLAS alone when set, else the platform's usual places. */
export function blasCandidates(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string[] {
  if (env.WEIGHTSCOPE_BLAS) return [env.WEIGHTSCOPE_BLAS];
  if (platform === "darwin") return [ACCELERATE];
  const arch = os.arch() === "arm64" ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
  // The update-alternatives name first (Debian/Ubuntu libopenblas0-*), then each flavour's own folder.
  return ["libopenblas.so.0", ...["pthread", "openmp", "serial"].map((flavour) => `/usr/lib/${arch}/openblas-${flavour}/libopenblas.so.0`), "libopenblas.so"];
}

/**
 * The OpenBLAS kernel family this x86-64 CPU supports, from its /proc/cpuinfo flags: OpenBLAS 0.3.21 does not
 * know recent Intel models (e.g. Sapphire Rapids in a VM) and falls back to its SSE3 "Prescott" kernels,
 * 3-4x slower at sgemm than the AVX-512 ones on the same CPU (measured here). SkylakeX and Haswell carry the
 * sgemm kernels OpenBLAS would pick for any AVX-512 or AVX2 CPU it does know. Null elsewhere.
 */
export function openblasCoreType(cpuinfo: string | null = readCpuinfo()): string | null {
  if (os.arch() !== "x64" || cpuinfo === null) return null;
  const line = cpuinfo.split("\n").find((l) => l.startsWith("flags"));
  if (!line) return null;
  const flags = new Set(line.split(":")[1]?.trim().split(/\s+/) ?? []);
  if (["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].every((f) => flags.has(f))) return "SkylakeX";
  if (flags.has("avx2") && flags.has("fma")) return "Haswell";
  return null;
}

function readCpuinfo(): string | null {
  try {
    return fs.readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return null;
  }
}

/**
 * koffi.load with OPENBLAS_CORETYPE set from the CPU's flags unless the user set it (OpenBLAS reads it once, when
 * it loads); removed again afterwards so that child processes (benchmark references) see the user's environment.
 */
function loadWithCoreType(koffi: Koffi, file: string): KoffiLibrary {
  const hint = process.env.OPENBLAS_CORETYPE === undefined && file !== ACCELERATE ? openblasCoreType() : null;
  if (hint) process.env.OPENBLAS_CORETYPE = hint;
  try {
    return koffi.load(file);
  } finally {
    if (hint) delete process.env.OPENBLAS_CORETYPE;
  }
}

/** The number of BLAS threads: the option, else WEIGHTSCOPE_THREADS, else the machine's cores. */
export function threadCount(option: number | undefined, env: NodeJS.ProcessEnv = process.env): number {
  const raw = option ?? (env.WEIGHTSCOPE_THREADS ? Number(env.WEIGHTSCOPE_THREADS) : undefined);
  if (raw === undefined) return os.availableParallelism();
  if (!Number.isInteger(raw) || raw < 1) {
    const source = option === undefined ? `WEIGHTSCOPE_THREADS="${env.WEIGHTSCOPE_THREADS}"` : `ready({ threads: ${String(option)} })`;
    throw new Error(`${source}: the thread count must be a positive integer`);
  }
  return raw;
}

function loadKoffi(): Koffi {
  try {
    return require("koffi") as Koffi;
  } catch (err) {
    throw new Error(`the koffi FFI package did not load: ${(err as Error).message.split("\n")[0]}`);
  }
}

/** Opens the first candidate that loads and has cblas_sgemm; throws with every candidate's reason. */
export function openBlas(env: NodeJS.ProcessEnv = process.env): BlasLibrary {
  const koffi = loadKoffi();
  const reasons: string[] = [];
  for (const file of blasCandidates(env)) {
    if (path.isAbsolute(file) && file !== ACCELERATE && !fs.existsSync(file)) {
      reasons.push(`${file}: no such file`);
      continue;
    }
    let lib: KoffiLibrary;
    try {
      lib = loadWithCoreType(koffi, file);
    } catch (err) {
      reasons.push(`${file}: ${(err as Error).message.split("\n")[0]}`);
      continue;
    }
    try {
      return bind(lib, file);
    } catch (err) {
      reasons.push(`${file}: ${(err as Error).message.split("\n")[0]}`);
    }
  }
  const where = env.WEIGHTSCOPE_BLAS ? "WEIGHTSCOPE_BLAS" : "the system";
  const hint = env.WEIGHTSCOPE_BLAS ? "" : " (Debian/Ubuntu: apt-get install libopenblas0-pthread; or set WEIGHTSCOPE_BLAS to a library with cblas_sgemm)";
  throw new Error(`no BLAS library from ${where}${hint}: ${reasons.join("; ")}`);
}

function optional(lib: KoffiLibrary, definition: string): ((...args: unknown[]) => unknown) | null {
  try {
    return lib.func(definition);
  } catch {
    return null;
  }
}

function bind(lib: KoffiLibrary, file: string): BlasLibrary {
  const raw = lib.func("void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)");
  const setThreads = optional(lib, "void openblas_set_num_threads(int count)");
  const getThreads = optional(lib, "int openblas_get_num_threads(void)");
  const getConfig = optional(lib, "const char *openblas_get_config(void)");
  const getParallel = optional(lib, "int openblas_get_parallel(void)");
  const getCore = optional(lib, "const char *openblas_get_corename(void)");
  const sgemm: Sgemm = (transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) => {
    raw(CBLAS_ROW_MAJOR, transA ? CBLAS_TRANS : CBLAS_NO_TRANS, transB ? CBLAS_TRANS : CBLAS_NO_TRANS, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  };
  return {
    sgemm,
    file,
    setThreads(count: number) {
      setThreads?.(count);
    },
    describe() {
      if (getConfig) {
        const config = String(getConfig());
        const version = /OpenBLAS\s+([\d.]+)/.exec(config)?.[1];
        const parallel = getParallel ? ["sequential", "pthreads", "OpenMP"][getParallel() as number] ?? "unknown threading" : "unknown threading";
        const threads = getThreads ? (getThreads() as number) : 1;
        const core = getCore ? `${String(getCore())} kernels, ` : "";
        return `OpenBLAS${version ? ` ${version}` : ""} (${core}${parallel}, ${threads} thread${threads === 1 ? "" : "s"})`;
      }
      // Accelerate and other BLAS libraries manage their threads themselves.
      return `${file === ACCELERATE ? "Apple Accelerate" : `BLAS ${path.basename(file)}`} (threads managed by the library)`;
    },
  };
}
