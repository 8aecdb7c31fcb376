/**
 * Mapper (Singh, Memoli, Carlsson 2007), as used by Gabella on weight trajectories: project the cloud
 * on its top principal components, take a lens (L2 norm or first principal coordinate), cover the lens
 * range with overlapping intervals, cluster each preimage with DBSCAN, and join clusters that share
 * points. The graph's cycle rank (edges - nodes + components) is 0 exactly when it is a forest.
 */
import { Result } from "../display/result";
import { figure, type Figure } from "../display/figure";
import { Table } from "../display/table";
import { Rng } from "../math/rng";
import { pointRows, type PointCloud } from "./input";
import { pca } from "./pca";
import { squaredDistance, squaredDistanceToOrigin, type TrajectoryCloud } from "./cloud";
import { DisjointSets } from "./structures";

export interface MapperOptions {
  /**
   * "l2norm" (default, the paper's), "pca" (first principal coordinate), "pca2" / "pca3" (the first 2 or 3
   * principal coordinates: a hypercube cover), one value per point, or one row of 1-3 values per point.
   */
  lens?: "l2norm" | "pca" | "pca2" | "pca3" | ArrayLike<number> | ArrayLike<number>[];
  /** Number of cover intervals along each lens dimension (default 10). */
  intervals?: number;
  /**
   * Overlap as today's KeplerMapper Cover means it: the fraction of an interval's width shared with the
   * next, in [0, 1); consecutive starts (1 - overlap) widths apart, spanning the lens range (default 0.5).
   */
  overlap?: number;
  /**
   * Overlap as KeplerMapper 1.1's overlap_perc, which Gabella ran (0.99 for the paper's trees): with
   * c = (max - min) / intervals, interval k is [min + k c, min + (k + 1 + overlapPerc) c), widened to the
   * right only. Below 1 a point lies in at most two intervals. As in 1.1, with 0 the maximum lies in none.
   * Give overlap or overlapPerc, not both.
   */
  overlapPerc?: number;
  /** DBSCAN in each preimage: eps (default: the largest nearest-neighbour distance, so no point is noise), minSamples (default 2). */
  cluster?: { eps?: number; minSamples?: number };
  /** Principal components to project on before lens and clustering (default 20; 0 keeps the raw coordinates). */
  pca?: number;
  /** Values that colour the nodes (mean over members); default the training step for trajectory clouds, else the lens. */
  color?: ArrayLike<number>;
  seed?: number;
}

/**
 * Gabella's Mapper settings for layers 0, 1 and 2 of the 784-100-100-10 network (arXiv 1902.08160 and its
 * companion notebook): PCA to 20 components, L2-norm lens, KeplerMapper 1.1 cover of 30 / 25 / 20
 * intervals with overlap_perc 0.99, DBSCAN eps 0.1 / 0.2 / 0.5 with min_samples 2.
 */
export const paperMapper: readonly Readonly<MapperOptions>[] = [
  { pca: 20, lens: "l2norm", intervals: 30, overlapPerc: 0.99, cluster: { eps: 0.1, minSamples: 2 } },
  { pca: 20, lens: "l2norm", intervals: 25, overlapPerc: 0.99, cluster: { eps: 0.2, minSamples: 2 } },
  { pca: 20, lens: "l2norm", intervals: 20, overlapPerc: 0.99, cluster: { eps: 0.5, minSamples: 2 } },
];

export interface MapperNode {
  id: number;
  /** The cover element: the interval index for a 1-D lens, sum of k_d * intervals^d over lens dimensions d otherwise. */
  interval: number;
  members: number[];
  /** Mean colour value of the members (the mean training step on trajectory clouds). */
  color: number;
}

/** Most (point, cover element) memberships a cover may produce: beyond it the overlap is too large to be useful. */
const MAX_MEMBERSHIPS = 50_000_000;

