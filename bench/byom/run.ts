/**
 * Bring-your-own-model benchmark: weightscope's safetensors reading and model loading against PyTorch
 * (bench/byom/reference.py, Debian's python3-torch, 1 thread) on the same files, side by side.
 *   node --import tsx bench/byom/run.ts            (BYOM_MB=2048 for a 2 GB file; default 512)
 * Both sides stream the file (header, then one tensor at a time) from the page cache and convert to float32.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ready } from "../../src/backend";
import { mlp } from "../../src/model";
import { readSafetensors, writeSafetensors, loadSafetensors, saveSafetensors } from "../../src/load";

const PYTHON = "/usr/bin/python3";
const REFERENCE = path.join(__dirname, "reference.py");
const MB = 1024 * 1024;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-byom-bench-"));

function torch(...args: string[]): { ms: number; values: number } | null {
  const run = spawnSync(PYTHON, [REFERENCE, ...args], { encoding: "utf8", maxBuffer: 1 << 20 });
  if (run.status !== 0) {
    console.log(`  PyTorch reference unavailable: ${(run.stderr || String(run.error)).trim().split("\n").pop()}`);
    return null;
  }
  return JSON.parse(run.stdout) as { ms: number; values: number };
}

/** Best wall time of `repeats` runs, and the peak resident-set growth seen while they ran. */
async function measure<T>(repeats: number, fn: () => Promise<T>): Promise<{ ms: number; value: T; peakMb: number }> {
  let best = Infinity;
  let value: T | undefined;
  global.gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 5);
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    value = await fn();
    best = Math.min(best, performance.now() - start);
    peak = Math.max(peak, process.memoryUsage().rss);
    value = i < repeats - 1 ? undefined : value;
  }
  clearInterval(sampler);
  return { ms: best, value: value as T, peakMb: (peak - base) / MB };
}

function row(name: string, ours: number, reference: number | null, note = ""): void {
  const ratio = reference === null ? "n/a" : `${(ours / reference).toFixed(2)}x`;
  console.log(`${name.padEnd(44)} ${ours.toFixed(0).padStart(8)} ms ${reference === null ? "     n/a" : reference.toFixed(0).padStart(8)} ms  ${ratio.padStart(7)}  ${note}`);
}

/** A file of `tensors` random F16 tensors (finite halves: exponent field below 31) of `bytes` bytes each. */
function writeF16(file: string, tensors: number, bytes: number): void {
  const header: Record<string, unknown> = {};
  for (let i = 0; i < tensors; i++) header[`layer${i}.weight`] = { dtype: "F16", shape: [bytes / 2], data_offsets: [i * bytes, (i + 1) * bytes] };
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  const fd = fs.openSync(file, "w");
  fs.writeSync(fd, length);
  fs.writeSync(fd, json);
  const chunk = new Uint16Array(bytes / 2);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (Math.random() * 0x7800) | (i & 1 ? 0x8000 : 0);
  for (let i = 0; i < tensors; i++) fs.writeSync(fd, new Uint8Array(chunk.buffer));
  fs.closeSync(fd);
}

async function main(): Promise<void> {
  await ready({ backend: "wasm" });
  const totalMb = Number(process.env.BYOM_MB ?? 512);
  const tensorMb = 64;
  const count = Math.max(1, Math.round(totalMb / tensorMb));
  console.log(`bring-your-own-model benchmark (node ${process.version}, ${os.cpus().length} cores; PyTorch 1 thread); best of the repeats, page cache warm`);
  console.log(`${"case".padEnd(44)} ${"weightscope".padStart(11)} ${"PyTorch".padStart(11)}  ${"ratio".padStart(7)}`);

  // 1. A large F32 file, streamed to float32 arrays.
  const big = path.join(dir, "big_f32.safetensors");
  const values = new Float32Array((tensorMb * MB) / 4).map((_, i) => Math.sin(i));
  await writeSafetensors(big, Array.from({ length: count }, (_, i) => ({ name: `layer${i}.weight`, shape: [values.length], values })));
  const size = fs.statSync(big).size;
  const read32 = await measure(2, () => readSafetensors(big));
  const ref32 = torch("read", big, "2");
  row(`read F32, ${(size / MB).toFixed(0)} MB (${count} x ${tensorMb} MB)`, read32.ms, ref32?.ms ?? null, `peak RSS +${read32.peakMb.toFixed(0)} MB (file ${(size / MB).toFixed(0)} MB), ${((size / MB) / (read32.ms / 1000)).toFixed(0)} MB/s`);
  fs.rmSync(big);

  // 2. Half precision converted to float32.
  const half = path.join(dir, "half.safetensors");
  const halfCount = Math.max(1, Math.round(count / 2));
  writeF16(half, halfCount, tensorMb * MB);
  const read16 = await measure(2, () => readSafetensors(half));
  const ref16 = torch("read", half, "2");
  row(`read F16 -> float32, ${halfCount * tensorMb} MB`, read16.ms, ref16?.ms ?? null, `${((halfCount * tensorMb) / (read16.ms / 1000)).toFixed(0)} MB/s of F16`);
  fs.rmSync(half);

  // 3. A model: build the MLP from shapes and fill it (weightscope) vs load_state_dict (PyTorch).
  const sizes = [784, 2048, 2048, 2048, 10];
  const source = mlp(sizes, { seed: 1 });
  const modelFile = path.join(dir, "mlp.safetensors");
  const saved = await measure(1, () => saveSafetensors(source, modelFile, { map: { dense0: "0", dense1: "2", dense2: "4", dense3: "6" } }));
  const loaded = await measure(3, async () => {
    const model = await loadSafetensors(modelFile);
    model.dispose();
    return model;
  });
  const refModel = torch("mlp", modelFile, sizes.join(","), "3");
  const params = source.countParams();
  row(`load MLP ${sizes.join("-")} (${(params / 1e6).toFixed(1)}M params)`, loaded.ms, refModel?.ms ?? null, `into a new tf.LayersModel (wasm); save took ${saved.ms.toFixed(0)} ms`);
  source.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
