/**
 * ws.elasticity.cluster: groups the samples of a square S_rel matrix by how much they move each other
 * (He & Su), which can separate two classes trained under one label; ws.elasticity.kmeans: the same
 * k-means on any rows (e.g. raw pixels, as a baseline).
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../math/rng";
import { MAX_DENSE_EIGEN, symmetricEigen } from "../math/eigen";
import { Result } from "../display/result";
import { figure, type Figure } from "../display/figure";
import { Table } from "../display/table";
import { fmt, type ElasticityResult } from "./result";

export interface KmeansOptions {
  /** True groups of the rows (e.g. the original digits), to score the clustering. */
  truth?: number[];
  /** k-means restarts, best inertia kept (default 10). */
  restarts?: number;
  seed?: number;
}

export type ClusterMethod = "spectral" | "kmeans";

export interface ClusterOptions extends KmeansOptions {
  /**
   * "spectral" (default): Ng-Jordan-Weiss spectral clustering of the symmetrised matrix taken as an affinity;
   * "kmeans": k-means on its raw rows (He & Su), which splits rows by their overall scale K(x, x) as much as by group.
   */
  method?: ClusterMethod;
  /**
   * Spectral: eigenvectors in the embedding (default k + 1, at most the rows). Ng-Jordan-Weiss take k; on a dense
   * S_rel matrix the leading eigenvector is the near-constant D^(1/2) 1 and the next is often a nuisance direction
   * (measured on MNIST 5 vs 8: purity 0.54 with k, 0.55-0.90 with k + 1), so one more is kept.
   */
  dimensions?: number;
}

/** Clusters the rows of a square S_rel result (against: "points"); NaN entries count as no similarity. */
export function cluster(result: ElasticityResult, k: number, options: ClusterOptions = {}): ElasticityClusters {
  const method = options.method ?? "spectral";
  if (method !== "spectral" && method !== "kmeans") throw new Error(`elasticity.cluster: method must be "spectral" or "kmeans", got ${JSON.stringify(method)}`);
  const affinity = result.symmetrised().map((row, i) => row.map((v, j) => {
    if (Number.isNaN(v)) return 0;
    if (!Number.isFinite(v) || v < 0) throw new Error(`elasticity.cluster: symmetrised S_rel entry (${i}, ${j}) is ${v}; S_rel must be finite and >= 0`);
    return v;
  }));
  checkK("elasticity.cluster", k, affinity.length);
  if (method === "kmeans") {
    const best = bestKmeans(affinity, k, options, "elasticity.cluster");
    return new ElasticityClusters({ method, input: "rows of the symmetrised S_rel", rows: result.rows, ...best, k, truth: options.truth ?? null, embedding: null, eigenvalues: null, isolated: 0 });
  }
  const dimensions = options.dimensions ?? Math.min(k + 1, affinity.length);
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > affinity.length) {
    throw new Error(`elasticity.cluster: dimensions must be an integer from 1 to the ${affinity.length} rows, got ${dimensions}`);
  }
  if (affinity.length > MAX_DENSE_EIGEN) throw new Error(`elasticity.cluster: spectral clustering of ${affinity.length} rows exceeds the dense eigensolver's ${MAX_DENSE_EIGEN}; probe fewer points or use method: "kmeans"`);
  const { embedding, eigenvalues, isolated } = spectralEmbedding(affinity, dimensions);
  const best = bestKmeans(embedding, k, options, "elasticity.cluster");
  return new ElasticityClusters({ method, input: "symmetrised S_rel", rows: result.rows, ...best, k, truth: options.truth ?? null, embedding, eigenvalues, isolated });
}

/**
 * Ng, Jordan & Weiss (2001): affinity A with zero diagonal, L = D^(-1/2) A D^(-1/2) (D = row sums), the rows
 * of its top eigenvectors scaled to unit length. The degree scaling removes the row scale that raw rows carry.
 * A row with no affinity to any other (degree 0) has no direction: it stays at the origin and is counted.
 */
function spectralEmbedding(affinity: number[][], dimensions: number): { embedding: number[][]; eigenvalues: number[]; isolated: number } {
  const n = affinity.length;
  const degree = affinity.map((row, i) => row.reduce((s, v, j) => (i === j ? s : s + v), 0));
  const scale = degree.map((d) => (d > 0 ? 1 / Math.sqrt(d) : 0));
  const normalised = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) normalised[i * n + j] = scale[i] * affinity[i][j] * scale[j];
  const { values, vectors } = symmetricEigen(normalised, n, true);
  const embedding = Array.from({ length: n }, (_, i) => {
    // An isolated row is its own eigenvector (eigenvalue 0): keep it at the origin rather than on an axis.
    const row = Array.from({ length: dimensions }, (_, d) => (degree[i] > 0 ? vectors![d][i] : 0));
    const norm = Math.hypot(...row);
    return norm > 0 ? row.map((v) => v / norm) : row.map(() => 0);
  });
  return { embedding, eigenvalues: Array.from(values.subarray(0, dimensions)), isolated: degree.filter((d) => !(d > 0)).length };
}

