/** Topology probe: Vietoris-Rips persistence, diagram tools, and the topology of weight trajectories. */
export { persistence, PersistenceResult, type PersistenceOptions, type PersistenceInput, type PersistenceInfo } from "./persistence";
export type { Interval } from "./engine";
export type { Metric, PointCloud, DistanceInput } from "./input";
export { bottleneck, wasserstein, landscape, persistenceImage, bettiCurve, persistentEntropy, lifetimes, filterByPersistence, linspace, type Diagram, type Matching, type WassersteinOptions, type PersistenceImageOptions } from "./diagrams";
