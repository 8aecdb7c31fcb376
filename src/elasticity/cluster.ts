/**
 * ws.elasticity.cluster: k-means on the rows of the symmetrised S_rel matrix (He & Su): samples that
 * move each other cluster together, which can separate two classes trained under one label.
 */
import { Rng } from "../math/rng";
import { Result } from "../display/result";
import { figure, type Figure } from "../display/figure";
import { Table } from "../display/table";
import { fmt, type ElasticityResult } from "./result";

export interface ClusterOptions {
  /** True groups of the rows (e.g. the original digits), to score the clustering. */
  truth?: number[];
  /** k-means restarts, best inertia kept (default 10). */
  restarts?: number;
  seed?: number;
}

export function cluster(result: ElasticityResult, k: number, options: ClusterOptions = {}): ElasticityClusters {
  if (!Number.isInteger(k) || k < 1) throw new Error(`elasticity.cluster: k must be a positive integer, got ${k}`);
  // Undefined entries carry no similarity: they count as 0.
  const rows = result.symmetrised().map((r) => r.map((v) => (Number.isNaN(v) ? 0 : v)));
  if (k > rows.length) throw new Error(`elasticity.cluster: k = ${k} is more than the ${rows.length} rows`);
  if (options.truth && options.truth.length !== rows.length) throw new Error(`elasticity.cluster: truth has ${options.truth.length} entries for ${rows.length} rows`);
  const rng = new Rng(options.seed ?? 0);
  let best = kmeans(rows, k, rng);
  for (let r = 1; r < (options.restarts ?? 10); r++) {
    const next = kmeans(rows, k, rng);
    if (next.inertia < best.inertia) best = next;
  }
  return new ElasticityClusters(result.rows, best.assignment, k, best.inertia, options.truth ?? null);
}

/** Lloyd's iterations from a k-means++ start. */
export function kmeans(points: number[][], k: number, rng: Rng): { assignment: number[]; inertia: number } {
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

export class ElasticityClusters extends Result {
  readonly kind = "elasticity.cluster";
  /** Fraction of rows whose cluster's majority group is their own group (null without truth). */
  readonly purity: number | null;

  constructor(
    /** Dataset indices of the clustered samples. */
    readonly rows: number[],
    readonly assignment: number[],
    readonly k: number,
    readonly inertia: number,
    readonly truth: number[] | null,
  ) {
    super();
    this.purity = truth ? this.confusion().reduce((s, row) => s + Math.max(...row.map((c) => c.count)), 0) / rows.length : null;
  }

  /** Per cluster, the count of each true group. */
  confusion(): { group: number; count: number }[][] {
    const groups = [...new Set(this.truth ?? [])].sort((a, b) => a - b);
    return Array.from({ length: this.k }, (_, c) => groups.map((group) => ({ group, count: this.assignment.filter((a, i) => a === c && this.truth![i] === group).length })));
  }

  summary(): string {
    const sizes = Array.from({ length: this.k }, (_, c) => this.assignment.filter((a) => a === c).length);
    return `k-means (k = ${this.k}) on ${this.rows.length} rows of the symmetrised S_rel: sizes ${sizes.join(", ")}${this.purity !== null ? `, purity ${fmt(this.purity)}` : ""}`;
  }

  figures(): Figure[] {
    if (!this.truth) return [figure([{ type: "bar", x: Array.from({ length: this.k }, (_, c) => `cluster ${c}`), y: Array.from({ length: this.k }, (_, c) => this.assignment.filter((a) => a === c).length) }], { title: "Cluster sizes" })];
    const conf = this.confusion();
    const groups = conf[0]?.map((g) => g.group) ?? [];
    return [figure(groups.map((g, gi) => ({ type: "bar", name: `group ${g}`, x: conf.map((_, c) => `cluster ${c}`), y: conf.map((row) => row[gi].count) })), { title: `Clusters against the true groups (purity ${fmt(this.purity ?? NaN)})`, barmode: "stack" })];
  }

  table(): Table {
    if (!this.truth) return Table.fromRecords(this.rows.map((r, i) => ({ sample: r, cluster: this.assignment[i] })), "Cluster of each sample");
    return Table.fromRecords(this.confusion().flatMap((row, c) => row.map((g) => ({ cluster: c, group: g.group, count: g.count }))), "Clusters against the true groups");
  }

  protected data(): Record<string, unknown> {
    return { rows: this.rows, assignment: this.assignment, k: this.k, inertia: this.inertia, truth: this.truth, purity: this.purity };
  }
}
