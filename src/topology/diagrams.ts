/**
 * Tools on persistence diagrams (arrays of [birth, death), death Infinity for essential classes):
 * lifetimes, filtering, bottleneck and Wasserstein distances with their matchings, landscapes (Bubenik's
 * convention: lambda_k(t) = k-th largest max(0, min(t - b, d - t)); GUDHI's values are sqrt 2 times these),
 * Betti curves, persistent entropy and persistence images.
 */
import type { Interval } from "./engine";
import { erf, linspace } from "../math/special";
import { heapBudget, memoryBudget } from "./input";
import { auctionAssignment, bottleneckMatching, type DiagramPoints } from "./matching";

export type Diagram = readonly (readonly [number, number])[];

function checkDiagram(d: Diagram, what: string): void {
  if (!Array.isArray(d)) throw new Error(`${what}: expected an array of [birth, death] pairs`);
  d.forEach((p, i) => {
    if (!Array.isArray(p) || p.length !== 2) throw new Error(`${what}: entry ${i} is not a [birth, death] pair`);
    const [b, e] = p;
    if (!Number.isFinite(b) || Number.isNaN(e) || e === -Infinity) throw new Error(`${what}: entry ${i} [${b}, ${e}] has a non-finite birth or a NaN death`);
    if (e < b) throw new Error(`${what}: entry ${i} dies before it is born ([${b}, ${e}])`);
  });
}

/** death - birth of each interval (Infinity for essential classes). */
export function lifetimes(d: Diagram): number[] {
  checkDiagram(d, "lifetimes");
  return d.map(([b, e]) => e - b);
}

/** The intervals living longer than minPersistence (essential classes always kept). */
export function filterByPersistence(d: Diagram, minPersistence: number): Interval[] {
  checkDiagram(d, "filterByPersistence");
  return d.filter(([b, e]) => e - b > minPersistence).map(([b, e]) => [b, e]);
}

export interface Matching {
  distance: number;
  /** [i, j]: interval i of the first diagram matched to interval j of the second; -1 is the diagonal. */
  pairs: [number, number][];
}

interface Split {
  finite: number[];
  essential: number[];
}

/** Indices of a diagram's finite intervals of positive length and of its essential classes. */
export function split(d: Diagram): Split {
  const finite: number[] = [];
  const essential: number[] = [];
  d.forEach(([b, e], i) => {
    if (e === Infinity) essential.push(i);
    else if (e > b) finite.push(i);
  });
  return { finite, essential };
}

/**
 * Essential classes can only match each other, birth to birth; matching sorted births is optimal for
 * every order (a 1-D transport). Different counts: the distance is Infinity.
 */
function matchEssential(a: Diagram, b: Diagram, ia: number[], ib: number[]): { costs: number[]; pairs: [number, number][] } | null {
  if (ia.length !== ib.length) return null;
  const sa = [...ia].sort((x, y) => a[x][0] - a[y][0]);
  const sb = [...ib].sort((x, y) => b[x][0] - b[y][0]);
  return { costs: sa.map((x, k) => Math.abs(a[x][0] - b[sb[k]][0])), pairs: sa.map((x, k) => [x, sb[k]]) };
}

/** The finite points of a diagram (indices idx) with their distances to the diagonal. */
function pointsOf(d: Diagram, idx: number[], toDiagonal: (birth: number, death: number) => number): DiagramPoints {
  const birth = Float64Array.from(idx, (i) => d[i][0]);
  const death = Float64Array.from(idx, (i) => d[i][1]);
  return { birth, death, toDiagonal: Float64Array.from(idx, (_, k) => toDiagonal(birth[k], death[k])) };
}

/** The matched pairs of an augmented assignment, in the callers' indices (-1: the diagonal). */
function pairsOf(assignment: Int32Array, ia: number[], ib: number[]): [number, number][] {
  const n = ia.length;
  const m = ib.length;
  const pairs: [number, number][] = [];
  for (let r = 0; r < n + m; r++) {
    const s = assignment[r];
    if (r < n) pairs.push([ia[r], s < m ? ib[s] : -1]);
    else if (s < m) pairs.push([-1, ib[s]]);
  }
  return pairs;
}

/**
 * Bottleneck distance (L-infinity ground metric, as persim and GUDHI): the smallest epsilon with a
 * perfect matching of the augmented diagrams using only pairs of cost <= epsilon. Exact: a binary
 * search over the candidate costs, each step a Hopcroft-Karp matching over a geometric grid (src/topology/matching.ts).
 */
