/**
 * ws.check.h0: grades a student's 0-dimensional persistence fn(points) -> [birth, death][] (Vietoris-Rips
 * H0, every interval including the one [0, Infinity]) against the library's ws.persistence.
 */
import { Rng } from "../math/rng";
import { persistence } from "../topology/persistence";
import { CheckResult, Grading, fmt, startGrading, type CheckOptions } from "./result";
import { callStudent, firstMismatch, readMatrix } from "./student";

/** All H0 intervals [birth, death] of the Vietoris-Rips filtration of the points (may be async). */
export type H0Fn = (points: number[][]) => [number, number][] | number[][] | Promise<[number, number][] | number[][]>;

/** The library works on float32 distances; a float64 answer agrees to a few float32 ulp. */
const DEATH_RTOL = 1e-5;

const COUNT = "one interval per point";
const BIRTHS = "every birth is 0";
const INFINITE = "exactly one death is Infinity";
const DEATHS = "finite deaths = minimum spanning tree edge lengths";

export async function h0(fn: H0Fn, options: CheckOptions = {}): Promise<CheckResult> {
  if (typeof fn !== "function") throw new Error(`ws.check.h0: pass your function (points) => [birth, death][], got ${typeof fn}`);
  const { seed, cases } = await startGrading(options, 4, "h0");
  const grading = new Grading("h0", [{ name: COUNT }, { name: BIRTHS }, { name: INFINITE }, { name: DEATHS }]);
  for (let k = 0; k < cases; k++) {
    const { name, points } = cloud(k, seed);
    const reference = (await persistence(points, { maxDim: 0, workers: 0 })).diagrams[0];
    const expectedDeaths = reference.map((p) => p[1]).filter((d) => d !== Infinity).sort((a, b) => a - b);
    const outcome = await callStudent(() => fn(points.map((p) => p.slice())), (out) => readMatrix(out, null, 2, "[birth, death] intervals"));
    if (!outcome.ok) {
      grading.callFailed(name, outcome.message);
      continue;
    }
    const intervals = outcome.value;
    const infinite = intervals.filter((p) => p[1] === Infinity).length;
    grading.check(name, COUNT, intervals.length === points.length, `${points.length} intervals`, `${intervals.length}`,
      intervals.length === points.length - 1 && infinite === 0 ? "the component that never dies is missing: add [0, Infinity]" : "each point is born as a component at scale 0, and each component dies once, or never");
    const badBirth = intervals.find((p) => p[0] !== 0);
    grading.check(name, BIRTHS, badBirth === undefined, "0", badBirth ? fmt(badBirth[0]) : "0", badBirth ? `interval [${fmt(badBirth[0])}, ${fmt(badBirth[1])}]` : "");
    grading.check(name, INFINITE, infinite === 1, "1 infinite death", `${infinite}`, infinite === 0 ? "the last surviving component never dies: its interval is [0, Infinity]" : "");
    const deaths = intervals.map((p) => p[1]).filter((d) => d !== Infinity).sort((a, b) => a - b);
    if (deaths.length !== expectedDeaths.length) {
      grading.fail(name, DEATHS, `${expectedDeaths.length} finite deaths`, `${deaths.length}`);
      continue;
    }
    const bad = firstMismatch(deaths, expectedDeaths, DEATH_RTOL);
    if (!bad) grading.pass(name, DEATHS);
    else grading.fail(name, DEATHS, fmt(bad.expected), fmt(bad.actual), `${bad.index + 1}. smallest finite death${deathHint(deaths, expectedDeaths)}`);
  }
  return grading.result();
}

/** The graded point clouds: evenly spaced on a circle (all deaths 2 sin(pi/n)), two points, random clouds. */
function cloud(k: number, seed: number): { name: string; points: number[][] } {
  const rng = new Rng(seed * 1000 + k);
  if (k === 0) {
    const n = 12;
    return { name: `1 (${n} points evenly spaced on the unit circle)`, points: Array.from({ length: n }, (_, i) => [Math.cos((2 * Math.PI * i) / n), Math.sin((2 * Math.PI * i) / n)]) };
  }
  if (k === 1) return { name: "2 (two points in R^3)", points: [[0, 0, 0], [rng.uniform(0.5, 2), rng.uniform(-1, 1), rng.uniform(-1, 1)]] };
  const n = 8 + 4 * k;
  const dim = 2 + (k % 3);
  return { name: `${k + 1} (${n} random points in R^${dim}, seed ${seed * 1000 + k})`, points: Array.from({ length: n }, () => Array.from({ length: dim }, () => rng.normal())) };
}

/** Names the usual mistake when every death is off the same way. */
function deathHint(deaths: number[], expected: number[]): string {
  const ratios = deaths.map((d, i) => d / expected[i]);
  const same = (values: number[], target: number) => values.every((v) => Math.abs(v - target) <= 1e-4 * Math.max(1, Math.abs(target)));
  if (same(ratios, 0.5)) return "; every death is half the edge length: in the Vietoris-Rips filtration two points join at scale d = their distance, not at radius d/2";
  if (same(deaths.map((d, i) => d - expected[i] * expected[i]), 0)) return "; the deaths are squared distances: take the square root";
  if (ratios.length > 0 && same(ratios, ratios[0])) return `; every death is ${fmt(ratios[0])} times the edge length of the minimum spanning tree`;
  return "";
}
