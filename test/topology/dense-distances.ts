/**
 * Exact dense references for the diagram distances (the implementations this module had before the
 * scalable ones): bottleneck by binary search over every candidate cost with a plain augmenting-path
 * matching on the full augmented cost matrix, W_q by the O(N^3) Hungarian algorithm. Small inputs only.
 */
import { split, type Diagram } from "../../src/topology/diagrams";

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

const linf = (x: number, y: number) => Math.max(Math.abs(x), Math.abs(y));

/** Bottleneck distance of the finite parts (L-infinity ground), exactly. */
export function denseBottleneck(a: Diagram, b: Diagram): number {
  const A = split(a).finite;
  const B = split(b).finite;
  const size = A.length + B.length;
  if (size === 0) return 0;
  const costs = augmentedCosts(a, b, A, B, linf, ([x, y]) => (y - x) / 2);
  const candidates = Array.from(new Set(Array.from(costs).filter((c) => c !== Infinity))).sort((x, y) => x - y);
  let lo = 0;
  let hi = candidates.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (perfectMatching(costs, size, candidates[mid])) hi = mid;
    else lo = mid + 1;
  }
  return candidates[lo];
}

/** W_q of the finite parts, exactly (Hungarian algorithm). */
export function denseWasserstein(a: Diagram, b: Diagram, q = 1, ground: "linf" | "l2" = "linf"): number {
  const A = split(a).finite;
  const B = split(b).finite;
  const size = A.length + B.length;
  if (size === 0) return 0;
  const metric = ground === "linf" ? linf : (x: number, y: number) => Math.hypot(x, y);
  const toDiagonal = ground === "linf" ? ([x, y]: readonly [number, number]) => (y - x) / 2 : ([x, y]: readonly [number, number]) => (y - x) / Math.SQRT2;
  const costs = augmentedCosts(a, b, A, B, (x, y) => metric(x, y) ** q, (p) => toDiagonal(p) ** q);
  const assignment = hungarian(costs, size);
  let total = 0;
  for (let r = 0; r < size; r++) total += costs[r * size + assignment[r]];
  return total ** (1 / q);
}
