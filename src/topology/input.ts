/**
 * Inputs of the persistence engine: point clouds and distance matrices checked and turned into one
 * float32 n x n distance matrix, the enclosing radius, and the memory estimate made before any work.
 */
import * as os from "os";
import * as v8 from "v8";
import * as tf from "@tensorflow/tfjs";
import { binomial, MAX_INDEX } from "./engine";
import { runSteps } from "../math/hessian";

/** Default memory limit of the topology tools: half the machine's memory, at most 8 GB. */
export const DEFAULT_MEMORY_MB = Math.min(8192, Math.floor(os.totalmem() / 2 / 2 ** 20));

/** The maxMemoryMB option checked (a finite positive number; NaN or a negative value is an error, never "no limit"), in bytes. */
export function memoryBudget(maxMemoryMB: number | undefined, where: string): number {
  const mb = maxMemoryMB ?? DEFAULT_MEMORY_MB;
  if (typeof mb !== "number" || !Number.isFinite(mb) || mb <= 0) throw new Error(`${where}: maxMemoryMB must be a finite number of megabytes > 0, got ${String(maxMemoryMB)}`);
  return mb * 2 ** 20;
}

/**
 * A budget for results held as plain JS arrays: those live in V8's heap, whose limit (about 4 GB by
 * default) is far below the machine's memory, and exceeding it aborts the process.
 */
export function heapBudget(bytes: number): number {
  return Math.min(bytes, v8.getHeapStatistics().heap_size_limit / 4);
}

/** Bytes of the float32 n x n distance matrix the engine works on. */
export function matrixBytes(n: number): number {
  return 4 * n * n;
}

/** Bytes per simplex of the top dimension held at once (lists, columns, pivot map, reduction entries). */
const BYTES_PER_SIMPLEX = 64;

/** The least any computation on n points needs: the distance matrix and the vertices. */
function minimumBytes(n: number): number {
  return matrixBytes(n) + BYTES_PER_SIMPLEX * n;
}

/** Refuses a distance matrix over the budget before it is allocated, naming a point count that fits. */
export function checkMatrixFits(n: number, budgetBytes: number, where: string): void {
  if (minimumBytes(n) <= budgetBytes) return;
  // The largest n with 4 n^2 + 64 n <= budget.
  let fit = Math.floor((-BYTES_PER_SIMPLEX + Math.sqrt(BYTES_PER_SIMPLEX ** 2 + 16 * budgetBytes)) / 8);
  while (fit > 0 && minimumBytes(fit) > budgetBytes) fit--;
  throw new Error(`${where}: ${n} points need a ${n} x ${n} distance matrix of ${(matrixBytes(n) / 2 ** 20).toFixed(0)} MB, over the ${(budgetBytes / 2 ** 20).toFixed(0)} MB limit (maxMemoryMB); subsample to at most ${fit} points (ws.topology.subsample) or raise maxMemoryMB`);
}

export type Metric = "euclidean" | "manhattan" | "chebyshev" | "cosine";
/** Points as rows; a tensor may have any static rank type (ws.tf.randomNormal gives Tensor<Rank>): rank 2 is checked when called. */
export type PointCloud = number[][] | Float32Array[] | Float64Array[] | tf.Tensor;
export type DistanceInput =
  | number[][]
  | Float32Array[]
  /** A square matrix; rank 2 is checked when called. */
  | tf.Tensor
  /** Lower triangle without the diagonal, row by row: d(1,0), d(2,0), d(2,1), d(3,0), ... */
  | ArrayLike<number>;

export interface DistanceMatrix {
  n: number;
  values: Float32Array;
  source: "points" | "distances";
  /** Largest (float32) distance from each point, when known from building the matrix. */
  rowMax?: Float32Array;
}

/** Rows of a point cloud as plain arrays, with a clear error for ragged rows and non-finite values. */
export function pointRows(points: PointCloud, what = "points"): ArrayLike<number>[] {
  let rows: ArrayLike<number>[];
  if (points instanceof tf.Tensor) {
    if (points.isDisposed) throw new Error(`${what}: the tensor has been disposed`);
    if (points.rank !== 2) throw new Error(`${what}: expected a rank-2 tensor [points, coordinates], got shape [${points.shape.join(", ")}]`);
    const [n, dim] = points.shape;
    const flat = points.dataSync() as Float32Array;
    rows = Array.from({ length: n }, (_, i) => flat.subarray(i * dim, (i + 1) * dim));
  } else if (Array.isArray(points)) {
    rows = points as ArrayLike<number>[];
  } else {
    throw new Error(`${what}: expected number[][], typed-array rows or a rank-2 tf.Tensor`);
  }
  if (rows.length === 0) throw new Error(`${what}: the point cloud is empty`);
  const dim = rows[0]?.length;
  rows.forEach((row, i) => {
    if (row == null || typeof row.length !== "number") throw new Error(`${what}: row ${i} is not an array of numbers`);
    if (row.length !== dim) throw new Error(`${what}: ragged rows: row 0 has ${dim} coordinates, row ${i} has ${row.length}`);
    for (let j = 0; j < row.length; j++) {
      if (typeof row[j] !== "number" || !Number.isFinite(row[j])) throw new Error(`${what}: point ${i} has a non-finite coordinate ${j} (${row[j]})`);
    }
  });
  if (dim === 0) throw new Error(`${what}: points have no coordinates`);
  return rows;
}

