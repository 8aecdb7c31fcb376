/**
 * The probes' view of a tf.LayersModel: a chain of parameter blocks in TF.js layouts
 * (Dense kernel [in, out], Conv2D kernel [kh, kw, in, out], NHWC data). Parameter indices refer to
 * `model.weights` order, so a list of tensors in that order can be passed to `model.setWeights`.
 * Any layer outside the supported set is refused with an error that names it.
 */
import * as tf from "@tensorflow/tfjs";
import { InputError, UnsupportedModelError } from "../errors";

export type Activation =
  | "linear" | "relu" | "relu6" | "leakyRelu" | "elu" | "selu" | "sigmoid" | "tanh"
  | "softmax" | "softplus" | "softsign" | "swish";

const ACTIVATIONS = new Set<string>(["linear", "relu", "relu6", "elu", "selu", "sigmoid", "tanh", "softmax", "softplus", "softsign", "swish"]);

export type ParamRole = "kernel" | "bias" | "gamma" | "beta" | "movingMean" | "movingVariance";

export interface ParamSpec {
  /** Index in model.weights (and in every params list of this view). */
  index: number;
  name: string;
  layer: string;
  role: ParamRole;
  shape: number[];
  size: number;
  trainable: boolean;
}

interface BlockBase { layer: string; className: string }
export interface DenseBlock extends BlockBase {
  kind: "dense"; units: number; kernel: number; bias: number | null; activation: Activation; alpha: number;
}
export interface Conv2DBlock extends BlockBase {
  kind: "conv2d"; filters: number; kernelSize: [number, number]; strides: [number, number];
  padding: "valid" | "same"; dilation: [number, number]; kernel: number; bias: number | null; activation: Activation; alpha: number;
}
export interface PoolBlock extends BlockBase {
  kind: "maxPool" | "avgPool"; poolSize: [number, number]; strides: [number, number]; padding: "valid" | "same";
}
export interface FlattenBlock extends BlockBase { kind: "flatten" }
export interface DropoutBlock extends BlockBase { kind: "dropout"; rate: number }
export interface BatchNormBlock extends BlockBase {
  kind: "batchNorm"; epsilon: number; momentum: number;
  gamma: number | null; beta: number | null; movingMean: number; movingVariance: number;
}
export interface ActivationBlock extends BlockBase { kind: "activation"; activation: Activation; alpha: number }

export type Block = DenseBlock | Conv2DBlock | PoolBlock | FlattenBlock | DropoutBlock | BatchNormBlock | ActivationBlock;

export interface ModelView {
  name: string;
  /** Input shape without the batch dimension. */
  inputShape: number[];
  outputShape: number[];
  blocks: Block[];
  params: ParamSpec[];
  /** Number of trainable scalars. */
  trainableSize: number;
}

const SUPPORTED = "Dense, Conv2D, Flatten, MaxPooling2D, AveragePooling2D, Dropout, BatchNormalization, Activation, ReLU, LeakyReLU, Softmax";