/** k-means (k-means++ start, best of `restarts`, seeded) on the rows of a matrix: number[][] or a 2-D tensor. */
export function kmeans(points: number[][] | tf.Tensor, k: number, options: KmeansOptions = {}): ElasticityClusters {
  const rows = points instanceof tf.Tensor ? tensorRows(points) : points;
  if (!Array.isArray(rows) || rows.length === 0) throw new Error("elasticity.kmeans: expected a non-empty array of rows");
  const width = rows[0]?.length;
  rows.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== width) throw new Error(`elasticity.kmeans: row ${i} has ${Array.isArray(row) ? row.length : "no"} entries, row 0 has ${width}`);
    const bad = row.findIndex((v) => typeof v !== "number" || !Number.isFinite(v));
    if (bad >= 0) throw new Error(`elasticity.kmeans: entry (${i}, ${bad}) is ${row[bad]}; rows must be finite numbers`);
  });
  checkK("elasticity.kmeans", k, rows.length);
  const best = bestKmeans(rows, k, options, "elasticity.kmeans");
  return new ElasticityClusters({ method: "kmeans", input: "rows", rows: rows.map((_, i) => i), ...best, k, truth: options.truth ?? null, embedding: null, eigenvalues: null, isolated: 0 });
}

function tensorRows(t: tf.Tensor): number[][] {
  if (t.rank !== 2) throw new Error(`elasticity.kmeans: expected a 2-D tensor (rows x features), got shape [${t.shape.join(", ")}]`);
  return t.arraySync() as number[][];
}

function checkK(where: string, k: number, n: number): void {
  if (!Number.isInteger(k) || k < 1) throw new Error(`${where}: k must be a positive integer, got ${k}`);
  if (k > n) throw new Error(`${where}: k = ${k} is more than the ${n} rows`);
}

function bestKmeans(points: number[][], k: number, options: KmeansOptions, where: string): { assignment: number[]; inertia: number } {
  if (options.truth && options.truth.length !== points.length) throw new Error(`${where}: truth has ${options.truth.length} entries for ${points.length} rows`);
  const restarts = options.restarts ?? 10;
  if (!Number.isInteger(restarts) || restarts < 1) throw new Error(`${where}: restarts must be a positive integer, got ${restarts}`);
  const rng = new Rng(options.seed ?? 0);
  let best = lloyd(points, k, rng);
  for (let r = 1; r < restarts; r++) {
    const next = lloyd(points, k, rng);
    if (next.inertia < best.inertia) best = next;
  }
  return best;
}

/** Lloyd's iterations from a k-means++ start. */
function lloyd(points: number[][], k: number, rng: Rng): { assignment: number[]; inertia: number } {
  const sq = (a: number[], b: number[]) => a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0);
  const centers = [points[rng.int(points.length)].slice()];
  while (centers.length < k) {
    const weights = points.map((p) => Math.min(...centers.map((c) => sq(p, c))));
    const total = weights.reduce((a, b) => a + b, 0);
    let pick = rng.next() * total;
    let index = 0;
    while (index < points.length - 1 && pick >= weights[index]) pick -= weights[index++];
    centers.push(points[total > 0 ? index : rng.int(points.length)].slice());
  }
  let assignment = new Array<number>(points.length).fill(-1);
  for (let iteration = 0; iteration < 100; iteration++) {
    const next = points.map((p) => centers.reduce((best, c, j) => (sq(p, c) < sq(p, centers[best]) ? j : best), 0));
    if (next.every((a, i) => a === assignment[i])) break;
    assignment = next;
    centers.forEach((c, j) => {
      const members = points.filter((_, i) => assignment[i] === j);
      if (members.length) c.forEach((_, d) => (c[d] = members.reduce((s, m) => s + m[d], 0) / members.length));
    });
  }
  return { assignment, inertia: points.reduce((s, p, i) => s + sq(p, centers[assignment[i]]), 0) };
}

interface ClustersFields {
  method: ClusterMethod;
  /** What was clustered, in words. */
  input: string;
  rows: number[];
  assignment: number[];
  k: number;
  inertia: number;
  truth: number[] | null;
  embedding: number[][] | null;
  eigenvalues: number[] | null;
  isolated: number;
}

