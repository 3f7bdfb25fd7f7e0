/**
 * Public surface of the training utilities: AdamW over named Float32Array parameters, learning
 * rate schedules, global gradient-norm clipping, an EMA of weights with diffusers' decay
 * schedule, and the serialisable state they share (tensors + scalars, for safetensors
 * checkpoints). Pure JS and deterministic; the gradients come from `autodiff`'s training graph.
 */
export { AdamW, ADAMW_STATE_KEYS } from './adamw';
export type { AdamWOptions } from './adamw';
export { constantSchedule, warmupCosineSchedule } from './schedule';
export type { LrSchedule, WarmupCosineOptions } from './schedule';
export { clipGradNorm, globalGradNorm } from './clip';
export type { ClipResult } from './clip';
export { EmaModel, EMA_STATE_KEYS } from './ema';
export type { EmaOptions } from './ema';
export { OptimizerError, isOptimizerError } from './errors';
export type { OptimizerErrorCode } from './errors';
export type { TrainingState } from './state';
