/**
 * Teleporting during ws.train: a hook that moves the training variables by a CoB (random or
 * optimised) and carries the optimizer state across exactly: gradients become g / d, so momentum
 * and Adam's first moment become m / d and Adam's second moment v / d^2 (or zeros on request, as
 * the reference code resets them).
 */
import * as tf from "@tensorflow/tfjs";
import type { StepContext, TrainHook } from "../train/train";
import type { OptimizerState } from "../train/optimizer";
import { Rng } from "../math/rng";
import { applyCob, cobStructure, factorsOf, sampleCob, type CobStructure, type SamplingOptions } from "./structure";
import { landscapeOfView } from "./landscape";
import { searchCob, searchSettings, type Objective } from "./optimize";

export interface TrainTeleportOptions extends SamplingOptions {
  /** Teleport every k optimizer steps (default 0: only once, before the first step). */
  every?: number;
  /** Also teleport before the first step (default true). */
  atStart?: boolean;
  /** "random": sample the CoB (default); "optimized": search it for `objective` inside the cobRange box. */
  policy?: "random" | "optimized";
  /** Objective of the "optimized" policy (default "gradNorm"). */
  objective?: Objective;
  /** Samples of the training data the optimised CoB is computed on (default 256). */
  batch?: number;
  /** Zero the optimizer state at each teleport instead of transforming it (default false). */
  resetOptimizer?: boolean;
  seed?: number;
}

export function teleportHook(options: TrainTeleportOptions): TrainHook {
  const every = options.every ?? 0;
  if (!Number.isInteger(every) || every < 0) throw new Error(`train teleport: every must be a non-negative integer, got ${every}`);
  const policy = options.policy ?? "random";
  if (policy !== "random" && policy !== "optimized") throw new Error(`train teleport: policy must be "random" or "optimized", got "${String(policy)}"`);
  const settings = policy === "optimized" ? searchSettings({ ...options, objective: options.objective ?? "gradNorm" }, "train teleport") : null;
  const rng = new Rng(options.seed ?? 0);
  let structure: CobStructure | null = null;
  return {
    every,
    atStart: options.atStart ?? true,
    async onStep(ctx: StepContext) {
      structure ??= cobStructure(ctx.view);
      let tau: Float64Array;
      if (settings) {
        const n = ctx.data.x.shape[0];
        const size = Math.min(n, options.batch ?? 256);
        const indices = tf.tensor1d(rng.permutation(n).subarray(0, size), "int32");
        const x = tf.gather(ctx.data.x, indices);
        const y = tf.gather(ctx.data.y, indices);
        try {
          const land = { ...landscapeOfView(ctx.view, { ...ctx.data, x, y }, "train teleport", ctx.loss), structure };
          tau = (await searchCob(land, ctx.params, settings, false)).theta.map(Math.exp);
        } finally {
          tf.dispose([indices, x, y]);
        }
      } else {
        tau = sampleCob(structure, options, rng);
      }
      teleportVariables(structure, ctx.params, ctx.trainable, ctx.optimizer, tau, options.resetOptimizer === true);
    },
  };
}

/**
 * Moves training variables by a CoB in place and transforms the optimizer slots (aligned with
 * `trainable`, indices into params): m' = m / d, v' = v / d^2, or zeros with `reset`.
 */
export function teleportVariables(structure: CobStructure, params: tf.Variable[], trainable: number[], optimizer: OptimizerState, tau: ArrayLike<number>, reset: boolean): void {
  const moved = applyCob(structure, params, tau);
  params.forEach((p, i) => p.assign(moved[i]));
  tf.dispose(moved);
  const factors = factorsOf(structure, tau);
  structure.params.forEach((p, k) => {
    const slot = trainable.indexOf(p.index);
    if (slot < 0) return;
    for (const [name, list] of Object.entries(optimizer.slots)) {
      const power = name === "v" ? 2 : 1;
      const v = list[slot];
      tf.tidy(() => {
        if (reset) v.assign(tf.zerosLike(v));
        else v.assign(tf.div(v, tf.tensor(Float32Array.from(factors[k], (d) => d ** power), v.shape)));
      });
    }
  });
}