/** Mapper graph of a trajectory cloud (from topology.cloud) or any point cloud. */
export function mapper(input: TrajectoryCloud | PointCloud, options: MapperOptions = {}): MapperResult {
  const isCloud = input != null && typeof input === "object" && "points" in input && "neurons" in input;
  let data: ArrayLike<number>;
  let m: number;
  let dim: number;
  if (isCloud) {
    ({ points: data, m, dim } = input as TrajectoryCloud);
  } else {
    const rows = pointRows(input as PointCloud, "mapper");
    m = rows.length;
    dim = rows[0].length;
    const flat = new Float64Array(m * dim);
    rows.forEach((r, i) => flat.set(Array.from(r), i * dim));
    data = flat;
  }
  const intervals = options.intervals ?? 10;
  if (options.overlap !== undefined && options.overlapPerc !== undefined) throw new Error("mapper: give overlap (today's KeplerMapper: a fraction of the interval width) or overlapPerc (KeplerMapper 1.1's overlap_perc: a fraction of the chunk), not both");
  const overlapPerc = options.overlapPerc;
  const overlap = options.overlap ?? 0.5;
  const minSamples = options.cluster?.minSamples ?? 2;
  const components = options.pca ?? 20;
  if (!Number.isSafeInteger(intervals) || intervals < 1) throw new Error(`mapper: intervals must be a positive integer, got ${intervals}`);
  if (!(overlap >= 0 && overlap < 1)) throw new Error(`mapper: overlap must be in [0, 1), got ${overlap}`);
  if (overlapPerc !== undefined && !(overlapPerc >= 0 && Number.isFinite(overlapPerc))) throw new Error(`mapper: overlapPerc must be a finite number >= 0, got ${overlapPerc}`);
  if (!Number.isInteger(minSamples) || minSamples < 1) throw new Error(`mapper: cluster.minSamples must be a positive integer, got ${minSamples}`);
  if (!Number.isInteger(components) || components < 0) throw new Error(`mapper: pca must be a non-negative integer, got ${components}`);

  // Project (the paper: PCA to 20 components), then lens and clustering in that space.
  let space: ArrayLike<number> = data;
  let spaceDim = dim;
  let principal: { coordinates: Float64Array; k: number } | null = null;
  if (components > 0 && components < dim) {
    const p = pca(data, m, dim, components, { seed: options.seed });
    space = p.coordinates;
    spaceDim = p.k;
    principal = p;
  }
  const lens = lensValues(options.lens ?? "l2norm", space, m, spaceDim, principal, options.seed);
  if (!Number.isSafeInteger(intervals ** lens.dims)) throw new Error(`mapper: ${intervals} intervals in each of ${lens.dims} lens dimensions give more cover elements than can be numbered; use fewer intervals`);
  // The built-in lenses are 1-Lipschitz in the clustering space (|norm x - norm y| and |x_1 - y_1| are
  // at most |x - y|), so DBSCAN only compares points whose first lens values are within eps.
  const lipschitzLens = typeof (options.lens ?? "l2norm") === "string";
  const eps = options.cluster?.eps ?? largestNearestNeighbour(space, m, spaceDim, options.seed ?? 0);
  if (!(eps > 0) || !Number.isFinite(eps)) throw new Error(`mapper: cluster.eps must be a finite number > 0, got ${eps}`);
  const colour = options.color ?? (isCloud ? (input as TrajectoryCloud).step : lens.values[0]);
  if (colour.length !== m) throw new Error(`mapper: color has ${colour.length} values for ${m} points`);

  const cover = overlapPerc === undefined ? sharedWidthCover(intervals, overlap) : kmapper11Cover(intervals, overlapPerc);
  const perPoint = cover.maxPerPoint ** lens.dims;
  if (m * perPoint > MAX_MEMBERSHIPS) throw new Error(`mapper: with this overlap a point lies in up to ${perPoint} cover elements (${m} points: ${(m * perPoint).toExponential(1)} memberships, limit ${MAX_MEMBERSHIPS.toExponential(0)}); lower ${overlapPerc === undefined ? "overlap" : "overlapPerc"}`);
  const elements = coverElements(lens, cover, intervals);
  const nodes: MapperNode[] = [];
  for (const [element, members] of elements) {
    for (const cluster of dbscan(space, spaceDim, members, eps, minSamples, lipschitzLens ? lens.values[0] : undefined)) {
      let c = 0;
      for (const i of cluster) c += colour[i];
      nodes.push({ id: nodes.length, interval: element, members: cluster, color: c / cluster.length });
    }
  }
  // Nerve: an edge between two nodes that share a point.
  const nodesOf: number[][] = Array.from({ length: m }, () => []);
  for (const node of nodes) for (const i of node.members) nodesOf[i].push(node.id);
  const edgeSet = new Set<number>();
  for (const list of nodesOf) for (let a = 0; a < list.length; a++) for (let b = a + 1; b < list.length; b++) edgeSet.add(Math.min(list[a], list[b]) * nodes.length + Math.max(list[a], list[b]));
  const edges = [...edgeSet].sort((x, y) => x - y).map((e) => [Math.floor(e / nodes.length), e % nodes.length] as [number, number]);
  const lensName = typeof options.lens === "string" || options.lens === undefined ? options.lens ?? "l2norm" : "custom";
  return new MapperResult(nodes, edges, { points: m, eps, minSamples, intervals, overlap: overlapPerc ?? overlap, overlapKind: overlapPerc === undefined ? "overlap" : "overlapPerc", lensDims: lens.dims, pca: spaceDim === dim ? 0 : spaceDim, lens: lensName, colour: options.color ? "custom" : isCloud ? "step" : "lens" }, options.seed ?? 0);
}

