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
import { squaredDistance, type TrajectoryCloud } from "./cloud";
import { DisjointSets } from "./structures";

export interface MapperOptions {
  /** "l2norm" (default, the paper's), "pca" (first principal coordinate) or one value per point. */
  lens?: "l2norm" | "pca" | ArrayLike<number>;
  /** Number of cover intervals (default 10). */
  intervals?: number;
  /** Fraction by which neighbouring intervals overlap, in [0, 1) (default 0.5; the paper used 0.99). */
  overlap?: number;
  /** DBSCAN in each preimage: eps (default: the largest nearest-neighbour distance, so no point is noise), minSamples (default 2). */
  cluster?: { eps?: number; minSamples?: number };
  /** Principal components to project on before lens and clustering (default 20; 0 keeps the raw coordinates). */
  pca?: number;
  /** Values that colour the nodes (mean over members); default the training step for trajectory clouds, else the lens. */
  color?: ArrayLike<number>;
  seed?: number;
}

export interface MapperNode {
  id: number;
  interval: number;
  members: number[];
  /** Mean colour value of the members (the mean training step on trajectory clouds). */
  color: number;
}

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
  const overlap = options.overlap ?? 0.5;
  const minSamples = options.cluster?.minSamples ?? 2;
  const components = options.pca ?? 20;
  if (!Number.isInteger(intervals) || intervals < 1) throw new Error(`mapper: intervals must be a positive integer, got ${intervals}`);
  if (!(overlap >= 0 && overlap < 1)) throw new Error(`mapper: overlap must be in [0, 1), got ${overlap}`);
  if (!Number.isInteger(minSamples) || minSamples < 1) throw new Error(`mapper: cluster.minSamples must be a positive integer, got ${minSamples}`);
  if (!Number.isInteger(components) || components < 0) throw new Error(`mapper: pca must be a non-negative integer, got ${components}`);

  // Project (the paper: PCA to 20 components), then lens and clustering in that space.
  let space: ArrayLike<number> = data;
  let spaceDim = dim;
  let firstCoordinate: Float64Array | null = null;
  if (components > 0 && components < dim) {
    const p = pca(data, m, dim, components, { seed: options.seed });
    space = p.coordinates;
    spaceDim = p.k;
    firstCoordinate = Float64Array.from({ length: m }, (_, i) => p.coordinates[i * p.k]);
  }
  const lens = lensValues(options.lens ?? "l2norm", space, m, spaceDim, firstCoordinate);
  // The built-in lenses are 1-Lipschitz in the clustering space (|norm x - norm y| and |x_1 - y_1| are
  // at most |x - y|), so DBSCAN only compares points whose lens values are within eps.
  const lipschitzLens = typeof (options.lens ?? "l2norm") === "string";
  const eps = options.cluster?.eps ?? largestNearestNeighbour(space, m, spaceDim, options.seed ?? 0);
  if (!(eps > 0)) throw new Error(`mapper: cluster.eps must be positive, got ${eps}`);
  const colour = options.color ?? (isCloud ? (input as TrajectoryCloud).step : lens);
  if (colour.length !== m) throw new Error(`mapper: color has ${colour.length} values for ${m} points`);

  // Cover: `intervals` equal intervals, consecutive starts (1 - overlap) widths apart, spanning the lens range.
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < m; i++) {
    lo = Math.min(lo, lens[i]);
    hi = Math.max(hi, lens[i]);
  }
  const width = (hi - lo) / (1 + (intervals - 1) * (1 - overlap)) || 1;
  const nodes: MapperNode[] = [];
  for (let k = 0; k < intervals; k++) {
    const a = lo + k * width * (1 - overlap);
    const b = k === intervals - 1 ? hi : a + width;
    const members: number[] = [];
    for (let i = 0; i < m; i++) if (lens[i] >= a && lens[i] <= b) members.push(i);
    for (const cluster of dbscan(space, spaceDim, members, eps, minSamples, lipschitzLens ? lens : undefined)) {
      let c = 0;
      for (const i of cluster) c += colour[i];
      nodes.push({ id: nodes.length, interval: k, members: cluster, color: c / cluster.length });
    }
  }
  // Nerve: an edge between two nodes that share a point.
  const nodesOf: number[][] = Array.from({ length: m }, () => []);
  for (const node of nodes) for (const i of node.members) nodesOf[i].push(node.id);
  const edgeSet = new Set<number>();
  for (const list of nodesOf) for (let a = 0; a < list.length; a++) for (let b = a + 1; b < list.length; b++) edgeSet.add(Math.min(list[a], list[b]) * nodes.length + Math.max(list[a], list[b]));
  const edges = [...edgeSet].sort((x, y) => x - y).map((e) => [Math.floor(e / nodes.length), e % nodes.length] as [number, number]);
  return new MapperResult(nodes, edges, { points: m, eps, minSamples, intervals, overlap, pca: spaceDim === dim ? 0 : spaceDim, lens: typeof options.lens === "string" || options.lens === undefined ? options.lens ?? "l2norm" : "custom", colour: options.color ? "custom" : isCloud ? "step" : "lens" }, options.seed ?? 0);
}

function lensValues(lens: NonNullable<MapperOptions["lens"]>, space: ArrayLike<number>, m: number, dim: number, firstCoordinate: Float64Array | null): ArrayLike<number> {
  if (lens === "l2norm") return Float64Array.from({ length: m }, (_, i) => {
    let s = 0;
    for (let j = 0; j < dim; j++) s += space[i * dim + j] ** 2;
    return Math.sqrt(s);
  });
  if (lens === "pca") {
    if (firstCoordinate) return firstCoordinate;
    return pca(space, m, dim, 1).coordinates;
  }
  if (typeof lens === "string") throw new Error(`mapper: unknown lens "${lens}"; use "l2norm", "pca" or one number per point`);
  if (lens.length !== m) throw new Error(`mapper: lens has ${lens.length} values for ${m} points`);
  for (let i = 0; i < m; i++) if (!Number.isFinite(lens[i])) throw new Error(`mapper: lens value ${i} is not finite (${lens[i]})`);
  return lens;
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
  overlap: number;
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
    return `Mapper graph: ${this.nodes.length} nodes, ${this.edges.length} edges, ${shape}; ${this.info.points} points, lens ${this.info.lens}, ${this.info.intervals} intervals, overlap ${this.info.overlap}, DBSCAN eps ${this.info.eps.toPrecision(3)}`;
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
