import { elasticity as probe, type ElasticityOptions } from "./probe";
import { track } from "./track";
import { locality } from "./locality";
import { cluster, kmeans } from "./cluster";

/**
 * ws.elasticity(model, data, options): the S_rel matrix; ws.elasticity.track (during training),
 * ws.elasticity.locality (against input distance), ws.elasticity.cluster (spectral clustering or k-means
 * of the symmetrised matrix), ws.elasticity.kmeans (k-means on any rows, e.g. a pixel baseline).
 */
export const elasticity = Object.assign(probe, { track, locality, cluster, kmeans });

export type { ElasticityOptions };
export { ElasticityResult, type ElasticitySettings } from "./result";
export { ElasticityTrack, type TrackOptions, type TrackSnapshot, type ModelSource } from "./track";
export { ElasticityLocality, type LocalityOptions, type Distance } from "./locality";
export { ElasticityClusters, type ClusterOptions, type KmeansOptions, type ClusterMethod, type ConfusionMatrix } from "./cluster";
export type { ClassPairs } from "./pairs";
