/**
 * weightscope: probe the weight space of neural networks from notebooks.
 * This file is the whole public API: `import * as ws from "weightscope"`.
 */
import * as tf from "@tensorflow/tfjs";
import { save as saveResult, load as loadResult } from "./io";
import { loadSafetensors, loadTfjs, saveSafetensors, saveTfjs } from "./load";

export { tf };

/** Typed errors (WeightscopeError and its kinds, each with a stable `code`) and the option validator. */
export * as errors from "./errors";

// Platform
export { ready, backendInfo, describeBackend, type BackendInfo, type BackendName, type ReadyOptions } from "./backend";
export * as data from "./data";
export type { Dataset } from "./data";
export { mlp, cnn, type MlpOptions, type CnnOptions, type Init } from "./model/build";
export { viewOf, type ModelView } from "./model/view";
export { cloneModel, flattenParams, unflattenParams } from "./model/params";
export { train, evaluate, TrainRun, Trajectory, type TrainOptions, type TrainHook, type StepContext } from "./train";
export { Result, Table, figure, grid, showFigure, showTable, showMarkdown, mimeBundle, type Figure, type Trace, type Cell, type DisplayBundle, type RichDisplay } from "./display";
export type { DataFrame } from "danfojs-node";
export { saveFigure } from "./io/figure";
export { registerResult, SavedResult, type SavedKinds } from "./io";

/** Saves a result as JSON (atomically); `.safetensors(model, path)` and `.tfjs(model, dir)` export models. */
export const save = Object.assign((result: Parameters<typeof saveResult>[0], file: string) => saveResult(result, file), {
  safetensors: saveSafetensors,
  tfjs: saveTfjs,
});
/**
 * Loads a saved result (`ws.load(file, "train")` is typed TrainRun and checks the kind); `.safetensors(path, options)`
 * and `.tfjs(modelJson)` load models trained elsewhere.
 */
export const load = Object.assign(((file: string, kind?: string) => loadResult(file, kind)) as typeof loadResult, { safetensors: loadSafetensors, tfjs: loadTfjs });
export { inspectSafetensors } from "./load";

// Probes
export { teleport, TeleportResult, SweepResult, LevelCurveResult, MicroAnglesResult, OptimizeResult, type TeleportOptions, type TrainTeleportOptions } from "./teleport";
export { elasticity, ElasticityResult, ElasticityTrack, ElasticityLocality, ElasticityClusters, type ConfusionMatrix } from "./elasticity";
export { embed, EmbedResult, EffectiveWidthResult, LadderResult } from "./embed";
export { hessian, sharpness, HessianResult, SharpnessResult } from "./hessian";
export { persistence, topology, mapper, PersistenceResult, MapperResult, TrajectoryResult, type Diagram, type Interval } from "./topology";
export * as symmetry from "./symmetry";

// Courses: graders of a student's own implementation
export * as check from "./check";
