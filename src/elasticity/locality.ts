/**
 * ws.elasticity.locality: S_rel against a distance between the inputs (He & Su): for ReLU networks
 * S_rel decays with the geodesic distance on the data manifold, for linear networks it does not.
 * The geodesic distance is the shortest path in the symmetric k-nearest-neighbour graph of the
 * probed inputs (pairs in different components are left out and counted).
 */
import * as tf from "@tensorflow/tfjs";
import { InputError, checkOption, formatValue, rules } from "../errors";
import type { Dataset } from "../data/dataset";
import { Result } from "../display/result";
import { figure, type Figure } from "../display/figure";
import { Table } from "../display/table";
import { elasticity, type ElasticityOptions } from "./probe";
import { fmt, quantile, type ElasticityResult } from "./result";
import { gatherRows } from "./points";

export type Distance = "euclidean" | "geodesic" | number[][] | ((a: number[], b: number[]) => number);

export interface LocalityOptions extends Omit<ElasticityOptions, "against"> {
  /** Distance between inputs (default "geodesic"); a matrix must be points x points. */
  distance?: Distance;
  /** Neighbours of the geodesic graph (default 10). */
  neighbors?: number;
}

export async function locality(model: tf.LayersModel, data: Dataset | { x: tf.Tensor; y: tf.Tensor }, options: LocalityOptions = {}): Promise<ElasticityLocality> {
  const distance = options.distance ?? "geodesic";
  const neighbors = checkOption("elasticity.locality", "neighbors", options.neighbors ?? 10, rules.integer(1));
  if (Array.isArray(distance)) checkDistances(distance);
  if (typeof distance === "string" && distance !== "euclidean" && distance !== "geodesic") throw new InputError("invalid-option", `elasticity.locality: unknown distance "${distance}"; use "euclidean", "geodesic", a matrix or a function`, "distance");
  const result = await elasticity(model, data, { ...options, against: "points" });
  const rows = tf.tidy(() => gatherRows(data.x, result.rows).reshape([result.rows.length, -1]));
  const inputs = rows.arraySync() as number[][];
  rows.dispose();
  const d = distances(inputs, distance, neighbors);
  const pairs: { distance: number; srel: number }[] = [];
  let disconnected = 0;
  result.srel.forEach((row, i) => row.forEach((s, j) => {
    if (i === j || Number.isNaN(s)) return;
    if (!Number.isFinite(d[i][j])) disconnected++;
    else pairs.push({ distance: d[i][j], srel: s });
  }));
  return new ElasticityLocality(result, typeof distance === "string" ? distance : "custom", pairs, disconnected);
}

function distances(inputs: number[][], distance: Distance, neighbors: number): number[][] {
  const n = inputs.length;
  if (Array.isArray(distance)) {
    if (distance.length !== n || distance.some((r) => r.length !== n)) throw new InputError("invalid-option", `elasticity.locality: the distance matrix must be ${n} x ${n} (one row per probed point)`, "distance");
    return distance;
  }
  const euclid = (a: number[], b: number[]) => Math.sqrt(a.reduce((s, v, k) => s + (v - b[k]) ** 2, 0));
  const metric = typeof distance === "function" ? distance : euclid;
  const direct = inputs.map((a) => inputs.map((b) => metric(a, b)));
  if (typeof distance === "function") checkDistances(direct);
  return distance === "geodesic" ? geodesic(direct, neighbors) : direct;
}

/** Distances are >= 0 (Infinity: not connected); a negative or NaN one would be correlated silently. */
function checkDistances(matrix: number[][]): void {
  matrix.forEach((row, i) => {
    if (!Array.isArray(row)) throw new InputError("invalid-option", `elasticity.locality: distance row ${i} is not an array`, "distance");
    row.forEach((v, j) => {
      if (typeof v !== "number" || !(v >= 0)) throw new InputError("invalid-option", `elasticity.locality: distance (${i}, ${j}) is ${formatValue(v)}; distances must be >= 0 (Infinity for unconnected pairs)`, "distance");
    });
  });
}

/** Shortest paths (Floyd-Warshall) in the symmetric k-nearest-neighbour graph. */
export function geodesic(direct: number[][], neighbors: number): number[][] {
  const n = direct.length;
  const g = direct.map((row, i) => row.map((_, j) => (i === j ? 0 : Infinity)));
  direct.forEach((row, i) => {
    const nearest = row.map((v, j) => [v, j]).filter(([, j]) => j !== i).sort((a, b) => a[0] - b[0]).slice(0, neighbors);
    for (const [v, j] of nearest) g[i][j] = g[j][i] = v;
  });
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) {
      const gik = g[i][k];
      if (gik === Infinity) continue;
      for (let j = 0; j < n; j++) if (gik + g[k][j] < g[i][j]) g[i][j] = gik + g[k][j];
    }
  }
  return g;
}

export function pearson(x: number[], y: number[]): number {
  const n = x.length;
  if (n < 2) return NaN;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

export class ElasticityLocality extends Result {
  readonly kind = "elasticity.locality";
  /** Pearson correlation of S_rel with the distance over all defined pairs (x != x'). */
  readonly correlation: number;
  /** Mean S_rel of the nearest and farthest 10% of pairs. */
  readonly near: number;
  readonly far: number;

  constructor(
    readonly elasticity: ElasticityResult,
    readonly distance: string,
    readonly pairs: { distance: number; srel: number }[],
    /** Pairs left out because the geodesic graph does not connect them. */
    readonly disconnected: number,
  ) {
    super();
    this.correlation = pearson(pairs.map((p) => p.distance), pairs.map((p) => p.srel));
    const ds = pairs.map((p) => p.distance);
    const [lo, hi] = [quantile(ds, 0.1), quantile(ds, 0.9)];
    this.near = meanOf(pairs.filter((p) => p.distance <= lo).map((p) => p.srel));
    this.far = meanOf(pairs.filter((p) => p.distance >= hi).map((p) => p.srel));
  }

  summary(): string {
    return `S_rel vs ${this.distance} distance over ${this.pairs.length} pairs: Pearson ${fmt(this.correlation)}, nearest 10% ${fmt(this.near)}, farthest 10% ${fmt(this.far)}${this.disconnected ? `, ${this.disconnected} pairs not connected` : ""}`;
  }

  figures(): Figure[] {
    return [figure(
      [{ type: "scattergl", mode: "markers", name: "pairs", x: this.pairs.map((p) => p.distance), y: this.pairs.map((p) => p.srel), marker: { size: 3, opacity: 0.4 } }],
      { title: `S_rel vs ${this.distance} distance (Pearson ${fmt(this.correlation)})`, xaxis: { title: { text: `${this.distance} distance` } }, yaxis: { title: { text: `S_rel (${this.elasticity.settings.kind})` } } },
    )];
  }

  table(): Table {
    return Table.fromObject({ distance: this.distance, pairs: this.pairs.length, pearson: this.correlation, "nearest 10% mean S_rel": this.near, "farthest 10% mean S_rel": this.far, disconnected: this.disconnected }, "Locality of S_rel");
  }

  protected data(): Record<string, unknown> {
    return { distance: this.distance, correlation: this.correlation, near: this.near, far: this.far, disconnected: this.disconnected, pairs: this.pairs, elasticity: this.elasticity.toJSON() };
  }
}

function meanOf(values: number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
}
