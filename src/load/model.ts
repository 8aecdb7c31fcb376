/**
 * PyTorch-trained weights in and out of TF.js LayersModels through safetensors files: matching tensors
 * to layers by module prefix, converting layouts (see layout.ts), and building MLPs from tensor shapes.
 */
import * as tf from "@tensorflow/tfjs";
import { viewOf, mlp, readParams, cloneModel, assertFiniteParams, type Activation, type ModelView } from "../model";
import { optionalProgress, type Progress } from "../display/progress";
import { openSource, readHeader, readFloat32, writeSafetensors, type SafetensorsHeader, type SafetensorsInput, type NamedArray, type TensorEntry } from "./safetensors";
import { torchSlots, torchToTf, tfToTorch, torchName, prefixOf, naturalCompare, isBookkeeping, type TorchSlot } from "./layout";

export interface LoadSafetensorsOptions {
  /** A model of the same architecture to fill: a NEW model (a copy of it) is returned, `into` is untouched. Required for CNNs. */
  into?: tf.LayersModel;
  /**
   * TF.js layer name -> PyTorch module prefix (e.g. { conv0: "features.0", logits: "classifier" }).
   * Default: by name when every layer's name is a prefix in the file, else the file's modules in
   * natural name order ("net.2" before "net.10") paired with the model's weighted layers in order.
   */
  map?: Record<string, string>;
  /** Building an MLP (no `into`): hidden activation (default "relu"). */
  activation?: Activation;
  /** Building an MLP (no `into`): output activation (default "linear": logits). */
  output?: Activation;
  /** Building an MLP (no `into`): the model's name. */
  name?: string;
  /** Show a progress bar for files over 64 MB (default true). */
  progress?: boolean;
}

/** Files larger than this show a progress bar while loading or saving. */
const PROGRESS_BYTES = 64 * 1024 * 1024;

/**
 * Reads PyTorch weights from a safetensors file (or its bytes) into a new tf.LayersModel: a copy of
 * `into`, or, without `into`, an MLP built from the Linear weights' shapes. F32, F16, BF16 and F64 are
 * converted to float32. Missing, unmatched and misshaped tensors are listed in one error; NaN or
 * infinite weights are refused.
 */
export async function loadSafetensors(input: SafetensorsInput, options: LoadSafetensorsOptions = {}): Promise<tf.LayersModel> {
  const source = await openSource(input);
  let template: tf.LayersModel | null = null;
  const weights: tf.Tensor[] = [];
  try {
    const header = await readHeader(source);
    const where = `safetensors ${source.label}`;
    let map = options.map;
    if (options.into) {
      template = options.into;
    } else {
      const built = buildMlp(header, where, options);
      template = built.model;
      map ??= built.map;
    }
    const view = viewOf(template);
    const slots = torchSlots(template, view);
    const plan = matchTensors(slots, view, header, map, where);
    const bar = header.fileSize > PROGRESS_BYTES ? optionalProgress(options.progress, "loading weights", slots.length) : null;
    for (const [i, slot] of slots.entries()) {
      const entry = plan.get(slot.index) as TensorEntry;
      const values = await readFloat32(source, header, entry);
      const bad = firstNonFinite(values);
      if (bad >= 0) throw new Error(`${where}: tensor "${entry.name}" (layer "${slot.layer}") holds ${values[bad]} at flat index ${bad}; weights must be finite`);
      weights.push(tf.tensor(torchToTf(slot, values), slot.tfShape, "float32"));
      bar?.update(i + 1, entry.name);
    }
    bar?.finish();
    if (options.into) return cloneModel(options.into, weights);
    template.setWeights(weights);
    const model = template;
    template = null;
    return model;
  } finally {
    tf.dispose(weights);
    if (template && template !== options.into) template.dispose();
    await source.close();
  }
}

export interface SaveSafetensorsOptions {
  /** TF.js layer name -> PyTorch module prefix, so that load_state_dict accepts the file (default: the layer names). */
  map?: Record<string, string>;
  /** Extra string metadata stored in the header. */
  metadata?: Record<string, string>;
  /** Show a progress bar for models over 64 MB (default true). */
  progress?: boolean;
}

export interface SavedSafetensors {
  path: string;
  /** Tensor names written, in file order. */
  names: string[];
  bytes: number;
}

