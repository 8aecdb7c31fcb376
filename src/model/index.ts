export { mlp, cnn, type MlpOptions, type CnnOptions, type Init } from "./build";
export { viewOf, weightedBlocks, finalActivation, type ModelView, type Block, type ParamSpec, type Activation, type DenseBlock, type Conv2DBlock } from "./view";
export { forward, lossOf, trainableLoss, activate, defaultLoss, crossEntropyFromLogits, type LossKind, type ForwardOptions } from "./functional";
export { readParams, flattenParams, unflattenParams, cloneModel, assertFiniteParams, selectParams } from "./params";
