/**
 * The contract between the sampling loop and the three update rules (DDPM, DDIM,
 * DPM-Solver++ 2M): one stepper per run, advanced once per timestep with the (guided) model
 * output, mutating the float64 latent in place. Also the pieces the rules share: the ᾱ a step
 * starts from and lands on, and per-sample step noise drawn from each sample's own seeded
 * stream so a sample's trajectory never depends on its batch-mates.
 */
import { splitPrediction, type PredictionType } from './prediction';
import { fillGaussian } from './random';
import type { NoiseSchedule } from './schedule';

export interface StepContext {
  readonly schedule: NoiseSchedule;
  /** The run's timesteps, strictly decreasing. */
  readonly timesteps: Int32Array;
  readonly predictionType: PredictionType;
  /** ᾱ the last step lands on: 1 (the x̂0 estimate itself) or ᾱ_0. */
  readonly finalAlphaCumprod: number;
  /** Clip x̂0 to [−clipSample, clipSample]; undefined: no clipping. */
  readonly clipSample: number | undefined;
  /** DDIM's η in [0, 1]; 0 for the other samplers. */
  readonly eta: number;
  readonly batchSize: number;
  /** Elements per sample (product of the shape after the batch dimension). */
  readonly sampleSize: number;
  /** One seed per sample for step noise; undefined when the run is deterministic. */
  readonly seeds: readonly number[] | undefined;
}

export interface Stepper {
  /** Moves `x` (batchSize · sampleSize values) from `timesteps[stepIndex]` to the next level. */
  step(stepIndex: number, x: Float64Array, modelOutput: Float64Array): void;
  /** x̂0 estimated by the latest step (for previews); valid until the next step. */
  readonly predictedOriginal: Float64Array;
}

/** ᾱ at the timestep step `stepIndex` starts from. */
export function alphaCumprodAt(context: StepContext, stepIndex: number): number {
  return context.schedule.alphasCumprod[context.timesteps[stepIndex]!]!;
}

/** ᾱ that step `stepIndex` lands on: the next timestep's, or the final level after the last. */
export function alphaCumprodAfter(context: StepContext, stepIndex: number): number {
  const next = context.timesteps[stepIndex + 1];
  return next === undefined ? context.finalAlphaCumprod : context.schedule.alphasCumprod[next]!;
}

/** Gaussian stream of a sample's initial noise. */
export const INITIAL_NOISE_STREAM = 0;

/** Gaussian stream of the noise a stochastic sampler adds in step `stepIndex` (0-based). */
export function stepNoiseStream(stepIndex: number): number {
  return stepIndex + 1;
}

/**
 * Adds `std` · z to `x`, z drawn per sample i from stream ({@link stepNoiseStream}(stepIndex))
 * of `seeds[i]`. `scratch` holds one sample's noise.
 */
export function addStepNoise(
  context: StepContext,
  stepIndex: number,
  x: Float64Array,
  std: number,
  scratch: Float64Array,
): void {
  const { seeds, sampleSize } = context;
  if (seeds === undefined) throw new Error('internal: a stochastic step ran without seeds');
  for (let sample = 0; sample < seeds.length; sample++) {
    fillGaussian(scratch, seeds[sample]!, stepNoiseStream(stepIndex));
    const offset = sample * sampleSize;
    for (let i = 0; i < sampleSize; i++) x[offset + i] = x[offset + i]! + std * scratch[i]!;
  }
}

/**
 * The opening every DDPM/DDIM step shares: the ᾱ it starts from and lands on, and x̂0 (and,
 * when `predictedNoise` is given, ε̂) from the model output at the starting level.
 */
export function predictAtStep(
  context: StepContext,
  stepIndex: number,
  x: Float64Array,
  modelOutput: Float64Array,
  predictedOriginal: Float64Array,
  predictedNoise: Float64Array | null,
): { readonly alphaProd: number; readonly alphaProdPrev: number } {
  const alphaProd = alphaCumprodAt(context, stepIndex);
  splitPrediction(
    context.predictionType,
    x,
    modelOutput,
    alphaProd,
    predictedOriginal,
    predictedNoise,
    context.clipSample,
  );
  return { alphaProd, alphaProdPrev: alphaCumprodAfter(context, stepIndex) };
}
