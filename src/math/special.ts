/** Small float64 numerics shared by the probes: the error function, evenly spaced grids, mean and spread. */

/** Complementary error function, fractional error below 1.2e-7 everywhere (Chebyshev-fitted exponent). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const value = t * Math.exp(poly);
  return x >= 0 ? value : 2 - value;
}

export function erf(x: number): number {
  return 1 - erfc(x);
}

/** `count` evenly spaced values from lo to hi, both included (one value: lo). */
export function linspace(lo: number, hi: number, count: number): number[] {
  if (!(Number.isInteger(count) && count >= 1)) throw new Error(`linspace: count must be a positive integer, got ${count}`);
  if (count === 1) return [lo];
  return Array.from({ length: count }, (_, i) => lo + ((hi - lo) * i) / (count - 1));
}

/**
 * Mean and sample standard deviation (divisor n - 1) of the values; the standard deviation of a single value is
 * `whenSingle` (0 or NaN, as the caller reports it); no values give NaN for both.
 */
export function meanAndStd(values: readonly number[], whenSingle = 0): { mean: number; std: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  return { mean, std: n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : whenSingle };
}
