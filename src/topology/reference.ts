/**
 * Debian's `ripser` binary (Ripser 1.2.1) as a reference: used by the tests, the benchmark and the
 * tutorial to check this engine's diagrams on the same input.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Interval } from "./engine";

export const RIPSER_BINARY = "/usr/bin/ripser";

export function ripserAvailable(binary = RIPSER_BINARY): boolean {
  return fs.existsSync(binary);
}

/** Parses Ripser's text output ("persistence intervals in dim k:" then " [b,d)" lines; " [b, )" is infinite). */
export function parseRipserOutput(text: string): Interval[][] {
  const diagrams: Interval[][] = [];
  let dim = -1;
  for (const line of text.split("\n")) {
    const header = /persistence intervals in dim (\d+):/.exec(line);
    if (header) {
      dim = Number(header[1]);
      while (diagrams.length <= dim) diagrams.push([]);
      continue;
    }
    const bar = /^\s*\[([^,]+),\s*([^)]*)\)/.exec(line);
    if (bar && dim >= 0) diagrams[dim].push([Number(bar[1]), bar[2].trim() === "" ? Infinity : Number(bar[2])]);
  }
  return diagrams;
}

export interface RipserRun {
  diagrams: Interval[][];
  seconds: number;
  /** Peak resident memory of the ripser process in kB (from /usr/bin/time when present), else null. */
  peakKB: number | null;
}

/** Runs ripser on points (point-cloud format) or a lower-triangular distance list. */
export function runRipser(input: { points: ArrayLike<number>[] } | { lowerDistances: ArrayLike<number> }, options: { maxDim?: number; threshold?: number; binary?: string } = {}): RipserRun {
  const binary = options.binary ?? RIPSER_BINARY;
  if (!ripserAvailable(binary)) throw new Error(`ripser reference: ${binary} not found (apt-get install ripser)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-ripser-"));
  try {
    const file = path.join(dir, "input.txt");
    let format: string;
    if ("points" in input) {
      format = "point-cloud";
      fs.writeFileSync(file, input.points.map((p) => Array.from(p, (x) => x.toPrecision(17)).join(" ")).join("\n") + "\n");
    } else {
      format = "lower-distance";
      fs.writeFileSync(file, Array.from(input.lowerDistances, (x) => x.toPrecision(17)).join("\n") + "\n");
    }
    const args = ["--format", format, "--dim", String(options.maxDim ?? 1)];
    if (options.threshold !== undefined) args.push("--threshold", String(options.threshold));
    const timed = fs.existsSync("/usr/bin/time");
    const started = performance.now();
    const run = timed ? spawnSync("/usr/bin/time", ["-f", "%M", binary, ...args, file], { encoding: "utf8", maxBuffer: 1 << 28 }) : spawnSync(binary, [...args, file], { encoding: "utf8", maxBuffer: 1 << 28 });
    const seconds = (performance.now() - started) / 1000;
    if (run.status !== 0) throw new Error(`ripser reference failed (exit ${run.status}): ${run.stderr}`);
    const peak = timed ? Number(run.stderr.trim().split("\n").at(-1)) : NaN;
    return { diagrams: parseRipserOutput(run.stdout), seconds, peakKB: Number.isFinite(peak) ? peak : null };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
