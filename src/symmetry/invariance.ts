/**
 * ws.symmetry.test: the paired invariance test. For Haar-random rotations R and the SAME sampled
 * networks, Delta_m = prod_t (R f_m(x_t))_(i_t) - prod_t f_m(x_t)_(i_t) (output group) or
 * prod_t f_m(R x_t)_(i_t) - prod_t f_m(x_t)_(i_t) (input group). Its mean over networks is
 * (R.G - G) per component; mean / standard error is a z-score that is N(0, 1) for large M when G is
 * invariant. Invariance is declared when max |z| stays below the Bonferroni threshold at level alpha.
 */
import * as tf from "@tensorflow/tfjs";
import { Result } from "../display/result";
import { figure, type Figure } from "../display/figure";
import { Table } from "../display/table";
import { Rng } from "../math/rng";
import type { Ensemble } from "./ensemble";
import { ComponentIndex, ProductMoments } from "./moments";
import { haarRotation, type Matrix } from "./rotation";
import { bonferroniThreshold, normalDensity, maxAbs } from "./stats";
import { inputRows, checkOrder, checkNetworks, checkEnsemble } from "./inputs";

export type SymmetryGroup = "output" | "input";

export interface InvarianceOptions {
  /** Which SO(k) acts: "output" (on f, k = outputs) or "input" (on x, k = inputs). Default "output". */
  group?: SymmetryGroup;
  /** Order of the correlator tested (default 2). */
  order?: number;
  /** Number of Haar-random rotations, all tested on the same networks (default 3). */
  rotations?: number;
  /** Seed of the rotations (default 0). */
  seed?: number;
  /** Family-wise false-positive level of the max-|z| test (default 0.01). */
  alpha?: number;
}

/** The test of one ensemble. */
export interface InvarianceRun {
  ensemble: string;
  width: number;
  networks: number;
  /** z-scores per rotation, then per distinct component (NaN where the standard error is 0). */
  z: Float64Array;
  /** Finite z-scores tested (distinct components x rotations). */
  components: number;
  /** Components with zero standard error (constant products), reported and left out of the max. */
  zeroError: number;
  maxZ: number;
  threshold: number;
  invariant: boolean;
  /** ||R.G - G|| / ||G|| over the full tensor, averaged over rotations. */
  deviation: number;
  /** The deviation that Monte-Carlo noise alone gives: sqrt(sum se(Delta)^2) / ||G||. */
  noise: number;
}

export class InvarianceTest extends Result {
  readonly kind = "symmetry.test";
  readonly group: SymmetryGroup;
  readonly order: number;
  readonly alpha: number;
  /** The rotations used, as row-major k x k matrices. */
  readonly rotations: number[][][];
  readonly runs: InvarianceRun[];

  constructor(group: SymmetryGroup, order: number, alpha: number, rotations: Matrix[], dimension: number, runs: InvarianceRun[]) {
    super();
    this.group = group;
    this.order = order;
    this.alpha = alpha;
    this.rotations = rotations.map((r) => Array.from({ length: dimension }, (_, i) => Array.from(r.subarray(i * dimension, (i + 1) * dimension))));
    this.runs = runs;
  }

  /** All z-scores of all runs. */
  get z(): number[] {
    return this.runs.flatMap((r) => Array.from(r.z));
  }

  get maxZ(): number {
    return maxAbs(this.runs.map((r) => r.maxZ));
  }

  /** The threshold of the run with the most components (all runs share it when their inputs match). */
  get threshold(): number {
    return maxAbs(this.runs.map((r) => r.threshold));
  }

  /** True when every run is below its threshold. */
  get invariant(): boolean {
    return this.runs.every((r) => r.invariant);
  }

  summary(): string {
    const verdict = this.invariant ? "invariant" : `NOT invariant (${this.runs.filter((r) => !r.invariant).length}/${this.runs.length} runs)`;
    return `${this.group} SO(${this.rotations[0].length}) test of G${this.order}, ${this.runs.length} ensemble${this.runs.length === 1 ? "" : "s"}: max |z| ${this.maxZ.toFixed(2)} vs threshold ${this.threshold.toFixed(2)} (alpha ${this.alpha}) -> ${verdict}`;
  }

