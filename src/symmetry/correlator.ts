/** ws.symmetry.correlator: Monte-Carlo n-point functions G^(n) with standard errors and closed forms. */
import * as tf from "@tensorflow/tfjs";
import { Result } from "../display/result";
import { figure, type Figure } from "../display/figure";
import { Table } from "../display/table";
import type { Ensemble } from "./ensemble";
import { ComponentIndex, ProductMoments, expandComponents, type ComponentStats } from "./moments";
import { closedForm, closedFormUnavailable } from "./closed-form";
import { inputRows, checkOrder, checkNetworks, checkEnsemble } from "./inputs";
import { maxAbs } from "./stats";

export interface CorrelatorOptions {
  /** n in G^(n) (default 2). */
  order?: number;
}

/** One distinct component: input indices, output indices and the numbers. */
export interface ComponentRecord {
  inputs: number[];
  outputs: number[];
  mean: number;
  stderr: number;
  closedForm: number | null;
  /** (mean - closed form) / stderr; NaN when the standard error is 0. */
  z: number | null;
}

/**
 * A 2n-deep array of numbers. Its depth is the correlator's order, known only at run time, so it is
 * typed loosely: `g2.mean[i][j][a][b]` must read as a number in a notebook cell.
 */
export type NestedArray = any[];

export class Correlator extends Result {
  readonly kind = "symmetry.correlator";
  readonly order: number;
  readonly networks: number;
  readonly points: number[][];
  readonly outputs: number;
  readonly index: ComponentIndex;
  readonly stats: ComponentStats;
  /** Closed form per distinct component, or null (see closedFormReason). */
  readonly exact: Float64Array | null;
  readonly closedFormReason: string | null;
  readonly ensembleText: string;

  constructor(ensemble: Ensemble, points: number[][], index: ComponentIndex, stats: ComponentStats) {
    super();
    this.order = index.order;
    this.networks = ensemble.networks;
    this.points = points;
    this.outputs = ensemble.outputSize;
    this.index = index;
    this.stats = stats;
    this.closedFormReason = closedFormUnavailable(ensemble, index.order);
    this.exact = this.closedFormReason ? null : closedForm(ensemble, points, index);
    this.ensembleText = ensemble.describe();
  }

  /** G^(n) as nested arrays [x1]..[xn][o1]..[on]. */
  get mean(): NestedArray {
    return expandComponents(this.index, this.stats.mean, this.points.length, this.outputs);
  }

  get stderr(): NestedArray {
    return expandComponents(this.index, this.stats.stderr, this.points.length, this.outputs);
  }

  /** The closed form in the same layout, or null where none exists. */
  get closedForm(): NestedArray | null {
    return this.exact ? expandComponents(this.index, this.exact, this.points.length, this.outputs) : null;
  }

  /** (Monte Carlo - closed form) / stderr per distinct component (empty without a closed form). */
  get closedFormZ(): Float64Array {
    const { mean, stderr } = this.stats;
    const exact = this.exact;
    if (!exact) return new Float64Array(0);
    return Float64Array.from(mean, (m, u) => (stderr[u] > 0 ? (m - exact[u]) / stderr[u] : NaN));
  }

  /** Largest |z| against the closed form (NaN without one; components with zero error are skipped). */
  get maxClosedFormZ(): number {
    return maxAbs(this.closedFormZ);
  }

  /** Components whose standard error is 0 (a constant product, e.g. at x = 0): their z is NaN. */
  get zeroErrorComponents(): number {
    return this.stats.stderr.filter((s) => s === 0).length;
  }

  records(): ComponentRecord[] {
    const z = this.closedFormZ;
    return Array.from({ length: this.index.size }, (_, u) => {
      const p = Array.from(this.index.tuples.subarray(u * this.order, (u + 1) * this.order));
      return {
        inputs: p.map((q) => Math.floor(q / this.outputs)),
        outputs: p.map((q) => q % this.outputs),
        mean: this.stats.mean[u],
        stderr: this.stats.stderr[u],
        closedForm: this.exact ? this.exact[u] : null,
        z: this.exact ? z[u] : null,
      };
    });
  }

  summary(): string {
    const exact = this.exact ? `, closed form max |z| ${this.maxClosedFormZ.toFixed(2)}` : "";
    return `G${this.order} of ${this.networks} networks at ${this.points.length} inputs x ${this.outputs} outputs: ${this.index.size} distinct components${exact}`;
  }

