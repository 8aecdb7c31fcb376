/**
 * Principal components of a large point cloud (rows of a flat float32 array) by randomized subspace
 * iteration: a few passes X^T (X Q) over the data, then an exact eigen-decomposition of the small
 * projected covariance. Exact (up to round-off) when the dimension is at most k + oversampling.
 */
import { symmetricEigen } from "../math/eigen";
import { Rng } from "../math/rng";

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
