/**
 * bench/topology distances: bottleneck and W1 (L-inf ground) of two 3,000-point diagrams, ours against
 * hera (GUDHI's gudhi.hera, C++), each in its own process, best of --repeat runs alternating. Two kinds of
 * diagram: H0-like (every birth 0, the common case) and general points above the diagonal.
 * Run: node --import tsx bench/topology/distances.ts [--points 3000] [--repeat 2] [--relative-error 1e-4]
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Rng } from "../../src/math/rng";

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const points = Number(option("--points", "3000"));
const repeat = Number(option("--repeat", "2"));
const delta = option("--relative-error", "1e-4");

// Child mode: time our two distances on a diagram file.
if (args[0] === "--child") {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { bottleneck, wasserstein } = require("../../src/topology/diagrams") as typeof import("../../src/topology/diagrams");
  const { a, b } = JSON.parse(fs.readFileSync(args[1], "utf8"));
  const started = performance.now();
  const bn = bottleneck(a, b).distance;
  const mid = performance.now();
  const w1 = wasserstein(a, b, { relativeError: Number(args[2]) }).distance;
  console.log(JSON.stringify({ bottleneck: bn, bottleneckSeconds: (mid - started) / 1000, w1, w1Seconds: (performance.now() - mid) / 1000 }));
  process.exit(0);
}

interface Timing { bottleneck: number; bottleneckSeconds: number; w1: number; w1Seconds: number }
const run = (command: string, argv: string[]): Timing => {
  const r = spawnSync(command, argv, { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${command} failed: ${r.stderr.slice(-500)}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
};
const best = (runs: Timing[], key: "bottleneckSeconds" | "w1Seconds") => Math.min(...runs.map((r) => r[key]));

const rng = new Rng(2025);
const kinds = {
  "H0-like (births 0)": () => Array.from({ length: points }, () => [0, rng.uniform()]),
  "general (birth, birth + u^2)": () => Array.from({ length: points }, () => {
    const b = rng.uniform();
    return [b, b + rng.uniform() ** 2];
  }),
};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ws-bench-distances-"));
console.log(`diagram distances, two ${points}-point diagrams, W1 relative error ${delta}; ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}; best of ${repeat}, alternating`);
for (const [name, make] of Object.entries(kinds)) {
  const file = path.join(tmp, "diagrams.json");
  fs.writeFileSync(file, JSON.stringify({ a: make(), b: make() }));
  const ours: Timing[] = [];
  const hera: Timing[] = [];
  for (let k = 0; k < repeat; k++) {
    ours.push(run(process.execPath, ["--import", "tsx", __filename, "--child", file, delta]));
    hera.push(run("/usr/bin/python3", [path.join(__dirname, "distances_reference.py"), file, delta]));
  }
  const o = ours[0];
  const h = hera[0];
  console.log(`\n${name}`);
  console.log(`  bottleneck  ours ${best(ours, "bottleneckSeconds").toFixed(2)} s  hera ${best(hera, "bottleneckSeconds").toFixed(2)} s  values ${o.bottleneck} / ${h.bottleneck} (${o.bottleneck === h.bottleneck ? "equal" : "DIFFER"})`);
  console.log(`  W1          ours ${best(ours, "w1Seconds").toFixed(2)} s  hera ${best(hera, "w1Seconds").toFixed(2)} s  values ${o.w1} / ${h.w1} (relative difference ${((o.w1 - h.w1) / h.w1).toExponential(2)})`);
}
fs.rmSync(tmp, { recursive: true, force: true });
