/** What the teleport experiments share: the model's loss on a dataset, its gradient per CoB parameter, float64 sums. */
import * as tf from "@tensorflow/tfjs";
import { viewOf, type ModelView } from "../model/view";
import { trainableLoss, defaultLoss, lossOf, type LossKind } from "../model/functional";
import { readParams, assertFiniteParams } from "../model/params";
import { gradient } from "../math/hessian";
import { asDataset, type Dataset } from "../data/dataset";
import { assertDataFits } from "../model/check";
import { assertPassFits } from "../model/memory";
import { cobStructure, type CobStructure } from "./structure";
import { meanAndStd } from "../math/special";

export interface Landscape {
  view: ModelView;
  structure: CobStructure;
  data: Dataset;
  loss: LossKind;
}

export function landscapeOf(model: tf.LayersModel, data: Dataset | { x: tf.Tensor; y: tf.Tensor }, where: string, loss?: LossKind): Landscape {
  return landscapeOfView(viewOf(model), data, where, loss);
}

export function landscapeOfView(view: ModelView, data: Dataset | { x: tf.Tensor; y: tf.Tensor }, where: string, loss?: LossKind): Landscape {
  const dataset = asDataset(data, where);
  const kind = loss ?? defaultLoss(view, dataset.task);
  assertDataFits(view, dataset, kind, where);
  // Every teleport experiment takes gradients of the loss over the whole data set at once.
  assertPassFits(where, view, dataset.x.shape[0], "train", "samples");
  return { view, structure: cobStructure(view), data: dataset, loss: kind };
}

/** The model's parameters (copies; the caller disposes), checked finite. */
export function paramsOf(model: tf.LayersModel, land: Landscape, where: string): tf.Tensor[] {
  const params = readParams(model);
  try {
    assertFiniteParams(land.view, params, where);
  } catch (error) {
    tf.dispose(params);
    throw error;
  }
  return params;
}

export function lossAt(land: Landscape, params: readonly tf.Tensor[]): number {
  const l = lossOf(land.view, params, land.data.x, land.data.y, land.loss);
  const value = l.dataSync()[0];
  l.dispose();
  return value;
}

/** The loss as a function of the CoB-carrying (trainable) parameters, in structure.params order. */
export function cobLoss(land: Landscape, params: readonly tf.Tensor[]): { loss: (p: tf.Tensor[]) => tf.Scalar; at: tf.Tensor[] } {
  const { loss, trainable } = trainableLoss(land.view, params, land.data.x, land.data.y, land.loss);
  const trainableIndex = land.view.params.filter((p) => p.trainable).map((p) => p.index);
  const position = land.structure.params.map((p) => trainableIndex.indexOf(p.index));
  return {
    loss: (p) => {
      const full = trainable.slice();
      position.forEach((pos, k) => (full[pos] = p[k]));
      return loss(full);
    },
    at: position.map((pos) => trainable[pos]),
  };
}

/** Gradient of the data loss per CoB parameter (float64 copies). */
export function gradientAt(land: Landscape, params: readonly tf.Tensor[]): Float64Array[] {
  const { loss, at } = cobLoss(land, params);
  const grads = gradient(loss, at);
  const out = grads.map((g) => Float64Array.from(g.dataSync()));
  tf.dispose(grads);
  return out;
}

/** The CoB parameters' values (float64 copies), in structure.params order. */
export function valuesOf(land: Landscape, params: readonly tf.Tensor[]): Float64Array[] {
  return land.structure.params.map((p) => Float64Array.from(params[p.index].dataSync()));
}


/** Mean and sample standard deviation of the finite values (a blown-up sample is left out, not averaged in). */
export function meanStd(values: number[]): { mean: number; std: number } {
  return meanAndStd(values.filter(Number.isFinite));
}

