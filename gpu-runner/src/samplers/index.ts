/**
 * Public surface of the samplers: noise schedules, inference timestep spacing, the DDPM / DDIM /
 * DPM-Solver++ 2M sampling loop with classifier-free guidance, seeded Philox noise, and the
 * forward-process utilities a trainer needs. Isomorphic: nothing here imports `node:`, so the
 * browser client runs the same samplers and gets the same bytes for the same seeds.
 */
export {
  createSchedule,
  snr,
  BETA_SCHEDULES,
  DEFAULT_BETA_RANGE,
  DEFAULT_TRAIN_TIMESTEPS,
  MAX_TRAIN_TIMESTEPS,
} from './schedule';
export type { BetaSchedule, NoiseSchedule, ScheduleOptions } from './schedule';
export {
  inferenceTimesteps,
  roundHalfEven,
  DEFAULT_TIMESTEP_SPACING,
  SAMPLERS,
  TIMESTEP_SPACINGS,
} from './timesteps';
export type { SamplerName, TimestepOptions, TimestepSpacing } from './timesteps';
export { PREDICTION_TYPES } from './prediction';
export type { PredictionType } from './prediction';
export { sample, DEFAULT_SAMPLER_LIMITS } from './sample';
export type {
  DenoiseModel,
  ModelStepInfo,
  RowRange,
  SampleOptions,
  SamplerLimits,
  StepProgress,
} from './sample';
export { INITIAL_NOISE_STREAM, stepNoiseStream } from './stepper';
export {
  philox4x32,
  fillGaussian,
  gaussianNoise,
  batchNoise,
  sampleSeeds,
  UniformStream,
  GAUSSIAN_DOMAIN,
  UNIFORM_DOMAIN,
  MAX_STREAM_VALUES,
} from './random';
export {
  addNoise,
  velocity,
  trainingTarget,
  minSnrWeights,
  cappedVelocityWeights,
  sampleTrainingTimesteps,
} from './training';
export type { TrainingTimestepOptions } from './training';
export { fromDiffusersConfig } from './diffusers-config';
export type { DiffusersSchedulerSettings } from './diffusers-config';
