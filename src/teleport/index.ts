/**
 * ws.teleport and its experiments: exact function-preserving changes of basis of ReLU-like networks
 * (Neural Teleportation), as one-line calls.
 */
import { teleport as teleportOnce } from "./teleport";
import { sweep } from "./sweep";
import { levelCurve } from "./level-curve";
import { microAngles } from "./micro-angles";
import { optimize } from "./optimize";

/** ws.teleport(model, options) plus the experiments ws.teleport.sweep / levelCurve / microAngles / optimize. */
export const teleport = Object.assign(teleportOnce, { sweep, levelCurve, microAngles, optimize });

export { TeleportResult, type TeleportOptions, type FunctionCheck } from "./teleport";
export { SweepResult, type SweepOptions, type SweepRow } from "./sweep";
export { LevelCurveResult, type LevelCurveOptions } from "./level-curve";
export { MicroAnglesResult, type MicroAnglesOptions } from "./micro-angles";
export { OptimizeResult, type OptimizeOptions, type Objective } from "./optimize";
export { teleportHook, type TrainTeleportOptions } from "./during-training";
export { type Sampling, type LayerCob, type CobInput } from "./structure";
