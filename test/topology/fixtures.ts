/** Readers of the shared persistent-homology test data (a copy of ../shared/data/ph in test/fixtures/ph, so CI needs nothing outside the repo) and a diagram comparison. */
import * as fs from "fs";
import * as path from "path";
import { assertClose } from "../helpers";
import { parseRipserOutput } from "../../src/topology/reference";
import type { Interval } from "../../src/topology/engine";

export const PH_DATA = path.resolve(__dirname, "../fixtures/ph");

export function lowerDistances(file: string): number[] {
  return fs.readFileSync(path.join(PH_DATA, file), "utf8").split(/[\s,]+/).filter((s) => s.length > 0).map(Number);
}

export function pointFile(file: string): number[][] {
  return fs.readFileSync(path.join(PH_DATA, file), "utf8").trim().split("\n").map((l) => l.trim().split(/\s+/).map(Number));
}

export function ripserFile(file: string): Interval[][] {
  return parseRipserOutput(fs.readFileSync(path.join(PH_DATA, file), "utf8"));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const fixtures: any = JSON.parse(fs.readFileSync(path.join(PH_DATA, "fixtures.json"), "utf8"));

/** JSON diagrams (death null = infinite) as intervals. */
export function fromJSON(d: (number | null)[][]): Interval[] {
  return d.map(([b, e]) => [b as number, e === null ? Infinity : e]);
}

/**
 * Asserts two diagrams per dimension hold the same intervals (zero-length bars dropped, sorted by birth
 * then death) within rtol; Ripser prints 6 significant digits, so its files are compared at 1e-5.
 */
export function assertSameDiagrams(actual: Interval[][], expected: Interval[][], rtol: number, what: string): void {
  const norm = (d: Interval[]) => d.filter((p) => p[1] !== p[0]).map((p) => [p[0], p[1]]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (let k = 0; k < expected.length; k++) assertClose(norm(actual[k] ?? []), norm(expected[k]), { rtol, atol: 1e-12, what: `${what} H${k}` });
  for (let k = expected.length; k < actual.length; k++) if (actual[k].length) throw new Error(`${what}: H${k} has ${actual[k].length} bars, the reference none`);
}
