/**
 * ws.elasticity: the S_rel matrix of a model on data (He & Su; Dan et al.). Row i probes sample x_i with
 * ONE step from the current weights; column j reads the change at x'_j. See engine.ts for how whole
 * matrices are batched and measure.ts for the similarity of each kind.
 */
import * as tf from "@tensorflow/tfjs";
import { viewOf, finalActivation, type ModelView } from "../model/view";
import { readParams, assertFiniteParams } from "../model/params";
import type { LossKind } from "../model/functional";
import { asDataset, type Dataset } from "../data/dataset";
import { assertDataFits, assertSampleShape } from "../model/check";
import { InputError } from "../errors";
import { Rng } from "../math/rng";
import { progress, yieldToEventLoop } from "../display/progress";
import { makeEngine, measuredOutput, lossSlope, type Mode, type StepRule, type ProbeSetup } from "./engine";
import { changeSize, norm, type Kind } from "./measure";
import { selectPoints, labelsOf, gatherRows, type PointSpec } from "./points";
import { ElasticityResult } from "./result";

export interface ElasticityOptions {
  /** Probed samples (rows): a count (seeded random subset), indices, or { perClass, classes }. Default: 10 per class for classification, 64 samples for regression. */
  points?: PointSpec;
  /** Affected points (columns): "points" (the same samples, default), a count, indices, or another dataset. */
  against?: "points" | number | number[] | Dataset | { x: tf.Tensor; y: tf.Tensor };
  /** "kl" (Dan et al., default for classification), "logit", or "regression" (He & Su, on the model output; default for regression). */
  kind?: Kind;
  /** The probe step: "sgd" (the definition, default) or "adam" (a fresh Adam step, as in Dan et al.'s notebooks). */
  step?: StepRule;
  /** Step size of the finite mode (default 0.01). */
  eta?: number;
  /** "infinitesimal" (eta -> 0 from gradients and JVPs, default) or "finite" (the real step). */
  mode?: Mode;
  /** Loss of the probe step (default crossEntropy for classification, halfMse = 1/2 ||f - y||^2 for regression). */
  loss?: LossKind;
  /** Finite mode: smallest relative change ||df(x)|| / ||f(x)|| of a probed sample that float32 resolves (default 1e-3). */
  minChange?: number;
  /** "auto" (default: batched Dense engine when it applies), "dense", or "generic" (one gradient per row). */
  engine?: "auto" | "dense" | "generic";
  seed?: number;
  progress?: boolean;
}

/** Options after defaults and checks, shared with track and locality. */
export interface Resolved {
  kind: Kind;
  step: StepRule;
  eta: number;
  mode: Mode;
  loss: LossKind;
  minChange: number;
  engine: "auto" | "dense" | "generic";
  progress: boolean;
}

export async function elasticity(model: tf.LayersModel, data: Dataset | { x: tf.Tensor; y: tf.Tensor }, options: ElasticityOptions = {}): Promise<ElasticityResult> {
  const view = viewOf(model);
  const dataset = asDataset(data, "elasticity");
  checkInputs(view, dataset, "elasticity data");
  const resolved = resolveOptions(view, dataset, options);
  const rng = new Rng(options.seed ?? 0);
  const rows = selectPoints(options.points ?? defaultPoints(dataset), dataset, rng, "elasticity points");
  const against = options.against ?? "points";
  const columnData = typeof against === "object" && !Array.isArray(against) ? asDataset(against, "elasticity against") : dataset;
  if (columnData !== dataset) checkInputs(view, columnData, "elasticity against");
  const columns = against === "points" ? rows.slice() : columnData !== dataset ? selectPoints(columnData.x.shape[0], columnData, rng, "elasticity against") : selectPoints(against as PointSpec, dataset, rng, "elasticity against");
  const params = readParams(model);
  try {
    assertFiniteParams(view, params, "elasticity");
    return await measureElasticity(view, params, dataset, rows, columnData, columns, resolved);
  } finally {
    tf.dispose(params);
  }
}

