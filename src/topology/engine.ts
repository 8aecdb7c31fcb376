/**
 * Vietoris-Rips persistent homology over Z/2, after the algorithm published for Ripser (U. Bauer,
 * J. Appl. Comput. Topol. 2021): cohomology with clearing, simplices indexed by the combinatorial
 * number system with cofacets enumerated on the fly, zero-persistence apparent pairs and emergent
 * pairs skipped, only the reduction matrix stored. Written from the paper's description.
 *
 * Filtration order: diameter ascending, ties by combinatorial index descending. A coboundary
 * column's pivot is its oldest cofacet in that order; columns are reduced youngest first.
 */
import { DisjointSets, IndexMap, SimplexList, WorkingColumn } from "./structures";

export type Interval = [birth: number, death: number];

export interface EngineInput {
  /** Full n x n float32 distance matrix, row-major. */
  distances: Float32Array;
  n: number;
  maxDim: number;
  /** Simplices with a larger diameter are left out. */
  threshold: number;
  /** Collect representative cocycles (dimensions >= 1). */
  cocycles: boolean;
  /** Builds the next dimension's columns in place of assembleNextColumns (e.g. split over worker threads). */
  assemble?: (simplices: SimplexList, dim: number, pivots: IndexMap, keepSimplices: boolean) => NextColumns;
}

export interface EngineOutput {
  diagrams: Interval[][];
  /** cocycles[d][k]: the simplices (vertex lists) of the cocycle of diagrams[d][k], for d >= 1. */
  cocycles: number[][][][] | null;
  /** Columns actually reduced and pairs found by the apparent/emergent shortcuts, per dimension. */
  stats: { dim: number; simplices: number; columns: number; apparent: number; emergent: number; additions: number }[];
}

/** Below this fraction of vertex pairs within the threshold, cofacets come from neighbour lists. */
const SPARSE_FRACTION = 0.25;

/** Largest simplex count whose index still fits a double exactly. */
export const MAX_INDEX = 2 ** 53;

/** C(n, k) exactly as a double, or Infinity past 2^53. */
export function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let r = 1;
  for (let i = 1; i <= k; i++) {
    r = (r * (n - k + i)) / i;
    if (r >= MAX_INDEX) return Infinity;
  }
  return Math.round(r);
}

export class RipsComplex {
  readonly n: number;
  readonly dist: Float32Array;
  readonly threshold: number;
  /** binom[k * (n + 1) + v] = C(v, k) for k <= maxDim + 2. */
  private readonly binom: Float64Array;
  private readonly stride: number;
  private readonly verts: Int32Array;
  private readonly facetVerts: Int32Array;

  // Cofacet enumeration state (one enumeration at a time).
  private cIdxBelow = 0;
  private cIdxAbove = 0;
  private cV = 0;
  private cK = 0;
  private cDiam = 0;
  private cDim = 0;
  private cAll = true;
  // Sparse mode (a threshold well below the enclosing radius): each vertex's neighbours within the
  // threshold, descending, in one CSR array; cofacets are then enumerated from the neighbour list of
  // the simplex's least connected vertex instead of from all n vertices, in the same order.
  private readonly neighbourStart: Int32Array | null = null;
  private readonly neighbours: Int32Array | null = null;
  private cPos = 0;
  private cEnd = 0;
  private cJ = 0;
  cofacetIndex = 0;
  cofacetDiam = 0;

  constructor(dist: Float32Array, n: number, maxDim: number, threshold: number) {
    this.n = n;
    this.dist = dist;
    this.threshold = threshold;
    this.stride = n + 1;
    const kMax = maxDim + 2;
    this.binom = new Float64Array((kMax + 1) * this.stride);
    for (let k = 0; k <= kMax; k++) for (let v = 0; v <= n; v++) this.binom[k * this.stride + v] = binomial(v, k);
    this.verts = new Int32Array(kMax + 1);
    this.facetVerts = new Int32Array(kMax + 1);
    let within = 0;
    for (let i = 0; i < n * n; i++) if (dist[i] <= threshold) within++;
    within -= n; // the diagonal
    if (within < SPARSE_FRACTION * n * (n - 1)) {
      this.neighbourStart = new Int32Array(n + 1);
      this.neighbours = new Int32Array(within);
      let at = 0;
      for (let v = 0; v < n; v++) {
        this.neighbourStart[v] = at;
        for (let w = n - 1; w >= 0; w--) if (w !== v && dist[v * n + w] <= threshold) this.neighbours[at++] = w;
      }
      this.neighbourStart[n] = at;
    }
  }

