/** Haar-random rotations of SO(n) in float64 and the checks that they are rotations. */
import { Rng } from "../math/rng";

/** A row-major n x n matrix. */
export type Matrix = Float64Array;

/**
 * A Haar-distributed rotation: Gram-Schmidt on the columns of a Gaussian matrix is the QR
 * decomposition with a positive diagonal of R, which makes Q Haar on O(n); flipping one column
 * when det Q = -1 carries Haar on O(n) to Haar on SO(n).
 */
export function haarRotation(n: number, rng: Rng): Matrix {
  if (!Number.isInteger(n) || n < 1) throw new Error(`haarRotation: n must be a positive integer, got ${n}`);
  const columns: Float64Array[] = [];
  while (columns.length < n) {
    const v = Float64Array.from({ length: n }, () => rng.normal());
    // Two passes of Gram-Schmidt keep the columns orthogonal to round-off.
    for (let pass = 0; pass < 2; pass++) {
      for (const u of columns) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += v[i] * u[i];
        for (let i = 0; i < n; i++) v[i] -= dot * u[i];
      }
    }
    const norm = Math.hypot(...v);
    if (norm < 1e-8) continue; // a (measure-zero) dependent draw: draw again
    for (let i = 0; i < n; i++) v[i] /= norm;
    columns.push(v);
  }
  const q = new Float64Array(n * n);
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) q[i * n + j] = columns[j][i];
  if (determinant(q, n) < 0) for (let i = 0; i < n; i++) q[i * n] = -q[i * n];
  return q;
}

/** Determinant by Gaussian elimination with partial pivoting. */
export function determinant(matrix: ArrayLike<number>, n: number): number {
  const a = Float64Array.from(matrix);
  let det = 1;
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]) > Math.abs(a[pivot * n + c])) pivot = r;
    if (a[pivot * n + c] === 0) return 0;
    if (pivot !== c) {
      for (let k = 0; k < n; k++) [a[c * n + k], a[pivot * n + k]] = [a[pivot * n + k], a[c * n + k]];
      det = -det;
    }
    det *= a[c * n + c];
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c] / a[c * n + c];
      for (let k = c; k < n; k++) a[r * n + k] -= f * a[c * n + k];
    }
  }
  return det;
}

/** max |Q^T Q - I| entry: 0 for an exactly orthogonal matrix. */
export function orthogonalityError(q: ArrayLike<number>, n: number): number {
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let k = 0; k < n; k++) dot += q[k * n + i] * q[k * n + j];
      worst = Math.max(worst, Math.abs(dot - (i === j ? 1 : 0)));
    }
  }
  return worst;
}
