/**
 * topology.trajectory(run): the weight-trajectory analysis of the seed paper in one call, on the
 * cloud of one layer's neurons over a recorded run: neuron groups over time (how neurons that start
 * equal branch off), the Mapper graph, persistence of a furthest-point subsample (cover radius
 * reported), the PCA "learning surface" and the factors-of-variation images.
 */
import * as tf from "@tensorflow/tfjs";
import { Result } from "../display/result";
import { figure, type Figure } from "../display/figure";
import { Table } from "../display/table";
import { mlp } from "../model/build";
import { Rng } from "../math/rng";
import type { TrainRun } from "../train/run";
import { allIdentical, cloud, furthestPointSample, neuronGroups, squaredDistanceToOrigin, type CloudOptions, type TrajectoryCloud } from "./cloud";
import { distancesOfPoints } from "./input";
import { mapper, type MapperOptions, type MapperResult } from "./mapper";
import { localDimension, pca, type LocalDimension } from "./pca";
import { persistenceOfMatrix, type PersistenceResult } from "./persistence";
import { yieldToEventLoop } from "../display/progress";

export interface TrajectoryOptions extends CloudOptions {
  /** Neurons closer than this (incoming weights, Euclidean) are one group: a fixed tolerance for every step (default: relativeTolerance). */
  groupTolerance?: number;
  /**
   * Without groupTolerance: neurons within this fraction of the step's largest neuron norm are one group
   * (default 0.01). Relative to the current norm, so early branching of small weights is seen (1% of the
   * final norm hid it).
   */
  relativeTolerance?: number;
  mapper?: MapperOptions;
  /** Points of the furthest-point subsample for persistence (default 200; 0 skips persistence). */
  subsample?: number;
  /** Homology dimension of the subsample's persistence (default 1). */
  maxDim?: number;
  /** Factors of variation: snapshot step (default the last), neighbour gap (default 5), images shown (default 8). */
  factors?: { step?: number; gap?: number; count?: number };
  seed?: number;
}


export async function trajectory(run: TrainRun, options: TrajectoryOptions = {}): Promise<TrajectoryResult> {
  const c = cloud(run, options);
  if (options.groupTolerance !== undefined && !(options.groupTolerance >= 0 && Number.isFinite(options.groupTolerance))) throw new Error(`topology.trajectory: groupTolerance must be a finite number >= 0, got ${options.groupTolerance}`);
  const relative = options.relativeTolerance ?? 0.01;
  if (!(relative >= 0 && Number.isFinite(relative))) throw new Error(`topology.trajectory: relativeTolerance must be a finite number >= 0, got ${relative}`);
  // One tolerance per recorded step: fixed, or relative to that step's largest neuron norm.
  const tolerances = c.steps.map((_, k) => {
    if (options.groupTolerance !== undefined) return options.groupTolerance;
    let maxNorm = 0;
    for (let j = 0; j < c.neurons; j++) maxNorm = Math.max(maxNorm, Math.sqrt(squaredDistanceToOrigin(c.points, c.dim, k * c.neurons + j)));
    return relative * maxNorm;
  });
  const groups = neuronGroups(c, tolerances);
  await yieldToEventLoop();
  const graph = mapper(c, { seed: options.seed, ...options.mapper });
  await yieldToEventLoop();

  // The learning surface: the whole cloud on its top 3 principal components; its intrinsic dimension by
  // local PCA in the top 20 (most of the variance, and neighbour searches stay cheap on 20k points).
  const projected = pca(c.points, c.m, c.dim, Math.min(20, c.dim), { seed: options.seed });
  const shown = Math.min(3, projected.k);
  const surface = new Float64Array(c.m * 3);
  for (let i = 0; i < c.m; i++) for (let j = 0; j < shown; j++) surface[i * 3 + j] = projected.coordinates[i * projected.k + j];
  await yieldToEventLoop();
  const surfaceDimension: LocalDimension = c.m >= 3 ? localDimension(projected.coordinates, c.m, projected.k, { neighbours: Math.min(20, c.m), samples: 100, seed: options.seed }) : { dimension: 0, local: [], spectrum: [], method: "fewer than 3 points: not estimated" };
  await yieldToEventLoop();

  // Persistence of a furthest-point subsample, in the original weight space.
  const count = options.subsample ?? 200;
  let homology: PersistenceResult | null = null;
  let coverRadius = NaN;
  if (count > 0) {
    const sample = furthestPointSample(c.points, c.m, c.dim, count);
    coverRadius = sample.coverRadius;
    const rows = sample.indices.map((i) => c.points.subarray(i * c.dim, (i + 1) * c.dim));
    homology = await persistenceOfMatrix(distancesOfPoints(rows), { maxDim: options.maxDim ?? 1, progress: false });
  }
  await yieldToEventLoop();

  const factors = factorsOfVariation(c, options.factors ?? {}, options.seed);
  return new TrajectoryResult(c, groups, tolerances, graph, surface, projected.variances.slice(0, 3).map((v) => v / projected.totalVariance), surfaceDimension, homology, coverRadius, factors, {
    symmetricStart: allIdentical(c, 0),
    symmetricEnd: allIdentical(c, c.steps.length - 1),
  });
}

