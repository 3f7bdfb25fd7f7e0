/**
 * The forward-process side a trainer needs: q_sample (`addNoise`), the v-prediction target
 * (`velocity`), the regression target per prediction type, Min-SNR-γ loss weights, and seeded
 * uniform training timesteps. Batched tensors are flat Float32Arrays whose length is
 * B × per-sample size with B = `timesteps.length`; arithmetic is in float64 and rounded once.
 */
import type { PredictionType } from './prediction';
import { PREDICTION_TYPES } from './prediction';
import { UniformStream } from './random';
import { checkSchedule } from './schedule';
import type { NoiseSchedule } from './schedule';
import { checkChoice, checkInteger, checkNumber, checkSeed, checkStream } from './validate';

/** Checks (x0, noise, timesteps) agree and returns the per-sample size. */
function checkBatch(
  schedule: NoiseSchedule,
  x0: unknown,
  noise: unknown,
  timesteps: ArrayLike<number>,
): { sampleSize: number; x0: Float32Array; noise: Float32Array } {
  checkSchedule('schedule', schedule);
  if (!(x0 instanceof Float32Array)) throw new TypeError('x0 must be a Float32Array');
  if (!(noise instanceof Float32Array)) throw new TypeError('noise must be a Float32Array');
  if (noise.length !== x0.length) {
    throw new RangeError(`noise must have x0's ${x0.length} elements, has ${noise.length}`);
  }
  if (timesteps === null || typeof timesteps !== 'object' || typeof timesteps.length !== 'number') {
    throw new TypeError('timesteps must be an array of integers');
  }
  const batchSize = timesteps.length;
  if (batchSize < 1 || x0.length % batchSize !== 0) {
    throw new RangeError(
      `timesteps must hold one timestep per sample; ${batchSize} does not divide ${x0.length}`,
    );
  }
  for (let i = 0; i < batchSize; i++) {
    checkInteger(`timesteps[${i}]`, timesteps[i], 0, schedule.numTrainTimesteps - 1);
  }
  return { sampleSize: x0.length / batchSize, x0, noise };
}

/** Per sample i: out = a(ᾱ_t)·x0 + b(ᾱ_t)·noise over sample i's elements. */
function combine(
  schedule: NoiseSchedule,
  x0In: Float32Array,
  noiseIn: Float32Array,
  timesteps: ArrayLike<number>,
  coefficients: (alphaCumprod: number) => readonly [number, number],
): Float32Array {
  const { sampleSize, x0, noise } = checkBatch(schedule, x0In, noiseIn, timesteps);
  const out = new Float32Array(x0.length);
  for (let s = 0; s < timesteps.length; s++) {
    const [a, b] = coefficients(schedule.alphasCumprod[timesteps[s]!]!);
    for (let i = s * sampleSize, end = i + sampleSize; i < end; i++) out[i] = a * x0[i]! + b * noise[i]!;
  }
  return out;
}

/**
 * q_sample: x_t = sqrt(ᾱ_t)·x0 + sqrt(1 − ᾱ_t)·noise, per sample with its own timestep
 * (diffusers' `add_noise`).
 * @throws {TypeError} non-Float32Array tensors. @throws {RangeError} mismatched lengths or a timestep out of range.
 */
export function addNoise(
  schedule: NoiseSchedule,
  x0: Float32Array,
  noise: Float32Array,
  timesteps: ArrayLike<number>,
): Float32Array {
  return combine(schedule, x0, noise, timesteps, (ac) => [Math.sqrt(ac), Math.sqrt(1 - ac)]);
}

/** The v-prediction target v = sqrt(ᾱ_t)·noise − sqrt(1 − ᾱ_t)·x0 (diffusers' `get_velocity`). */
export function velocity(
  schedule: NoiseSchedule,
  x0: Float32Array,
  noise: Float32Array,
  timesteps: ArrayLike<number>,
): Float32Array {
  return combine(schedule, x0, noise, timesteps, (ac) => [-Math.sqrt(1 - ac), Math.sqrt(ac)]);
}

/** The regression target for a model of `predictionType`: noise, v, or x0 itself (copies). */
export function trainingTarget(
  predictionType: PredictionType,
  schedule: NoiseSchedule,
  x0: Float32Array,
  noise: Float32Array,
  timesteps: ArrayLike<number>,
): Float32Array {
  const type = checkChoice('predictionType', predictionType, PREDICTION_TYPES);
  if (type === 'v_prediction') return velocity(schedule, x0, noise, timesteps);
  checkBatch(schedule, x0, noise, timesteps);
  return (type === 'epsilon' ? noise : x0).slice();
}

