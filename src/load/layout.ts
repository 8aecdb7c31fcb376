/**
 * PyTorch <-> TF.js parameter layouts. Every conversion is an axis permutation:
 * - Linear weight [out, in]            -> Dense kernel [in, out]            (axes [1, 0])
 * - Conv2d weight [out, in, kh, kw]    -> Conv2D kernel [kh, kw, in, out]   (axes [2, 3, 1, 0])
 * - Linear after a flatten of a [C, H, W] map: PyTorch flattens NCHW as (c, h, w), TF.js flattens NHWC
 *   as (h, w, c), so the weight is viewed as [out, C, H, W] and permuted with [2, 3, 1, 0] to [H, W, C, out]
 *   = the Dense kernel [H*W*C, out]; per-feature vectors there (BatchNorm1d) go [C, H, W] -> [H, W, C].
 * - BatchNorm weight/bias/running_mean/running_var -> gamma/beta/movingMean/movingVariance.
 */
import * as tf from "@tensorflow/tfjs";
import type { ModelView, ParamRole } from "../model/view";

/** One weight of the TF.js model and the PyTorch tensor it corresponds to. */
export interface TorchSlot {
  /** Index in model.weights. */
  index: number;
  layer: string;
  /** PyTorch's name for the role inside its module ("weight", "bias", "running_mean", "running_var"). */
  role: string;
  torchShape: number[];
  tfShape: number[];
  /** The PyTorch array seen with this shape and permuted by `axes` is the TF.js array. */
  torchView: number[];
  axes: number[];
}

const TORCH_ROLE: Record<ParamRole, string> = { kernel: "weight", bias: "bias", gamma: "weight", beta: "bias", movingMean: "running_mean", movingVariance: "running_var" };

/** The PyTorch counterpart of every weight of a model, in model.weights order. */
export function torchSlots(model: tf.LayersModel, view: ModelView): TorchSlot[] {
  const slots: TorchSlot[] = [];
  // [H, W, C] of the feature map the last Flatten consumed, until the Dense that reads it.
  let flattened: number[] | null = null;
  const add = (index: number | null, torchView: number[], axes: number[]) => {
    if (index === null) return;
    const spec = view.params[index];
    slots.push({
      index, layer: spec.layer, role: TORCH_ROLE[spec.role], tfShape: spec.shape, torchView, axes,
      torchShape: spec.role === "kernel" && spec.shape.length === 2 ? [spec.shape[1], spec.shape[0]] : spec.role === "kernel" ? torchView : [spec.size],
    });
  };
  for (const block of view.blocks) {
    switch (block.kind) {
      case "flatten": {
        const shape = inputShapeOf(model.getLayer(block.layer));
        flattened = shape.length === 3 && shape[0] * shape[1] > 1 ? shape : null;
        break;
      }
      case "dense": {
        const [features, units] = view.params[block.kernel].shape;
        if (flattened && flattened[0] * flattened[1] * flattened[2] === features) {
          const [h, w, c] = flattened;
          add(block.kernel, [units, c, h, w], [2, 3, 1, 0]);
        } else {
          add(block.kernel, [units, features], [1, 0]);
        }
        add(block.bias, [units], [0]);
        flattened = null;
        break;
      }
      case "conv2d": {
        const [kh, kw, inputs, filters] = view.params[block.kernel].shape;
        add(block.kernel, [filters, inputs, kh, kw], [2, 3, 1, 0]);
        add(block.bias, [filters], [0]);
        break;
      }
      case "batchNorm": {
        const size = view.params[block.movingMean].size;
        const vector = flattened && flattened[0] * flattened[1] * flattened[2] === size
          ? { view: [flattened[2], flattened[0], flattened[1]], axes: [1, 2, 0] }
          : { view: [size], axes: [0] };
        for (const index of [block.gamma, block.beta, block.movingMean, block.movingVariance]) add(index, vector.view, vector.axes);
        break;
      }
      default:
        break;
    }
  }
  return slots.sort((a, b) => a.index - b.index);
}

/** Input shape of a layer without the batch dimension. */
function inputShapeOf(layer: tf.layers.Layer): number[] {
  const shapes = layer.inboundNodes[0]?.inputShapes as (number | null)[] | (number | null)[][] | undefined;
  const shape = Array.isArray(shapes?.[0]) ? (shapes as (number | null)[][])[0] : (shapes as (number | null)[] | undefined);
  if (!shape) throw new Error(`cannot tell the input shape of layer "${layer.name}"`);
  return shape.slice(1) as number[];
}

/** Values of an array of shape `shape` (row-major) with its axes reordered: out axis i is input axis axes[i]. */
export function permuteAxes(values: Float32Array, shape: readonly number[], axes: readonly number[]): Float32Array {
  if (axes.every((a, i) => a === i)) return values.slice();
  const rank = shape.length;
  const strides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  const outShape = axes.map((a) => shape[a]);
  const outStrides = axes.map((a) => strides[a]);
  const out = new Float32Array(values.length);
  const index = new Array<number>(rank).fill(0);
  let source = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = values[source];
    // Odometer over the output index; `source` follows it through the input strides.
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      source += outStrides[d];
      if (index[d] < outShape[d]) break;
      source -= outStrides[d] * outShape[d];
      index[d] = 0;
    }
  }
  return out;
}

/** PyTorch array -> TF.js array of a slot. */
export function torchToTf(slot: TorchSlot, values: Float32Array): Float32Array {
  return permuteAxes(values, slot.torchView, slot.axes);
}

/** TF.js array -> PyTorch array of a slot (the inverse permutation). */
export function tfToTorch(slot: TorchSlot, values: Float32Array): Float32Array {
  const inverse = slot.axes.map((_, i) => slot.axes.indexOf(i));
  return permuteAxes(values, slot.axes.map((a) => slot.torchView[a]), inverse);
}

/** PyTorch's full name of a role in a module: "net.0" + "weight"; a module saved on its own has no prefix. */
export function torchName(prefix: string, role: string): string {
  return prefix === "" ? role : `${prefix}.${role}`;
}

/** Module prefix of a tensor name ("net.0.weight" -> "net.0", "weight" -> ""). */
export function prefixOf(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? "" : name.slice(0, dot);
}

/** Module order by name with numbers compared as numbers ("net.2" before "net.10"), as PyTorch registers nn.Sequential children. */
export function naturalCompare(a: string, b: string): number {
  const pa = a.split(".");
  const pb = b.split(".");
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] === pb[i]) continue;
    const na = /^\d+$/.test(pa[i]) ? Number(pa[i]) : NaN;
    const nb = /^\d+$/.test(pb[i]) ? Number(pb[i]) : NaN;
    if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
    return pa[i] < pb[i] ? -1 : 1;
  }
  return pa.length - pb.length;
}

/** BatchNorm's step counter: PyTorch bookkeeping that no TF.js weight corresponds to. */
export function isBookkeeping(name: string): boolean {
  return name === "num_batches_tracked" || name.endsWith(".num_batches_tracked");
}
