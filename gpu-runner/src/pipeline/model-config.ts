/**
 * `model.json`, the description of a shipped model directory: the U-Net and text-encoder
 * configs, the noise schedule the model was trained with, image geometry, generation defaults
 * (including the default timestep bucket edges for mask banks) and the file names. Parsed with
 * checks, so a runner refuses a directory it would misinterpret.
 */
import type { UNetConfig } from '../unet/config';
import type { TextEncoderConfig } from '../text/text-encoder';
import { BETA_SCHEDULES, type BetaSchedule } from '../samplers/schedule';
import { PREDICTION_TYPES, type PredictionType } from '../samplers/prediction';
import type { SamplerName } from '../samplers/timesteps';
import { ModelError } from '../onnx/errors';

export const MODEL_FORMAT = 'maskunet-model-v1';

export interface ModelPackageConfig {
  readonly format: typeof MODEL_FORMAT;
  /** Model id the worker and banks refer to, e.g. `emoji32-base`. */
  readonly id: string;
  readonly unet: UNetConfig;
  readonly textEncoder: TextEncoderConfig;
  readonly scheduler: {
    readonly betaSchedule: BetaSchedule;
    readonly numTrainTimesteps: number;
    readonly predictionType: PredictionType;
    /** diffusers' `rescale_betas_zero_snr`: the last timestep is pure noise. Default false. */
    readonly rescaleBetasZeroSnr?: boolean;
  };
  /** Pixel-space models generate images directly; the sample is `[channels, size, size]` in [-1, 1]. */
  readonly pixelSpace: true;
  readonly defaults: {
    readonly steps: number;
    readonly sampler: SamplerName;
    readonly guidance: number;
    readonly bucketEdges: readonly number[];
  };
  readonly files: {
    readonly unet: string;
    readonly textEncoder: string;
    readonly vocabulary: string;
  };
  /** SHA-256 layout hash of the U-Net's masked layers (what banks must match). */
  readonly layoutHash: string;
  /** Free-form: how it was made (training record file, command). */
  readonly provenance?: Readonly<Record<string, unknown>>;
}

function bad(why: string): never {
  throw new ModelError('bad_config', `model.json: ${why}`);
}

/** Parses and checks `model.json` text. @throws ModelError `bad_config`. */
export function parseModelConfig(text: string): ModelPackageConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    bad(`not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null) bad('not an object');
  const config = value as Partial<ModelPackageConfig>;
  if (config.format !== MODEL_FORMAT) bad(`format must be ${MODEL_FORMAT}`);
  if (typeof config.id !== 'string' || !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(config.id))
    bad('id must be a lower-case slug');
  if (typeof config.unet !== 'object' || typeof config.textEncoder !== 'object')
    bad('unet and textEncoder configs are required');
  const scheduler = config.scheduler;
  if (scheduler === undefined || typeof scheduler.numTrainTimesteps !== 'number')
    bad('scheduler is required');
  if (!BETA_SCHEDULES.includes(scheduler.betaSchedule))
    bad(`scheduler.betaSchedule must be one of ${BETA_SCHEDULES.join(', ')}`);
  if (!PREDICTION_TYPES.includes(scheduler.predictionType))
    bad(`scheduler.predictionType must be one of ${PREDICTION_TYPES.join(', ')}`);
  if (scheduler.rescaleBetasZeroSnr !== undefined && typeof scheduler.rescaleBetasZeroSnr !== 'boolean')
    bad('scheduler.rescaleBetasZeroSnr must be a boolean');
  if (scheduler.rescaleBetasZeroSnr === true && scheduler.predictionType === 'epsilon')
    bad('a zero-terminal-SNR schedule needs v_prediction or sample, not epsilon');
  const defaults = config.defaults;
  if (defaults === undefined || !Array.isArray(defaults.bucketEdges)) bad('defaults.bucketEdges is required');
  const files = config.files;
  if (
    files === undefined ||
    [files.unet, files.textEncoder, files.vocabulary].some(
      (f) => typeof f !== 'string' || f.includes('..') || f.startsWith('/'),
    )
  ) {
    bad('files must name relative paths inside the model directory');
  }
  if (typeof config.layoutHash !== 'string' || !/^[0-9a-f]{64}$/.test(config.layoutHash))
    bad('layoutHash must be 64 hex digits');
  return config as ModelPackageConfig;
}