export interface Factors {
  step: number;
  gap: number;
  /** Neurons sorted along the first principal axis of that snapshot. */
  order: number[];
  /** differences[k] = w[order[k + gap]] - w[order[k]] (incoming weights). */
  differences: Float32Array[];
  /** Image side when the input dimension is a square (784 -> 28), else 0. */
  side: number;
}

/** Gabella's "natural coordinates": neurons of one snapshot ordered along a principal axis, and differences of neighbours `gap` apart. */
function factorsOfVariation(c: TrajectoryCloud, options: NonNullable<TrajectoryOptions["factors"]>, seed?: number): Factors {
  const k = options.step === undefined ? c.steps.length - 1 : c.steps.indexOf(options.step);
  if (k < 0) throw new Error(`topology.trajectory: factors.step ${options.step} is not a recorded step; steps: ${c.steps.slice(0, 8).join(", ")}${c.steps.length > 8 ? ", ..." : ""}`);
  const gap = options.gap ?? 5;
  if (!Number.isInteger(gap) || gap < 1) throw new Error(`topology.trajectory: factors.gap must be a positive integer, got ${gap}`);
  const rows = c.points.subarray(k * c.neurons * c.dim, (k + 1) * c.neurons * c.dim);
  const axis = pca(rows, c.neurons, c.dim, 1, { seed }).coordinates;
  const order = Array.from({ length: c.neurons }, (_, j) => j).sort((a, b) => axis[a] - axis[b] || a - b);
  const count = Math.max(0, Math.min(options.count ?? 8, c.neurons - gap));
  const differences = Array.from({ length: count }, (_, i) => {
    const a = order[i + gap] * c.dim;
    const b = order[i] * c.dim;
    return Float32Array.from({ length: c.dim }, (_, t) => rows[a + t] - rows[b + t]);
  });
  const side = Math.round(Math.sqrt(c.dim));
  return { step: c.steps[k], gap, order, differences, side: side * side === c.dim ? side : 0 };
}

export class TrajectoryResult extends Result {
  readonly kind = "trajectory";

  constructor(
    readonly cloud: TrajectoryCloud,
    /** groups[k]: the neuron groups (lists of neuron indices, largest first) at cloud.steps[k]. */
    readonly groups: number[][][],
    /** The grouping tolerance at each recorded step. */
    readonly groupTolerances: number[],
    readonly mapper: MapperResult,
    /** m x 3 principal coordinates of the cloud (the learning surface). */
    readonly surface: Float64Array,
    /** Fraction of the cloud's variance on each of the 3 components. */
    readonly explainedVariance: number[],
    /** Intrinsic dimension of the cloud (the learning surface) by local PCA, with its method. */
    readonly surfaceDimension: LocalDimension,
    readonly persistence: PersistenceResult | null,
    /** Hausdorff distance between the cloud and the persistence subsample. */
    readonly coverRadius: number,
    readonly factors: Factors,
    readonly symmetry: { symmetricStart: boolean; symmetricEnd: boolean },
  ) {
    super();
  }