  figures(): Figure[] {
    const figs: Figure[] = [];
    const records = this.records();
    const label = (r: ComponentRecord) => `x(${r.inputs.join(",")}) f(${r.outputs.join(",")})`;
    if (this.order % 2 === 0 && this.index.fullSize <= 1 << 20) {
      // Even orders as a matrix: rows are the first n/2 (input, output) pairs, columns the rest.
      const half = this.order / 2;
      const side = (this.points.length * this.outputs) ** half;
      const z: number[][] = Array.from({ length: side }, () => new Array<number>(side));
      const features = this.points.length * this.outputs;
      for (let r = 0; r < side; r++) {
        for (let c = 0; c < side; c++) {
          const p = [...digits(r, features, half), ...digits(c, features, half)];
          z[r][c] = this.stats.mean[this.index.rankOf(p)];
        }
      }
      // Tick labels name each (input, output) tuple: f_a(x_i) is output a at input point i.
      const feature = (q: number) => `f${q % this.outputs}(x${Math.floor(q / this.outputs)})`;
      const ticks = Array.from({ length: side }, (_, r) => digits(r, features, half).map(feature).join(" "));
      figs.push(figure([{ type: "heatmap", z, x: ticks, y: ticks, colorscale: "RdBu", zmid: 0, colorbar: { title: `G${this.order}` } }], {
        title: `G${this.order} (${this.networks} networks): mean over networks of (row) × (column)`,
        xaxis: { type: "category", tickangle: -45 },
        yaxis: { type: "category", autorange: "reversed" },
      }));
    } else {
      figs.push(figure([{
        type: "bar", x: records.map(label), y: records.map((r) => r.mean),
        error_y: { type: "data", array: records.map((r) => 2 * r.stderr) }, name: "Monte Carlo +- 2 se",
      }], { title: `G${this.order} (${this.networks} networks)`, xaxis: { title: "component" } }));
    }
    if (this.exact) {
      const exact = records.map((r) => r.closedForm as number);
      const lo = exact.reduce((a, v) => Math.min(a, v), Infinity);
      const hi = exact.reduce((a, v) => Math.max(a, v), -Infinity);
      figs.push(figure([
        {
          type: "scatter", mode: "markers", x: exact, y: records.map((r) => r.mean), text: records.map(label),
          error_y: { type: "data", array: records.map((r) => 2 * r.stderr) }, name: "Monte Carlo +- 2 se",
        },
        { type: "scatter", mode: "lines", x: [lo, hi], y: [lo, hi], name: "closed form", line: { dash: "dash" } },
      ], { title: `G${this.order}: Monte Carlo vs closed form`, xaxis: { title: "closed form" }, yaxis: { title: "Monte Carlo" } }));
    }
    return figs;
  }

  table(): Table {
    return Table.fromRecords(this.records().map((r) => ({
      inputs: r.inputs.join(","), outputs: r.outputs.join(","), mean: r.mean, stderr: r.stderr,
      closedForm: r.closedForm, z: r.z,
    })), `G${this.order} of ${this.ensembleText}`);
  }

  protected data(): Record<string, unknown> {
    return {
      order: this.order, networks: this.networks, inputs: this.points, outputs: this.outputs, ensemble: this.ensembleText,
      mean: this.mean, stderr: this.stderr, closedForm: this.closedForm, closedFormReason: this.closedFormReason,
      maxClosedFormZ: this.exact ? this.maxClosedFormZ : null, zeroErrorComponents: this.zeroErrorComponents,
    };
  }
}

function digits(value: number, base: number, count: number): number[] {
  const out = new Array<number>(count);
  for (let i = count - 1; i >= 0; i--) {
    out[i] = value % base;
    value = Math.floor(value / base);
  }
  return out;
}

/** ws.symmetry.correlator: G^(n) of the ensemble at the input points, with standard errors. */
export async function correlator(ensemble: Ensemble, inputs: number[][] | tf.Tensor, options: CorrelatorOptions = {}): Promise<Correlator> {
  const where = "symmetry.correlator";
  checkEnsemble(ensemble, where);
  const order = checkOrder(options.order ?? 2, where);
  const points = inputRows(inputs, ensemble, where);
  checkNetworks(ensemble, order, where);
  const features = points.length * ensemble.outputSize;
  const index = new ComponentIndex(features, order);
  const moments = new ProductMoments(index);
  const x = tf.tensor2d(points, [points.length, ensemble.inputSize]);
  try {
    await ensemble.forEachChunk([x], `G${order} of ${ensemble.networks} networks`, ([outputs], count) => {
      for (let m = 0; m < count; m++) moments.add(outputs, m * features);
    });
  } finally {
    x.dispose();
  }
  return new Correlator(ensemble, points, index, moments.moments());
}
