export { loadSafetensors, saveSafetensors, type LoadSafetensorsOptions, type SaveSafetensorsOptions, type SavedSafetensors } from "./model";
export { loadTfjs, saveTfjs } from "./tfjs";
export { inspectSafetensors, SafetensorsInfo } from "./inspect";
export {
  readSafetensors, readSafetensorsHeader, encodeSafetensors, writeSafetensors, MAX_HEADER_BYTES,
  type SafetensorsContent, type SafetensorsHeader, type SafetensorsInput, type SafetensorsDtype, type TensorEntry, type NamedArray,
} from "./safetensors";