/** Builds the view of a sequential chain of supported layers, or throws naming the first problem. */
export function viewOf(model: tf.LayersModel): ModelView {
  if (!(model instanceof tf.LayersModel)) {
    throw new InputError("invalid-data", "weightscope expects a tf.LayersModel (from tf.sequential, tf.model or ws.mlp / ws.cnn)", "model");
  }
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new UnsupportedModelError(`model "${model.name}" has ${model.inputs.length} inputs and ${model.outputs.length} outputs; weightscope probes single-input, single-output chains`);
  }
  const indexOf = new Map(model.weights.map((w, i) => [w, i] as const));
  const params: ParamSpec[] = model.weights.map((w, i) => ({
    index: i, name: w.originalName ?? w.name, layer: "", role: "kernel", shape: w.shape.slice() as number[],
    size: w.shape.reduce((a: number, b) => a * (b as number), 1), trainable: w.trainable,
  }));
  const blocks: Block[] = [];
  let previous: string | null = null;
  for (const layer of model.layers) {
    const className = layer.getClassName();
    const inbound = layer.inboundNodes.flatMap((n) => n.inboundLayers.map((l) => l.name));
    if (className === "InputLayer") {
      previous = layer.name;
      continue;
    }
    if (layer.inboundNodes.length > 1 || (previous !== null && (inbound.length !== 1 || inbound[0] !== previous))) {
      throw new UnsupportedModelError(`layer "${layer.name}" (${className}) is not part of a single chain; weightscope probes sequential stacks of ${SUPPORTED}`);
    }
    previous = layer.name;
    const config = layer.getConfig() as Record<string, unknown>;
    const slot = (role: ParamRole, position: number): number => {
      const w = layer.weights[position];
      const i = indexOf.get(w);
      if (w === undefined || i === undefined) throw new UnsupportedModelError(`layer "${layer.name}" (${className}) has no ${role} weight`);
      params[i].layer = layer.name;
      params[i].role = role;
      return i;
    };
    const base = { layer: layer.name, className };
    switch (className) {
      case "Dense": {
        const useBias = config.useBias !== false;
        blocks.push({ ...base, kind: "dense", units: config.units as number, kernel: slot("kernel", 0), bias: useBias ? slot("bias", 1) : null, activation: activationOf(config.activation, layer.name, className), alpha: 0 });
        break;
      }
      case "Conv2D": {
        if (config.dataFormat !== undefined && config.dataFormat !== "channelsLast") {
          throw new UnsupportedModelError(`layer "${layer.name}" (Conv2D) uses dataFormat "${String(config.dataFormat)}"; only channelsLast (NHWC) is supported`);
        }
        if (config.groups !== undefined && config.groups !== 1) throw new UnsupportedModelError(`layer "${layer.name}" (Conv2D) is a grouped convolution, which is not supported`);
        const useBias = config.useBias !== false;
        blocks.push({
          ...base, kind: "conv2d", filters: config.filters as number, kernelSize: pair(config.kernelSize), strides: pair(config.strides ?? 1),
          padding: paddingOf(config.padding, layer.name), dilation: pair(config.dilationRate ?? 1),
          kernel: slot("kernel", 0), bias: useBias ? slot("bias", 1) : null, activation: activationOf(config.activation, layer.name, className), alpha: 0,
        });
        break;
      }
      case "MaxPooling2D":
      case "AveragePooling2D": {
        const poolSize = pair(config.poolSize ?? 2);
        blocks.push({ ...base, kind: className === "MaxPooling2D" ? "maxPool" : "avgPool", poolSize, strides: pair(config.strides ?? poolSize), padding: paddingOf(config.padding, layer.name) });
        break;
      }
      case "Flatten":
        blocks.push({ ...base, kind: "flatten" });
        break;
      case "Dropout":
        blocks.push({ ...base, kind: "dropout", rate: config.rate as number });
        break;
      case "BatchNormalization": {
        const axis = config.axis as number | number[];
        const rank = (layer.inboundNodes[0]?.inputShapes as number[][] | undefined)?.[0]?.length ?? layer.batchInputShape?.length;
        if (!(axis === -1 || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === (rank ?? 0) - 1)) || axis === (rank ?? 0) - 1)) {
          throw new UnsupportedModelError(`layer "${layer.name}" (BatchNormalization) normalises axis ${JSON.stringify(axis)}; only the channel (last) axis is supported`);
        }
        let position = 0;
        const gamma = config.scale !== false ? slot("gamma", position++) : null;
        const beta = config.center !== false ? slot("beta", position++) : null;
        blocks.push({
          ...base, kind: "batchNorm", epsilon: config.epsilon as number, momentum: config.momentum as number,
          gamma, beta, movingMean: slot("movingMean", position), movingVariance: slot("movingVariance", position + 1),
        });
        break;
      }
      case "Activation":
        blocks.push({ ...base, kind: "activation", activation: activationOf(config.activation, layer.name, className), alpha: 0 });
        break;
      case "ReLU":
        if (config.maxValue != null) throw new UnsupportedModelError(`layer "${layer.name}" (ReLU) has maxValue ${String(config.maxValue)}; only the plain ReLU is supported`);
        blocks.push({ ...base, kind: "activation", activation: "relu", alpha: 0 });
        break;
      case "LeakyReLU":
        blocks.push({ ...base, kind: "activation", activation: "leakyRelu", alpha: (config.alpha as number | undefined) ?? 0.3 });
        break;
      case "Softmax":
        if (config.axis !== undefined && config.axis !== -1) throw new UnsupportedModelError(`layer "${layer.name}" (Softmax) uses axis ${String(config.axis)}; only the last axis is supported`);
        blocks.push({ ...base, kind: "activation", activation: "softmax", alpha: 0 });
        break;
      default:
        throw new UnsupportedModelError(`layer "${layer.name}" (${className}) is not supported by weightscope; supported layers: ${SUPPORTED}`);
    }
  }
  const unused = params.filter((p) => p.layer === "");
  if (unused.length > 0) throw new UnsupportedModelError(`model "${model.name}" has weights no supported layer uses: ${unused.map((p) => p.name).join(", ")}`);
  return {
    name: model.name,
    inputShape: (model.inputs[0].shape as (number | null)[]).slice(1).map((d) => d ?? -1),
    outputShape: (model.outputs[0].shape as (number | null)[]).slice(1).map((d) => d ?? -1),
    blocks,
    params,
    trainableSize: params.filter((p) => p.trainable).reduce((a, p) => a + p.size, 0),
  };
}

/** The blocks that carry weights (Dense and Conv2D), in order: the "layers" users name. */
export function weightedBlocks(view: ModelView): (DenseBlock | Conv2DBlock)[] {
  return view.blocks.filter((b): b is DenseBlock | Conv2DBlock => b.kind === "dense" || b.kind === "conv2d");
}

/** The activation applied last, after all weighted blocks (softmax, linear, ...). */
export function finalActivation(view: ModelView): Activation {
  for (let i = view.blocks.length - 1; i >= 0; i--) {
    const b = view.blocks[i];
    if (b.kind === "activation" || b.kind === "dense" || b.kind === "conv2d") return b.activation;
  }
  return "linear";
}

function activationOf(value: unknown, layer: string, className: string): Activation {
  const name = value === undefined || value === null ? "linear" : String(value);
  if (!ACTIVATIONS.has(name)) {
    throw new UnsupportedModelError(`layer "${layer}" (${className}) uses activation "${name}", which is not supported; supported: ${[...ACTIVATIONS].join(", ")}, and LeakyReLU layers`);
  }
  return name as Activation;
}

function pair(value: unknown): [number, number] {
  if (Array.isArray(value)) return [value[0] as number, (value[1] ?? value[0]) as number];
  return [value as number, value as number];
}

function paddingOf(value: unknown, layer: string): "valid" | "same" {
  if (value === undefined || value === "valid" || value === "same") return (value ?? "valid") as "valid" | "same";
  throw new UnsupportedModelError(`layer "${layer}" uses padding "${String(value)}"; only "valid" and "same" are supported`);
}
