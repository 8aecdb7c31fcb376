/**
 * From output changes to similarities, in float64. For an output change c (finite difference or
 * derivative in eta) at an affected point and c_self at the probed sample:
 *   regression / logit: S_rel = ||c|| / ||c_self||
 *   kl, finite:         S_rel = KL(g(z' + c) || g(z')) / KL(g(z + c_self) || g(z)), g = softmax, from log-softmax
 *   kl, infinitesimal:  S_rel = Var_p'(c) / Var_p(c_self)   (KL ~ eta^2/2 Var_p(dz/deta): the Fisher form)
 *   S_ker (one output): c / (-eta dL/df(x)) (finite) or c / (-dL/df(x)) (infinitesimal)
 */
export type Kind = "regression" | "kl" | "logit";

export function norm(v: ArrayLike<number>, offset: number, width: number): number {
  let s = 0;
  for (let k = 0; k < width; k++) s += v[offset + k] * v[offset + k];
  return Math.sqrt(s);
}

/** KL(softmax(z + c) || softmax(z)) in float64. */
export function softmaxKl(z: ArrayLike<number>, zOffset: number, c: ArrayLike<number>, cOffset: number, width: number): number {
  let maxBefore = -Infinity;
  let maxAfter = -Infinity;
  for (let k = 0; k < width; k++) {
    maxBefore = Math.max(maxBefore, z[zOffset + k]);
    maxAfter = Math.max(maxAfter, z[zOffset + k] + c[cOffset + k]);
  }
  let sumBefore = 0;
  let sumAfter = 0;
  for (let k = 0; k < width; k++) {
    sumBefore += Math.exp(z[zOffset + k] - maxBefore);
    sumAfter += Math.exp(z[zOffset + k] + c[cOffset + k] - maxAfter);
  }
  const lseBefore = maxBefore + Math.log(sumBefore);
  const lseAfter = maxAfter + Math.log(sumAfter);
  let kl = 0;
  for (let k = 0; k < width; k++) {
    const logAfter = z[zOffset + k] + c[cOffset + k] - lseAfter;
    const logBefore = z[zOffset + k] - lseBefore;
    kl += Math.exp(logAfter) * (logAfter - logBefore);
  }
  return Math.max(0, kl);
}

/** Var_p(c) with p = softmax(z), in float64 (two passes: no cancellation when the mean is large). */
export function softmaxVariance(z: ArrayLike<number>, zOffset: number, c: ArrayLike<number>, cOffset: number, width: number): number {
  let max = -Infinity;
  for (let k = 0; k < width; k++) max = Math.max(max, z[zOffset + k]);
  const p = Array.from({ length: width }, (_, k) => Math.exp(z[zOffset + k] - max));
  const total = p.reduce((a, b) => a + b, 0);
  let mean = 0;
  for (let k = 0; k < width; k++) mean += (p[k] / total) * c[cOffset + k];
  let variance = 0;
  for (let k = 0; k < width; k++) variance += (p[k] / total) * (c[cOffset + k] - mean) ** 2;
  return variance;
}

/** The size of an output change in the chosen kind: the numerator or denominator of S_rel. */
export function changeSize(kind: Kind, infinitesimal: boolean, z: ArrayLike<number>, zOffset: number, c: ArrayLike<number>, cOffset: number, width: number): number {
  if (kind !== "kl") return norm(c, cOffset, width);
  return infinitesimal ? softmaxVariance(z, zOffset, c, cOffset, width) : softmaxKl(z, zOffset, c, cOffset, width);
}