  /** The tolerance in words: one value, or its range over the steps. */
  private toleranceText(): string {
    const t = this.groupTolerances;
    const lo = Math.min(...t);
    const hi = Math.max(...t);
    return lo === hi ? lo.toPrecision(3) : `${lo.toPrecision(3)} to ${hi.toPrecision(3)} (relative to each step's largest norm)`;
  }

  /** Number of neuron groups at each recorded step. */
  get groupCounts(): number[] {
    return this.groups.map((g) => g.length);
  }

  /**
   * First recorded step with more groups than the step before, or null when nothing branched. (At a tiny
   * random init the neurons are distinct relative to their own small norm, so step 0 can hold many groups
   * that then merge; branching is a later rise in the count.)
   */
  get firstBranchStep(): number | null {
    const k = this.groups.findIndex((g, i) => i > 0 && g.length > this.groups[i - 1].length);
    return k < 0 ? null : this.cloud.steps[k];
  }

  summary(): string {
    const counts = this.groupCounts;
    const c = this.cloud;
    const sym = this.symmetry.symmetricStart
      ? this.symmetry.symmetricEnd
        ? "; all neurons started identical and stayed bit-identical: no symmetry-breaking noise, nothing branched"
        : "; all neurons started identical"
      : "";
    const branch = this.firstBranchStep === null ? "never branched" : `first branch at step ${this.firstBranchStep}`;
    const ph = this.persistence ? `; subsample of ${this.persistence.info.n} (cover radius ${this.coverRadius.toPrecision(3)}): ${this.persistence.diagrams.map((d, k) => `H${k} ${d.length}`).join(", ")}` : "";
    return `${c.layer}: ${c.neurons} neurons x ${c.steps.length} steps in R^${c.dim}; groups ${counts[0]} -> ${counts[counts.length - 1]} (${branch}, tolerance ${this.toleranceText()})${sym}; Mapper ${this.mapper.nodes.length} nodes / ${this.mapper.edges.length} edges, cycle rank ${this.mapper.cycleRank}; surface dimension ${this.surfaceDimension.dimension} (local PCA)${ph}`;
  }

  figures(): Figure[] {
    const c = this.cloud;
    const figs: Figure[] = [
      figure([{ type: "scatter", mode: "lines+markers", name: "groups", x: c.steps, y: this.groupCounts, line: { shape: "hv" } }], {
        title: `${c.layer}: neuron groups (within ${this.toleranceText()})`,
        xaxis: { title: "step" },
        yaxis: { title: "groups" },
      }),
      ...this.mapper.figures(),
    ];
    const ev = this.explainedVariance.map((v) => (100 * v).toFixed(1)).join(" / ");
    figs.push(
      figure(
        [
          {
            type: "scatter3d",
            mode: "markers",
            name: "neuron x step",
            x: Array.from({ length: c.m }, (_, i) => this.surface[i * 3]),
            y: Array.from({ length: c.m }, (_, i) => this.surface[i * 3 + 1]),
            z: Array.from({ length: c.m }, (_, i) => this.surface[i * 3 + 2]),
            text: Array.from({ length: c.m }, (_, i) => `neuron ${c.neuron[i]}, step ${c.step[i]}`),
            marker: { size: 2, color: Array.from(c.step), colorscale: "Viridis", showscale: true, colorbar: { title: "step" } },
          },
        ],
        {
          title: `Learning surface: PCA of ${c.layer} (${ev}% of variance)`,
          height: 520,
          scene: { xaxis: { title: "PC1" }, yaxis: { title: "PC2" }, zaxis: { title: "PC3" } },
        },
      ),
    );
    if (this.persistence) figs.push(...this.persistence.figures());
    const f = this.factors;
    if (f.side > 0 && f.differences.length > 0) {
      const cols = Math.min(4, f.differences.length);
      const grids = f.differences.map((d, i) => ({
        type: "heatmap",
        z: Array.from({ length: f.side }, (_, r) => Array.from(d.subarray(r * f.side, (r + 1) * f.side))),
        colorscale: "RdBu",
        zmid: 0,
        showscale: false,
        xaxis: `x${i === 0 ? "" : i + 1}`,
        yaxis: `y${i === 0 ? "" : i + 1}`,
      }));
      const layout: Record<string, unknown> = { title: `Factors of variation at step ${f.step}: w[k + ${f.gap}] - w[k] along PC1`, grid: { rows: Math.ceil(grids.length / cols), columns: cols, pattern: "independent" }, height: 200 * Math.ceil(grids.length / cols) };
      grids.forEach((_, i) => {
        layout[`xaxis${i === 0 ? "" : i + 1}`] = { visible: false };
        layout[`yaxis${i === 0 ? "" : i + 1}`] = { visible: false, autorange: "reversed", scaleanchor: `x${i === 0 ? "" : i + 1}` };
      });
      figs.push(figure(grids, layout));
    }
    return figs;
  }