export function bottleneck(a: Diagram, b: Diagram): Matching {
  checkDiagram(a, "bottleneck (first diagram)");
  checkDiagram(b, "bottleneck (second diagram)");
  const A = split(a);
  const B = split(b);
  const essential = matchEssential(a, b, A.essential, B.essential);
  if (!essential) return { distance: Infinity, pairs: [] };
  const half = (birth: number, death: number) => (death - birth) / 2;
  const { distance, assignment } = bottleneckMatching(pointsOf(a, A.finite, half), pointsOf(b, B.finite, half));
  return { distance: Math.max(distance, ...essential.costs), pairs: [...pairsOf(assignment.rowToColumn, A.finite, B.finite), ...essential.pairs] };
}

export interface WassersteinOptions {
  /** The power q of W_q (default 1). */
  order?: number;
  /** Ground metric between points: "linf" (default, as GUDHI's internal_p = inf) or "l2". */
  ground?: "linf" | "l2";
  /**
   * The result is within this relative error of the exact distance, and never below it (default 1e-4;
   * GUDHI's hera default is 0.01; 0: to the optimum up to round-off, slower).
   */
  relativeError?: number;
}

/**
 * Wasserstein distance W_q between diagrams: an assignment of the augmented diagrams by the auction
 * algorithm with epsilon scaling, certified within relativeError of the optimum by the dual bound its
 * prices give (src/topology/matching.ts).
 */
export function wasserstein(a: Diagram, b: Diagram, options: WassersteinOptions = {}): Matching {
  const q = options.order ?? 1;
  if (!(q >= 1) || !Number.isFinite(q)) throw new Error(`wasserstein: order must be a finite number >= 1, got ${q}`);
  const ground = options.ground ?? "linf";
  if (ground !== "linf" && ground !== "l2") throw new Error(`wasserstein: ground must be "linf" or "l2", got "${ground as string}"`);
  const relativeError = options.relativeError ?? 1e-4;
  if (!(relativeError >= 0 && relativeError < 1)) throw new Error(`wasserstein: relativeError must be in [0, 1), got ${relativeError}`);
  checkDiagram(a, "wasserstein (first diagram)");
  checkDiagram(b, "wasserstein (second diagram)");
  const A = split(a);
  const B = split(b);
  const essential = matchEssential(a, b, A.essential, B.essential);
  if (!essential) return { distance: Infinity, pairs: [] };
  const toDiagonal = ground === "linf" ? (x: number, y: number) => (y - x) / 2 : (x: number, y: number) => (y - x) / Math.SQRT2;
  const { cost, assignment } = auctionAssignment(pointsOf(a, A.finite, toDiagonal), pointsOf(b, B.finite, toDiagonal), { order: q, ground, relativeError });
  let total = cost;
  for (const c of essential.costs) total += c ** q;
  return { distance: total ** (1 / q), pairs: [...pairsOf(assignment.rowToColumn, A.finite, B.finite), ...essential.pairs] };
}

function finiteRange(d: Diagram): [number, number] {
  const fin = d.filter((p) => p[1] !== Infinity);
  if (fin.length === 0) return [0, 1];
  return [Math.min(...fin.map((p) => p[0])), Math.max(...fin.map((p) => p[1]))];
}

/**
 * Betti curve: the number of intervals alive at each grid value, with half-open [birth, death)
 * (default grid: 100 values over the finite range).
 */
export function bettiCurve(d: Diagram, grid?: number[]): { grid: number[]; values: number[] } {
  checkDiagram(d, "bettiCurve");
  const g = grid ?? linspace(...finiteRange(d), 100);
  return { grid: g, values: g.map((t) => d.filter(([b, e]) => b <= t && t < e).length) };
}

/** Persistent entropy -sum p_i ln p_i with p_i = lifetime_i / total lifetime (finite intervals; NaN when all are empty). */
export function persistentEntropy(d: Diagram): number {
  checkDiagram(d, "persistentEntropy");
  const life = d.filter((p) => p[1] !== Infinity).map(([b, e]) => e - b).filter((l) => l > 0);
  const total = life.reduce((s, l) => s + l, 0);
  if (total === 0) return NaN;
  return -life.reduce((s, l) => s + (l / total) * Math.log(l / total), 0);
}

/**
 * Persistence landscapes in Bubenik's convention: values[k][i] = lambda_{k+1}(grid[i]), the (k+1)-th
 * largest tent max(0, min(t - b, d - t)); essential classes are tents that never come down.
 */
