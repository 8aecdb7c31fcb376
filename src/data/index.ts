export { asDataset, type Dataset } from "./dataset";
export { mnist, fashionMnist, fromIdx, FASHION_CLASSES, type ImageSetOptions, type FashionOptions } from "./images";
export { readIdx as idx, parseIdx, encodeIdx, type IdxArray } from "./idx";
export * as synthetic from "./synthetic";
export { regression1d, circles, blobs, teacher } from "./synthetic";