/** Clusters against the true groups: matrix[c][g] rows of cluster rows[c] whose true group is columns[g]. */
export interface ConfusionMatrix {
  matrix: number[][];
  /** Cluster indices 0..k-1, one per row of the matrix. */
  rows: number[];
  /** The true groups, ascending, one per column. */
  columns: number[];
  /** "cluster c" and "group g": labels for displays. */
  rowLabels: string[];
  columnLabels: string[];
}

export class ElasticityClusters extends Result {
  readonly kind = "elasticity.cluster";
  readonly method: ClusterMethod;
  readonly input: string;
  /** Dataset indices of the clustered samples (ws.elasticity.kmeans: row numbers). */
  readonly rows: number[];
  readonly assignment: number[];
  readonly k: number;
  /** k-means inertia in the clustered space (raw rows or the spectral embedding). */
  readonly inertia: number;
  readonly truth: number[] | null;
  /** Spectral: the unit-length embedding rows that k-means clustered (else null). */
  readonly embedding: number[][] | null;
  /** Spectral: the top eigenvalues of D^(-1/2) A D^(-1/2), descending (else null). */
  readonly eigenvalues: number[] | null;
  /** Spectral: rows with no affinity to any other row (left at the origin of the embedding). */
  readonly isolated: number;
  /** Fraction of rows whose cluster's majority group is their own group (null without truth). */
  readonly purity: number | null;

  constructor(f: ClustersFields) {
    super();
    this.method = f.method;
    this.input = f.input;
    this.rows = f.rows;
    this.assignment = f.assignment;
    this.k = f.k;
    this.inertia = f.inertia;
    this.truth = f.truth;
    this.embedding = f.embedding;
    this.eigenvalues = f.eigenvalues;
    this.isolated = f.isolated;
    this.purity = f.truth ? this.confusion().matrix.reduce((s, row) => s + Math.max(...row), 0) / f.rows.length : null;
  }

  /** The confusion matrix of the clusters against `truth` (an error without it). */
  confusion(): ConfusionMatrix {
    const truth = this.truth;
    if (!truth) throw new Error("elasticity.cluster: confusion() needs the true groups: pass { truth } to cluster or kmeans");
    const columns = [...new Set(truth)].sort((a, b) => a - b);
    const rows = Array.from({ length: this.k }, (_, c) => c);
    const matrix = rows.map((c) => columns.map((group) => this.assignment.filter((a, i) => a === c && truth[i] === group).length));
    return { matrix, rows, columns, rowLabels: rows.map((c) => `cluster ${c}`), columnLabels: columns.map((g) => `group ${g}`) };
  }

  summary(): string {
    const sizes = Array.from({ length: this.k }, (_, c) => this.assignment.filter((a) => a === c).length);
    const isolated = this.isolated ? `, ${this.isolated} isolated rows` : "";
    return `${this.method === "spectral" ? "spectral clustering" : "k-means"} (k = ${this.k}) ${this.method === "spectral" ? "of" : "on"} the ${this.input}, ${this.rows.length} rows: sizes ${sizes.join(", ")}${this.purity !== null ? `, purity ${fmt(this.purity)}` : ""}${isolated}`;
  }

  figures(): Figure[] {
    const name = `${this.method === "spectral" ? "Spectral clusters" : "k-means clusters"} of the ${this.input}`;
    if (!this.truth) return [figure([{ type: "bar", x: Array.from({ length: this.k }, (_, c) => `cluster ${c}`), y: Array.from({ length: this.k }, (_, c) => this.assignment.filter((a) => a === c).length) }], { title: `${name}: sizes` })];
    const conf = this.confusion();
    return [figure(conf.columnLabels.map((label, g) => ({ type: "bar", name: label, x: conf.rowLabels, y: conf.matrix.map((row) => row[g]) })), { title: `${name} against the true groups (purity ${fmt(this.purity ?? NaN)})`, barmode: "stack" })];
  }

  table(): Table {
    if (!this.truth) return Table.fromRecords(this.rows.map((r, i) => ({ sample: r, cluster: this.assignment[i] })), "Cluster of each sample");
    const conf = this.confusion();
    return new Table(["cluster", ...conf.columnLabels, "total"], conf.matrix.map((row, c) => [conf.rowLabels[c], ...row, row.reduce((a, b) => a + b, 0)]), "Clusters (rows) against the true groups (columns)");
  }

  protected data(): Record<string, unknown> {
    return { method: this.method, input: this.input, rows: this.rows, assignment: this.assignment, k: this.k, inertia: this.inertia, truth: this.truth, purity: this.purity, embedding: this.embedding, eigenvalues: this.eigenvalues, isolated: this.isolated };
  }
}