/** Pairwise distances of a point cloud, computed in float64 and stored as float32. */
export function distancesOfPoints(points: PointCloud, metric: Metric = "euclidean", budgetBytes = Infinity): DistanceMatrix {
  return runSteps(distanceSteps(points, metric, budgetBytes));
}

/**
 * distancesOfPoints as resumable steps: each next() fills rows for about `slice` milliseconds and yields
 * the rows done, so an async caller lets the event loop run between slices (a 40,000-point matrix
 * takes tens of seconds).
 */
export function* distanceSteps(points: PointCloud, metric: Metric = "euclidean", budgetBytes = Infinity, slice = Infinity): Generator<number, DistanceMatrix, void> {
  if (!["euclidean", "manhattan", "chebyshev", "cosine"].includes(metric)) throw new Error(`unknown metric "${metric as string}"; use euclidean, manhattan, chebyshev or cosine`);
  const rows = pointRows(points);
  const n = rows.length;
  const dim = rows[0].length;
  checkMatrixFits(n, budgetBytes, "persistence");
  const flat = new Float64Array(n * dim);
  rows.forEach((r, i) => {
    for (let j = 0; j < dim; j++) flat[i * dim + j] = r[j];
  });
  if (metric === "cosine") {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += flat[i * dim + j] ** 2;
      if (s === 0) throw new Error(`points: point ${i} is zero, its cosine distance is undefined`);
      const norm = Math.sqrt(s);
      for (let j = 0; j < dim; j++) flat[i * dim + j] /= norm;
    }
  }
  const target: DistanceMatrix & { rowMax: Float32Array } = { n, values: new Float32Array(n * n), source: "points", rowMax: new Float32Array(n) };
  // The rows are filled by a plain function, which keeps the hot loop out of the generator.
  for (let row = 1; row < n; ) {
    row = fillDistanceRows(target, flat, dim, metric, row, performance.now() + slice);
    if (row < n) yield row;
  }
  return target;
}

/** Fills rows from..n-1 of the lower triangle (and their mirror) until done or the deadline passes; returns the next row. */
function fillDistanceRows(target: DistanceMatrix & { rowMax: Float32Array }, flat: Float64Array, dim: number, metric: Metric, from: number, deadline: number): number {
  const { n, values, rowMax } = target;
  for (let i = from; i < n; i++) {
    if (i % 64 === 0 && i > from && performance.now() > deadline) return i;
    const a = i * dim;
    for (let k = 0; k < i; k++) {
      const b = k * dim;
      let s = 0;
      if (metric === "euclidean") {
        for (let j = 0; j < dim; j++) {
          const t = flat[a + j] - flat[b + j];
          s += t * t;
        }
        s = Math.sqrt(s);
      } else if (metric === "manhattan") {
        for (let j = 0; j < dim; j++) s += Math.abs(flat[a + j] - flat[b + j]);
      } else if (metric === "chebyshev") {
        for (let j = 0; j < dim; j++) s = Math.max(s, Math.abs(flat[a + j] - flat[b + j]));
      } else {
        for (let j = 0; j < dim; j++) s += flat[a + j] * flat[b + j];
        s = Math.max(0, 1 - s);
      }
      values[i * n + k] = s;
      values[k * n + i] = s;
      const stored = values[i * n + k];
      if (stored > rowMax[i]) rowMax[i] = stored;
      if (stored > rowMax[k]) rowMax[k] = stored;
    }
  }
  return n;
}

/**
 * A distance matrix from a full square matrix (rows or a tensor) or a flat lower triangle. A full
 * matrix must be symmetric; the diagonal is ignored (Vietoris-Rips vertices are born at 0).
 */
