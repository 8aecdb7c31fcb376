/**
 * The change-of-basis (CoB) structure of a model: which hidden units can be rescaled, which end of
 * each weight they sit on, and which rescalings keep the same architecture. A CoB is one scalar tau
 * per hidden unit / channel, stored in one flat vector over all groups ("tau layout"); input and
 * output units always have tau = 1. Weight e from unit j to unit i becomes w * tau_i / tau_j, so every
 * trainable scalar is multiplied by d_e = tau_out(e) / tau_in(e) (a bias by tau_out).
 */
import * as tf from "@tensorflow/tfjs";
import type { ModelView, Activation } from "../model/view";
import { Rng } from "../math/rng";

/**
 * Which taus keep a group's units the same function:
 * any (only linear maps in between), positive (ReLU-like: tau > 0), sign (odd activations: tau = +-1), fixed (tau = 1).
 */
export type Constraint = "any" | "positive" | "sign" | "fixed";

export interface CobGroup {
  /** Layer whose output units the group rescales (Dense, Conv2D or BatchNormalization). */
  layer: string;
  size: number;
  /** Offset of the group in the tau layout. */
  offset: number;
  constraint: Constraint;
  /** Why the constraint is as tight as it is (the layer and activation that imposed it). */
  reasons: string[];
}

/** How one trainable parameter's elements map to taus: element f has out unit f % outUnits and in unit (floor(f / outUnits) % inUnits) % inChannels. */
export interface ParamCob {
  index: number;
  size: number;
  /** Offset of the output-side group in the tau layout, or -1 (tau = 1). */
  outOffset: number;
  outUnits: number;
  /** Offset of the input-side group, or -1 (input units, or a one-ended parameter such as a bias). */
  inOffset: number;
  inUnits: number;
  /** Channels of the input-side group; a Flatten after a conv tiles them H*W times in NHWC order. */
  inChannels: number;
}

/** BatchNormalization statistics that absorb the CoB of the channels they normalise (inference form). */
export interface StatsCob { layer: string; mean: number; variance: number; epsilon: number; offset: number; size: number }

export interface CobStructure {
  view: ModelView;
  groups: CobGroup[];
  params: ParamCob[];
  stats: StatsCob[];
  /** Length of the tau layout (number of hidden units over all groups). */
  size: number;
}

function meet(a: Constraint, b: Constraint): Constraint {
  if (a === b) return a;
  if (a === "any") return b;
  if (b === "any") return a;
  return "fixed";
}

function activationConstraint(activation: Activation): Constraint {
  if (activation === "linear") return "any";
  if (activation === "relu" || activation === "leakyRelu") return "positive";
  if (activation === "tanh" || activation === "softsign") return "sign";
  return "fixed";
}

