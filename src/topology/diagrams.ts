/**
 * Tools on persistence diagrams (arrays of [birth, death), death Infinity for essential classes):
 * lifetimes, filtering, bottleneck and Wasserstein distances with their matchings, landscapes (Bubenik's
 * convention: lambda_k(t) = k-th largest max(0, min(t - b, d - t)); GUDHI's values are sqrt 2 times these),
 * Betti curves, persistent entropy and persistence images.
 */
import type { Interval } from "./engine";
import { erf, linspace } from "../math/special";
import { heapBudget, memoryBudget } from "./input";

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

function split(d: Diagram): Split {
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

/**
 * The square cost matrix of the diagonal-augmented problem: rows are A's points then B's diagonal
 * projections, columns B's points then A's projections. A point may go to its own projection only.
 */
function augmentedCosts(a: Diagram, b: Diagram, ia: number[], ib: number[], ground: (x: number, y: number) => number, toDiagonal: (p: readonly [number, number]) => number): Float64Array {
  const n = ia.length;
  const m = ib.length;
  const size = n + m;
  const c = new Float64Array(size * size);
  for (let r = 0; r < size; r++) {
    for (let s = 0; s < size; s++) {
      let v: number;
      if (r < n && s < m) v = ground(a[ia[r]][0] - b[ib[s]][0], a[ia[r]][1] - b[ib[s]][1]);
      else if (r < n) v = s - m === r ? toDiagonal(a[ia[r]]) : Infinity;
      else if (s < m) v = r - n === s ? toDiagonal(b[ib[s]]) : Infinity;
      else v = 0;
      c[r * size + s] = v;
    }
  }
  return c;
}

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
 * perfect matching of the augmented diagrams using only pairs of cost <= epsilon; found exactly by
 * binary search over the candidate costs with a bipartite matching at each step.
 */
export function bottleneck(a: Diagram, b: Diagram): Matching {
  checkDiagram(a, "bottleneck (first diagram)");
  checkDiagram(b, "bottleneck (second diagram)");
  const A = split(a);
  const B = split(b);
  const essential = matchEssential(a, b, A.essential, B.essential);
  if (!essential) return { distance: Infinity, pairs: [] };
  const size = A.finite.length + B.finite.length;
  const costs = augmentedCosts(a, b, A.finite, B.finite, (x, y) => Math.max(Math.abs(x), Math.abs(y)), ([x, y]) => (y - x) / 2);
  const candidates = Array.from(new Set(Array.from(costs).filter((c) => c !== Infinity))).sort((x, y) => x - y);
  let lo = 0;
  let hi = candidates.length - 1;
  let best = size === 0 ? new Int32Array(0) : perfectMatching(costs, size, candidates[hi] ?? 0)!;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const m = perfectMatching(costs, size, candidates[mid]);
    if (m) {
      best = m;
      hi = mid;
    } else lo = mid + 1;
  }
  const finite = size === 0 ? 0 : candidates[lo];
  return { distance: Math.max(finite, ...essential.costs), pairs: [...pairsOf(best, A.finite, B.finite), ...essential.pairs] };
}

/** A perfect matching of rows to columns using only costs <= limit (Hopcroft-Karp style augmenting paths), or null. */
function perfectMatching(costs: Float64Array, size: number, limit: number): Int32Array | null {
  const rowOf = new Int32Array(size).fill(-1);
  const colOf = new Int32Array(size).fill(-1);
  const seen = new Int32Array(size).fill(-1);
  const augment = (r: number, round: number): boolean => {
    for (let s = 0; s < size; s++) {
      if (costs[r * size + s] > limit || seen[s] === round) continue;
      seen[s] = round;
      if (rowOf[s] === -1 || augment(rowOf[s], round)) {
        rowOf[s] = r;
        colOf[r] = s;
        return true;
      }
    }
    return false;
  };
  for (let r = 0; r < size; r++) if (!augment(r, r)) return null;
  return colOf;
}