/**
 * Writes a model's weights in PyTorch layout (Linear [out, in], Conv2d [out, in, kh, kw], NCHW flatten
 * order) to a safetensors file that torch's load_state_dict accepts for the matching nn.Module. BatchNorm
 * layers also get a num_batches_tracked counter (0), as PyTorch's state_dict has one. The model is only read.
 */
export async function saveSafetensors(model: tf.LayersModel, path: string, options: SaveSafetensorsOptions = {}): Promise<SavedSafetensors> {
  const view = viewOf(model);
  const slots = torchSlots(model, view);
  const known = new Set(slots.map((s) => s.layer));
  const unknown = Object.keys(options.map ?? {}).filter((l) => !known.has(l));
  if (unknown.length > 0) throw new Error(`saveSafetensors: map names layers the model has no weights in: ${unknown.join(", ")} (weighted layers: ${[...known].join(", ")})`);
  const prefix = (layer: string) => options.map?.[layer] ?? layer;
  const params = readParams(model);
  const tensors: NamedArray[] = [];
  try {
    assertFiniteParams(view, params, `saveSafetensors(${path})`);
    for (const slot of slots) {
      tensors.push({ name: torchName(prefix(slot.layer), slot.role), shape: slot.torchShape, values: tfToTorch(slot, params[slot.index].dataSync() as Float32Array) });
    }
  } finally {
    tf.dispose(params);
  }
  for (const block of view.blocks) {
    if (block.kind === "batchNorm") tensors.push({ name: torchName(prefix(block.layer), "num_batches_tracked"), shape: [], values: new BigInt64Array(1) });
  }
  const bytes = tensors.reduce((a, t) => a + t.values.byteLength, 0);
  const bar: Progress | null = bytes > PROGRESS_BYTES ? optionalProgress(options.progress, "saving weights", 1) : null;
  await writeSafetensors(path, tensors, { format: "pt", producer: "weightscope", model: model.name, ...options.metadata });
  bar?.finish();
  return { path, names: tensors.map((t) => t.name), bytes };
}

/** For each weight index, the file entry that fills it; or one error listing every problem. */
function matchTensors(slots: TorchSlot[], view: ModelView, header: SafetensorsHeader, map: Record<string, string> | undefined, where: string): Map<number, TensorEntry> {
  const entries = new Map(header.entries.map((e) => [e.name, e] as const));
  const layers = [...new Set(slots.map((s) => s.layer))];
  const prefixes = prefixesFor(layers, header, map, where, view.name);
  const plan = new Map<number, TensorEntry>();
  const problems: string[] = [];
  for (const slot of slots) {
    const name = torchName(prefixes.get(slot.layer) as string, slot.role);
    const entry = entries.get(name);
    if (!entry) problems.push(`missing: "${name}" [${slot.torchShape.join(", ")}] for layer "${slot.layer}"`);
    else if (entry.shape.join(",") !== slot.torchShape.join(",")) {
      problems.push(`shape mismatch: "${name}" is [${entry.shape.join(", ")}] in the file, layer "${slot.layer}" needs [${slot.torchShape.join(", ")}] (PyTorch layout)`);
    } else plan.set(slot.index, entry);
  }
  const used = new Set([...plan.values()].map((e) => e.name));
  const wanted = new Set(slots.map((s) => torchName(prefixes.get(s.layer) as string, s.role)));
  const unmatched = header.entries.filter((e) => !used.has(e.name) && !wanted.has(e.name) && !isBookkeeping(e.name));
  if (unmatched.length > 0) problems.push(`unmatched tensors in the file: ${unmatched.map((e) => `"${e.name}" [${e.shape.join(", ")}]`).join(", ")}`);
  if (problems.length > 0) {
    const mapping = layers.map((l) => `${l} <- ${prefixes.get(l) || "(no prefix)"}`).join(", ");
    throw new Error(`${where} does not fit model "${view.name}":\n  ${problems.join("\n  ")}\n  mapping used: ${mapping}\n  (pass { map: { layerName: "torch.prefix" } } to pair layers with modules explicitly)`);
  }
  return plan;
}