  /** True when cofacets are enumerated from neighbour lists. */
  get sparse(): boolean {
    return this.neighbours !== null;
  }

  private C(v: number, k: number): number {
    return this.binom[k * this.stride + v];
  }

  /** Writes the dim+1 vertices of a simplex (descending) into out. */
  vertices(index: number, dim: number, out: Int32Array = this.verts): Int32Array {
    let idx = index;
    let top = this.n - 1;
    for (let k = dim + 1; k >= 1; k--) {
      // largest v <= top with C(v, k) <= idx
      let lo = k - 1;
      let hi = top;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (this.C(mid, k) <= idx) lo = mid;
        else hi = mid - 1;
      }
      out[dim + 1 - k] = lo;
      idx -= this.C(lo, k);
      top = lo - 1;
    }
    return out;
  }

  /** Index of a simplex given its vertices in descending order. */
  indexOf(vertices: ArrayLike<number>): number {
    const k = vertices.length;
    let idx = 0;
    for (let i = 0; i < k; i++) idx += this.C(vertices[i], k - i);
    return idx;
  }

  diameterOf(vertices: ArrayLike<number>, count = vertices.length): number {
    let d = 0;
    const D = this.dist;
    const n = this.n;
    for (let i = 0; i < count; i++) for (let j = i + 1; j < count; j++) d = Math.max(d, D[vertices[i] * n + vertices[j]]);
    return d;
  }

  /**
   * Starts enumerating the cofacets of a simplex in index-descending order; with all = false only
   * those adding a vertex above the simplex's top vertex (each simplex is then met once overall).
   */
  startCofacets(index: number, diam: number, dim: number, all: boolean): void {
    this.vertices(index, dim);
    this.cIdxBelow = index;
    this.cIdxAbove = 0;
    this.cV = this.n - 1;
    this.cK = dim + 1;
    this.cDiam = diam;
    this.cDim = dim;
    this.cAll = all;
    if (this.neighbourStart) {
      let best = this.verts[0];
      for (let i = 1; i <= dim; i++) {
        const v = this.verts[i];
        if (this.neighbourStart[v + 1] - this.neighbourStart[v] < this.neighbourStart[best + 1] - this.neighbourStart[best]) best = v;
      }
      this.cPos = this.neighbourStart[best];
      this.cEnd = this.neighbourStart[best + 1];
      this.cJ = 0;
    }
  }

  /** Advances to the next cofacet (cofacetIndex, cofacetDiam); false when there is none. */
  nextCofacet(): boolean {
    if (this.neighbours) return this.nextSparseCofacet();
    // Hot loop: locals and direct table reads (binom[k * stride + v] = C(v, k)).
    const B = this.binom;
    const S = this.stride;
    let v = this.cV;
    let k = this.cK;
    let below = this.cIdxBelow;
    while (k > 0 && B[k * S + v] <= below) {
      if (!this.cAll) return false;
      below -= B[k * S + v];
      this.cIdxAbove += B[(k + 1) * S + v];
      v--;
      k--;
    }
    this.cIdxBelow = below;
    if (v < k || v < 0) return false;
    this.cofacetIndex = this.cIdxAbove + B[(k + 1) * S + v] + below;
    let d = this.cDiam;
    const D = this.dist;
    const row = v * this.n;
    const verts = this.verts;
    const last = this.cDim;
    for (let i = 0; i <= last; i++) {
      const x = D[row + verts[i]];
      if (x > d) d = x;
    }
    this.cofacetDiam = d;
    this.cV = v - 1;
    this.cK = k;
    return true;
  }

  /** nextCofacet over a neighbour list: only cofacets within the threshold, in the dense order. */
  private nextSparseCofacet(): boolean {
    const B = this.binom;
    const S = this.stride;
    const D = this.dist;
    const n = this.n;
    const list = this.neighbours!;
    const verts = this.verts;
    const last = this.cDim;
    const threshold = this.threshold;
    let k = this.cK;
    let j = this.cJ;
    let below = this.cIdxBelow;
    let above = this.cIdxAbove;
    while (this.cPos < this.cEnd) {
      const v = list[this.cPos++];
      // Simplex vertices above v move from the part below to the part above, as in the dense walk.
      while (j <= last && verts[j] > v) {
        if (!this.cAll) {
          this.cPos = this.cEnd;
          return false;
        }
        below -= B[k * S + verts[j]];
        above += B[(k + 1) * S + verts[j]];
        k--;
        j++;
      }
      if (j <= last && verts[j] === v) continue;
      let d = this.cDiam;
      const row = v * n;
      let within = true;
      for (let i = 0; i <= last; i++) {
        const x = D[row + verts[i]];
        if (x > threshold) {
          within = false;
          break;
        }
        if (x > d) d = x;
      }
      if (!within) continue;
      this.cofacetIndex = above + B[(k + 1) * S + v] + below;
      this.cofacetDiam = d;
      this.cK = k;
      this.cJ = j;
      this.cIdxBelow = below;
      this.cIdxAbove = above;
      return true;
    }
    return false;
  }

  /**
   * The oldest cofacet of the same diameter (the coboundary pivot when it exists), or -1: the first
   * added vertex, in enumeration order, within `diam` of every vertex (checked with an early exit).
   */
  zeroPivotCofacet(index: number, diam: number, dim: number): number {
    if (this.neighbours) {
      this.startCofacets(index, diam, dim, true);
      while (this.nextSparseCofacet()) if (this.cofacetDiam === diam) return this.cofacetIndex;
      return -1;
    }
    const verts = this.vertices(index, dim);
    const B = this.binom;
    const S = this.stride;
    const D = this.dist;
    const n = this.n;
    let below = index;
    let above = 0;
    let k = dim + 1;
    for (let v = n - 1; v >= 0; v--) {
      if (k > 0 && B[k * S + v] <= below) {
        // v is a vertex of the simplex: it moves from the part below to the part above.
        below -= B[k * S + v];
        above += B[(k + 1) * S + v];
        k--;
        continue;
      }
      const row = v * n;
      let within = true;
      for (let i = 0; i <= dim; i++) {
        if (D[row + verts[i]] > diam) {
          within = false;
          break;
        }
      }
      if (within) return above + B[(k + 1) * S + v] + below;
    }
    return -1;
  }

  /** The youngest facet of the same diameter (the boundary pivot when it exists), or -1. */
  zeroPivotFacet(index: number, diam: number, dim: number): number {
    const v = this.vertices(index, dim, this.facetVerts);
    let best = -1;
    const f = this.verts;
    for (let skip = 0; skip <= dim; skip++) {
      let m = 0;
      for (let i = 0; i <= dim; i++) if (i !== skip) f[m++] = v[i];
      if (this.diameterOf(f, dim) !== diam) continue;
      let idx = 0;
      for (let i = 0; i < dim; i++) idx += this.C(f[i], dim - i);
      if (best === -1 || idx < best) best = idx;
    }
    return best;
  }

  /** The facet forming a zero-persistence apparent pair with this simplex, or -1. */
  zeroApparentFacet(index: number, diam: number, dim: number): number {
    const facet = this.zeroPivotFacet(index, diam, dim);
    return facet !== -1 && this.zeroPivotCofacet(facet, diam, dim - 1) === index ? facet : -1;
  }

  /** The cofacet forming a zero-persistence apparent pair with this simplex, or -1. */
  zeroApparentCofacet(index: number, diam: number, dim: number): number {
    const cofacet = this.zeroPivotCofacet(index, diam, dim);
    return cofacet !== -1 && this.zeroPivotFacet(cofacet, diam, dim + 1) === index ? cofacet : -1;
  }

  inZeroApparentPair(index: number, diam: number, dim: number): boolean {
    return this.zeroApparentCofacet(index, diam, dim) !== -1 || this.zeroApparentFacet(index, diam, dim) !== -1;
  }
}