export interface WassersteinOptions {
  /** The power q of W_q (default 1). */
  order?: number;
  /** Ground metric between points: "linf" (default, as GUDHI's internal_p = inf) or "l2". */
  ground?: "linf" | "l2";
}

/** Wasserstein distance W_q between diagrams: an optimal assignment (Hungarian algorithm) of the augmented diagrams. */
export function wasserstein(a: Diagram, b: Diagram, options: WassersteinOptions = {}): Matching {
  const q = options.order ?? 1;
  if (!(q >= 1) || !Number.isFinite(q)) throw new Error(`wasserstein: order must be a finite number >= 1, got ${q}`);
  const ground = options.ground ?? "linf";
  if (ground !== "linf" && ground !== "l2") throw new Error(`wasserstein: ground must be "linf" or "l2", got "${ground as string}"`);
  checkDiagram(a, "wasserstein (first diagram)");
  checkDiagram(b, "wasserstein (second diagram)");
  const A = split(a);
  const B = split(b);
  const essential = matchEssential(a, b, A.essential, B.essential);
  if (!essential) return { distance: Infinity, pairs: [] };
  const metric = ground === "linf" ? (x: number, y: number) => Math.max(Math.abs(x), Math.abs(y)) : (x: number, y: number) => Math.hypot(x, y);
  const toDiagonal = ground === "linf" ? ([x, y]: readonly [number, number]) => (y - x) / 2 : ([x, y]: readonly [number, number]) => (y - x) / Math.SQRT2;
  const size = A.finite.length + B.finite.length;
  const costs = augmentedCosts(a, b, A.finite, B.finite, (x, y) => metric(x, y) ** q, (p) => toDiagonal(p) ** q);
  const assignment = hungarian(costs, size);
  let total = 0;
  for (let r = 0; r < size; r++) total += costs[r * size + assignment[r]];
  for (const c of essential.costs) total += c ** q;
  return { distance: total ** (1 / q), pairs: [...pairsOf(assignment, A.finite, B.finite), ...essential.pairs] };
}

/** Minimum-cost assignment of a square matrix (Infinity = forbidden), O(size^3) with potentials. */
function hungarian(costs: Float64Array, size: number): Int32Array {
  // Forbidden pairs get a finite cost larger than any allowed total, so the potentials stay finite.
  let big = 1;
  for (const c of costs) if (c !== Infinity) big += c;
  const cost = (r: number, s: number) => {
    const c = costs[r * size + s];
    return c === Infinity ? big : c;
  };
  const u = new Float64Array(size + 1);
  const v = new Float64Array(size + 1);
  const rowOfCol = new Int32Array(size + 1); // 1-based rows; 0 = free
  const way = new Int32Array(size + 1);
  for (let r = 1; r <= size; r++) {
    rowOfCol[0] = r;
    let col = 0;
    const minv = new Float64Array(size + 1).fill(Infinity);
    const used = new Uint8Array(size + 1);
    do {
      used[col] = 1;
      const row = rowOfCol[col];
      let delta = Infinity;
      let next = 0;
      for (let s = 1; s <= size; s++) {
        if (used[s]) continue;
        const cur = cost(row - 1, s - 1) - u[row] - v[s];
        if (cur < minv[s]) {
          minv[s] = cur;
          way[s] = col;
        }
        if (minv[s] < delta) {
          delta = minv[s];
          next = s;
        }
      }
      for (let s = 0; s <= size; s++) {
        if (used[s]) {
          u[rowOfCol[s]] += delta;
          v[s] -= delta;
        } else minv[s] -= delta;
      }
      col = next;
    } while (rowOfCol[col] !== 0);
    do {
      const prev = way[col];
      rowOfCol[col] = rowOfCol[prev];
      col = prev;
    } while (col !== 0);
  }
  const assignment = new Int32Array(size);
  for (let s = 1; s <= size; s++) if (rowOfCol[s] > 0) assignment[rowOfCol[s] - 1] = s - 1;
  return assignment;
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