/** Builds the CoB structure of a model view (throws for layers whose units cannot carry a CoB consistently). */
export function cobStructure(view: ModelView): CobStructure {
  const groups: (CobGroup & { output: boolean })[] = [];
  const params: ParamCob[] = [];
  const stats: StatsCob[] = [];
  // The group whose taus the data stream currently carries (null: tau = 1, e.g. the input).
  let current: (CobGroup & { output: boolean }) | null = null;
  const constrain = (c: Constraint, why: string) => {
    if (!current || c === "any") return;
    const next = meet(current.constraint, c);
    if (next !== current.constraint || !current.reasons.includes(why)) current.reasons.push(why);
    current.constraint = next;
  };
  const openGroup = (layer: string, size: number) => {
    const g = { layer, size, offset: 0, constraint: "any" as Constraint, reasons: [], output: false };
    groups.push(g);
    return g;
  };
  const shapeOf = (index: number) => view.params[index].shape;
  for (const block of view.blocks) {
    switch (block.kind) {
      case "dense":
      case "conv2d": {
        const shape = shapeOf(block.kernel);
        const inUnits = shape[shape.length - 2];
        const outUnits = shape[shape.length - 1];
        const input = current;
        if (input && inUnits % input.size !== 0) {
          throw new Error(`teleport: layer "${block.layer}" has ${inUnits} inputs, which is not a whole number of the ${input.size} channels of "${input.layer}"`);
        }
        const g = openGroup(block.layer, outUnits);
        params.push({ index: block.kernel, size: view.params[block.kernel].size, outOffset: groups.length - 1, outUnits, inOffset: input ? groups.indexOf(input) : -1, inUnits, inChannels: input?.size ?? 1 });
        if (block.bias !== null) params.push(oneEnded(block.bias, view, groups.length - 1, outUnits));
        current = g;
        constrain(activationConstraint(block.activation), `layer "${block.layer}" applies ${block.activation}`);
        break;
      }
      case "activation":
        constrain(activationConstraint(block.activation), `layer "${block.layer}" applies ${block.activation}`);
        break;
      case "maxPool":
        // max(tau x) = tau max(x) only for tau > 0.
        constrain("positive", `layer "${block.layer}" takes a maximum`);
        break;
      case "avgPool":
      case "flatten":
      case "dropout":
        break;
      case "batchNorm": {
        const size = view.params[block.movingMean].size;
        if (current) {
          // The normalisation divides by sqrt(variance), i.e. by |tau|: only positive taus are absorbed.
          constrain("positive", `layer "${block.layer}" normalises by the standard deviation`);
          stats.push({ layer: block.layer, mean: block.movingMean, variance: block.movingVariance, epsilon: block.epsilon, offset: groups.indexOf(current), size });
        }
        if (block.gamma !== null) {
          openGroup(block.layer, size);
          params.push(oneEnded(block.gamma, view, groups.length - 1, size));
          if (block.beta !== null) params.push(oneEnded(block.beta, view, groups.length - 1, size));
          current = groups[groups.length - 1];
        } else {
          // Without a scale the normalised output cannot be rescaled: its units keep tau = 1.
          current = null;
        }
        break;
      }
    }
  }
  if (current) current.output = true;
  // Lay the free groups out in one vector; output groups (tau = 1) get no slot.
  let size = 0;
  const offsets = groups.map((g) => {
    if (g.output) return -1;
    g.offset = size;
    size += g.size;
    return g.offset;
  });
  for (const p of params) {
    p.outOffset = p.outOffset >= 0 ? offsets[p.outOffset] : -1;
    p.inOffset = p.inOffset >= 0 ? offsets[p.inOffset] : -1;
  }
  for (const s of stats) s.offset = offsets[s.offset];
  return {
    view,
    groups: groups.filter((g) => !g.output).map(({ output: _output, ...g }) => g),
    params: params.filter((p) => view.params[p.index].trainable),
    stats: stats.filter((s) => s.offset >= 0),
    size,
  };
}

function oneEnded(index: number, view: ModelView, group: number, units: number): ParamCob {
  return { index, size: view.params[index].size, outOffset: group, outUnits: units, inOffset: -1, inUnits: 1, inChannels: 1 };
}

/** The tau-layout positions of the two ends of element f of a parameter (-1: tau = 1). */
export function endsOf(p: ParamCob, f: number): [number, number] {
  const out = p.outOffset < 0 ? -1 : p.outOffset + (f % p.outUnits);
  const inn = p.inOffset < 0 ? -1 : p.inOffset + ((Math.floor(f / p.outUnits) % p.inUnits) % p.inChannels);
  return [out, inn];
}

/** d_e = tau_out / tau_in for every element of every CoB-carrying trainable parameter (float64). */
export function factorsOf(structure: CobStructure, tau: ArrayLike<number>): Float64Array[] {
  return structure.params.map((p) => {
    const d = new Float64Array(p.size);
    // endsOf inlined: this loop runs over every weight of the model on each teleport.
    for (let f = 0; f < p.size; f++) {
      const out = p.outOffset < 0 ? 1 : tau[p.outOffset + (f % p.outUnits)];
      const inn = p.inOffset < 0 ? 1 : tau[p.inOffset + ((Math.floor(f / p.outUnits) % p.inUnits) % p.inChannels)];
      d[f] = out / inn;
    }
    return d;
  });
}

/**
 * The teleported parameter list (new tensors in model.weights order): trainable CoB parameters times
 * d_e; BatchNormalization statistics made to absorb the input CoB exactly in inference form
 * (mean' = tau mean, variance' = tau^2 (variance + eps) - eps, so sqrt(variance' + eps) = tau sqrt(variance + eps));
 * everything else copied.
 */