/** Reduction matrix columns (Z/2): offsets into one growable entry list. */
class ReductionMatrix {
  private starts = new Int32Array(1024);
  readonly entries = new SimplexList(1024);
  columns = 0;

  startColumn(): void {
    if (this.columns + 1 >= this.starts.length) {
      const s = new Int32Array(this.starts.length * 2);
      s.set(this.starts);
      this.starts = s;
    }
    this.starts[this.columns] = this.entries.length;
    this.columns++;
    this.starts[this.columns] = this.entries.length;
  }

  push(diam: number, index: number): void {
    this.entries.push(diam, index);
    this.starts[this.columns] = this.entries.length;
  }

  begin(column: number): number {
    return this.starts[column];
  }

  end(column: number): number {
    return this.starts[column + 1];
  }
}

export function computePersistence(input: EngineInput): EngineOutput {
  const { distances, n, maxDim, threshold } = input;
  const complex = new RipsComplex(distances, n, maxDim, threshold);
  const diagrams: Interval[][] = Array.from({ length: maxDim + 1 }, () => []);
  const cocycles: number[][][][] | null = input.cocycles ? Array.from({ length: maxDim + 1 }, () => []) : null;
  const stats: EngineOutput["stats"] = [];

  // Edges within the threshold, in filtration order.
  const edges = new SimplexList(1024);
  for (let i = 1; i < n; i++) {
    const row = i * n;
    const base = (i * (i - 1)) / 2;
    for (let j = 0; j < i; j++) {
      const d = distances[row + j];
      if (d <= threshold) edges.push(d, base + j);
    }
  }
  edges.sortFiltration();

  // H0 by union-find (Kruskal); edges that merge nothing are the columns of dimension 1.
  const sets = new DisjointSets(n);
  let columns = new SimplexList(Math.max(16, edges.length - n));
  const ends = new Int32Array(2);
  let apparent = 0;
  for (let e = 0; e < edges.length; e++) {
    const d = edges.diam[e];
    const idx = edges.index[e];
    complex.vertices(idx, 1, ends);
    const a = sets.find(ends[0]);
    const b = sets.find(ends[1]);
    if (a !== b) {
      if (d !== 0) diagrams[0].push([0, d]);
      sets.union(a, b);
    } else if (maxDim >= 1) {
      if (complex.zeroApparentCofacet(idx, d, 1) === -1) columns.push(d, idx);
      else apparent++;
    }
  }
  for (let v = 0; v < n; v++) if (sets.find(v) === v) diagrams[0].push([0, Infinity]);
  stats.push({ dim: 0, simplices: n, columns: 0, apparent: 0, emergent: 0, additions: 0 });
  columns.reverse();

  let simplices = edges;
  const working = new WorkingColumn();
  const workingReduction = new WorkingColumn();
  const cocycleVerts = new Int32Array(maxDim + 2);
  for (let dim = 1; dim <= maxDim; dim++) {
    const pivots = new IndexMap(columns.length);
    const reduction = new ReductionMatrix();
    let emergent = 0;
    let additions = 0;
    const addCoboundary = (diam: number, index: number): void => {
      workingReduction.push(diam, index);
      complex.startCofacets(index, diam, dim, true);
      while (complex.nextCofacet()) if (complex.cofacetDiam <= threshold) working.push(complex.cofacetDiam, complex.cofacetIndex);
    };
    for (let c = 0; c < columns.length; c++) {
      const birth = columns.diam[c];
      const sigma = columns.index[c];
      reduction.startColumn();
      working.clear();
      workingReduction.clear();

      // Coboundary of sigma; stop early at an emergent pair (its first same-diameter cofacet is the
      // pivot, and nothing else claims it).
      let found = false;
      let pivotDiam = 0;
      let pivotIndex = -1;
      let checkEmergent = true;
      complex.startCofacets(sigma, birth, dim, true);
      while (complex.nextCofacet()) {
        const cd = complex.cofacetDiam;
        if (cd > threshold) continue;
        const ci = complex.cofacetIndex;
        working.push(cd, ci);
        if (checkEmergent && cd === birth) {
          checkEmergent = false;
          if (!pivots.has(ci)) {
            const cofacetIndex = ci;
            if (complex.zeroApparentFacet(cofacetIndex, cd, dim + 1) === -1) {
              found = true;
              pivotDiam = cd;
              pivotIndex = cofacetIndex;
              emergent++;
              break;
            }
            // The check above moved the enumerator: resume after this cofacet.
            complex.startCofacets(sigma, birth, dim, true);
            while (complex.nextCofacet() && complex.cofacetIndex !== cofacetIndex);
          }
        }
      }
      if (!found) {
        found = working.pivot();
        pivotDiam = working.pivotDiam;
        pivotIndex = working.pivotIndex;
      }

      for (;;) {
        if (!found) {
          diagrams[dim].push([birth, Infinity]);
          if (cocycles) cocycles[dim].push(cocycleOf(complex, drain(workingReduction), sigma, dim, cocycleVerts));
          break;
        }
        const other = pivots.get(pivotIndex);
        if (other !== -1) {
          additions++;
          addCoboundary(columns.diam[other], columns.index[other]);
          for (let e = reduction.begin(other), end = reduction.end(other); e < end; e++) addCoboundary(reduction.entries.diam[e], reduction.entries.index[e]);
        } else {
          const facet = complex.zeroApparentFacet(pivotIndex, pivotDiam, dim + 1);
          if (facet !== -1) {
            additions++;
            addCoboundary(pivotDiam, facet);
          } else {
            if (pivotDiam > birth) {
              diagrams[dim].push([birth, pivotDiam]);
              if (cocycles) {
                const stored = drain(workingReduction);
                cocycles[dim].push(cocycleOf(complex, stored, sigma, dim, cocycleVerts));
                refill(workingReduction, stored);
              }
            }
            pivots.set(pivotIndex, c);
            while (workingReduction.popPivot()) reduction.push(workingReduction.pivotDiam, workingReduction.pivotIndex);
            break;
          }
        }
        found = working.pivot();
        pivotDiam = working.pivotDiam;
        pivotIndex = working.pivotIndex;
      }
    }
    stats.push({ dim, simplices: simplices.length, columns: columns.length, apparent, emergent, additions });

    if (dim < maxDim) {
      // Columns of the next dimension: cofacets not cleared (paired here) and not in apparent pairs.
      const keepSimplices = dim + 1 < maxDim;
      const { next, nextColumns, apparent: found } = input.assemble
        ? input.assemble(simplices, dim, pivots, keepSimplices)
        : assembleNextColumns(complex, simplices, 0, simplices.length, dim, pivots, keepSimplices);
      apparent = found;
      nextColumns.sortFiltration();
      nextColumns.reverse();
      columns = nextColumns;
      simplices = keepSimplices ? next : new SimplexList(16);
    }
  }
  return { diagrams, cocycles, stats };
}