export function defaultPoints(data: Dataset): PointSpec {
  return data.task === "classification" ? { perClass: 10 } : 64;
}

export function checkInputs(view: ModelView, data: Dataset, where: string): void {
  assertSampleShape(view, data.x.shape.slice(1), `${where}: x`);
}

export function resolveOptions(view: ModelView, data: Dataset, options: ElasticityOptions): Resolved {
  const classification = data.task === "classification";
  const kind = options.kind ?? (classification ? "kl" : "regression");
  if (!["regression", "kl", "logit"].includes(kind)) throw new InputError("invalid-option", `elasticity: unknown kind "${String(kind)}"; use "regression", "kl" or "logit"`);
  const step = options.step ?? "sgd";
  if (step !== "sgd" && step !== "adam") throw new InputError("invalid-option", `elasticity: unknown step "${String(step)}"; use "sgd" or "adam"`, "step");
  const mode = options.mode ?? "infinitesimal";
  if (mode !== "finite" && mode !== "infinitesimal") throw new InputError("invalid-option", `elasticity: unknown mode "${String(mode)}"; use "finite" or "infinitesimal"`, "mode");
  const eta = options.eta ?? 0.01;
  if (!(Number.isFinite(eta) && eta > 0)) throw new InputError("invalid-option", `elasticity: eta must be a positive finite number, got ${eta}`, "eta");
  const minChange = options.minChange ?? 1e-3;
  if (!(minChange >= 0)) throw new InputError("invalid-option", `elasticity: minChange must be >= 0, got ${minChange}`, "minChange");
  const engine = options.engine ?? "auto";
  if (!["auto", "dense", "generic"].includes(engine)) throw new InputError("invalid-option", `elasticity: unknown engine "${String(engine)}"; use "auto", "dense" or "generic"`, "engine");
  const loss = options.loss ?? (classification ? "crossEntropy" : "halfMse");
  if (!["crossEntropy", "mse", "halfMse"].includes(loss)) throw new InputError("invalid-option", `elasticity: unknown loss "${String(loss)}"`, "loss");
  if (kind !== "regression") {
    if (!classification) throw new InputError("invalid-option", `elasticity: kind "${kind}" needs classification data (int32 labels); use kind "regression" for regression data`, "kind");
    const last = finalActivation(view);
    if ((last !== "softmax" && last !== "linear") || view.outputShape.length !== 1 || view.outputShape[0] < 2) {
      throw new InputError("invalid-option", `elasticity: kind "${kind}" needs a model that ends in logits or softmax over >= 2 classes; "${view.name}" ends in ${last} with output [${view.outputShape.join(", ")}]`, "kind");
    }
  }
  if (loss === "crossEntropy" && !classification) throw new InputError("invalid-option", `elasticity: the crossEntropy loss needs classification data (int32 labels)`, "loss");
  assertDataFits(view, data, loss, "elasticity");
  return { kind, step, eta, mode, loss, minChange, engine, progress: options.progress !== false };
}