  figures(): Figure[] {
    const z = this.z.filter(Number.isFinite);
    const bins = 40;
    const edge = Math.max(4, Math.ceil(maxAbs(z) || 0));
    const binWidth = (2 * edge) / bins;
    // Binned here, not by Plotly: a G4 test has 10^5 z-scores, too many to ship in the figure.
    const counts = new Array<number>(bins).fill(0);
    for (const v of z) counts[Math.min(bins - 1, Math.floor((v + edge) / binWidth))]++;
    const grid = Array.from({ length: 201 }, (_, i) => -edge + (2 * edge * i) / 200);
    const histogram = figure([
      { type: "bar", x: counts.map((_, b) => -edge + (b + 0.5) * binWidth), y: counts, width: binWidth, name: "z-scores", opacity: 0.7 },
      { type: "scatter", mode: "lines", x: grid, y: grid.map((t) => z.length * binWidth * normalDensity(t)), name: "null N(0, 1)" },
      { type: "scatter", mode: "lines", x: [this.threshold, this.threshold], y: [0, z.length * binWidth * normalDensity(0)], name: "threshold", line: { dash: "dash" } },
      { type: "scatter", mode: "lines", x: [-this.threshold, -this.threshold], y: [0, z.length * binWidth * normalDensity(0)], showlegend: false, line: { dash: "dash" } },
    ], { title: `paired z-scores of G${this.order} under ${this.group} rotations`, xaxis: { title: "z" }, yaxis: { title: "count" } });
    const widths = this.runs.map((r) => r.width);
    const deviation = figure([
      { type: "scatter", mode: "lines+markers", x: widths, y: this.runs.map((r) => r.deviation), name: "||R.G - G|| / ||G||" },
      { type: "scatter", mode: "lines", x: widths, y: this.runs.map((r) => r.noise), name: "Monte-Carlo noise level", line: { dash: "dot" } },
    ], { title: "deviation vs width", xaxis: { title: "width", type: "log" }, yaxis: { title: "relative deviation", type: "log" } });
    return [histogram, deviation];
  }

  table(): Table {
    return Table.fromRecords(this.runs.map((r) => ({
      ensemble: r.ensemble, width: r.width, networks: r.networks, components: r.components, zeroError: r.zeroError,
      maxZ: r.maxZ, threshold: r.threshold, invariant: r.invariant, deviation: r.deviation, noise: r.noise,
    })), `${this.group} SO(${this.rotations[0].length}) invariance of G${this.order}`);
  }

  protected data(): Record<string, unknown> {
    return {
      group: this.group, order: this.order, alpha: this.alpha, rotations: this.rotations, maxZ: this.maxZ, threshold: this.threshold,
      invariant: this.invariant, runs: this.runs.map((r) => ({ ...r, z: Array.from(r.z, (v) => (Number.isFinite(v) ? v : null)) })),
    };
  }
}

/** ws.symmetry.test: the paired invariance test of one ensemble or of several (e.g. across widths). */
export async function invarianceTest(ensembles: Ensemble | Ensemble[], inputs: number[][] | tf.Tensor, options: InvarianceOptions = {}): Promise<InvarianceTest> {
  const where = "symmetry.test";
  const list = Array.isArray(ensembles) ? ensembles : [ensembles];
  if (list.length === 0) throw new Error(`${where}: expects an ensemble from ws.symmetry.ensemble or a non-empty array of them`);
  list.forEach((e) => checkEnsemble(e, where));
  const group = options.group ?? "output";
  if (group !== "output" && group !== "input") throw new Error(`${where}: group must be "output" or "input", got ${String(group)}`);
  const order = checkOrder(options.order ?? 2, where);
  const count = options.rotations ?? 3;
  if (!Number.isInteger(count) || count < 1) throw new Error(`${where}: rotations must be a positive integer, got ${count}`);
  const alpha = options.alpha ?? 0.01;
  if (!(alpha > 0 && alpha < 1)) throw new Error(`${where}: alpha must be in (0, 1), got ${alpha}`);
  const dimension = group === "output" ? list[0].outputSize : list[0].inputSize;
  if (dimension < 2) throw new Error(`${where}: the ${group} group SO(${dimension}) is trivial; the ensemble [${list[0].sizes.join("-")}] needs ${group === "output" ? "outputs" : "inputs"} >= 2`);
  for (const e of list) {
    const d = group === "output" ? e.outputSize : e.inputSize;
    if (d !== dimension) throw new Error(`${where}: all ensembles must share the ${group} size; [${e.sizes.join("-")}] has ${d}, the first has ${dimension}`);
  }
  const points = inputRows(inputs, list[0], where);
  for (const e of list) {
    inputRows(points, e, where);
    checkNetworks(e, order, where);
  }
  const rng = new Rng(options.seed ?? 0);
  const rotations = Array.from({ length: count }, () => haarRotation(dimension, rng));
  const runs: InvarianceRun[] = [];
  for (const e of list) runs.push(await testOne(e, points, order, group, rotations, alpha));
  return new InvarianceTest(group, order, alpha, rotations, dimension, runs);
}

