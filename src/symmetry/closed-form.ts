/**
 * Exact G1 and G2 of one-hidden-layer ensembles with a zero-mean first layer, at any width N.
 * Hidden units h_j are i.i.d. given x, so with last-layer weights W_ja ~ N(m_a, s^2) and biases
 * b_a ~ N(0, sb^2):
 *   G1_a(x)      = N m_a mu(x)
 *   G2_ab(x, x') = N (s^2 delta_ab + m_a m_b) K(x, x') + N (N - 1) m_a m_b mu(x) mu(x') + delta_ab sb^2
 * with mu(x) = E h(x), K(x, x') = E h(x) h(x') over the bivariate normal pre-activations of covariance
 * c(x, x') = s0^2 x.x' + sb0^2:
 *   relu  : mu = sqrt(c_xx / 2 pi), K = sqrt(c_xx c_x'x') (sin t + (pi - t) cos t) / (2 pi), cos t = c_xx' / sqrt(c_xx c_x'x')
 *   gauss : mu = exp(-c_xx / 2),    K = exp(c_xx' - (c_xx + c_x'x') / 2)
 *   linear: mu = 0,                 K = c_xx'
 */
import type { Ensemble } from "./ensemble";
import type { ComponentIndex } from "./moments";

const SUPPORTED = ["relu", "gauss", "linear"];

/** Why no closed form applies, or null when one does. */
export function closedFormUnavailable(ensemble: Ensemble, order: number): string | null {
  if (order > 2) return `no closed form for order ${order} (finite-width G${order} is not Gaussian)`;
  if (ensemble.sizes.length !== 3) return `closed forms cover one hidden layer; [${ensemble.sizes.join("-")}] has ${ensemble.sizes.length - 2}`;
  if (!SUPPORTED.includes(ensemble.activation)) return `no closed form for activation "${ensemble.activation}" (${SUPPORTED.join(", ")} have one)`;
  if (ensemble.layers[0].mean !== 0 && ensemble.layers[0].rows.length > 0) return "closed forms need a zero-mean first layer";
  return null;
}

/** The closed form at every distinct component of `index` (features p = input * D + output). */
export function closedForm(ensemble: Ensemble, inputs: number[][], index: ComponentIndex): Float64Array {
  const reason = closedFormUnavailable(ensemble, index.order);
  if (reason) throw new Error(`symmetry: ${reason}`);
  const [first, last] = ensemble.layers;
  const width = first.fanOut;
  const outputs = last.fanOut;
  const biasVar0 = ensemble.bias ? first.biasStd ** 2 : 0;
  const biasVar1 = ensemble.bias ? last.biasStd ** 2 : 0;
  const cov = (x: number[], y: number[]) => first.std ** 2 * x.reduce((a, xi, i) => a + xi * y[i], 0) + biasVar0;
  const meanOf = (a: number) => (last.mean !== 0 && last.rows.includes(a) ? last.mean : 0);
  const hiddenMean = (x: number[]) => {
    const c = cov(x, x);
    if (ensemble.activation === "relu") return Math.sqrt(c / (2 * Math.PI));
    if (ensemble.activation === "gauss") return Math.exp(-c / 2);
    return 0;
  };
  const hiddenKernel = (x: number[], y: number[]) => {
    const cxx = cov(x, x);
    const cyy = cov(y, y);
    const cxy = cov(x, y);
    if (ensemble.activation === "gauss") return Math.exp(cxy - (cxx + cyy) / 2);
    if (ensemble.activation === "linear") return cxy;
    const scale = Math.sqrt(cxx * cyy);
    if (scale === 0) return 0;
    const t = Math.acos(Math.max(-1, Math.min(1, cxy / scale)));
    return (scale * (Math.sin(t) + (Math.PI - t) * Math.cos(t))) / (2 * Math.PI);
  };
  const values = new Float64Array(index.size);
  for (let u = 0; u < index.size; u++) {
    const p = index.tuples.subarray(u * index.order, (u + 1) * index.order);
    const [x, a] = [inputs[Math.floor(p[0] / outputs)], p[0] % outputs];
    if (index.order === 1) {
      values[u] = width * meanOf(a) * hiddenMean(x);
      continue;
    }
    const [y, b] = [inputs[Math.floor(p[1] / outputs)], p[1] % outputs];
    const same = a === b ? 1 : 0;
    values[u] = width * (last.std ** 2 * same + meanOf(a) * meanOf(b)) * hiddenKernel(x, y)
      + width * (width - 1) * meanOf(a) * meanOf(b) * hiddenMean(x) * hiddenMean(y) + same * biasVar1;
  }
  return values;
}
