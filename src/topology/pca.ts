/**
 * Principal components of a large point cloud (rows of a flat float32 array) by randomized subspace
 * iteration: a few passes X^T (X Q) over the data, then an exact eigen-decomposition of the small
 * projected covariance. Exact (up to round-off) when the dimension is at most k + oversampling.
 */
import { symmetricEigen } from "../math/eigen";
import { Rng } from "../math/rng";
import { squaredDistance } from "./cloud";

export interface Pca {
  k: number;
  mean: Float64Array;
  /** components[i]: unit vector of length dim, ordered by variance, descending. */
  components: Float64Array[];
  /** Variance along each component (divided by m - 1). */
  variances: number[];
  /** Total variance of the cloud (trace of the covariance). */
  totalVariance: number;
  /** Coordinates of every point, m x k row-major. */
  coordinates: Float64Array;
}

const OVERSAMPLING = 10;

export function pca(points: ArrayLike<number>, m: number, dim: number, k: number, options: { iterations?: number; seed?: number } = {}): Pca {
  if (points.length !== m * dim) throw new Error(`pca: expected ${m} x ${dim} = ${m * dim} values, got ${points.length}`);
  if (m < 2) throw new Error(`pca: needs at least 2 points, got ${m}`);
  k = Math.min(k, dim, m);
  const l = Math.min(dim, k + OVERSAMPLING);
  const mean = new Float64Array(dim);
  for (let i = 0; i < m; i++) for (let j = 0; j < dim; j++) mean[j] += points[i * dim + j] / m;
  const x = new Float64Array(m * dim);
  let totalVariance = 0;
  for (let i = 0; i < m; i++)
    for (let j = 0; j < dim; j++) {
      const v = points[i * dim + j] - mean[j];
      x[i * dim + j] = v;
      totalVariance += (v * v) / (m - 1);
    }
  const rng = new Rng(options.seed ?? 0);
  // Q: dim x l, stored as l columns.
  let q: Float64Array[] = Array.from({ length: l }, () => Float64Array.from({ length: dim }, () => rng.normal()));
  orthonormalise(q);
  const iterations = l === dim ? 0 : options.iterations ?? 4;
  for (let it = 0; it < iterations; it++) {
    q = q.map((col) => covarianceTimes(x, m, dim, col));
    orthonormalise(q);
  }
  // Rayleigh-Ritz: B = Q^T C Q (l x l), exact eigenvectors of B lifted back through Q.
  const cq = q.map((col) => covarianceTimes(x, m, dim, col));
  const b = new Float64Array(l * l);
  for (let r = 0; r < l; r++) for (let c = 0; c < l; c++) b[r * l + c] = dot(q[r], cq[c]);
  const eig = symmetricEigen(b, l, true);
  const components = Array.from({ length: k }, (_, i) => {
    const v = new Float64Array(dim);
    const w = eig.vectors![i];
    for (let r = 0; r < l; r++) for (let j = 0; j < dim; j++) v[j] += w[r] * q[r][j];
    return v;
  });
  const coordinates = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let c = 0; c < k; c++) {
    let s = 0;
    const comp = components[c];
    for (let j = 0; j < dim; j++) s += x[i * dim + j] * comp[j];
    coordinates[i * k + c] = s;
  }
  return { k, mean, components, variances: Array.from(eig.values.subarray(0, k)), totalVariance, coordinates };
}

