/** ws.persistence(): Vietoris-Rips persistence diagrams of a point cloud or a distance matrix. */
import { Result } from "../display/result";
import { figure, type Figure } from "../display/figure";
import { Table } from "../display/table";
import { persistenceSteps, type EngineOutput, type Interval } from "./engine";
import { driveSteps, progress, yieldToEventLoop, type Progress } from "../display/progress";
import { defaultWorkers, parallelAssembler, sharedDistances } from "./parallel";
import { checkIndexRange, distancesOfMatrix, distanceSteps, enclosingRadius, estimateWork, matrixBytes, memoryBudget, type DistanceInput, type DistanceMatrix, type Metric, type PointCloud } from "./input";

export interface PersistenceOptions {
  /** Highest homology dimension (default 1). */
  maxDim?: number;
  /** Leave out simplices of larger diameter (default: the enclosing radius, which changes nothing). */
  threshold?: number;
  /** Metric for point clouds (default "euclidean"). */
  metric?: Metric;
  /** Also return representative cocycles for dimensions >= 1 (default false). */
  cocycles?: boolean;
  /** Refuse work estimated above this many megabytes (default: half the machine's memory, at most 8192). */
  maxMemoryMB?: number;
  /** Worker threads besides the calling one for the parallel part (default: cores - 1; 0: single thread). */
  workers?: number;
  /** A progress bar once the computation has run for a second (default true; false: none). */
  progress?: boolean;
}

/** The engine works in slices of this many milliseconds, letting the event loop (and an interrupt) run between them. */
const SLICE_MS = 50;
/** Calls shorter than this show no progress bar. */
const QUIET_MS = 1000;

export type PersistenceInput = PointCloud | { distances: DistanceInput };

/**
 * Vietoris-Rips persistence. Asynchronous: the engine yields to the event loop between slices of work,
 * so a notebook interrupt gets through and the progress bar moves.
 */
export async function persistence(input: PersistenceInput, options: PersistenceOptions = {}): Promise<PersistenceResult> {
  const maxDim = options.maxDim ?? 1;
  if (!Number.isInteger(maxDim) || maxDim < 0) throw new Error(`persistence: maxDim must be a non-negative integer, got ${maxDim}`);
  if (options.threshold !== undefined && !(options.threshold >= 0)) throw new Error(`persistence: threshold must be a number >= 0, got ${options.threshold}`);
  if (options.progress !== undefined && typeof options.progress !== "boolean") throw new Error(`persistence: progress must be true or false, got ${String(options.progress)}`);
  // Checked before the distance matrix is built, which alone can exceed the memory limit.
  const budget = memoryBudget(options.maxMemoryMB, "persistence");
  const started = performance.now();
  let matrix: DistanceMatrix;
  if (input != null && typeof input === "object" && "distances" in input && !Array.isArray(input)) matrix = distancesOfMatrix(input.distances, budget);
  else matrix = await driveSteps(distanceSteps(input as PointCloud, options.metric ?? "euclidean", budget, SLICE_MS), null);
  return persistenceOfMatrix(matrix, { ...options, maxDim }, started);
}

/** The engine on an already checked distance matrix (used by the trajectory analysis too). */
export async function persistenceOfMatrix(matrix: DistanceMatrix, options: PersistenceOptions, started = performance.now()): Promise<PersistenceResult> {
  const maxDim = options.maxDim ?? 1;
  checkIndexRange(matrix.n, maxDim);
  const radius = enclosingRadius(matrix);
  // Above the enclosing radius the complex is a cone: a larger threshold gives the same diagrams.
  const threshold = Math.fround(Math.min(options.threshold ?? Infinity, radius));
  const budgetMB = memoryBudget(options.maxMemoryMB, "persistence") / 2 ** 20;
  const estimate = estimateWork(matrix, maxDim, threshold);
  if (estimate.bytes > budgetMB * 2 ** 20) throw new Error(memoryMessage(matrix, maxDim, threshold, estimate.bytes, budgetMB));
  const workers = options.workers ?? defaultWorkers();
  if (!Number.isInteger(workers) || workers < 0) throw new Error(`persistence: workers must be a non-negative integer, got ${workers}`);
  const distances = workers > 0 && maxDim >= 2 ? sharedDistances(matrix.values) : matrix.values;
  const counts = { workerChunks: 0 };
  const assemble = workers > 0 && maxDim >= 2 ? parallelAssembler(distances, maxDim, workers, counts) : undefined;
  const steps = persistenceSteps({ distances, n: matrix.n, maxDim, threshold, cocycles: options.cocycles ?? false, assemble }, SLICE_MS);
  let bar: Progress | null = null;
  let out: EngineOutput;
  for (;;) {
    const step = steps.next();
    if (step.done) {
      out = step.value;
      break;
    }
    const { dim, done, total } = step.value;
    if (bar === null && options.progress !== false && performance.now() - started > QUIET_MS) bar = progress(`persistence of ${matrix.n} ${matrix.source === "points" ? "points" : "vertices"}`, 100);
    bar?.update(Math.floor((100 * (dim + (total > 0 ? done / total : 1))) / (maxDim + 1)), dim === 0 ? `H0: ${done}/${total} edges` : `H${dim}: ${done}/${total} columns`);
    await yieldToEventLoop();
  }
  bar?.finish(`${((performance.now() - started) / 1000).toFixed(1)} s`);
  return new PersistenceResult(out, { n: matrix.n, maxDim, threshold, enclosingRadius: radius, source: matrix.source, estimatedBytes: estimate.bytes, workerChunks: counts.workerChunks, seconds: (performance.now() - started) / 1000 });
}