export function distancesOfMatrix(input: DistanceInput, budgetBytes = Infinity): DistanceMatrix {
  const check = (x: number, i: number, j: number): number => {
    if (typeof x !== "number" || Number.isNaN(x)) throw new Error(`distances: entry (${i}, ${j}) is not a number (${x})`);
    if (x < 0) throw new Error(`distances: entry (${i}, ${j}) is negative (${x})`);
    return x + 0; // -0 -> +0, so float bits order like values
  };
  if (input instanceof tf.Tensor || (Array.isArray(input) && input.length > 0 && typeof input[0] !== "number")) {
    if (input instanceof tf.Tensor && input.rank !== 2) throw new Error(`distances: expected a rank-2 tensor, got shape [${input.shape.join(", ")}]`);
    const rows = input instanceof tf.Tensor ? (input.arraySync() as number[][]) : (input as ArrayLike<number>[]);
    const n = rows.length;
    checkMatrixFits(n, budgetBytes, "persistence");
    const lower = rows.every((r, i) => r != null && r.length === i);
    const values = new Float32Array(n * n);
    if (lower) {
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) values[i * n + j] = values[j * n + i] = check(rows[i][j], i, j);
      return { n, values, source: "distances" };
    }
    rows.forEach((r, i) => {
      if (r == null || r.length !== n) throw new Error(`distances: a full matrix must be square: row ${i} has ${r?.length ?? "no"} entries, expected ${n} (or give the lower triangle, row i with i entries)`);
    });
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < i; j++) {
        const a = check(rows[i][j], i, j);
        const b = check(rows[j][i], j, i);
        if (Math.fround(a) !== Math.fround(b)) throw new Error(`distances: the matrix is not symmetric: (${i}, ${j}) = ${a} but (${j}, ${i}) = ${b}`);
        values[i * n + j] = values[j * n + i] = a;
      }
    }
    return { n, values, source: "distances" };
  }
  const flat = input as ArrayLike<number>;
  if (flat == null || typeof flat.length !== "number") throw new Error("distances: expected a square matrix, lower-triangular rows, a flat lower triangle or a rank-2 tf.Tensor");
  const m = flat.length;
  const n = Math.round((1 + Math.sqrt(1 + 8 * m)) / 2);
  if ((n * (n - 1)) / 2 !== m || m === 0) throw new Error(`distances: a flat lower triangle needs n(n-1)/2 entries; ${m} is not of that form`);
  checkMatrixFits(n, budgetBytes, "persistence");
  const values = new Float32Array(n * n);
  let k = 0;
  for (let i = 1; i < n; i++) for (let j = 0; j < i; j++) values[i * n + j] = values[j * n + i] = check(flat[k++], i, j);
  return { n, values, source: "distances" };
}

/** min over points of the largest distance from it: above it the Rips complex is a cone. */
export function enclosingRadius(d: DistanceMatrix): number {
  const { n, values, rowMax } = d;
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    let m = 0;
    if (rowMax) m = rowMax[i];
    else for (let j = 0; j < n; j++) if (values[i * n + j] > m) m = values[i * n + j];
    if (m < best) best = m;
  }
  return n === 1 ? 0 : best;
}

export interface WorkEstimate {
  /** Estimated number of simplices of each dimension 0..maxDim within the threshold. */
  simplices: number[];
  bytes: number;
}

/**
 * Estimates the simplices within a threshold by counting, from a sample of vertices, the cliques of
 * the threshold graph whose lowest vertex is the sampled one (exact when every vertex is sampled).
 */
export function estimateWork(d: DistanceMatrix, maxDim: number, threshold: number, sampleSize = 48): WorkEstimate {
  const { n, values } = d;
  const counts = new Array(maxDim + 2).fill(0);
  const sample = n <= sampleSize ? Array.from({ length: n }, (_, i) => i) : Array.from({ length: sampleSize }, (_, i) => Math.floor(((i + 0.5) * n) / sampleSize));
  const scale = n / sample.length;
  const depthLimit = maxDim; // cliques up to maxDim + 1 vertices
  for (const v of sample) {
    const up: number[] = [];
    for (let u = v + 1; u < n; u++) if (values[v * n + u] <= threshold) up.push(u);
    counts[0] += 1;
    // Depth-first count of the cliques among higher neighbours; the top dimension is counted, not walked.
    const extend = (candidates: number[], depth: number): void => {
      counts[depth] += candidates.length;
      if (depth === depthLimit) return;
      for (let c = 0; c < candidates.length; c++) {
        const w = candidates[c];
        const next: number[] = [];
        for (let e = c + 1; e < candidates.length; e++) if (values[w * n + candidates[e]] <= threshold) next.push(candidates[e]);
        extend(next, depth + 1);
      }
    };
    if (depthLimit >= 1) extend(up, 1);
  }
  const simplices = counts.slice(0, maxDim + 1).map((c, k) => (k === 0 ? n : c * scale));
  const top = simplices[maxDim];
  const below = maxDim >= 1 ? simplices[maxDim - 1] : 0;
  const bytes = 4 * n * n + BYTES_PER_SIMPLEX * (top + below);
  return { simplices, bytes };
}

/** Refuses index ranges that do not fit doubles exactly. */
export function checkIndexRange(n: number, maxDim: number): void {
  if (binomial(n, maxDim + 2) >= MAX_INDEX) {
    let fit = n;
    while (fit > 1 && binomial(fit, maxDim + 2) >= MAX_INDEX) fit = Math.floor(fit * 0.95);
    throw new Error(`persistence: ${n} points in dimension ${maxDim} exceed exact simplex indices (C(n, ${maxDim + 2}) >= 2^53); subsample to at most ${fit} points or lower maxDim`);
  }
}
