/** Validation shared by the symmetry calls: input points, correlator order, ensemble size. */
import * as tf from "@tensorflow/tfjs";
import { Ensemble } from "./ensemble";
import { minimumNetworks } from "./stats";

export const ORDERS = [1, 2, 3, 4];

/** Input points as rows of numbers, checked against the ensemble's input size. */
export function inputRows(inputs: number[][] | tf.Tensor, ensemble: Ensemble, where: string): number[][] {
  const rows = inputs instanceof tf.Tensor ? tensorRows(inputs, where) : inputs;
  if (!Array.isArray(rows) || rows.length === 0) throw new Error(`${where}: inputs must be a non-empty array of points [n][${ensemble.inputSize}]`);
  rows.forEach((row, k) => {
    if (!Array.isArray(row) || row.length !== ensemble.inputSize) {
      throw new Error(`${where}: input ${k} has ${Array.isArray(row) ? `${row.length} coordinates` : "no coordinates"} but the ensemble [${ensemble.sizes.join("-")}] takes ${ensemble.inputSize}`);
    }
    if (row.some((v) => typeof v !== "number" || !Number.isFinite(v))) throw new Error(`${where}: input ${k} holds a non-finite value: ${JSON.stringify(row)}`);
  });
  return rows.map((r) => r.slice());
}

function tensorRows(t: tf.Tensor, where: string): number[][] {
  if (t.rank !== 2) throw new Error(`${where}: an inputs tensor must be 2-D [n, d], got shape [${t.shape.join(", ")}]`);
  return t.arraySync() as number[][];
}

export function checkOrder(order: unknown, where: string): number {
  if (!ORDERS.includes(order as number)) throw new Error(`${where}: order must be one of ${ORDERS.join(", ")}, got ${String(order)}`);
  return order as number;
}

export function checkNetworks(ensemble: Ensemble, order: number, where: string): void {
  const needed = minimumNetworks(order);
  if (ensemble.networks < needed) {
    throw new Error(`${where}: ${ensemble.networks} networks are too few for an order-${order} correlator; at least ${needed} are needed (100% relative precision at 3 sigma for a Gaussian output)`);
  }
}

export function checkEnsemble(ensemble: unknown, where: string): Ensemble {
  if (!(ensemble instanceof Ensemble)) throw new Error(`${where}: expects an ensemble from ws.symmetry.ensemble(spec, { networks }), got ${ensemble === null ? "null" : typeof ensemble}`);
  return ensemble;
}
