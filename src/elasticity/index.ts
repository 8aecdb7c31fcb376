export { elasticity, type ElasticityOptions } from "./probe";
export { ElasticityResult, type ElasticitySettings } from "./result";
export type { ClassPairs } from "./pairs";