function prefixesFor(layers: string[], header: SafetensorsHeader, map: Record<string, string> | undefined, where: string, modelName: string): Map<string, string> {
  const present = new Set(header.entries.filter((e) => !isBookkeeping(e.name)).map((e) => prefixOf(e.name)));
  if (map) {
    const missing = layers.filter((l) => !(l in map));
    const extra = Object.keys(map).filter((l) => !layers.includes(l));
    if (missing.length > 0 || extra.length > 0) {
      throw new Error(`${where}: map must name every weighted layer of model "${modelName}" (${layers.join(", ")})${missing.length ? `; missing: ${missing.join(", ")}` : ""}${extra.length ? `; not weighted layers of the model: ${extra.join(", ")}` : ""}`);
    }
    return new Map(layers.map((l) => [l, map[l]] as const));
  }
  if (layers.every((l) => present.has(l))) return new Map(layers.map((l) => [l, l] as const));
  const modules = [...present].sort(naturalCompare);
  if (modules.length !== layers.length) {
    throw new Error(`${where} holds ${modules.length} weighted modules (${modules.map((m) => m || "(no prefix)").join(", ")}) but model "${modelName}" has ${layers.length} weighted layers (${layers.join(", ")}); pass { map: { layerName: "torch.prefix" } }`);
  }
  return new Map(layers.map((l, i) => [l, modules[i]] as const));
}

/** An MLP whose layer sizes chain the file's Linear weights (modules in natural name order), and the layer -> module map. */
function buildMlp(header: SafetensorsHeader, where: string, options: LoadSafetensorsOptions): { model: tf.LayersModel; map: Record<string, string> } {
  const modules = new Map<string, Map<string, TensorEntry>>();
  for (const e of header.entries) {
    if (isBookkeeping(e.name)) continue;
    const prefix = prefixOf(e.name);
    if (!modules.has(prefix)) modules.set(prefix, new Map());
    (modules.get(prefix) as Map<string, TensorEntry>).set(e.name.slice(prefix === "" ? 0 : prefix.length + 1), e);
  }
  const ordered = [...modules.keys()].sort(naturalCompare);
  if (ordered.length === 0) throw new Error(`${where} holds no tensors to build a model from`);
  const sizes: number[] = [];
  const withBias: boolean[] = [];
  for (const prefix of ordered) {
    const tensors = modules.get(prefix) as Map<string, TensorEntry>;
    const weight = tensors.get("weight");
    const others = [...tensors.keys()].filter((k) => k !== "weight" && k !== "bias");
    if (weight?.shape.length === 4) {
      throw new Error(`${where} holds Conv2d weights ("${weight.name}" [${weight.shape.join(", ")}]); a CNN cannot be rebuilt from shapes alone (padding, pooling, input size): build it with ws.cnn or tf.sequential and pass { into: model }`);
    }
    if (!weight || weight.shape.length !== 2 || others.length > 0) {
      const names = [...tensors.values()].map((e) => `"${e.name}" [${e.shape.join(", ")}]`).join(", ");
      throw new Error(`${where}: module "${prefix}" (${names}) is not a Linear layer (weight [out, in] and optional bias [out]); only MLPs are built from shapes, pass { into: model } for other architectures`);
    }
    const [out, inputs] = weight.shape;
    if (sizes.length === 0) sizes.push(inputs);
    else if (sizes[sizes.length - 1] !== inputs) {
      throw new Error(`${where}: Linear layers do not chain in module order (${ordered.join(", ")}): "${weight.name}" takes ${inputs} inputs but the module before outputs ${sizes[sizes.length - 1]}; pass { into: model } (and { map }) if the order is different`);
    }
    sizes.push(out);
    const bias = tensors.get("bias");
    if (bias && (bias.shape.length !== 1 || bias.shape[0] !== out)) throw new Error(`${where}: bias "${bias.name}" has shape [${bias.shape.join(", ")}], expected [${out}]`);
    withBias.push(bias !== undefined);
  }
  if (withBias.some((b) => b !== withBias[0])) throw new Error(`${where}: some Linear layers have a bias and some do not (${ordered.filter((_, i) => !withBias[i]).join(", ")} have none); pass { into: model } with that architecture`);
  // Zeros: the file's weights replace the initialisation anyway, and sampling millions of normals is not free.
  const model = mlp(sizes, { activation: options.activation, output: options.output, bias: withBias[0], name: options.name, init: "zeros" });
  return { model, map: Object.fromEntries(ordered.map((prefix, i) => [`dense${i}`, prefix])) };
}

function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return i;
  return -1;
}
