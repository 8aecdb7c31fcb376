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
  assemble?: (complex: RipsComplex, simplices: SimplexList, dim: number, pivots: IndexMap, keepSimplices: boolean) => NextColumns;
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
  private readonly pivotVerts: Int32Array;

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
  /** The vertex the current cofacet adds to the simplex. */
  cofacetVertex = 0;

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
    this.pivotVerts = new Int32Array(kMax + 1);
    // Ordered pairs within the threshold: twice the lower triangle's (the matrix is symmetric).
    let within = 0;
    for (let i = 1; i < n; i++) for (let j = i * n, end = i * n + i; j < end; j++) if (dist[j] <= threshold) within++;
    within *= 2;
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

  /** The edges within the threshold (unsorted): from the neighbour lists in sparse mode, else one pass over the matrix. */
  edges(): SimplexList {
    const { n, dist, threshold } = this;
    const list = this.neighbours;
    const start = this.neighbourStart;
    const edges = new SimplexList(list ? list.length / 2 : 1024);
    for (let i = 1; i < n; i++) {
      const row = i * n;
      const base = (i * (i - 1)) / 2;
      if (list && start) {
        // Neighbours are descending: those below i come last.
        for (let p = start[i + 1] - 1; p >= start[i] && list[p] < i; p--) edges.push(dist[row + list[p]], base + list[p]);
      } else {
        for (let j = 0; j < i; j++) {
          const d = dist[row + j];
          if (d <= threshold) edges.push(d, base + j);
        }
      }
    }
    return edges;
  }

  /** True when cofacets are enumerated from neighbour lists. */
  get sparse(): boolean {
    return this.neighbours !== null;
  }

  /** Vertices looked at per cofacet enumeration: all of them, or a neighbour list's mean length in sparse mode. */
  get cofacetScan(): number {
    return this.neighbours ? this.neighbours.length / this.n : this.n;
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
    this.cofacetVertex = v;
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
      this.cofacetVertex = v;
      this.cK = k;
      this.cJ = j;
      this.cIdxBelow = below;
      this.cIdxAbove = above;
      return true;
    }
    return false;
  }

  /**
   * The largest vertex above `floor`, not among verts[0..count) (descending), within `diam` of each
   * of them, or -1. Its cofacet is the oldest one of diameter `diam`: the coboundary pivot when the
   * simplex has that diameter. Sparse mode scans the least connected vertex's neighbour list, which
   * holds every candidate (diam <= threshold) in the same descending order.
   */
  private firstCloseVertex(verts: Int32Array, count: number, diam: number, floor: number): number {
    const D = this.dist;
    const n = this.n;
    const start = this.neighbourStart;
    let from = 0;
    let to = n;
    let list: Int32Array | null = null;
    if (start) {
      let best = verts[0];
      for (let i = 1; i < count; i++) if (start[verts[i] + 1] - start[verts[i]] < start[best + 1] - start[best]) best = verts[i];
      list = this.neighbours;
      from = start[best];
      to = start[best + 1];
    }
    let j = 0;
    for (let p = from; p < to; p++) {
      const w = list ? list[p] : n - 1 - p;
      if (w <= floor) return -1;
      while (j < count && verts[j] > w) j++;
      if (j < count && verts[j] === w) continue;
      const row = w * n;
      let within = true;
      for (let i = 0; i < count; i++) {
        if (D[row + verts[i]] > diam) {
          within = false;
          break;
        }
      }
      if (within) return w;
    }
    return -1;
  }

  /** Diameter of verts[0..count) without the vertex at position skip. */
  private diameterWithout(verts: Int32Array, count: number, skip: number): number {
    const D = this.dist;
    const n = this.n;
    let d = 0;
    for (let i = 0; i < count; i++) {
      if (i === skip) continue;
      const row = verts[i] * n;
      for (let j = i + 1; j < count; j++) if (j !== skip && D[row + verts[j]] > d) d = D[row + verts[j]];
    }
    return d;
  }

  /**
   * The cofacet forming a zero-persistence apparent pair with the simplex verts[0..dim] (descending)
   * of diameter diam, or -1: its oldest same-diameter cofacet, whose youngest same-diameter facet is
   * the simplex again. w: the vertex that cofacet adds, when the caller knows it (-1: none). Facets of smaller index leave out a larger vertex, so that holds when leaving
   * out any vertex above the added one lowers the diameter.
   */
  apparentCofacet(verts: Int32Array, dim: number, diam: number, w = this.firstCloseVertex(verts, dim + 1, diam, -1)): number {
    const count = dim + 1;
    if (w === -1) return -1;
    const D = this.dist;
    const wRow = w * this.n;
    for (let s = 0; s < count && verts[s] > w; s++) {
      if (this.diameterWithout(verts, count, s) === diam) return -1;
      for (let i = 0; i < count; i++) if (i !== s && D[wRow + verts[i]] === diam) return -1;
    }
    let index = 0;
    let k = count + 1;
    let placed = false;
    for (let i = 0; i < count; i++) {
      if (!placed && w > verts[i]) {
        index += this.C(w, k--);
        placed = true;
      }
      index += this.C(verts[i], k--);
    }
    if (!placed) index += this.C(w, 1);
    return index;
  }

  /**
   * The facet forming a zero-persistence apparent pair with the simplex verts[0..dim] (descending)
   * of diameter diam, or -1: its youngest same-diameter facet (leaving out the largest vertex
   * possible), when no vertex above the one left out gives that facet a same-diameter cofacet.
   */
  apparentFacet(verts: Int32Array, dim: number, diam: number): number {
    const count = dim + 1;
    let skip = 0;
    while (skip < count && this.diameterWithout(verts, count, skip) !== diam) skip++;
    if (skip === count) return -1;
    const facet = this.facetVerts;
    let m = 0;
    for (let i = 0; i < count; i++) if (i !== skip) facet[m++] = verts[i];
    if (this.firstCloseVertex(facet, dim, diam, verts[skip]) !== -1) return -1;
    let index = 0;
    for (let i = 0; i < dim; i++) index += this.C(facet[i], dim - i);
    return index;
  }

  /** apparentFacet of a simplex given by its index. */
  zeroApparentFacet(index: number, diam: number, dim: number): number {
    return this.apparentFacet(this.vertices(index, dim, this.pivotVerts), dim, diam);
  }

  inZeroApparentPair(verts: Int32Array, dim: number, diam: number): boolean {
    return this.apparentCofacet(verts, dim, diam) !== -1 || this.apparentFacet(verts, dim, diam) !== -1;
  }

  /** Writes the vertices of the current cofacet (descending) into out. */
  cofacetVertices(out: Int32Array): Int32Array {
    const w = this.cofacetVertex;
    const verts = this.verts;
    let m = 0;
    let i = 0;
    for (; i <= this.cDim && verts[i] > w; i++) out[m++] = verts[i];
    out[m++] = w;
    for (; i <= this.cDim; i++) out[m++] = verts[i];
    return out;
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

/** Where a computation stands: dimension `dim` (0: the H0 pass over the edges) with `done` of `total` items. */
export interface EngineProgress {
  dim: number;
  done: number;
  total: number;
}

/** Long loops check the clock every this many items, and hand control back once their time slice is over. */
const CLOCK_EVERY = 64;

/**
 * The engine as resumable steps: each next() works for about `slice` milliseconds (Infinity: all at
 * once), then yields where it stands, so an async caller can let the event loop run (and an interrupt
 * through) between slices. computePersistence runs it to the end.
 */
export function* persistenceSteps(input: EngineInput, slice = Infinity): Generator<EngineProgress, EngineOutput, void> {
  const { distances, n, maxDim, threshold } = input;
  const complex = new RipsComplex(distances, n, maxDim, threshold);
  const diagrams: Interval[][] = Array.from({ length: maxDim + 1 }, () => []);
  const cocycles: number[][][][] | null = input.cocycles ? Array.from({ length: maxDim + 1 }, () => []) : null;
  const stats: EngineOutput["stats"] = [];

  // Edges within the threshold, in filtration order.
  const edges = complex.edges();
  edges.sortFiltration();

  // H0 by union-find (Kruskal); edges that merge nothing are the columns of dimension 1.
  const h0 = new ZeroDimension(complex, edges, maxDim >= 1, diagrams[0]);
  while (!h0.run(performance.now() + slice)) yield { dim: 0, done: h0.next, total: edges.length };
  for (let v = 0; v < n; v++) if (h0.sets.find(v) === v) diagrams[0].push([0, Infinity]);
  stats.push({ dim: 0, simplices: n, columns: 0, apparent: 0, emergent: 0, additions: 0 });
  let columns = h0.columns;
  let apparent = h0.apparent;
  columns.reverse();

  let simplices = edges;
  const scratch: Scratch = { working: new WorkingColumn(), workingReduction: new WorkingColumn(), cocycleVerts: new Int32Array(maxDim + 2), cofacetVerts: new Int32Array(maxDim + 3) };
  for (let dim = 1; dim <= maxDim; dim++) {
    const reducer = new ColumnReducer(complex, columns, dim, diagrams[dim], cocycles ? cocycles[dim] : null, scratch);
    while (!reducer.run(performance.now() + slice)) yield { dim, done: reducer.next, total: columns.length };
    stats.push({ dim, simplices: simplices.length, columns: columns.length, apparent, emergent: reducer.emergent, additions: reducer.additions });

    if (dim < maxDim) {
      // Columns of the next dimension: cofacets not cleared (paired here) and not in apparent pairs.
      const keepSimplices = dim + 1 < maxDim;
      // In parts of simplices, so a long assembly yields too.
      const part = slice === Infinity ? simplices.length : Math.max(1024, Math.ceil(simplices.length / 64));
      let assembled: NextColumns;
      if (input.assemble) assembled = input.assemble(complex, simplices, dim, reducer.pivots, keepSimplices);
      else if (part >= simplices.length) assembled = assembleNextColumns(complex, simplices, 0, simplices.length, dim, reducer.pivots, keepSimplices);
      else {
        assembled = { next: new SimplexList(keepSimplices ? simplices.length : 16), nextColumns: new SimplexList(1024), apparent: 0 };
        for (let from = 0; from < simplices.length; from += part) {
          const piece = assembleNextColumns(complex, simplices, from, Math.min(simplices.length, from + part), dim, reducer.pivots, keepSimplices);
          if (keepSimplices) assembled.next.append(piece.next);
          assembled.nextColumns.append(piece.nextColumns);
          assembled.apparent += piece.apparent;
          if (from + part < simplices.length) yield { dim, done: columns.length, total: columns.length };
        }
      }
      apparent = assembled.apparent;
      assembled.nextColumns.sortFiltration();
      assembled.nextColumns.reverse();
      columns = assembled.nextColumns;
      simplices = keepSimplices ? assembled.next : new SimplexList(16);
    }
  }
  return { diagrams, cocycles, stats };
}

/** The whole computation at once (the synchronous entry point for internal callers and workers). */
export function computePersistence(input: EngineInput): EngineOutput {
  const steps = persistenceSteps(input);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * H0 by union-find over the edges in filtration order (Kruskal): each merge is a finite H0 bar; an
 * edge that merges nothing is a column of dimension 1 unless it is in a zero-persistence apparent pair.
 */
class ZeroDimension {
  readonly sets: DisjointSets;
  readonly columns: SimplexList;
  apparent = 0;
  /** The next edge to process. */
  next = 0;
  private readonly graph: GrowingGraph | null;
  private readonly ends = new Int32Array(2);

  constructor(private readonly complex: RipsComplex, private readonly edges: SimplexList, higher: boolean, private readonly diagram: Interval[]) {
    this.sets = new DisjointSets(complex.n);
    this.columns = new SimplexList(Math.max(16, edges.length - complex.n));
    this.graph = higher ? new GrowingGraph(complex) : null;
  }

  /** Processes edges (whole groups of one diameter) until all are done (true) or the deadline passes. */
  run(deadline: number): boolean {
    const { complex, edges, sets, graph, ends, diagram } = this;
    let e = this.next;
    let groups = 0;
    while (e < edges.length) {
      if (++groups % CLOCK_EVERY === 0 && performance.now() > deadline) break;
      const d = edges.diam[e];
      let groupEnd = e;
      // (graph?.add(edges.index[groupEnd++]) would skip the increment too when graph is null: maxDim 0 hung.)
      while (groupEnd < edges.length && edges.diam[groupEnd] === d) {
        if (graph) graph.add(edges.index[groupEnd]);
        groupEnd++;
      }
      for (; e < groupEnd; e++) {
        const idx = edges.index[e];
        complex.vertices(idx, 1, ends);
        const a = sets.find(ends[0]);
        const b = sets.find(ends[1]);
        if (a !== b) {
          if (d !== 0) diagram.push([0, d]);
          sets.union(a, b);
        } else if (graph) {
          if (complex.apparentCofacet(ends, 1, d, graph.highestCommonNeighbour(ends[0], ends[1])) === -1) this.columns.push(d, idx);
          else this.apparent++;
        }
      }
    }
    this.next = e;
    return e >= edges.length;
  }
}

/**
 * The graph of the edges met so far, grown in filtration order, as one adjacency bitset per vertex
 * (n^2 bits, 1/32 of the distance matrix). With every edge up to diameter d in it, an edge's oldest
 * same-diameter cofacet adds the highest common neighbour of its ends: the highest bit of the AND of
 * two rows, found a word at a time from the top instead of testing vertices one by one.
 */
class GrowingGraph {
  private readonly words: number;
  private readonly bits: Int32Array;
  private readonly ends = new Int32Array(2);

  constructor(private readonly complex: RipsComplex) {
    this.words = (complex.n + 31) >> 5;
    this.bits = new Int32Array(complex.n * this.words);
  }

  add(edge: number): void {
    const [a, b] = this.complex.vertices(edge, 1, this.ends);
    this.bits[a * this.words + (b >> 5)] |= 1 << (b & 31);
    this.bits[b * this.words + (a >> 5)] |= 1 << (a & 31);
  }

  /** The largest vertex adjacent to both a and b, or -1 (neither row holds its own vertex, so a and b are never it). */
  highestCommonNeighbour(a: number, b: number): number {
    const W = this.words;
    const bits = this.bits;
    for (let k = W - 1; k >= 0; k--) {
      const both = bits[a * W + k] & bits[b * W + k];
      if (both !== 0) return k * 32 + 31 - Math.clz32(both);
    }
    return -1;
  }
}

interface Scratch {
  working: WorkingColumn;
  workingReduction: WorkingColumn;
  cocycleVerts: Int32Array;
  cofacetVerts: Int32Array;
}

/**
 * Reduces the coboundary columns of one dimension (youngest first), appending its intervals (and
 * cocycles) and keeping the pivots for clearing; resumable between columns.
 */
class ColumnReducer {
  readonly pivots: IndexMap;
  private readonly reduction = new ReductionMatrix();
  emergent = 0;
  additions = 0;
  /** The next column to reduce. */
  next = 0;

  constructor(
    private readonly complex: RipsComplex,
    private readonly columns: SimplexList,
    private readonly dim: number,
    private readonly diagram: Interval[],
    private readonly cocycles: number[][][] | null,
    private readonly scratch: Scratch,
  ) {
    this.pivots = new IndexMap(columns.length);
  }

  /** Adds the coboundary of one simplex to the working column, and the simplex to the working reduction. */
  private addCoboundary(diam: number, index: number): void {
    const complex = this.complex;
    const working = this.scratch.working;
    const threshold = complex.threshold;
    this.scratch.workingReduction.push(diam, index);
    complex.startCofacets(index, diam, this.dim, true);
    while (complex.nextCofacet()) if (complex.cofacetDiam <= threshold) working.push(complex.cofacetDiam, complex.cofacetIndex);
  }

  /** Reduces columns until all are done (true) or the deadline (performance.now()) passes. */
  run(deadline: number): boolean {
    const { complex, columns, dim, diagram, cocycles, pivots, reduction } = this;
    const { working, workingReduction, cocycleVerts, cofacetVerts } = this.scratch;
    const threshold = complex.threshold;
    for (let c = this.next; c < columns.length; c++) {
      if (c % CLOCK_EVERY === CLOCK_EVERY - 1 && performance.now() > deadline) {
        this.next = c;
        return false;
      }
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
          if (!pivots.has(ci) && complex.apparentFacet(complex.cofacetVertices(cofacetVerts), dim + 1, cd) === -1) {
            found = true;
            pivotDiam = cd;
            pivotIndex = ci;
            this.emergent++;
            break;
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
          diagram.push([birth, Infinity]);
          if (cocycles) cocycles.push(cocycleOf(complex, drain(workingReduction), sigma, dim, cocycleVerts));
          break;
        }
        const other = pivots.get(pivotIndex);
        if (other !== -1) {
          this.additions++;
          this.addCoboundary(columns.diam[other], columns.index[other]);
          for (let e = reduction.begin(other), end = reduction.end(other); e < end; e++) this.addCoboundary(reduction.entries.diam[e], reduction.entries.index[e]);
        } else {
          const facet = complex.zeroApparentFacet(pivotIndex, pivotDiam, dim + 1);
          if (facet !== -1) {
            this.additions++;
            this.addCoboundary(pivotDiam, facet);
          } else {
            if (pivotDiam > birth) {
              diagram.push([birth, pivotDiam]);
              if (cocycles) {
                const stored = drain(workingReduction);
                cocycles.push(cocycleOf(complex, stored, sigma, dim, cocycleVerts));
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
    this.next = columns.length;
    return true;
  }
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
  const verts = new Int32Array(dim + 3);
  let apparent = 0;
  for (let s = from; s < to; s++) {
    complex.startCofacets(simplices.index[s], simplices.diam[s], dim, false);
    while (complex.nextCofacet()) {
      const d = complex.cofacetDiam;
      if (d > complex.threshold) continue;
      const idx = complex.cofacetIndex;
      if (keepSimplices) next.push(d, idx);
      if (pivots.has(idx)) continue;
      if (complex.inZeroApparentPair(complex.cofacetVertices(verts), dim + 1, d)) apparent++;
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
