import { split, widen, nullNeuron } from "./split";
import { effectiveWidth, reduce } from "./condense";
import { ladder } from "./ladder";

/** The embedding-principle probe: function-preserving widening, condensation and reduction. */
export const embed = { split, widen, nullNeuron, effectiveWidth, reduce, ladder };

export { EmbedResult, EMBED_TOLERANCE, type SplitOptions, type WidenOptions, type NullNeuronOptions, type SplitStep, type CheckOptions } from "./split";
export { EffectiveWidthResult, type EffectiveWidthOptions, type ReduceOptions } from "./condense";
export type { FunctionCheck } from "../model/check";
export { LadderResult, ladderTarget, type LadderOptions } from "./ladder";
