/** The result of ws.elasticity: S_rel (and S_ker) matrices, class-pair averages, heatmaps. */
import { Result } from "../display/result";
import { figure, type Figure } from "../display/figure";
import { Table } from "../display/table";
import { classPairs, type ClassPairs } from "./pairs";
import type { Kind } from "./measure";

export interface ElasticitySettings {
  kind: Kind;
  step: "sgd" | "adam";
  mode: "finite" | "infinitesimal";
  /** Step size of the finite mode (null in the infinitesimal mode). */
  eta: number | null;
  loss: string;
  engine: "dense" | "generic";
  model: string;
}

export interface ElasticityFields {
  srel: number[][];
  sker: number[][] | null;
  rows: number[];
  columns: number[];
  rowLabels: number[] | null;
  columnLabels: number[] | null;
  /** Rows and columns index the same dataset (so row i and column j may be the same sample). */
  sameData: boolean;
  classNames: string[] | null;
  undefinedCount: number;
  unresolvedRows: number[];
  warnings: string[];
  settings: ElasticitySettings;
  seconds: number;
}

export class ElasticityResult extends Result {
  readonly kind = "elasticity";
  /** srel[i][j] = S_rel(x_i, x'_j): probed sample i (row), affected point j (column); NaN where undefined. */
  readonly srel: number[][];
  /** Kernelized similarity (one-output regression with SGD steps), else null; the NTK in the infinitesimal mode. */
  readonly sker: number[][] | null;
  /** Dataset indices of the probed samples (rows) and affected points (columns). */
  readonly rows: number[];
  readonly columns: number[];
  readonly rowLabels: number[] | null;
  readonly columnLabels: number[] | null;
  /** Entries whose denominator is zero (the probe does not move its own output), reported as NaN. */
  readonly undefinedCount: number;
  /** Finite mode: rows whose own change float32 cannot resolve (left NaN, not counted as undefined). */
  readonly unresolvedRows: number[];
  readonly warnings: string[];
  readonly settings: ElasticitySettings;
  readonly seconds: number;
  /** Class-pair averages for labelled data, else null. */
  readonly classPairs: ClassPairs | null;
  private readonly sameData: boolean;
  private readonly classNames: string[] | null;

  constructor(f: ElasticityFields) {
    super();
    this.srel = f.srel;
    this.sker = f.sker;
    this.rows = f.rows;
    this.columns = f.columns;
    this.rowLabels = f.rowLabels;
    this.columnLabels = f.columnLabels;
    this.sameData = f.sameData;
    this.classNames = f.classNames;
    this.undefinedCount = f.undefinedCount;
    this.unresolvedRows = f.unresolvedRows;
    this.warnings = f.warnings;
    this.settings = f.settings;
    this.seconds = f.seconds;
    this.classPairs = f.rowLabels && f.columnLabels
      ? classPairs(f.srel, f.rowLabels, f.columnLabels, (i, j) => f.sameData && f.rows[i] === f.columns[j], (c) => this.className(c))
      : null;
  }

  /** Mean of the defined entries, leaving out a sample paired with itself. */
  get mean(): number {
    let sum = 0;
    let count = 0;
    this.srel.forEach((row, i) => row.forEach((v, j) => {
      if (!Number.isNaN(v) && !this.isSelf(i, j)) {
        sum += v;
        count++;
      }
    }));
    return count > 0 ? sum / count : NaN;
  }

  /** (S + S^T) / 2 for square matrices over the same samples (He & Su's clustering input). */
  symmetrised(): number[][] {
    if (!this.sameData || this.rows.length !== this.columns.length || this.rows.some((r, i) => r !== this.columns[i])) {
      throw new Error("elasticity: the symmetrised matrix needs the same samples as rows and columns (against: \"points\")");
    }
    return this.srel.map((row, i) => row.map((v, j) => (v + this.srel[j][i]) / 2));
  }

  summary(): string {
    const s = this.settings;
    const pairs = this.classPairs ? `, same-class ${fmt(this.classPairs.same)} vs cross-class ${fmt(this.classPairs.cross)}` : "";
    const unresolved = this.unresolvedRows.length ? `, ${this.unresolvedRows.length} rows unresolved` : "";
    return `S_rel ${this.rows.length} x ${this.columns.length} (${s.kind}, ${s.step}, ${s.mode}${s.eta !== null ? ` eta ${s.eta}` : ""}): mean ${fmt(this.mean)}${pairs}, ${this.undefinedCount} undefined${unresolved}, ${this.seconds.toFixed(2)} s (${s.engine} engine)`;
  }