/** Lens values per lens dimension (1 to 3), each one value per point. */
interface Lens {
  dims: number;
  values: ArrayLike<number>[];
}

/**
 * One lens dimension's cover on the unit scale t = (x - min) / (max - min) * intervals: element k is
 * [start(k), end(k)) or closed, as `contains` decides; every element containing t lies among the
 * candidates from first(t) to last(t) (a margin of one on each side absorbs rounding).
 */
interface Cover {
  /** Most elements one lens value can lie in. */
  maxPerPoint: number;
  first(t: number): number;
  last(t: number): number;
  contains(k: number, x: number, lo: number, hi: number): boolean;
}

/** KeplerMapper 1.1: chunk c = (max - min) / n, element k = [min + k c, min + k c + c + p c), half-open. */
function kmapper11Cover(intervals: number, p: number): Cover {
  return {
    maxPerPoint: Math.floor(p) + 2,
    first: (t) => Math.floor(t - 1 - p) - 1,
    last: (t) => Math.floor(t) + 1,
    contains: (k, x, lo, hi) => {
      const chunk = (hi - lo) / intervals;
      const start = lo + k * chunk;
      return x >= start && x < start + chunk + p * chunk;
    },
  };
}

/** Today's KeplerMapper Cover as this module always had it: closed intervals of one width, starts (1 - overlap) widths apart, the last ending at the maximum. */
function sharedWidthCover(intervals: number, overlap: number): Cover {
  const widthOf = (lo: number, hi: number) => (hi - lo) / (1 + (intervals - 1) * (1 - overlap)) || 1;
  // In chunks of (max - min) / n the width is n / (1 + (n - 1)(1 - overlap)) chunks and the step (1 - overlap) of it.
  const widthChunks = intervals / (1 + (intervals - 1) * (1 - overlap));
  const stepChunks = widthChunks * (1 - overlap);
  return {
    maxPerPoint: Math.ceil(1 / (1 - overlap)) + 1,
    first: (t) => Math.floor((t - widthChunks) / stepChunks) - 1,
    last: (t) => Math.floor(t / stepChunks) + 1,
    contains: (k, x, lo, hi) => {
      const width = widthOf(lo, hi);
      const a = lo + k * width * (1 - overlap);
      const b = k === intervals - 1 ? hi : a + width;
      return x >= a && x <= b;
    },
  };
}

/**
 * The members of every non-empty cover element (a product of one cover per lens dimension), in element
 * order. Each point is placed directly in the few elements that can hold it, so the work grows with the
 * points, not with the number of intervals.
 */