/**
 * Min-SNR-γ loss weights (Hang et al. 2023) per timestep, as diffusers' training scripts apply
 * them to the per-sample MSE: min(SNR, γ)/SNR for ε-prediction, min(SNR, γ)/(SNR + 1) for
 * v-prediction, min(SNR, γ) for x0-prediction. γ = 5 is the paper's recommendation.
 */
export function minSnrWeights(
  schedule: NoiseSchedule,
  timesteps: ArrayLike<number>,
  gamma: number,
  predictionType: PredictionType,
): Float64Array {
  checkSchedule('schedule', schedule);
  checkNumber('gamma', gamma, Number.MIN_VALUE, Infinity);
  const type = checkChoice('predictionType', predictionType, PREDICTION_TYPES);
  const out = new Float64Array(timesteps.length);
  for (let i = 0; i < timesteps.length; i++) {
    const t = checkInteger(`timesteps[${i}]`, timesteps[i], 0, schedule.numTrainTimesteps - 1);
    const alphaCumprod = schedule.alphasCumprod[t]!;
    const ratio = alphaCumprod / (1 - alphaCumprod);
    if (type === 'epsilon' && ratio === 0)
      throw new RangeError(`timesteps[${i}] = ${t} has zero SNR, where an ε-prediction weight is undefined`);
    const clipped = Math.min(ratio, gamma);
    out[i] = type === 'epsilon' ? clipped / ratio : type === 'v_prediction' ? clipped / (ratio + 1) : clipped;
  }
  return out;
}

/**
 * Loss weights for v-prediction that cap the v-loss's own effective SNR: the v-loss is the x0-loss
 * times (SNR + 1), and this weight, min(SNR + 1, γ)/(SNR + 1), caps that factor at γ. Low-noise
 * steps are down-weighted as Min-SNR-γ does (the speed-up of Hang et al. 2023), while high-noise
 * steps keep the plain v-loss weight 1. Plain Min-SNR-γ, min(SNR, γ)/(SNR + 1), gives weight → 0
 * as SNR → 0: under a zero-terminal-SNR schedule the steps that must learn the prompt's mean image
 * (where every deterministic sampler starts) would hardly be trained.
 */
export function cappedVelocityWeights(
  schedule: NoiseSchedule,
  timesteps: ArrayLike<number>,
  gamma: number,
): Float64Array {
  checkSchedule('schedule', schedule);
  checkNumber('gamma', gamma, 1, Infinity);
  const out = new Float64Array(timesteps.length);
  for (let i = 0; i < timesteps.length; i++) {
    const t = checkInteger(`timesteps[${i}]`, timesteps[i], 0, schedule.numTrainTimesteps - 1);
    const alphaCumprod = schedule.alphasCumprod[t]!;
    const factor = alphaCumprod / (1 - alphaCumprod) + 1;
    out[i] = Math.min(factor, gamma) / factor;
  }
  return out;
}

export interface TrainingTimestepOptions {
  /** The uniform stream to draw from (e.g. the training iteration). Default 0. */
  readonly stream?: number;
  /** Lowest timestep, inclusive. Default 0. */
  readonly low?: number;
  /** Highest timestep, exclusive. Default `numTrainTimesteps`. */
  readonly high?: number;
}

/**
 * `count` training timesteps, independent and uniform over [low, high), from the uniform
 * stream (`seed`, `stream`): the same arguments give the same timesteps anywhere.
 */
export function sampleTrainingTimesteps(
  schedule: NoiseSchedule,
  count: number,
  seed: number,
  options: TrainingTimestepOptions = {},
): Int32Array {
  checkSchedule('schedule', schedule);
  checkInteger('count', count, 0, 2 ** 28);
  checkSeed('seed', seed);
  const stream = checkStream('stream', options.stream ?? 0);
  const low = checkInteger('low', options.low ?? 0, 0, schedule.numTrainTimesteps - 1);
  const high = checkInteger(
    'high',
    options.high ?? schedule.numTrainTimesteps,
    low + 1,
    schedule.numTrainTimesteps,
  );
  const random = new UniformStream(seed, stream);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = low + random.nextBelow(high - low);
  return out;
}
