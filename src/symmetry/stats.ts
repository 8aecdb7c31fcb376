/** Normal tail probabilities and thresholds for the symmetry tests (float64). */
import { erfc } from "../math/special";

/** P(|Z| > z) for a standard normal Z. */
export function twoSidedTail(z: number): number {
  return erfc(Math.abs(z) / Math.SQRT2);
}

/** Standard normal density. */
export function normalDensity(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

/**
 * The Bonferroni threshold of a max-|z| test over `components` z-scores at family-wise level `alpha`:
 * the t with P(|Z| > t) = alpha / components (bisection; the tail is monotone).
 */
export function bonferroniThreshold(alpha: number, components: number): number {
  if (!(alpha > 0 && alpha < 1)) throw new Error(`alpha must be in (0, 1), got ${alpha}`);
  if (!(components >= 1)) throw new Error(`a max-|z| test needs at least one component, got ${components}`);
  const target = alpha / components;
  let low = 0;
  let high = 40;
  for (let i = 0; i < 200 && high - low > 1e-12; i++) {
    const mid = (low + high) / 2;
    if (twoSidedTail(mid) > target) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

/** E|Z|^k for a standard normal Z: 2^(k/2) Gamma((k+1)/2) / sqrt(pi). */
function absoluteMoment(k: number): number {
  // Gamma at half-integers by recursion from Gamma(1/2) = sqrt(pi) and Gamma(1) = 1.
  let gamma = k % 2 === 0 ? Math.sqrt(Math.PI) : 1;
  for (let a = k % 2 === 0 ? 0.5 : 1; a < (k + 1) / 2; a += 1) gamma *= a;
  return (Math.pow(2, k / 2) * gamma) / Math.sqrt(Math.PI);
}

/**
 * Fewest networks for which an order-n correlator of a Gaussian output is resolved to 100% relative
 * precision at 3 sigma: 9 Var(|f|^n) / E(|f|^n)^2. It gives the reference's 18 for G2 and about 100 for G4.
 */
export function minimumNetworks(order: number): number {
  // The tolerance keeps round-off in the Gamma products (18.000000000000004) from adding a network.
  return Math.ceil(9 * (absoluteMoment(2 * order) / absoluteMoment(order) ** 2 - 1) - 1e-9);
}

/** Largest |v| over the finite entries (NaN when there are none); a loop, as spreading 10^5 values overflows the stack. */
export function maxAbs(values: ArrayLike<number>): number {
  let worst = NaN;
  for (let i = 0; i < values.length; i++) {
    const v = Math.abs(values[i]);
    if (Number.isFinite(v) && !(v <= worst)) worst = v;
  }
  return worst;
}