  figures(): Figure[] {
    const rowOrder = order(this.rowLabels, this.rows.length);
    const columnOrder = order(this.columnLabels, this.columns.length);
    const tick = (labels: number[] | null, idx: number[], k: number) => (labels ? `${this.className(labels[k])} #${idx[k]}` : `#${idx[k]}`);
    const rowTicks = rowOrder.map((i) => tick(this.rowLabels, this.rows, i));
    const columnTicks = columnOrder.map((j) => tick(this.columnLabels, this.columns, j));
    const heatmap = figure(
      [{
        type: "heatmap",
        z: rowOrder.map((i) => columnOrder.map((j) => nullIfNaN(this.srel[i][j]))),
        x: columnTicks,
        y: rowTicks,
        colorscale: "Viridis", zmin: 0, zmax: Math.max(1, quantile(this.srel.flat(), 0.99)),
        colorbar: { title: { text: "S_rel" } },
        hovertemplate: "probed %{y}<br>affected %{x}<br>S_rel %{z:.4g}<extra></extra>",
      }],
      {
        title: `S_rel (${this.settings.kind}, ${this.settings.mode}), ordered by class`,
        xaxis: { title: { text: "affected x'" }, ...this.classTicks(this.columnLabels, columnOrder, columnTicks) },
        yaxis: { title: { text: "probed x" }, autorange: "reversed", ...this.classTicks(this.rowLabels, rowOrder, rowTicks) },
      },
    );
    if (!this.classPairs) return [heatmap];
    const p = this.classPairs;
    const pairs = figure(
      [{ type: "heatmap", z: p.mean.map((r) => r.map(nullIfNaN)), x: p.affectedNames, y: p.names, colorscale: "Viridis", zmin: 0, text: p.mean.map((r) => r.map(fmt)), texttemplate: "%{text}", colorbar: { title: { text: "mean S_rel" } } }],
      { title: "Class pairs: mean S_rel", xaxis: { title: { text: "affected class c'" } }, yaxis: { title: { text: "probed class c" }, autorange: "reversed" } },
    );
    return [heatmap, pairs];
  }

  table(): Table {
    if (this.classPairs) {
      const p = this.classPairs;
      const records = p.classes.flatMap((_, a) => p.affected.map((__, b) => ({ probed: p.names[a], affected: p.affectedNames[b], mean: p.mean[a][b], std: p.std[a][b], pairs: p.count[a][b] })));
      return Table.fromRecords(records, `Class-pair S_rel (${this.settings.kind}, ${this.settings.mode})`);
    }
    const values = this.srel.flat().filter((v) => !Number.isNaN(v));
    return Table.fromObject({
      rows: this.rows.length, columns: this.columns.length, mean: this.mean,
      median: quantile(values, 0.5), "90th percentile": quantile(values, 0.9),
      undefined: this.undefinedCount, "unresolved rows": this.unresolvedRows.length,
    }, `S_rel (${this.settings.kind}, ${this.settings.mode})`);
  }

  protected data(): Record<string, unknown> {
    return {
      settings: this.settings, rows: this.rows, columns: this.columns, rowLabels: this.rowLabels, columnLabels: this.columnLabels,
      srel: this.srel.map((r) => r.map(nullIfNaN)), sker: this.sker?.map((r) => r.map(nullIfNaN)) ?? null,
      classPairs: this.classPairs, undefinedCount: this.undefinedCount, unresolvedRows: this.unresolvedRows, warnings: this.warnings, seconds: this.seconds,
    };
  }

  /**
   * Axis ticks of the ordered heatmap: one class name at the middle of each class block (labelled data), or the
   * samples' dataset indices (unlabelled data).
   */
  private classTicks(labels: number[] | null, ordered: number[], ticks: string[]): Record<string, unknown> {
    if (!labels) return { tickmode: "auto" };
    const tickvals: string[] = [];
    const ticktext: string[] = [];
    let start = 0;
    for (let k = 1; k <= ordered.length; k++) {
      if (k < ordered.length && labels[ordered[k]] === labels[ordered[start]]) continue;
      tickvals.push(ticks[Math.floor((start + k - 1) / 2)]);
      ticktext.push(this.className(labels[ordered[start]]));
      start = k;
    }
    return { tickmode: "array", tickvals, ticktext };
  }

  private isSelf(i: number, j: number): boolean {
    return this.sameData && this.rows[i] === this.columns[j];
  }

  private className(c: number): string {
    return this.classNames?.[c] ?? String(c);
  }
}

/** Indices sorted by label (then by position): the heatmap's class blocks. */
function order(labels: number[] | null, n: number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  return labels ? idx.sort((a, b) => labels[a] - labels[b] || a - b) : idx;
}

export function quantile(values: number[], q: number): number {
  const v = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const pos = q * (v.length - 1);
  const lo = Math.floor(pos);
  return v[lo] + (v[Math.min(lo + 1, v.length - 1)] - v[lo]) * (pos - lo);
}

export function nullIfNaN(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

export function fmt(v: number): string {
  return Number.isFinite(v) ? v.toPrecision(3) : "NaN";
}