export function applyCob(structure: CobStructure, params: readonly tf.Tensor[], tau: ArrayLike<number>): tf.Tensor[] {
  const factors = factorsOf(structure, tau);
  const out: (tf.Tensor | null)[] = params.map(() => null);
  structure.params.forEach((p, k) => {
    const values = params[p.index].dataSync();
    const d = factors[k];
    const moved = new Float32Array(values.length);
    for (let f = 0; f < moved.length; f++) moved[f] = values[f] * d[f];
    out[p.index] = tf.tensor(moved, params[p.index].shape, "float32");
  });
  for (const s of structure.stats) {
    const mean = params[s.mean].dataSync();
    const variance = params[s.variance].dataSync();
    const newVariance = new Float32Array(s.size);
    for (let c = 0; c < s.size; c++) {
      const t = tau[s.offset + c];
      newVariance[c] = t * t * (variance[c] + s.epsilon) - s.epsilon;
      if (!(newVariance[c] >= 0)) {
        tf.dispose(out.filter((x): x is tf.Tensor => x !== null));
        throw new Error(`teleport: tau = ${t} on channel ${c} entering BatchNormalization "${s.layer}" would make its moving variance negative (tau^2 < eps / (variance + eps)); use a smaller cobRange`);
      }
    }
    out[s.mean] = tf.tensor(Float32Array.from(mean, (m, c) => m * tau[s.offset + c]), params[s.mean].shape, "float32");
    out[s.variance] = tf.tensor(newVariance, params[s.variance].shape, "float32");
  }
  return out.map((t, i) => t ?? params[i].clone());
}

export type Sampling = "intra" | "inter" | "centered" | "positive" | "negative";
export const SAMPLINGS: Sampling[] = ["intra", "inter", "centered", "positive", "negative"];

export interface SamplingOptions {
  /** Half-width r of the sampling interval (default 0.5, vitalab's cob_range). */
  cobRange?: number;
  /** intra U[1-r, 1+r] (default); inter: intra with a random sign; centered U[c-r, c+r]; positive U(0, r]; negative U[-r, 0). */
  sampling?: Sampling;
  /** Centre c of "centered" sampling (default 1). */
  center?: number;
}

/** What a sampling needs from a group, for the error message when the group cannot take it. */
function needs(sampling: Sampling, r: number, c: number): Constraint {
  if (sampling === "inter" || sampling === "negative") return "any";
  if (sampling === "centered" && c - r <= 0) return "any";
  return "positive";
}

/** Draws a CoB (tau layout) i.i.d. per unit, after checking every group can take the sampling. */
export function sampleCob(structure: CobStructure, options: SamplingOptions, rng: Rng): Float64Array {
  const r = options.cobRange ?? 0.5;
  const sampling = options.sampling ?? "intra";
  const c = options.center ?? 1;
  if (!SAMPLINGS.includes(sampling)) throw new Error(`teleport: unknown sampling "${String(sampling)}"; use ${SAMPLINGS.join(", ")}`);
  if (!(r >= 0) || !Number.isFinite(r)) throw new Error(`teleport: cobRange must be a finite number >= 0, got ${r}`);
  if ((sampling === "intra" || sampling === "inter") && r >= 1) throw new Error(`teleport: cobRange ${r} >= 1 lets tau reach 0 with "${sampling}" sampling; use a cobRange below 1`);
  if ((sampling === "positive" || sampling === "negative") && r <= 0) throw new Error(`teleport: "${sampling}" sampling needs cobRange > 0, got ${r}`);
  if (sampling === "centered" && (!Number.isFinite(c) || (c - r <= 0 && c + r >= 0))) {
    throw new Error(`teleport: centered sampling U[${c - r}, ${c + r}] contains 0, where the CoB is not invertible; move center away from 0 or lower cobRange`);
  }
  const need = needs(sampling, r, c);
  const tau = new Float64Array(structure.size);
  for (const g of structure.groups) {
    if (r === 0 && sampling === "intra") {
      tau.fill(1, g.offset, g.offset + g.size);
      continue;
    }
    if (g.constraint === "fixed" || (g.constraint === "positive" && need === "any") || (g.constraint === "sign" && sampling !== "inter")) {
      throw new Error(refusal(g, sampling));
    }
    for (let k = 0; k < g.size; k++) {
      let t: number;
      if (sampling === "intra") t = rng.uniform(1 - r, 1 + r);
      else if (sampling === "inter") t = (g.constraint === "sign" ? 1 : rng.uniform(1 - r, 1 + r)) * (rng.next() < 0.5 ? -1 : 1);
      else if (sampling === "centered") t = rng.uniform(c - r, c + r);
      else if (sampling === "positive") t = r * (1 - rng.next());
      else t = -r * (1 - rng.next());
      tau[g.offset + k] = t;
    }
  }
  return tau;
}

