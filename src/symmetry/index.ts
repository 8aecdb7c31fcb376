export { ensemble, Ensemble, disposeChunk, type EnsembleSpec, type EnsembleOptions, type LayerInit, type LayerDensity, type EnsembleChunk, type EnsembleActivation } from "./ensemble";
export { correlator, Correlator, type CorrelatorOptions, type ComponentRecord, type NestedArray } from "./correlator";
export { invarianceTest as test, InvarianceTest, type InvarianceOptions, type InvarianceRun, type SymmetryGroup } from "./invariance";
export { closedForm, closedFormUnavailable } from "./closed-form";
export { haarRotation, determinant, orthogonalityError } from "./rotation";
export { minimumNetworks, bonferroniThreshold } from "./stats";
export { breaking, SymmetryBreaking, type BreakingData, type BreakingOptions, type BreakingCell, type TargetCoding } from "./breaking";
