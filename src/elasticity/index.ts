import { elasticity as probe, type ElasticityOptions } from "./probe";
import { track } from "./track";
import { locality } from "./locality";
import { cluster } from "./cluster";

/**
 * ws.elasticity(model, data, options): the S_rel matrix; ws.elasticity.track (during training),
 * ws.elasticity.locality (against input distance), ws.elasticity.cluster (k-means on its rows).
 */
export const elasticity = Object.assign(probe, { track, locality, cluster });

export type { ElasticityOptions };
export { ElasticityResult, type ElasticitySettings } from "./result";
export { ElasticityTrack, type TrackOptions, type TrackSnapshot, type ModelSource } from "./track";
export { ElasticityLocality, type LocalityOptions, type Distance } from "./locality";
export { ElasticityClusters, type ClusterOptions } from "./cluster";
export type { ClassPairs } from "./pairs";