function memoryMessage(matrix: DistanceMatrix, maxDim: number, threshold: number, bytes: number, budgetMB: number): string {
  const fits = (t: number) => estimateWork(matrix, maxDim, t).bytes <= budgetMB * 2 ** 20;
  const fixed = matrixBytes(matrix.n);
  let advice: string;
  if (fixed > budgetMB * 2 ** 20) {
    advice = `the distance matrix alone needs ${(fixed / 2 ** 20).toFixed(0)} MB: subsample the points (ws.topology.subsample)`;
  } else {
    let lo = 0;
    let hi = threshold;
    for (let i = 0; i < 30; i++) {
      const mid = (lo + hi) / 2;
      if (fits(mid)) lo = mid;
      else hi = mid;
    }
    advice = `threshold <= ${roundDown(lo, 4)} would fit, or lower maxDim, or subsample the points`;
  }
  return `persistence: ${matrix.n} points up to dimension ${maxDim} at threshold ${threshold.toPrecision(4)} need about ${(bytes / 2 ** 20).toFixed(0)} MB, over the ${budgetMB} MB limit (maxMemoryMB); ${advice}`;
}

/** x rounded down to `digits` significant digits, so the advised threshold is never above the one that fits. */
function roundDown(x: number, digits: number): number {
  if (x <= 0) return 0;
  const scale = 10 ** (digits - 1 - Math.floor(Math.log10(x)));
  return Math.floor(x * scale) / scale;
}

/** Plotly's default colour sequence: dimension k gets colour k, in the diagram and the barcode. */
const DIMENSION_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

export interface PersistenceInfo {
  n: number;
  maxDim: number;
  threshold: number;
  enclosingRadius: number;
  source: "points" | "distances";
  estimatedBytes: number;
  /** Chunks of the column assembly computed by worker threads. */
  workerChunks: number;
  seconds: number;
}

export class PersistenceResult extends Result {
  readonly kind = "persistence";
  /** diagrams[d]: [birth, death) intervals of H_d, sorted by birth then death; death Infinity for essential classes. */
  readonly diagrams: Interval[][];
  /** cocycles[d][k]: simplices (vertex lists) of a representative cocycle of diagrams[d][k] (d >= 1), when asked for. */
  readonly cocycles: number[][][][] | null;
  readonly stats: EngineOutput["stats"];

  constructor(out: EngineOutput, readonly info: PersistenceInfo) {
    super();
    const order = out.diagrams.map((d) => d.map((_, i) => i).sort((a, b) => d[a][0] - d[b][0] || d[a][1] - d[b][1]));
    this.diagrams = out.diagrams.map((d, k) => order[k].map((i) => d[i]));
    this.cocycles = out.cocycles ? out.cocycles.map((c, k) => (k === 0 ? [] : order[k].map((i) => c[i]))) : null;
    this.stats = out.stats;
  }

  summary(): string {
    const parts = this.diagrams.map((d, k) => {
      const inf = d.filter((p) => p[1] === Infinity).length;
      return `H${k}: ${d.length - inf} finite${inf ? ` + ${inf} infinite` : ""}`;
    });
    const { n, threshold, enclosingRadius, seconds } = this.info;
    return `${n} ${this.info.source === "points" ? "points" : "vertices"}, ${parts.join(", ")}; threshold ${threshold.toPrecision(5)} (enclosing radius ${enclosingRadius.toPrecision(5)}), ${seconds.toFixed(2)} s`;
  }

  /** Where infinite deaths are drawn: a little above every finite value and the threshold. */
  private infinityLine(): number {
    const finite = this.diagrams.flat().filter((p) => p[1] !== Infinity);
    const top = Math.max(this.info.threshold === Infinity ? 0 : this.info.threshold, ...finite.map((p) => p[1]), 1e-12);
    return top * 1.1;
  }

