/**
 * Public surface of the trainer package (Node only), on top of gpu-runner: reverse-mode
 * autodiff to standard ONNX ops, AdamW / clipping / EMA, the base-model trainer and its recipes,
 * the emoji data, and the emoji32 model family. Serving (gpu-runner, worker, client) never
 * imports it.
 */
export * from './autodiff/index';
export * from './train/index';
export {
  trainBase,
  exportBaseRun,
  exportBaseModel,
  snapshotName,
  DEFAULT_BASE_TRAINING,
} from './train/base-trainer';
export type { BaseTrainOptions, ExportOptions, TrainingRecord, Invocation } from './train/base-trainer';
export { TrainError, isTrainError } from './train/errors';
export type { TrainErrorCode } from './train/errors';
export { composeTextToImage } from './train/compose';
export { loadCheckpoint, saveCheckpoint } from './train/checkpoint';
export type { Checkpoint } from './train/checkpoint';
export { emojiCatalog, emojiDataVersion, emojiImageDir, loadEmojiTensor } from './data/emoji-catalog';
export type { EmojiEntry, EmojiStyle, CatalogOptions } from './data/emoji-catalog';
export {
  EMOJI32_MODEL_ID,
  EMOJI32_UNET,
  EMOJI32_PROMPT_LENGTH,
  EMOJI32_GENERATION_DEFAULTS,
  EMOJI32_V1_RECIPE,
  EMOJI32_V2_RECIPE,
  BASE_RECIPES,
  emoji32TextEncoder,
  emoji32Package,
  emojiPrompt,
  emojiVocabulary,
} from './models/emoji32';
export type { BaseRecipe, GenerationDefaults, LossWeighting } from './models/emoji32';
export { writeEmoji32RandomModel } from './models/emoji32-random';