/** C v with C = X^T X / (m - 1), X centred m x dim. */
function covarianceTimes(x: Float64Array, m: number, dim: number, v: Float64Array): Float64Array {
  const out = new Float64Array(dim);
  for (let i = 0; i < m; i++) {
    const row = i * dim;
    let s = 0;
    for (let j = 0; j < dim; j++) s += x[row + j] * v[j];
    s /= m - 1;
    for (let j = 0; j < dim; j++) out[j] += s * x[row + j];
  }
  return out;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Modified Gram-Schmidt, twice for stability; a column that vanishes is replaced by a unit vector. */
function orthonormalise(cols: Float64Array[]): void {
  for (let pass = 0; pass < 2; pass++) {
    cols.forEach((c, i) => {
      for (let j = 0; j < i; j++) {
        const d = dot(c, cols[j]);
        for (let t = 0; t < c.length; t++) c[t] -= d * cols[j][t];
      }
      const norm = Math.sqrt(dot(c, c));
      if (norm < 1e-300) {
        c.fill(0);
        c[i % c.length] = 1;
      } else for (let t = 0; t < c.length; t++) c[t] /= norm;
    });
  }
}

export interface LocalDimensionOptions {
  /** Neighbours of each sampled point, itself included (default 20). */
  neighbours?: number;
  /** Points sampled (default 200, all when fewer). */
  samples?: number;
  /** A neighbourhood's dimension: principal components needed for this fraction of its variance (default 0.9). */
  variance?: number;
  seed?: number;
}

export interface LocalDimension {
  /** Median of the local dimensions. */
  dimension: number;
  /** Local dimension at each sampled point. */
  local: number[];
  /** Mean fraction of a neighbourhood's variance on each of its first components. */
  spectrum: number[];
  method: string;
}

/**
 * Intrinsic dimension by local PCA: for sampled points, the principal components of the k nearest
 * neighbours (from the k x k Gram matrix of the centred neighbourhood, whose non-zero eigenvalues are
 * the covariance's), counting the components needed for `variance` of the neighbourhood's variance.
 * A flat d-dimensional patch gives exactly d.
 */
export function localDimension(points: ArrayLike<number>, m: number, dim: number, options: LocalDimensionOptions = {}): LocalDimension {
  const k = options.neighbours ?? 20;
  const fraction = options.variance ?? 0.9;
  if (points.length !== m * dim) throw new Error(`localDimension: expected ${m} x ${dim} = ${m * dim} values, got ${points.length}`);
  if (!Number.isInteger(k) || k < 3 || k > Math.min(m, 800)) throw new Error(`localDimension: neighbours must be an integer from 3 to min(points, 800) = ${Math.min(m, 800)}, got ${k}`);
  if (!(fraction > 0 && fraction < 1)) throw new Error(`localDimension: variance must be in (0, 1), got ${fraction}`);
  const count = Math.min(m, options.samples ?? 200);
  if (!Number.isInteger(count) || count < 1) throw new Error(`localDimension: samples must be a positive integer, got ${options.samples}`);
  const sample = count === m ? Array.from({ length: m }, (_, i) => i) : Array.from(new Rng(options.seed ?? 0).permutation(m).subarray(0, count));
  const local: number[] = [];
  const spectrum = new Float64Array(k);
  const distances = new Float64Array(m);
  for (const p of sample) {
    for (let i = 0; i < m; i++) distances[i] = squaredDistance(points, dim, p, i);
    const near = Array.from({ length: m }, (_, i) => i).sort((x, y) => distances[x] - distances[y] || x - y).slice(0, k);
    const mean = new Float64Array(dim);
    for (const i of near) for (let j = 0; j < dim; j++) mean[j] += points[i * dim + j] / k;
    const gram = new Float64Array(k * k);
    for (let a = 0; a < k; a++)
      for (let b = a; b < k; b++) {
        let s = 0;
        for (let j = 0; j < dim; j++) s += (points[near[a] * dim + j] - mean[j]) * (points[near[b] * dim + j] - mean[j]);
        gram[a * k + b] = gram[b * k + a] = s;
      }
    const values = Array.from(symmetricEigen(gram, k).values, (v) => Math.max(0, v)).sort((x, y) => y - x);
    const total = values.reduce((s, v) => s + v, 0);
    if (total === 0) {
      local.push(0);
      continue;
    }
    let acc = 0;
    let d = 0;
    while (d < values.length && acc < fraction * total) acc += values[d++];
    local.push(d);
    values.forEach((v, i) => (spectrum[i] += v / total / sample.length));
  }
  const sorted = [...local].sort((x, y) => x - y);
  const dimension = sorted[Math.floor((sorted.length - 1) / 2)];
  return { dimension, local, spectrum: Array.from(spectrum), method: `local PCA: components for ${fraction * 100}% of the variance of each point's ${k} nearest neighbours, median over ${sample.length} points` };
}
