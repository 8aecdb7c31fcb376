export { train, evaluate, evaluateParams, type TrainOptions, type TrainHook, type StepContext, type RecordOptions, type Evaluation } from "./train";
export { TrainRun, type StepRecord, type EpochRecord, type RunInfo } from "./run";
export { Trajectory, type TrajectoryOptions } from "./trajectory";
export { makeOptimizer, type OptimizerName, type OptimizerSpec, type OptimizerState } from "./optimizer";
