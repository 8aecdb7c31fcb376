/** Topology probe: Vietoris-Rips persistence, diagram tools, and the topology of weight trajectories. */
export { persistence, PersistenceResult, type PersistenceOptions, type PersistenceInput, type PersistenceInfo } from "./persistence";
export type { Interval } from "./engine";
export type { Metric, PointCloud, DistanceInput } from "./input";
export { bottleneck, wasserstein, landscape, persistenceImage, bettiCurve, persistentEntropy, lifetimes, filterByPersistence, linspace, type Diagram, type Matching, type WassersteinOptions, type PersistenceImageOptions } from "./diagrams";
export { mapper, paperMapper, MapperResult, type MapperOptions, type MapperNode } from "./mapper";
export { trajectory, learningNet, TrajectoryResult, type TrajectoryOptions, type LearningNetOptions, type Factors } from "./trajectory";
export { cloud, furthestPointSample, type TrajectoryCloud, type CloudOptions, type Subsample } from "./cloud";
export { pca, localDimension, type Pca, type LocalDimension, type LocalDimensionOptions } from "./pca";

import { cloud, furthestPointSample } from "./cloud";
import { mapper, paperMapper } from "./mapper";
import { trajectory, learningNet } from "./trajectory";
import { localDimension, pca } from "./pca";
import { persistence } from "./persistence";
import { bottleneck, wasserstein, landscape, persistenceImage, bettiCurve, persistentEntropy, lifetimes, filterByPersistence } from "./diagrams";

/** The ws.topology namespace. */
export const topology = { persistence, cloud, mapper, paperMapper, trajectory, learningNet, subsample: furthestPointSample, pca, localDimension, bottleneck, wasserstein, landscape, persistenceImage, bettiCurve, persistentEntropy, lifetimes, filterByPersistence };
