/**
 * ws.check.teleport: grades a student's teleportation fn(weights, tau) -> weights of a ReLU MLP against the
 * library's change of basis (src/teleport/structure.ts applyCob) on seeded random networks.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../math/rng";
import { cloneModel } from "../model/params";
import { applyCob, cobStructure, parseCob } from "../teleport/structure";
import { FUNCTION_TOLERANCE } from "../teleport/teleport";
import { CheckResult, Grading, fmt, startGrading, type CheckOptions } from "./result";
import { allClose, callStudent, firstMismatch, indexText, inputsChanged, readTensorList } from "./student";
import { functionChange, randomMlp, weightName, weightTensors, type MlpCase } from "./mlp";

/**
 * A teleport of a ReLU MLP: `weights` = [W1, b1, ..., WL, bL] (W as [in, out]), `tau` one positive vector
 * per hidden layer; returns the new weights in the same order and shapes (may be async).
 */
export type TeleportFn = (weights: tf.Tensor[], tau: tf.Tensor1D[]) => tf.Tensor[] | Promise<tf.Tensor[]>;

/** Float32 tolerance of each teleported weight: a product and a quotient of float32 numbers, a few ulp. */
const WEIGHT_RTOL = 1e-5;

const UNTOUCHED = "inputs untouched";
const KERNELS = "W'[j, i] = tau_i W[j, i] / tau_j";
const BIASES = "b'_i = tau_i b_i";
const FUNCTION = "function preserved";

export async function teleport(fn: TeleportFn, options: CheckOptions = {}): Promise<CheckResult> {
  if (typeof fn !== "function") throw new Error(`ws.check.teleport: pass your function (weights, tau) => weights, got ${typeof fn}`);
  const { seed, cases } = await startGrading(options, 3, "teleport");
  const grading = new Grading("teleport", [{ name: UNTOUCHED }, { name: KERNELS }, { name: BIASES }, { name: FUNCTION }]);
  for (let k = 0; k < cases; k++) {
    const c = randomMlp(k, seed);
    try {
      await gradeCase(fn, c, grading, seed * 1000 + k);
    } finally {
      c.model.dispose();
    }
  }
  return grading.result();
}

async function gradeCase(fn: TeleportFn, c: MlpCase, grading: Grading, caseSeed: number): Promise<void> {
  const rng = new Rng(caseSeed + 500);
  // tau in [0.4, 2.5]: far enough from 1 that every mistake shows, positive so ReLU commutes with it.
  const taus = c.sizes.slice(1, -1).map((n) => Float32Array.from({ length: n }, () => Math.exp(rng.uniform(-Math.log(2.5), Math.log(2.5)))));
  const expected = referenceTeleport(c, taus);
  const weights = weightTensors(c.arrays, c.shapes);
  const tau = taus.map((t) => tf.tensor1d(t, "float32"));
  const outcome = await callStudent(() => fn(weights, tau), (out) => readTensorList(out, c.shapes, "weights'"));
  const changed = inputsChanged(weights, c.arrays, "weights") || inputsChanged(tau, taus, "tau");
  tf.dispose([...weights, ...tau]);
  if (!outcome.ok) {
    grading.callFailed(c.name, outcome.message);
    return;
  }
  const actual = outcome.value;
  grading.check(c.name, UNTOUCHED, changed === "", "inputs unchanged", changed === "" ? "unchanged" : "changed", changed);
  for (const [identity, parity] of [[KERNELS, 0], [BIASES, 1]] as const) {
    let failed = false;
    for (let i = parity; i < actual.length && !failed; i += 2) {
      const bad = firstMismatch(actual[i], expected[i], WEIGHT_RTOL);
      if (bad) {
        failed = true;
        grading.fail(c.name, identity, fmt(bad.expected), fmt(bad.actual), `at ${weightName(i)}${indexText(bad.index, c.shapes[i])}${mistakeHint(c, taus, i, actual[i])}`);
      }
    }
    if (!failed) grading.pass(c.name, identity);
  }
  const moved = weightTensors(actual, c.shapes);
  const other = cloneModel(c.model, moved);
  tf.dispose(moved);
  try {
    const check = functionChange(c, other, FUNCTION_TOLERANCE, caseSeed);
    grading.check(c.name, FUNCTION, check.passed, `max|f'-f| / max(1, max|f|) <= ${FUNCTION_TOLERANCE}`, fmt(check.rel), check.passed ? "" : `on ${check.samples} random inputs`);
  } finally {
    other.dispose();
  }
}

/** The library's teleport of the case's weights (float32 arrays). */
function referenceTeleport(c: MlpCase, taus: Float32Array[]): Float32Array[] {
  const structure = cobStructure(c.view);
  const params = weightTensors(c.arrays, c.shapes);
  const moved = applyCob(structure, params, parseCob(structure, taus));
  const out = moved.map((t) => t.dataSync().slice() as Float32Array);
  tf.dispose([...params, ...moved]);
  return out;
}

/** Names the usual mistake the student's weight `i` matches, if any. */
function mistakeHint(c: MlpCase, taus: Float32Array[], i: number, actual: Float32Array): string {
  const layer = Math.floor(i / 2);
  const ones = (n: number) => new Float32Array(n).fill(1);
  const tauOut = layer < taus.length ? taus[layer] : ones(c.sizes[layer + 1]);
  const tauIn = layer > 0 ? taus[layer - 1] : ones(c.sizes[0]);
  const original = c.arrays[i];
  const variant = (f: (value: number, inUnit: number, outUnit: number) => number) =>
    Float32Array.from(original, (v, flat) => f(v, i % 2 === 0 ? Math.floor(flat / tauOut.length) : -1, flat % tauOut.length));
  const hints: [Float32Array, string][] = i % 2 === 1
    ? [
        [original, "b' = b: the biases were not scaled; a bias is an edge from a constant input unit, whose tau is 1, so b'_i = tau_i b_i"],
        [variant((v, _j, o) => v / tauOut[o]), "b' = b / tau_i: the bias must be multiplied by its unit's tau"],
      ]
    : [
        [variant((v, j, o) => (v * tauIn[j]) / tauOut[o]), "W' = tau_j W / tau_i: the ratio is inverted; the receiving unit's tau multiplies, the sending unit's divides"],
        [variant((v, _j, o) => v * tauOut[o]), "W' = tau_i W: the division by the sending unit's tau_j is missing"],
        [variant((v, j) => v / tauIn[j]), "W' = W / tau_j: the multiplication by the receiving unit's tau_i is missing"],
        [original, "W' = W: this kernel was not changed"],
      ];
  const hit = hints.find(([values]) => allClose(actual, values, WEIGHT_RTOL));
  return hit ? `; ${hit[1]}` : "";
}