function coverElements(lens: Lens, cover: Cover, intervals: number): [number, number[]][] {
  const m = lens.values[0].length;
  const ranges = lens.values.map((v) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < m; i++) {
      lo = Math.min(lo, v[i]);
      hi = Math.max(hi, v[i]);
    }
    return [lo, hi] as const;
  });
  const byElement = new Map<number, number[]>();
  const perDim: number[][] = lens.values.map(() => []);
  for (let i = 0; i < m; i++) {
    for (let d = 0; d < lens.dims; d++) {
      const [lo, hi] = ranges[d];
      const x = lens.values[d][i];
      const t = hi > lo ? ((x - lo) / (hi - lo)) * intervals : 0;
      const list = perDim[d];
      list.length = 0;
      const last = Math.min(intervals - 1, cover.last(t));
      for (let k = Math.max(0, cover.first(t)); k <= last; k++) if (cover.contains(k, x, lo, hi)) list.push(k);
    }
    // Every combination of one element per lens dimension.
    const visit = (d: number, key: number): void => {
      if (d < 0) {
        let members = byElement.get(key);
        if (!members) byElement.set(key, (members = []));
        members.push(i);
        return;
      }
      for (const k of perDim[d]) visit(d - 1, key * intervals + k);
    };
    visit(lens.dims - 1, 0);
  }
  return [...byElement.entries()].sort((a, b) => a[0] - b[0]);
}

function lensValues(lens: NonNullable<MapperOptions["lens"]>, space: ArrayLike<number>, m: number, dim: number, principal: { coordinates: Float64Array; k: number } | null, seed?: number): Lens {
  if (lens === "l2norm") {
    const values = Float64Array.from({ length: m }, (_, i) => Math.sqrt(squaredDistanceToOrigin(space, dim, i)));
    return { dims: 1, values: [values] };
  }
  if (lens === "pca" || lens === "pca2" || lens === "pca3") {
    const k = lens === "pca" ? 1 : Number(lens[3]);
    const p = principal && principal.k >= k ? principal : pca(space, m, dim, k, { seed });
    const dims = Math.min(k, p.k);
    return { dims, values: Array.from({ length: dims }, (_, c) => Float64Array.from({ length: m }, (_, i) => p.coordinates[i * p.k + c])) };
  }
  if (typeof lens === "string") throw new Error(`mapper: unknown lens "${lens}"; use "l2norm", "pca", "pca2", "pca3", one number per point or one row of 1-3 numbers per point`);
  if (lens.length !== m) throw new Error(`mapper: lens has ${lens.length} values for ${m} points`);
  const rows = Array.from({ length: m }, (_, i) => lens[i]);
  if (rows.every((r) => typeof r === "number")) {
    const values = rows as number[];
    values.forEach((x, i) => {
      if (!Number.isFinite(x)) throw new Error(`mapper: lens value ${i} is not finite (${x})`);
    });
    return { dims: 1, values: [values] };
  }
  const dims = (rows[0] as ArrayLike<number>)?.length;
  if (!(dims >= 1 && dims <= 3)) throw new Error(`mapper: a lens row must hold 1 to 3 values, row 0 has ${String(dims)}`);
  const values = Array.from({ length: dims }, () => new Float64Array(m));
  rows.forEach((r, i) => {
    if (typeof r === "number" || r == null || r.length !== dims) throw new Error(`mapper: lens row ${i} does not hold ${dims} values like row 0`);
    for (let d = 0; d < dims; d++) {
      if (!Number.isFinite(r[d])) throw new Error(`mapper: lens value (${i}, ${d}) is not finite (${r[d]})`);
      values[d][i] = r[d];
    }
  });
  return { dims, values };
}

/**
 * The largest distance from a point to its nearest distinct point (over a sample of up to 1,000 points;
 * 1 when all points coincide): with it as DBSCAN's eps and minSamples 2, no sampled point is noise.
 */