function refusal(g: CobGroup, sampling: Sampling): string {
  const why = g.reasons.join("; ");
  if (g.constraint === "fixed") {
    return `teleport: the units of layer "${g.layer}" cannot be rescaled without changing the architecture (${why}): tau*f(x/tau) is a different unit for tau != 1. Teleportation needs ReLU, LeakyReLU or linear units (or tanh/softsign with sign flips, sampling "inter")`;
  }
  if (g.constraint === "positive") {
    return `teleport: sampling "${sampling}" draws negative taus, but the units of layer "${g.layer}" only allow tau > 0 (${why}; e.g. tau*relu(x/tau) = min(x, 0) for tau < 0, a different unit). Use sampling "intra", "centered" (center > cobRange) or "positive"`;
  }
  return `teleport: the units of layer "${g.layer}" only allow sign flips tau = +-1 (${why}: tau*tanh(x/tau) != tanh(x) for |tau| != 1); use sampling "inter" (signs only for these units)`;
}

/** Checks a user-given CoB against the structure and returns it in the tau layout. */
export function parseCob(structure: CobStructure, cob: CobInput): Float64Array {
  if (!Array.isArray(cob) || cob.length !== structure.groups.length) {
    throw new Error(`teleport: cob must be an array of ${structure.groups.length} per-layer tau vectors (for ${structure.groups.map((g) => `"${g.layer}" (${g.size})`).join(", ")}), got ${Array.isArray(cob) ? cob.length : typeof cob}`);
  }
  const tau = new Float64Array(structure.size);
  structure.groups.forEach((g, k) => {
    const entry = cob[k];
    const values = isLayerCob(entry) ? entry.tau : entry;
    if (isLayerCob(entry) && entry.layer !== g.layer) throw new Error(`teleport: cob entry ${k} is for layer "${entry.layer}", expected "${g.layer}"`);
    if (!values || values.length !== g.size) throw new Error(`teleport: cob for layer "${g.layer}" must have ${g.size} taus, got ${values?.length}`);
    for (let i = 0; i < g.size; i++) {
      const t = Number(values[i]);
      const ok = Number.isFinite(t) && t !== 0 && (g.constraint === "any" || (g.constraint === "positive" && t > 0) || (g.constraint === "sign" && Math.abs(t) === 1) || (g.constraint === "fixed" && t === 1));
      if (!ok) {
        if (!Number.isFinite(t) || t === 0) throw new Error(`teleport: tau ${t} for unit ${i} of layer "${g.layer}" is not a finite non-zero number`);
        throw new Error(`${refusal(g, t < 0 ? "negative" : "intra")} (given tau ${t} for unit ${i})`);
      }
      tau[g.offset + i] = t;
    }
  });
  return tau;
}

export interface LayerCob { layer: string; tau: Float64Array }
export type CobInput = (ArrayLike<number> | LayerCob)[];

function isLayerCob(x: unknown): x is LayerCob {
  return typeof x === "object" && x !== null && "tau" in x && "layer" in x;
}

/** The tau layout split per layer (copies). */
export function perLayer(structure: CobStructure, tau: ArrayLike<number>): LayerCob[] {
  return structure.groups.map((g) => ({ layer: g.layer, tau: Float64Array.from({ length: g.size }, (_, i) => tau[g.offset + i]) }));
}

/** Even moments of one unit's tau under a sampling: E[tau^2], E[tau^-2] (the expected gradient boost) and E[tau^4], E[tau^-4] (its spread). */
export interface TauMoments { tau2: number; inverseTau2: number; tau4: number; inverseTau4: number }

export function samplingMoments(sampling: Sampling, r: number, center = 1, constraint: Constraint = "positive"): TauMoments {
  if (sampling === "inter" && constraint === "sign") return { tau2: 1, inverseTau2: 1, tau4: 1, inverseTau4: 1 };
  if (sampling === "intra" || sampling === "inter") return uniformMoments(1 - r, 1 + r);
  if (sampling === "centered") return uniformMoments(center - r, center + r);
  // U(0, r] and U[-r, 0): the inverse moments diverge.
  return { tau2: (r * r) / 3, inverseTau2: Infinity, tau4: r ** 4 / 5, inverseTau4: Infinity };
}

/** E[t^k] = (b^(k+1) - a^(k+1)) / ((k+1)(b - a)) for t ~ U[a, b]; negative k diverge when [a, b] holds 0. */
function uniformMoments(a: number, b: number): TauMoments {
  if (a === b) return { tau2: a ** 2, inverseTau2: a ** -2, tau4: a ** 4, inverseTau4: a ** -4 };
  const sameSign = a * b > 0;
  return {
    tau2: (b ** 3 - a ** 3) / (3 * (b - a)),
    inverseTau2: sameSign ? 1 / (a * b) : Infinity,
    tau4: (b ** 5 - a ** 5) / (5 * (b - a)),
    inverseTau4: sameSign ? (a ** -3 - b ** -3) / (3 * (b - a)) : Infinity,
  };
}