export function landscape(d: Diagram, options: { levels?: number; grid?: number[] } = {}): { grid: number[]; values: number[][] } {
  checkDiagram(d, "landscape");
  const levels = options.levels ?? 3;
  if (!Number.isInteger(levels) || levels < 1) throw new Error(`landscape: levels must be a positive integer, got ${levels}`);
  const grid = options.grid ?? linspace(...finiteRange(d), 100);
  const values = Array.from({ length: levels }, () => new Array<number>(grid.length).fill(0));
  grid.forEach((t, i) => {
    const tents = d.map(([b, e]) => Math.max(0, Math.min(t - b, e - t))).sort((x, y) => y - x);
    for (let k = 0; k < levels && k < tents.length; k++) values[k][i] = tents[k];
  });
  return { grid, values };
}

export interface PersistenceImageOptions {
  /** Pixels along each axis (default 20). */
  resolution?: number;
  /** Gaussian standard deviation (default: a tenth of the largest persistence). */
  sigma?: number;
  /** Birth range (default: the diagram's, padded by 3 sigma). */
  birthRange?: [number, number];
  /** Persistence range (default: [0, max persistence + 3 sigma]). */
  persistenceRange?: [number, number];
  /** Weight of an interval by its persistence (default: linear ramp p / max persistence, as persim). */
  weight?: (birth: number, persistence: number) => number;
  /** Refuse images estimated above this many megabytes (default: the topology tools' limit, within V8's heap). */
  maxMemoryMB?: number;
}

/** Bytes a resolution x resolution image of plain numbers takes in V8's heap (8 per value, row arrays included). */
const BYTES_PER_PIXEL = 8;

/**
 * Persistence image (Adams et al. 2017): each finite interval becomes a Gaussian at (birth, persistence)
 * weighted by weight(); each pixel holds the Gaussian's exact integral over it (erf), so the pixels of
 * a grid covering the mass sum to the total weight.
 */
export function persistenceImage(d: Diagram, options: PersistenceImageOptions = {}): { births: number[]; persistences: number[]; values: number[][] } {
  checkDiagram(d, "persistenceImage");
  const points = d.filter((p) => p[1] !== Infinity && p[1] > p[0]).map(([b, e]) => [b, e - b] as const);
  const maxP = points.length ? Math.max(...points.map((p) => p[1])) : 1;
  const sigma = options.sigma ?? maxP / 10;
  if (!(sigma > 0)) throw new Error(`persistenceImage: sigma must be positive, got ${sigma}`);
  const res = options.resolution ?? 20;
  if (!Number.isInteger(res) || res < 1) throw new Error(`persistenceImage: resolution must be a positive integer, got ${res}`);
  const budget = heapBudget(memoryBudget(options.maxMemoryMB, "persistenceImage"));
  if (res * res * BYTES_PER_PIXEL > budget) {
    const fit = Math.floor(Math.sqrt(budget / BYTES_PER_PIXEL));
    throw new Error(`persistenceImage: resolution ${res} gives ${res} x ${res} pixels, about ${((res * res * BYTES_PER_PIXEL) / 2 ** 20).toFixed(0)} MB, over the ${(budget / 2 ** 20).toFixed(0)} MB limit (maxMemoryMB, within the JS heap); use resolution <= ${fit}`);
  }
  const births = points.map((p) => p[0]);
  const [b0, b1] = options.birthRange ?? [Math.min(0, ...births) - 3 * sigma, Math.max(0, ...births) + 3 * sigma];
  const [p0, p1] = options.persistenceRange ?? [0, maxP + 3 * sigma];
  const weight = options.weight ?? ((_b: number, p: number) => p / maxP);
  const edges = (lo: number, hi: number) => linspace(lo, hi, res + 1);
  const be = edges(b0, b1);
  const pe = edges(p0, p1);
  const values = Array.from({ length: res }, () => new Array<number>(res).fill(0));
  const cdf = (x: number) => 0.5 * (1 + erf(x / (sigma * Math.SQRT2)));
  for (const [b, p] of points) {
    const w = weight(b, p);
    const bx = be.map((x) => cdf(x - b));
    const py = pe.map((y) => cdf(y - p));
    for (let i = 0; i < res; i++) for (let j = 0; j < res; j++) values[i][j] += w * (py[i + 1] - py[i]) * (bx[j + 1] - bx[j]);
  }
  const centers = (e: number[]) => e.slice(0, -1).map((x, i) => (x + e[i + 1]) / 2);
  return { births: centers(be), persistences: centers(pe), values };
}

export { linspace };
