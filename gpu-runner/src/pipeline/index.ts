/** Isomorphic generation pipeline: model package config, assembly from bytes, text-to-image. */
export { MODEL_FORMAT, parseModelConfig } from './model-config';
export type { ModelPackageConfig } from './model-config';
export { assembleTextToImage, unetLayout } from './assemble';
export type { AssembledModel, ModelPackageBytes } from './assemble';
export { TextToImage } from './text-to-image';
export type {
  GenerationOptions,
  GenerationRequest,
  GenerationResult,
  GenerationTimings,
  TextToImageParts,
} from './text-to-image';