/** The S_rel matrix for given parameters (the model is only read). */
export async function measureElasticity(view: ModelView, params: readonly tf.Tensor[], rowData: Dataset, rows: number[], columnData: Dataset, columns: number[], o: Resolved): Promise<ElasticityResult> {
  const started = Date.now();
  const setup: ProbeSetup = { view, params, loss: o.loss, logits: o.kind !== "regression", step: o.step, mode: o.mode, eta: o.eta };
  const infinitesimal = o.mode === "infinitesimal";
  const affected = gatherRows(columnData.x, columns);
  let engine: ReturnType<typeof makeEngine>;
  try {
    engine = makeEngine(setup, affected, o.engine);
  } catch (error) {
    affected.dispose();
    throw error;
  }
  const x = gatherRows(rowData.x, rows);
  const y = gatherRows(rowData.y, rows);
  const n = rows.length;
  const m = columns.length;
  const withKernel = o.kind === "regression" && o.step === "sgd" && view.outputShape.reduce((a, b) => a * b, 1) === 1;
  const srel = Array.from({ length: n }, () => new Array<number>(m).fill(NaN));
  const sker = withKernel ? Array.from({ length: n }, () => new Array<number>(m).fill(NaN)) : null;
  let undefinedCount = 0;
  let overflowCount = 0;
  const unresolvedRows: number[] = [];
  const bar = o.progress ? progress(`elasticity ${n} x ${m}`, n) : null;
  try {
    const [zColumns, zRows, slope] = tf.tidy(() => [measuredOutput(setup, affected), measuredOutput(setup, x), withKernel ? lossSlope(setup, x, y) : tf.zeros([n, 1])]);
    const z = zColumns.dataSync();
    const zSelf = zRows.dataSync();
    const r = slope.dataSync();
    tf.dispose([zColumns, zRows, slope]);
    const width = z.length / m;
    for (let start = 0; start < n; start += engine.chunk) {
      const count = Math.min(engine.chunk, n - start);
      const [xs, ys] = [x.slice(start, count), y.slice(start, count)];
      const chunk = await engine.changes(xs, ys);
      tf.dispose([xs, ys]);
      for (let c = 0; c < count; c++) {
        const i = start + c;
        if (chunk.stepNorm2[c] === 0) {
          undefinedCount += m;
          continue;
        }
        const den = changeSize(o.kind, infinitesimal, zSelf, i * width, chunk.self, c * width, width);
        if (!infinitesimal && norm(chunk.self, c * width, width) < o.minChange * norm(zSelf, i * width, width)) {
          unresolvedRows.push(i);
          continue;
        }
        if (den === 0) {
          undefinedCount += m;
          continue;
        }
        if (!Number.isFinite(den)) {
          overflowCount += m;
          continue;
        }
        for (let j = 0; j < m; j++) {
          const offset = (c * m + j) * width;
          srel[i][j] = changeSize(o.kind, infinitesimal, z, j * width, chunk.pairs, offset, width) / den;
          if (!Number.isFinite(srel[i][j])) {
            srel[i][j] = NaN;
            overflowCount++;
          }
          if (sker) sker[i][j] = r[i] === 0 ? NaN : chunk.pairs[offset] / (-(infinitesimal ? 1 : o.eta) * r[i]);
        }
      }
      bar?.update(start + count);
      await yieldToEventLoop();
    }
    bar?.finish();
  } finally {
    engine.dispose();
    tf.dispose([x, y, affected]);
  }
  const warnings: string[] = [];
  if (unresolvedRows.length > 0) {
    warnings.push(`${unresolvedRows.length} of ${n} rows left as NaN: the step changes f(x) by less than ${o.minChange} relative, below what float32 resolves; raise eta or use mode "infinitesimal"`);
  }
  if (overflowCount > 0) {
    warnings.push(`${overflowCount} entries left as NaN: the step overflows float32 (eta ${o.eta} in ${o.mode} mode), so the output change is not finite; lower eta`);
  }
  if (undefinedCount > 0) warnings.push(`${undefinedCount} entries undefined (NaN): the probe step does not change the probed sample's output (zero gradient, e.g. a dead ReLU)`);
  const rowLabels = labelsOf(rowData);
  const allColumnLabels = labelsOf(columnData);
  return new ElasticityResult({
    srel, sker, rows, columns,
    rowLabels: rowLabels ? rows.map((i) => rowLabels[i]) : null,
    columnLabels: allColumnLabels ? columns.map((j) => allColumnLabels[j]) : null,
    sameData: rowData === columnData,
    classNames: rowData.classes ?? null,
    undefinedCount: undefinedCount + overflowCount, unresolvedRows, warnings,
    settings: { kind: o.kind, step: o.step, mode: o.mode, eta: o.mode === "finite" ? o.eta : null, loss: o.loss, engine: engine.name, model: view.name },
    seconds: (Date.now() - started) / 1000,
  });
}
