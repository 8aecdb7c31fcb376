/** Float64 dense symmetric eigensolver (cyclic Jacobi): small Hessians and Lanczos tridiagonals. */

export interface Eigen {
  /** Eigenvalues in descending order. */
  values: Float64Array;
  /** Eigenvectors as rows, vectors[i] belongs to values[i] (only when requested). */
  vectors: Float64Array[] | null;
}

/** Largest size accepted: Jacobi costs O(n^3) per sweep. */
export const MAX_DENSE_EIGEN = 800;

/**
 * Eigen-decomposition of a symmetric n x n matrix given row-major. The matrix is symmetrised
 * ((A + A^T) / 2) first, so round-off asymmetry from Hessian-vector products does no harm.
 */
export function symmetricEigen(matrix: ArrayLike<number>, n: number, withVectors = false): Eigen {
  if (matrix.length !== n * n) throw new Error(`symmetricEigen: expected ${n * n} entries for a ${n} x ${n} matrix, got ${matrix.length}`);
  if (n > MAX_DENSE_EIGEN) throw new Error(`symmetricEigen: ${n} x ${n} is too large for a dense solve (max ${MAX_DENSE_EIGEN}); use Lanczos (top-k) instead`);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = (matrix[i * n + j] + matrix[j * n + i]) / 2;
      if (!Number.isFinite(v)) throw new Error(`symmetricEigen: entry (${i}, ${j}) is ${v}`);
      a[i * n + j] = v;
    }
  }
  const v = withVectors ? identity(n) : null;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const x = a[i * n + j] * a[i * n + j];
        total += x;
        if (i !== j) off += x;
      }
    }
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        if (v) {
          for (let k = 0; k < n; k++) {
            const vkp = v[k * n + p];
            const vkq = v[k * n + q];
            v[k * n + p] = c * vkp - s * vkq;
            v[k * n + q] = s * vkp + c * vkq;
          }
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j * n + j] - a[i * n + i]);
  const values = Float64Array.from(order, (i) => a[i * n + i]);
  const vectors = v ? order.map((col) => Float64Array.from({ length: n }, (_, k) => v[k * n + col])) : null;
  return { values, vectors };
}

export interface Inertia { negative: number; zero: number; positive: number }

/**
 * Counts of negative, zero and positive eigenvalues; |lambda| <= relTol * max|lambda| (or <= absTol)
 * counts as zero.
 */
export function inertia(values: ArrayLike<number>, relTol = 1e-7, absTol = 0): Inertia {
  let max = 0;
  for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i]));
  const threshold = Math.max(relTol * max, absTol);
  const out = { negative: 0, zero: 0, positive: 0 };
  for (let i = 0; i < values.length; i++) {
    if (Math.abs(values[i]) <= threshold) out.zero++;
    else if (values[i] < 0) out.negative++;
    else out.positive++;
  }
  return out;
}

function identity(n: number): Float64Array {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = 1;
  return m;
}