  /**
   * One persistence diagram for every dimension (as ripser.py and giotto-tda draw it): one colour per
   * dimension, the diagonal, and infinite deaths on a dashed line at the top labelled "∞".
   */
  figures(): Figure[] {
    const infY = this.infinityLine();
    const low = Math.min(0, ...this.diagrams.flat().map((p) => p[0]));
    const traces = this.diagrams.flatMap((d, k) => {
      const color = DIMENSION_COLORS[k % DIMENSION_COLORS.length];
      const fin = d.filter((p) => p[1] !== Infinity);
      const inf = d.filter((p) => p[1] === Infinity);
      const hover = (p: Interval) => `H${k} [${p[0].toPrecision(5)}, ${p[1] === Infinity ? "∞" : p[1].toPrecision(5)})`;
      return [
        { type: "scatter", mode: "markers", name: `H${k} (${d.length})`, legendgroup: `H${k}`, x: fin.map((p) => p[0]), y: fin.map((p) => p[1]), text: fin.map(hover), hoverinfo: "text", marker: { color, size: 7 } },
        ...(inf.length ? [{ type: "scatter", mode: "markers", name: `H${k} ∞`, legendgroup: `H${k}`, showlegend: false, x: inf.map((p) => p[0]), y: inf.map(() => infY), text: inf.map(hover), hoverinfo: "text", marker: { color, size: 9, symbol: "triangle-up" } }] : []),
      ];
    });
    return [figure(
      [
        { type: "scatter", mode: "lines", name: "diagonal", x: [low, infY], y: [low, infY], line: { color: "gray", width: 1 }, showlegend: false, hoverinfo: "skip" },
        { type: "scatter", mode: "lines", name: "death = ∞", x: [low, infY], y: [infY, infY], line: { color: "gray", dash: "dash", width: 1 }, showlegend: false, hoverinfo: "skip" },
        ...traces,
      ],
      {
        title: `Persistence diagram, H0-H${this.diagrams.length - 1} (${this.info.n} ${this.info.source === "points" ? "points" : "vertices"})`,
        xaxis: { title: "birth", range: [low, infY * 1.04] },
        yaxis: { title: "death", range: [low, infY * 1.04], scaleanchor: "x" },
        annotations: [{ x: low, y: infY, xref: "x", yref: "y", text: "∞", showarrow: false, xanchor: "right", xshift: -4, font: { size: 16 } }],
      },
    )];
  }

  /** The barcode of every dimension in one figure, longest bars first within each dimension. */
  barcode(): Figure {
    const infY = this.infinityLine();
    let row = 0;
    const traces = this.diagrams.map((d, k) => {
      const bars = [...d].sort((a, b) => b[1] - b[0] - (a[1] - a[0]));
      const first = row;
      row += bars.length;
      return {
        type: "scatter", mode: "lines", name: `H${k} (${d.length})`, line: { width: 2, color: DIMENSION_COLORS[k % DIMENSION_COLORS.length] },
        x: bars.flatMap((p) => [p[0], p[1] === Infinity ? infY : p[1], null]),
        y: bars.flatMap((_, i) => [first + i, first + i, null]),
      };
    });
    return figure(traces, { title: `Barcode (${row} bars; infinite bars end at ${infY.toPrecision(3)})`, xaxis: { title: "filtration value" }, yaxis: { title: "bar", autorange: "reversed", showticklabels: false } });
  }

  /** Per dimension: the number of bars, how many are infinite, and the longest finite bars. */
  table(): Table {
    const rows = this.diagrams.map((d, k) => {
      const finite = d.filter((p) => p[1] !== Infinity).sort((a, b) => b[1] - b[0] - (a[1] - a[0]));
      const longest = finite[0];
      const persistence = (i: number) => (finite[i] ? finite[i][1] - finite[i][0] : null);
      return [`H${k}`, d.length, d.length - finite.length, longest?.[0] ?? null, longest?.[1] ?? null, persistence(0), persistence(1), persistence(2)];
    });
    return new Table(
      ["dim", "bars", "infinite", "longest bar birth", "longest bar death", "longest persistence", "2nd persistence", "3rd persistence"],
      rows,
      `Vietoris-Rips persistence (${this.info.n} ${this.info.source === "points" ? "points" : "vertices"}); all bars: .bars()`,
    );
  }

  /** Every bar as one row (dimension, birth, death, persistence). */
  bars(): Table {
    const rows = this.diagrams.flatMap((d, k) => d.map((p) => [k, p[0], p[1], p[1] - p[0]]));
    return new Table(["dim", "birth", "death", "persistence"], rows, `Vietoris-Rips persistence bars (${this.info.n} ${this.info.source === "points" ? "points" : "vertices"})`);
  }

  protected data(): Record<string, unknown> {
    // JSON has no Infinity: essential classes are written with death null.
    return {
      diagrams: this.diagrams.map((d) => d.map(([b, e]) => [b, e === Infinity ? null : e])),
      cocycles: this.cocycles,
      ...this.info,
      stats: this.stats,
    };
  }
}