function largestNearestNeighbour(space: ArrayLike<number>, m: number, dim: number, seed: number): number {
  const sample = m <= 1000 ? Array.from({ length: m }, (_, i) => i) : Array.from(new Rng(seed).permutation(m).subarray(0, 1000));
  let largest = 0;
  for (const i of sample) {
    let best = Infinity;
    for (let j = 0; j < m; j++) {
      const d = squaredDistance(space, dim, i, j);
      if (d > 0 && d < best) best = d;
    }
    if (best < Infinity) largest = Math.max(largest, best);
  }
  return largest > 0 ? Math.sqrt(largest) : 1;
}

/**
 * DBSCAN (Ester et al. 1996) on the given members: core points have at least minSamples points
 * (themselves included) within eps; clusters are core points joined within eps plus their border
 * points; noise is dropped. Clusters are returned as sorted member lists. With lipschitzKey (values
 * with |key(x) - key(y)| <= |x - y|) only pairs with keys within eps are compared.
 */
export function dbscan(space: ArrayLike<number>, dim: number, members: number[], eps: number, minSamples: number, lipschitzKey?: ArrayLike<number>): number[][] {
  if (lipschitzKey) members = [...members].sort((a, b) => lipschitzKey[a] - lipschitzKey[b]);
  const s = members.length;
  const eps2 = eps * eps;
  const neighbours: number[][] = Array.from({ length: s }, () => []);
  for (let a = 0; a < s; a++)
    for (let b = a + 1; b < s; b++) {
      if (lipschitzKey && lipschitzKey[members[b]] - lipschitzKey[members[a]] > eps) break;
      if (squaredDistance(space, dim, members[a], members[b]) <= eps2) {
        neighbours[a].push(b);
        neighbours[b].push(a);
      }
    }
  const core = neighbours.map((n) => n.length + 1 >= minSamples);
  const sets = new DisjointSets(s);
  for (let a = 0; a < s; a++) if (core[a]) for (const b of neighbours[a]) if (core[b]) {
    const ra = sets.find(a);
    const rb = sets.find(b);
    if (ra !== rb) sets.union(ra, rb);
  }
  const clusters = new Map<number, number[]>();
  for (let a = 0; a < s; a++) {
    // A border point joins the cluster of its first core neighbour.
    const anchor = core[a] ? a : neighbours[a].find((b) => core[b]);
    if (anchor === undefined) continue;
    const r = sets.find(anchor);
    if (!clusters.has(r)) clusters.set(r, []);
    clusters.get(r)!.push(members[a]);
  }
  return [...clusters.values()].map((c) => c.sort((x, y) => x - y)).sort((x, y) => x[0] - y[0]);
}

export interface MapperInfo {
  points: number;
  eps: number;
  minSamples: number;
  intervals: number;
  /** The overlap given, in the meaning overlapKind names. */
  overlap: number;
  overlapKind: "overlap" | "overlapPerc";
  lensDims: number;
  pca: number;
  lens: string;
  colour: string;
}

export class MapperResult extends Result {
  readonly kind = "mapper";
  /** Connected components of the graph. */
  readonly components: number;
  /** edges - nodes + components: 0 for a tree (or forest), the number of independent cycles otherwise. */
  readonly cycleRank: number;

  constructor(readonly nodes: MapperNode[], readonly edges: [number, number][], readonly info: MapperInfo, private readonly seed: number) {
    super();
    const sets = new DisjointSets(nodes.length);
    let components = nodes.length;
    for (const [a, b] of edges) {
      const ra = sets.find(a);
      const rb = sets.find(b);
      if (ra !== rb) {
        sets.union(ra, rb);
        components--;
      }
    }
    this.components = components;
    this.cycleRank = edges.length - nodes.length + components;
  }

  get isTree(): boolean {
    return this.cycleRank === 0 && this.components === 1;
  }

