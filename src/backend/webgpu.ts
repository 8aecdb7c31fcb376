/**
 * WebGPU in Node through Dawn (the optional `webgpu` package). Dawn writes its adapter-discovery
 * warnings straight to the process's stderr and can crash on a broken driver, so whether an adapter
 * exists is first asked in a short-lived child process whose output we keep; only when the child found
 * one is Dawn loaded here. The globals must exist before @tensorflow/tfjs-backend-webgpu is loaded, so
 * both are loaded on demand, in that order.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { pathToFileURL } from "url";

/** The GPU that Dawn chose, as its adapter describes itself. */
export interface AdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
}

// `webgpu` is an ES module; a real dynamic import keeps TypeScript's CommonJS output from turning it into require().
const importEsm = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<Record<string, unknown>>;

interface RawAdapterInfo {
  vendor?: string;
  architecture?: string;
  description?: string;
  device?: string;
}

interface GpuAdapterLike {
  info?: RawAdapterInfo;
  requestAdapterInfo?: () => Promise<RawAdapterInfo>;
}

interface WebgpuModule {
  create: (flags: string[]) => { requestAdapter: (options?: object) => Promise<GpuAdapterLike | null> };
  globals: Record<string, unknown>;
}

const ADAPTER_OPTIONS = { powerPreference: "high-performance" };
const PROBE_TIMEOUT_MS = 60_000;

/**
 * Runs in the child: load Dawn, ask for an adapter, print one JSON line. argv[1] is the package's file URL.
 * Kept as source text (not a module file) so it runs the same from src/ under tsx and from the built dist/.
 */
const PROBE_SOURCE = `
import(process.argv[1]).then(async ({ create }) => {
  const adapter = await create([]).requestAdapter(${JSON.stringify(ADAPTER_OPTIONS)});
  const info = adapter ? adapter.info ?? (adapter.requestAdapterInfo ? await adapter.requestAdapterInfo() : {}) : null;
  const pick = info && { vendor: info.vendor, architecture: info.architecture, description: info.description || info.device };
  process.stdout.write("\\n" + JSON.stringify({ adapter: pick }) + "\\n");
  process.exit(0);
}).catch((err) => {
  process.stdout.write("\\n" + JSON.stringify({ error: String(err && err.message || err).split("\\n")[0] }) + "\\n");
  process.exit(0);
});
`;

interface ProbeAnswer {
  adapter?: RawAdapterInfo | null;
  error?: string;
}

let loaded: Promise<AdapterInfo> | undefined;

function packageFile(name: string, file = "package.json"): string | null {
  try {
    return require.resolve(`${name}/${file}`);
  } catch {
    return null;
  }
}

/** Where the dynamic loader would find the Vulkan loader library, or null (Linux only). */
export function findVulkanLoader(env: NodeJS.ProcessEnv = process.env): string | null {
  const lib = "libvulkan.so.1";
  const dirs = [
    ...(env.LD_LIBRARY_PATH ?? "").split(":").filter((d) => d),
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/lib",
  ];
  for (const dir of dirs) {
    const file = path.join(dir, lib);
    if (fs.existsSync(file)) return file;
  }
  // ldconfig's cache names every library the loader knows, including ones in extra configured folders.
  try {
    if (fs.readFileSync("/etc/ld.so.cache").includes(lib)) return "ld.so.cache";
  } catch {
    // No cache: nothing more to look at.
  }
  return null;
}

/** Dawn's first warning line, without its source location, as the reason an adapter is missing. */
function dawnReason(stderr: string): string {
  const line = stderr
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l && !l.startsWith("at "));
  return line ? `; Dawn said: ${line.replace(/^Warning:\s*/, "")}` : "";
}

/** Asks a child process for an adapter, so that Dawn's stderr and any crash stay out of this process. */
function probeAdapter(webgpuEntry: string): Promise<AdapterInfo> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["-e", PROBE_SOURCE, pathToFileURL(webgpuEntry).href],
      { timeout: PROBE_TIMEOUT_MS, encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" }, maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        const last = stdout.trim().split("\n").pop() ?? "";
        let answer: ProbeAnswer | null;
        try {
          answer = JSON.parse(last) as ProbeAnswer;
        } catch {
          answer = null;
        }
        if (answer?.adapter) {
          resolve(adapterInfo(answer.adapter));
        } else if (answer?.error) {
          reject(new Error(`the webgpu package did not load (${answer.error})`));
        } else if (answer) {
          reject(new Error(`no WebGPU adapter: no GPU with a Vulkan driver that Dawn accepts${dawnReason(stderr)}`));
        } else {
          const how = error?.killed ? `timed out after ${PROBE_TIMEOUT_MS / 1000} s` : error?.signal ? `crashed (${error.signal})` : `exited with code ${error?.code ?? "?"}`;
          reject(new Error(`the WebGPU adapter probe ${how}${dawnReason(stderr)}`));
        }
      },
    );
  });
}

function adapterInfo(raw: RawAdapterInfo): AdapterInfo {
  return { vendor: raw.vendor ?? "", architecture: raw.architecture ?? "", description: raw.description || raw.device || "" };
}

/** One line for backendInfo().device, e.g. "WebGPU adapter nvidia hopper NVIDIA H100 80GB HBM3". */
export function describeAdapter(info: AdapterInfo): string {
  const text = [info.vendor, info.architecture, info.description].filter((s) => s).join(" ");
  return `WebGPU adapter ${text || "(no description)"}`;
}

async function load(): Promise<AdapterInfo> {
  const entry = packageFile("webgpu", "index.js");
  if (!entry) throw new Error("the optional package `webgpu` is not installed");
  if (!packageFile("@tensorflow/tfjs-backend-webgpu")) throw new Error("the optional package @tensorflow/tfjs-backend-webgpu is not installed");
  if (process.platform === "linux" && !findVulkanLoader()) {
    throw new Error("no WebGPU adapter: the Vulkan loader libvulkan.so.1 is not installed (Debian/Ubuntu package libvulkan1)");
  }
  const probed = await probeAdapter(entry);
  const mod = (await importEsm(pathToFileURL(entry).href)) as unknown as WebgpuModule;
  const gpu = mod.create([]);
  const adapter = await gpu.requestAdapter(ADAPTER_OPTIONS);
  if (!adapter) throw new Error(`no WebGPU adapter in this process, although a probe found ${describeAdapter(probed)}`);
  const g = globalThis as Record<string, unknown>;
  for (const [key, value] of Object.entries(mod.globals)) if (!(key in g)) g[key] = value;
  // Node 21+ has a read-only global navigator; Node 20 has none.
  const nav = (g.navigator ?? {}) as Record<string, unknown>;
  if (!("gpu" in nav)) {
    try {
      Object.defineProperty(nav, "gpu", { value: gpu, configurable: true });
      if (g.navigator === undefined) g.navigator = nav;
    } catch {
      g.navigator = { gpu };
    }
  }
  require("@tensorflow/tfjs-backend-webgpu");
  return adapterInfo(adapter.info ?? (await adapter.requestAdapterInfo?.()) ?? probed);
}

/** Loads Dawn and the TF.js WebGPU backend once; resolves to the adapter or rejects with the reason. */
export function loadWebgpu(): Promise<AdapterInfo> {
  loaded ??= load();
  return loaded;
}
