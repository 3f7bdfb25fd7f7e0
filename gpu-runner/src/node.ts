/**
 * Node-only surface of the gpu-runner: reading model files (with external data) from disk,
 * the onnxruntime-node backend, and the emoji training data. Browsers import the package
 * root, which stays free of `node:` imports and native bindings.
 */
export * from './onnx/model-file';
export { createNodeSession } from './backends/node-backend';
export { emojiCatalog, emojiDataVersion, emojiImageDir, loadEmojiTensor } from './data/emoji-catalog';
export type { EmojiEntry, EmojiStyle, CatalogOptions } from './data/emoji-catalog';
export { writeModelDir, loadModelDir } from './pipeline/model-dir';
export type { ModelPackageInput } from './pipeline/model-dir';
export {
  trainBase,
  exportBaseRun,
  exportBaseModel,
  snapshotName,
  DEFAULT_BASE_TRAINING,
} from './train/base-trainer';
export { TrainError, type TrainErrorCode } from './train/errors';
export type { BaseTrainOptions, ExportOptions, TrainingRecord } from './train/base-trainer';
export { writeEmoji32RandomModel } from './models/emoji32-random';
export {
  EMOJI32_GENERATION_DEFAULTS,
  BASE_RECIPES,
  EMOJI32_V1_RECIPE,
  EMOJI32_V2_RECIPE,
} from './models/emoji32';
export type { GenerationDefaults, BaseRecipe, LossWeighting } from './models/emoji32';
