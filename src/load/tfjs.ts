/**
 * TF.js Layers models on disk (model.json + binary weight shards, as written by model.save,
 * tfjs-node's file:// handler or tensorflowjs_converter) without tfjs-node: the shards are read and
 * checked here, then handed to tf.loadLayersModel from memory.
 */
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { viewOf, readParams, assertFiniteParams } from "../model";
import { writeFilesAtomic } from "../io";
import { InputError, FileFormatError } from "../errors";

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/**
 * Loads a TF.js Layers model from its model.json path. Missing or corrupt files, shards that are too
 * short or too long, graph models, unsupported layers and NaN/Inf weights are clear errors.
 */
export async function loadTfjs(pathToModelJson: string): Promise<tf.LayersModel> {
  const json = await readJson(pathToModelJson);
  const where = `TF.js model ${pathToModelJson}`;
  if (json.format === "graph-model") {
    throw new Error(`${where} is a TF.js graph model (format "graph-model"); weightscope needs a Layers model (saved with model.save or converted from Keras)`);
  }
  if (json.modelTopology === null || typeof json.modelTopology !== "object") throw new Error(`${where} has no "modelTopology": it is not a TF.js Layers model.json`);
  const manifest = json.weightsManifest ?? [];
  if (!Array.isArray(manifest)) throw new Error(`${where}: "weightsManifest" must be an array of {paths, weights} groups`);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const shards: ArrayBuffer[] = [];
  for (const [g, group] of (manifest as Record<string, unknown>[]).entries()) {
    const paths = group?.paths;
    const weights = group?.weights;
    if (!Array.isArray(paths) || paths.some((p) => typeof p !== "string") || !Array.isArray(weights)) {
      throw new Error(`${where}: weightsManifest[${g}] must hold "paths" (strings) and "weights" (specs)`);
    }
    const needed = (weights as tf.io.WeightsManifestEntry[]).reduce((a, spec) => a + specBytes(spec, where), 0);
    let held = 0;
    const groupShards: ArrayBuffer[] = [];
    for (const shard of paths as string[]) {
      const file = path.resolve(path.dirname(pathToModelJson), shard);
      let bytes: Buffer;
      try {
        bytes = await fs.promises.readFile(file);
      } catch (e) {
        throw new FileFormatError("file-not-found", `${where}: weight shard ${shard} cannot be read (${(e as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (e as Error).message}) at ${file}`);
      }
      groupShards.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      held += bytes.byteLength;
    }
    if (held !== needed) {
      throw new Error(`${where}: weight group ${g} (${(paths as string[]).join(", ")}) holds ${held} bytes but its ${weights.length} weights need ${needed}: the shards are ${held < needed ? "truncated" : "too long"} or do not belong to this model.json`);
    }
    specs.push(...(weights as tf.io.WeightsManifestEntry[]));
    shards.push(...groupShards);
  }
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(tf.io.fromMemory({
      modelTopology: json.modelTopology as tf.io.ModelArtifacts["modelTopology"],
      weightSpecs: specs,
      // One buffer: TF.js 4.22 misreads a weight that straddles two shards at an offset that is not a multiple of 4.
      weightData: tf.io.concatenateArrayBuffers(shards),
      format: json.format as string | undefined,
      trainingConfig: json.trainingConfig as tf.io.TrainingConfig | undefined,
    }));
  } catch (e) {
    throw new Error(`${where} cannot be loaded: ${(e as Error).message}`);
  }
  const params = readParams(model);
  try {
    assertFiniteParams(viewOf(model), params, where);
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    tf.dispose(params);
  }
  return model;
}

/**
 * Saves a model as model.json + weights.bin in `directory` (created if needed), the layout tfjs-node's
 * file:// handler writes and loadTfjs reads. Returns the model.json path.
 */
export async function saveTfjs(model: tf.LayersModel, directory: string): Promise<string> {
  if (typeof directory !== "string" || directory.trim() === "") throw new InputError("invalid-option", "save.tfjs: the folder name is empty", "directory");
  if (fs.existsSync(directory) && !fs.statSync(directory).isDirectory()) throw new InputError("invalid-option", `save.tfjs: ${directory} is a file; give a folder`, "directory");
  if (!(model instanceof tf.LayersModel)) throw new InputError("invalid-data", "save.tfjs: expected a tf.LayersModel", "model");
  await fs.promises.mkdir(directory, { recursive: true });
  const modelJson = path.join(directory, "model.json");
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    const data = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.concatenateArrayBuffers(artifacts.weightData);
    const json = {
      modelTopology: artifacts.modelTopology,
      format: artifacts.format ?? "layers-model",
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy ?? null,
      weightsManifest: [{ paths: ["weights.bin"], weights: artifacts.weightSpecs ?? [] }],
    };
    // Both files are complete on disk before either replaces the old one: a failure leaves the old pair.
    writeFilesAtomic([{ file: path.join(directory, "weights.bin"), content: new Uint8Array(data) }, { file: modelJson, content: JSON.stringify(json) }], "save.tfjs");
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  }));
  return modelJson;
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, "utf8");
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
    throw new FileFormatError(missing ? "file-not-found" : "file-format", missing ? `TF.js model.json not found: ${file}` : `cannot read TF.js model.json ${file}: ${(e as Error).message}`, file);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`TF.js model.json ${file} is not valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new Error(`TF.js model.json ${file} must hold a JSON object`);
  return json as Record<string, unknown>;
}

/** Bytes a manifest entry occupies in its shard (quantized weights take their quantized size). */
function specBytes(spec: tf.io.WeightsManifestEntry, where: string): number {
  const dtype = spec?.quantization?.dtype ?? spec?.dtype;
  const item = DTYPE_BYTES[dtype as string];
  if (!spec || !Array.isArray(spec.shape) || spec.shape.some((d) => !Number.isSafeInteger(d) || d < 0) || item === undefined) {
    throw new Error(`${where}: weight spec ${JSON.stringify(spec).slice(0, 200)} needs a name, a shape of non-negative integers and a dtype of ${Object.keys(DTYPE_BYTES).join(", ")}`);
  }
  return spec.shape.reduce((a, d) => a * d, item);
}
