/**
 * bench/topology: the same inputs through this engine, Debian's ripser (C++) and GUDHI, each in its
 * own process under /usr/bin/time (peak resident memory), printed side by side with time ratios.
 * Ours runs single-threaded (workers 0) and with the default workers (cores - 1). The machine may be
 * shared, so each engine runs up to --repeat times (while its runs total under 20 s), alternating
 * with the others, and the fastest run counts.
 * Run: node --import tsx bench/topology/run.ts [--gudhi-timeout 60] [--repeat 3] [--only <substring>]
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Rng } from "../../src/math/rng";

const DATA = path.resolve(__dirname, "../../test/fixtures/ph");
const args = process.argv.slice(2);
const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const gudhiTimeout = Number(option("--gudhi-timeout", "60"));
const repeat = Number(option("--repeat", "3"));
const only = option("--only", "");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ws-bench-topology-"));

function writeCloud(name: string, points: number[][]): string {
  const file = path.join(tmp, `${name}.txt`);
  fs.writeFileSync(file, points.map((p) => p.map((x) => x.toPrecision(17)).join(" ")).join("\n") + "\n");
  return file;
}

const rng = new Rng(2024);
const cube8 = writeCloud("cube8_1000", Array.from({ length: 1000 }, () => Array.from({ length: 8 }, () => rng.uniform())));
const torus = writeCloud("torus_1500", Array.from({ length: 1500 }, () => {
  const a = rng.uniform(0, 2 * Math.PI);
  const b = rng.uniform(0, 2 * Math.PI);
  return [(2 + Math.cos(b)) * Math.cos(a), (2 + Math.cos(b)) * Math.sin(a), Math.sin(b)];
}));
// A random walk in R^20 (the Ripser paper's stress case), 2,000 steps.
let walk = new Array(20).fill(0);
const walk20 = writeCloud("walk20_2000", Array.from({ length: 2000 }, () => (walk = walk.map((x) => x + rng.normal()))));

const cases = [
  { name: "sphere_3_192, dims <= 2", format: "lower-distance", file: path.join(DATA, "sphere_3_192.lower_distance_matrix"), maxDim: 2 },
  { name: "o3_1024, dims <= 2, threshold 1.4", format: "point-cloud", file: path.join(DATA, "o3_1024.txt"), maxDim: 2, threshold: 1.4 },
  { name: "1000 uniform points in R^8, dims <= 1", format: "point-cloud", file: cube8, maxDim: 1 },
  { name: "torus 1500 points, dims <= 1", format: "point-cloud", file: torus, maxDim: 1 },
  { name: "random walk 2000 points in R^20, dims <= 1", format: "point-cloud", file: walk20, maxDim: 1 },
];

interface Measured { seconds: number; wall: number; peakMB: number; bars: number[] | null; note?: string }

function timed(command: string, argv: string[], timeoutS: number, parse: (stdout: string) => { seconds: number; bars: number[] | null }): Measured {
  const started = performance.now();
  // coreutils' timeout stops the engine itself (GNU time would leave it running if killed).
  const run = spawnSync("/usr/bin/time", ["-f", "%M", "timeout", String(timeoutS), command, ...argv], { encoding: "utf8", maxBuffer: 1 << 28 });
  const wall = (performance.now() - started) / 1000;
  if (run.status === 124) return { seconds: NaN, wall, peakMB: NaN, bars: null, note: `> ${timeoutS} s (stopped)` };
  if (run.error || run.status !== 0) return { seconds: NaN, wall, peakMB: NaN, bars: null, note: `failed: ${run.stderr.slice(-200)}` };
  const peakMB = Number(run.stderr.trim().split("\n").at(-1)) / 1024;
  return { ...parse(run.stdout), wall, peakMB };
}

function ripserBars(stdout: string): number[] {
  return stdout.split(/persistence intervals in dim \d+:/).slice(1).map((block) => block.split("\n").filter((l) => /^\s*\[/.test(l)).length);
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "  -  ");
const fastest = (runs: Measured[]) => runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
console.log(`topology benchmark on ${os.cpus().length} cores (${os.cpus()[0].model}); seconds = compute time reported by each engine (ripser: its wall time), best of up to ${repeat} runs; wall includes process start; peak = max RSS`);
for (const c of cases) {
  if (!c.name.includes(only)) continue;
  const thr = c.threshold === undefined ? [] : [String(c.threshold)];
  const engines = {
    single: () => timed(process.execPath, ["--import", "tsx", path.join(__dirname, "engine-cli.ts"), c.format, c.file, String(c.maxDim), "0", ...thr], 600, (s) => JSON.parse(s.trim().split("\n").at(-1)!)),
    workers: () => timed(process.execPath, ["--import", "tsx", path.join(__dirname, "engine-cli.ts"), c.format, c.file, String(c.maxDim), "default", ...thr], 600, (s) => JSON.parse(s.trim().split("\n").at(-1)!)),
    ripser: () => {
      const r = timed("/usr/bin/ripser", ["--format", c.format, "--dim", String(c.maxDim), ...(c.threshold === undefined ? [] : ["--threshold", String(c.threshold)]), c.file], 600, (s) => ({ seconds: NaN, bars: ripserBars(s) }));
      return { ...r, seconds: r.wall }; // ripser reports no internal time: its wall time includes its (tiny) start-up
    },
  };
  const runs: Record<keyof typeof engines, Measured[]> = { single: [], workers: [], ripser: [] };
  const spent = (k: keyof typeof engines) => runs[k].reduce((t, r) => t + r.wall, 0);
  for (let round = 0; round < repeat; round++) {
    for (const k of Object.keys(engines) as (keyof typeof engines)[]) if (round === 0 || spent(k) < 20) runs[k].push(engines[k]());
  }
  const [single, workers, ripser] = [fastest(runs.single), fastest(runs.workers), fastest(runs.ripser)];
  const gudhi = timed("/usr/bin/python3", [path.join(__dirname, "reference.py"), c.format, c.file, String(c.maxDim), ...thr], gudhiTimeout, (s) => JSON.parse(s.trim().split("\n").at(-1)!));
  const same = (m: Measured) => m.bars && ripser.bars && m.bars.length === ripser.bars.length && m.bars.every((b, k) => b === ripser.bars![k]);
  console.log(`\n${c.name}`);
  console.log(`  weightscope 1 thread  ${fmt(single.seconds)} s (wall ${fmt(single.wall)} s)  peak ${fmt(single.peakMB)} MB  bars ${single.bars?.join("/") ?? single.note}  (${runs.single.length} runs)`);
  console.log(`  weightscope workers   ${fmt(workers.seconds)} s (wall ${fmt(workers.wall)} s)  peak ${fmt(workers.peakMB)} MB  bars ${workers.bars?.join("/") ?? workers.note}  (${runs.workers.length} runs)`);
  console.log(`  ripser                ${fmt(ripser.seconds)} s                   peak ${fmt(ripser.peakMB)} MB  bars ${ripser.bars?.join("/") ?? ripser.note}  (${runs.ripser.length} runs)`);
  console.log(`  gudhi                 ${fmt(gudhi.seconds)} s (wall ${fmt(gudhi.wall)} s)  peak ${fmt(gudhi.peakMB)} MB  bars ${gudhi.bars?.join("/") ?? gudhi.note}`);
  console.log(`  ratio weightscope / ripser: 1 thread ${fmt(single.seconds / ripser.seconds)}, workers ${fmt(workers.seconds / ripser.seconds)} (wall ${fmt(single.wall / ripser.wall)}); gudhi / weightscope: ${gudhi.note ?? fmt(gudhi.seconds / single.seconds)}; bar counts ${same(single) && same(workers) ? "equal" : "DIFFER"}`);
}
fs.rmSync(tmp, { recursive: true, force: true });
