/**
 * weightscope: probe the weight space of neural networks from notebooks.
 * This file is the whole public API: `import * as ws from "weightscope"`.
 */
import * as tf from "@tensorflow/tfjs";

export { tf };

// Platform
export { ready, backendInfo, type BackendInfo } from "./backend";
export * as data from "./data";
export { mlp, cnn, type MlpOptions, type CnnOptions, type Init } from "./model/build";
export { viewOf, type ModelView } from "./model/view";
export { cloneModel } from "./model/params";
export { train, evaluate, TrainRun, Trajectory, type TrainOptions, type TrainHook, type StepContext } from "./train";
export { Result, Table, figure, grid, showFigure, showTable, showMarkdown, type Figure } from "./display";
export { save, load } from "./io";