  summary(): string {
    const shape = this.cycleRank === 0 ? (this.components === 1 ? "a tree" : `a forest of ${this.components} trees`) : `cycle rank ${this.cycleRank}, ${this.components} component${this.components === 1 ? "" : "s"}`;
    return `Mapper graph: ${this.nodes.length} nodes, ${this.edges.length} edges, ${shape}; ${this.info.points} points, lens ${this.info.lens}, ${this.info.intervals}${this.info.lensDims > 1 ? `^${this.info.lensDims}` : ""} intervals, ${this.info.overlapKind} ${this.info.overlap}, DBSCAN eps ${this.info.eps.toPrecision(3)}`;
  }

  /** Node positions from a seeded force-directed layout (Fruchterman-Reingold). */
  layout(iterations = 200): { x: number[]; y: number[] } {
    const n = this.nodes.length;
    const rng = new Rng(this.seed);
    const x = Float64Array.from({ length: n }, () => rng.uniform(-1, 1));
    const y = Float64Array.from({ length: n }, () => rng.uniform(-1, 1));
    const k = Math.sqrt(4 / Math.max(1, n));
    for (let it = 0; it < iterations; it++) {
      const dx = new Float64Array(n);
      const dy = new Float64Array(n);
      for (let a = 0; a < n; a++)
        for (let b = a + 1; b < n; b++) {
          const ux = x[a] - x[b];
          const uy = y[a] - y[b];
          const d2 = Math.max(ux * ux + uy * uy, 1e-9);
          const f = (k * k) / d2; // repulsion k^2 / d, along the unit vector
          dx[a] += ux * f;
          dy[a] += uy * f;
          dx[b] -= ux * f;
          dy[b] -= uy * f;
        }
      for (const [a, b] of this.edges) {
        const ux = x[a] - x[b];
        const uy = y[a] - y[b];
        const d = Math.max(Math.hypot(ux, uy), 1e-9);
        const f = d / k; // attraction d^2 / k
        dx[a] -= ux * f;
        dy[a] -= uy * f;
        dx[b] += ux * f;
        dy[b] += uy * f;
      }
      const step = 0.1 * (1 - it / iterations) + 0.002;
      for (let a = 0; a < n; a++) {
        const d = Math.max(Math.hypot(dx[a], dy[a]), 1e-12);
        const s = Math.min(d, step) / d;
        x[a] += dx[a] * s;
        y[a] += dy[a] * s;
      }
    }
    return { x: Array.from(x), y: Array.from(y) };
  }

  figures(): Figure[] {
    const { x, y } = this.layout();
    const ex = this.edges.flatMap(([a, b]) => [x[a], x[b], null]);
    const ey = this.edges.flatMap(([a, b]) => [y[a], y[b], null]);
    const sizes = this.nodes.map((n) => n.members.length);
    const maxSize = Math.max(1, ...sizes);
    return [
      figure(
        [
          { type: "scatter", mode: "lines", x: ex, y: ey, line: { color: "#999", width: 1 }, hoverinfo: "skip", showlegend: false },
          {
            type: "scatter",
            mode: "markers",
            name: "nodes",
            x,
            y,
            text: this.nodes.map((n) => `node ${n.id}: ${n.members.length} points, interval ${n.interval}, ${this.info.colour} ${n.color.toPrecision(4)}`),
            marker: { size: sizes.map((s) => 6 + 14 * Math.sqrt(s / maxSize)), color: this.nodes.map((n) => n.color), colorscale: "Viridis", showscale: true, colorbar: { title: this.info.colour } },
            showlegend: false,
          },
        ],
        { title: `Mapper graph (${this.nodes.length} nodes, ${this.edges.length} edges, cycle rank ${this.cycleRank})`, xaxis: { visible: false }, yaxis: { visible: false } },
      ),
    ];
  }

  table(): Table {
    return new Table(["node", "interval", "size", this.info.colour, "degree"], this.nodes.map((n) => [n.id, n.interval, n.members.length, n.color, this.edges.filter((e) => e[0] === n.id || e[1] === n.id).length]), "Mapper nodes");
  }

  protected data(): Record<string, unknown> {
    return { nodes: this.nodes, edges: this.edges, components: this.components, cycleRank: this.cycleRank, ...this.info };
  }
}