async function testOne(ensemble: Ensemble, points: number[][], order: number, group: SymmetryGroup, rotations: Matrix[], alpha: number): Promise<InvarianceRun> {
  const outputs = ensemble.outputSize;
  const features = points.length * outputs;
  const index = new ComponentIndex(features, order);
  const accumulators = rotations.map(() => new ProductMoments(index, true));
  const inputSets = [points, ...(group === "input" ? rotations.map((r) => points.map((x) => rotate(r, x))) : [])];
  const tensors = inputSets.map((rows) => tf.tensor2d(rows, [rows.length, ensemble.inputSize]));
  const rotated = new Float64Array(features);
  try {
    await ensemble.forEachChunk(tensors, `${group} test of G${order}, width ${ensemble.width}`, (values, m) => {
      for (let s = 0; s < m; s++) {
        const offset = s * features;
        rotations.forEach((r, k) => {
          if (group === "input") {
            accumulators[k].add(values[0], offset, values[k + 1]);
            return;
          }
          for (let x = 0; x < points.length; x++) {
            const base = offset + x * outputs;
            for (let a = 0; a < outputs; a++) {
              let sum = 0;
              for (let b = 0; b < outputs; b++) sum += r[a * outputs + b] * values[0][base + b];
              rotated[x * outputs + a] = sum;
            }
          }
          accumulators[k].add(values[0], offset, rotated, 0);
        });
      }
    });
  } finally {
    tf.dispose(tensors);
  }
  const z = new Float64Array(rotations.length * index.size);
  let deviation = 0;
  let noise = 0;
  accumulators.forEach((acc, k) => {
    const delta = acc.deltas();
    const g = acc.moments();
    let dev = 0;
    let se = 0;
    let norm = 0;
    for (let u = 0; u < index.size; u++) {
      z[k * index.size + u] = delta.stderr[u] > 0 ? delta.mean[u] / delta.stderr[u] : NaN;
      const w = index.multiplicity(u);
      dev += w * delta.mean[u] ** 2;
      se += w * delta.stderr[u] ** 2;
      norm += w * g.mean[u] ** 2;
    }
    deviation += Math.sqrt(dev / norm) / rotations.length;
    noise += Math.sqrt(se / norm) / rotations.length;
  });
  const finite = Array.from(z).filter(Number.isFinite);
  if (finite.length === 0) throw new Error(`symmetry.test: every component of ${ensemble.describe()} has zero standard error (are all inputs 0?); nothing can be tested`);
  const maxZ = maxAbs(finite);
  const threshold = bonferroniThreshold(alpha, finite.length);
  return {
    ensemble: ensemble.describe(), width: ensemble.width, networks: ensemble.networks, z, components: finite.length,
    zeroError: z.length - finite.length, maxZ, threshold, invariant: maxZ <= threshold, deviation, noise,
  };
}

function rotate(r: Matrix, x: number[]): number[] {
  const n = x.length;
  return Array.from({ length: n }, (_, i) => x.reduce((a, xj, j) => a + r[i * n + j] * xj, 0));
}
