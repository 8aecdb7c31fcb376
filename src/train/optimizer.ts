/**
 * Optimizers with explicit, inspectable state (SGD, SGD with momentum, Adam), so that probes can
 * transform the state exactly when they move the parameters (teleport: m' = m / d, v' = v / d^2).
 */
import * as tf from "@tensorflow/tfjs";

export type OptimizerName = "sgd" | "momentum" | "adam";
export interface OptimizerSpec {
  name: OptimizerName;
  /** Momentum coefficient (default 0.9). */
  momentum?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export interface OptimizerState {
  readonly name: OptimizerName;
  /** Per-parameter state, aligned with the trainable variables: momentum "m"; Adam "m" and "v". */
  readonly slots: Record<string, tf.Variable[]>;
  /** Number of updates applied (Adam's bias correction uses it). */
  readonly steps: number;
}

export interface Optimizer extends OptimizerState {
  /** Applies one update with learning rate lr to the variables from their gradients. */
  apply(variables: tf.Variable[], grads: tf.Tensor[], lr: number): void;
  dispose(): void;
}

export function makeOptimizer(spec: OptimizerName | OptimizerSpec, variables: tf.Variable[]): Optimizer {
  const s: OptimizerSpec = typeof spec === "string" ? { name: spec } : spec;
  if (!["sgd", "momentum", "adam"].includes(s.name)) throw new Error(`unknown optimizer "${String(s.name)}"; use "sgd", "momentum" or "adam"`);
  // tidy frees the zerosLike tensor a variable is made from (the variable keeps its own reference).
  const zeros = () => variables.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
  const slots: Record<string, tf.Variable[]> = s.name === "sgd" ? {} : s.name === "momentum" ? { m: zeros() } : { m: zeros(), v: zeros() };
  const momentum = s.momentum ?? 0.9;
  const beta1 = s.beta1 ?? 0.9;
  const beta2 = s.beta2 ?? 0.999;
  const epsilon = s.epsilon ?? 1e-8;
  let steps = 0;
  return {
    name: s.name,
    slots,
    get steps() {
      return steps;
    },
    apply(vars, grads, lr) {
      steps++;
      tf.tidy(() => {
        vars.forEach((variable, i) => {
          const g = grads[i];
          if (s.name === "sgd") {
            variable.assign(tf.sub(variable, tf.mul(lr, g)));
          } else if (s.name === "momentum") {
            const m = slots.m[i];
            m.assign(tf.add(tf.mul(momentum, m), g));
            variable.assign(tf.sub(variable, tf.mul(lr, m)));
          } else {
            const m = slots.m[i];
            const v = slots.v[i];
            m.assign(tf.add(tf.mul(beta1, m), tf.mul(1 - beta1, g)));
            v.assign(tf.add(tf.mul(beta2, v), tf.mul(1 - beta2, tf.square(g))));
            const mHat = tf.div(m, 1 - beta1 ** steps);
            const vHat = tf.div(v, 1 - beta2 ** steps);
            variable.assign(tf.sub(variable, tf.div(tf.mul(lr, mHat), tf.add(tf.sqrt(vHat), epsilon))));
          }
        });
      });
    },
    dispose() {
      for (const list of Object.values(slots)) tf.dispose(list);
    },
  };
}
