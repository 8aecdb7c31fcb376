/**
 * ws.check.g2: grades a student's two-point correlator estimate fn(outputs) -> G2 (M networks x k outputs ->
 * the k x k matrix E[f_i f_j]) against the library's Monte-Carlo estimator (src/symmetry/moments.ts).
 */
import { Rng } from "../math/rng";
import { ComponentIndex, ProductMoments, expandComponents } from "../symmetry/moments";
import { CheckResult, Grading, fmt, startGrading, type CheckOptions } from "./result";
import { OutputError, callStudent, readMatrix } from "./student";

/** The k x k estimate of G2_ij = E[f_i f_j] from M sampled networks' outputs (rows), may be async. */
export type G2Fn = (outputs: number[][]) => number[][] | Promise<number[][]>;

/** A float64 mean of products; float32 arithmetic (tf.matMul) agrees to about 1e-6 relative. */
const G2_RTOL = 1e-5;

const SYMMETRIC = "G2 is symmetric";
const DIAGONAL = "G2_ii = (1/M) sum_m f_mi^2";
const OFF_DIAGONAL = "G2_ij = (1/M) sum_m f_mi f_mj";

export async function g2(fn: G2Fn, options: CheckOptions = {}): Promise<CheckResult> {
  if (typeof fn !== "function") throw new Error(`ws.check.g2: pass your function (outputs) => number[][], got ${typeof fn}`);
  const { seed, cases } = await startGrading(options, 3, "g2");
  const grading = new Grading("g2", [{ name: SYMMETRIC }, { name: DIAGONAL }, { name: OFF_DIAGONAL }]);
  for (let c = 0; c < cases; c++) {
    const { name, outputs } = sample(c, seed);
    const k = outputs[0].length;
    const expected = estimator(outputs);
    const outcome = await callStudent(() => fn(outputs.map((r) => r.slice())), (out) => {
      if (Array.isArray(out) && out.length === outputs.length && outputs.length !== k) {
        throw new OutputError(`your function returned ${out.length} rows, one per network: G2 is k x k (${k} x ${k}), an average over the M = ${outputs.length} networks`);
      }
      return readMatrix(out, k, k, `the ${k} x ${k} correlator`);
    });
    if (!outcome.ok) {
      grading.callFailed(name, outcome.message);
      continue;
    }
    const g = outcome.value;
    const asym = firstPair(k, (i, j) => i < j && g[i][j] !== g[j][i] && !(Math.abs(g[i][j] - g[j][i]) <= 1e-12 * Math.max(1, Math.abs(g[i][j]))));
    grading.check(name, SYMMETRIC, asym === null, asym ? `G2[${asym[1]}][${asym[0]}] = ${fmt(g[asym[1]][asym[0]])}` : "", asym ? `G2[${asym[0]}][${asym[1]}] = ${fmt(g[asym[0]][asym[1]])}` : "");
    for (const [identity, diagonal] of [[DIAGONAL, true], [OFF_DIAGONAL, false]] as const) {
      const bad = firstPair(k, (i, j) => (i === j) === diagonal && !(Math.abs(g[i][j] - expected[i][j]) <= G2_RTOL * Math.max(1, Math.abs(expected[i][j]))));
      if (!bad) grading.pass(name, identity);
      else grading.fail(name, identity, fmt(expected[bad[0]][bad[1]]), fmt(g[bad[0]][bad[1]]), `at [${bad[0]}][${bad[1]}]${mistakeHint(outputs, g, expected)}`);
    }
  }
  return grading.result();
}

/** The library's estimator: the plain mean over networks of each product f_i f_j. */
function estimator(outputs: number[][]): number[][] {
  const k = outputs[0].length;
  const moments = new ProductMoments(new ComponentIndex(k, 2));
  for (const row of outputs) moments.add(row, 0);
  return (expandComponents(moments.index, moments.moments().mean, 1, k) as number[][][][])[0][0];
}

/** The graded ensembles: outputs with non-zero means (so a centred estimate differs), one network, correlated outputs. */
function sample(c: number, seed: number): { name: string; outputs: number[][] } {
  const rng = new Rng(seed * 1000 + c);
  if (c === 1) return { name: "2 (M = 1 network, k = 2 outputs)", outputs: [[rng.normal(0.5, 1), rng.normal(-0.3, 1)]] };
  const m = c === 0 ? 40 : 15 + 10 * c;
  const k = c === 0 ? 3 : 2 + (c % 4);
  const means = Array.from({ length: k }, () => rng.normal(0, 0.7));
  const outputs = Array.from({ length: m }, () => {
    const shared = rng.normal();
    return means.map((mu, i) => mu + (i % 2 === 0 ? 0.6 : -0.4) * shared + rng.normal(0, 0.8));
  });
  return { name: `${c + 1} (M = ${m} networks, k = ${k} outputs, seed ${seed * 1000 + c})`, outputs };
}

function firstPair(k: number, bad: (i: number, j: number) => boolean): [number, number] | null {
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) if (bad(i, j)) return [i, j];
  return null;
}

/** Names the usual mistake the whole answer matches, if any. */
function mistakeHint(outputs: number[][], g: number[][], expected: number[][]): string {
  const m = outputs.length;
  const k = expected.length;
  const means = Array.from({ length: k }, (_, i) => outputs.reduce((a, r) => a + r[i], 0) / m);
  const matches = (f: (i: number, j: number) => number) => firstPair(k, (i, j) => !(Math.abs(g[i][j] - f(i, j)) <= G2_RTOL * Math.max(1, Math.abs(f(i, j))))) === null;
  if (m > 1 && matches((i, j) => (expected[i][j] * m) / (m - 1))) return "; you divided by M - 1: G2 is the plain mean of the products f_i f_j over the M networks, divide by M";
  if (matches((i, j) => expected[i][j] - means[i] * means[j])) return "; you subtracted the means: that is the covariance (connected correlator), G2 is the raw moment E[f_i f_j]";
  if (m > 1 && matches((i, j) => ((expected[i][j] - means[i] * means[j]) * m) / (m - 1))) return "; that is the sample covariance (means subtracted, divided by M - 1); G2 is the raw moment E[f_i f_j], divided by M";
  if (matches((i, j) => expected[i][j] * m)) return "; you summed the products without dividing by M";
  return "";
}