export interface NextColumns {
  /** The simplices of dimension dim + 1 (kept only when a further dimension needs them). */
  next: SimplexList;
  /** Those neither cleared (a pivot of dimension dim) nor in a zero-persistence apparent pair, unsorted. */
  nextColumns: SimplexList;
  apparent: number;
}

/**
 * The columns of dimension dim + 1 from simplices[from, to) of dimension dim: each cofacet is met once
 * (only vertices above the top one are added). Chunks are independent, so they can run on workers.
 */
export function assembleNextColumns(complex: RipsComplex, simplices: SimplexList, from: number, to: number, dim: number, pivots: IndexMap, keepSimplices: boolean): NextColumns {
  const next = new SimplexList(keepSimplices ? to - from : 16);
  const nextColumns = new SimplexList(to - from);
  const found = new SimplexList(complex.n);
  let apparent = 0;
  for (let s = from; s < to; s++) {
    complex.startCofacets(simplices.index[s], simplices.diam[s], dim, false);
    // Collect first: the apparent-pair checks reuse the enumerator.
    found.clear();
    while (complex.nextCofacet()) if (complex.cofacetDiam <= complex.threshold) found.push(complex.cofacetDiam, complex.cofacetIndex);
    for (let f = 0; f < found.length; f++) {
      const d = found.diam[f];
      const idx = found.index[f];
      if (keepSimplices) next.push(d, idx);
      if (pivots.has(idx)) continue;
      if (complex.inZeroApparentPair(idx, d, dim + 1)) apparent++;
      else nextColumns.push(d, idx);
    }
  }
  return { next, nextColumns, apparent };
}

/** Pops every entry of a working column (Z/2-cancelled) as flat [diam, index, ...]. */
function drain(column: WorkingColumn): number[] {
  const out: number[] = [];
  while (column.popPivot()) out.push(column.pivotDiam, column.pivotIndex);
  return out;
}

function refill(column: WorkingColumn, entries: number[]): void {
  column.clear();
  for (let i = 0; i < entries.length; i += 2) column.push(entries[i], entries[i + 1]);
}

/** The cocycle sigma + (reduction entries), as vertex lists. */
function cocycleOf(complex: RipsComplex, entries: number[], sigma: number, dim: number, verts: Int32Array): number[][] {
  const simplices = [sigma];
  for (let i = 1; i < entries.length; i += 2) simplices.push(entries[i]);
  return simplices.map((s) => Array.from(complex.vertices(s, dim, verts).subarray(0, dim + 1)));
}