  table(): Table {
    return new Table(["step", "groups", "group sizes"], this.cloud.steps.map((s, k) => [s, this.groups[k].length, this.groups[k].map((g) => g.length).join(" ")]), `${this.cloud.layer}: neuron groups per recorded step`);
  }

  protected data(): Record<string, unknown> {
    return {
      layer: this.cloud.layer,
      steps: this.cloud.steps,
      groupCounts: this.groupCounts,
      groupTolerances: this.groupTolerances,
      firstBranchStep: this.firstBranchStep,
      symmetry: this.symmetry,
      mapper: this.mapper.toJSON(),
      explainedVariance: this.explainedVariance,
      surfaceDimension: { dimension: this.surfaceDimension.dimension, spectrum: this.surfaceDimension.spectrum, method: this.surfaceDimension.method },
      persistence: this.persistence?.toJSON() ?? null,
      coverRadius: this.coverRadius,
      factors: { step: this.factors.step, gap: this.factors.gap, order: this.factors.order },
    };
  }
}

export interface LearningNetOptions {
  /** Layer sizes (default the paper's [784, 100, 100, 10]). */
  sizes?: number[];
  /** Initial weights: "zeros" or a normal std (default 1e-6, the paper's N(0, 1e-6)). */
  init?: "zeros" | number;
  /**
   * Symmetry-breaking noise: N(0, noise^2) added to every kernel after the init (default 0). Exact zero
   * init gives every neuron of a layer bit-identical gradients, so without noise nothing ever branches.
   */
  symmetryNoise?: number;
  seed?: number;
}

/** The paper's network: sigmoid hidden layers, softmax output, no biases, small or zero init. */
export function learningNet(options: LearningNetOptions = {}): tf.Sequential {
  const init = options.init ?? 1e-6;
  const noise = options.symmetryNoise ?? 0;
  if (!(noise >= 0)) throw new Error(`learningNet: symmetryNoise must be >= 0, got ${noise}`);
  if (init !== "zeros" && !(typeof init === "number" && init >= 0)) throw new Error(`learningNet: init must be "zeros" or a std >= 0, got ${String(init)}`);
  const model = mlp(options.sizes ?? [784, 100, 100, 10], { activation: "sigmoid", output: "softmax", bias: false, init: init === "zeros" ? "zeros" : { std: init }, seed: options.seed });
  if (noise > 0) {
    const rng = new Rng((options.seed ?? 0) + 1);
    for (const layer of model.layers) {
      const [kernel] = layer.getWeights();
      const values = kernel.dataSync();
      const noisy = tf.tensor(Float32Array.from(values, (v) => v + noise * rng.normal()), kernel.shape);
      layer.setWeights([noisy]);
      noisy.dispose();
    }
  }
  return model;
}
