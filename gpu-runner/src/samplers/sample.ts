/**
 * The sampling loop shared by DDPM, DDIM and DPM-Solver++ 2M: validates everything before it
 * allocates, draws or expands the initial noise, and per step hands the denoiser a float32 batch
 * with each row's timestep (so the caller can pick each sample's time-wise mask bucket before
 * running the U-Net), applies classifier-free guidance, advances the chosen update rule, reports
 * progress and honours an AbortSignal between steps. The latent is kept in float64 between steps
 * (diffusers keeps float32); only the model's input and output and the noise are float32. Every
 * operation is per sample, so a batch gives byte-identical samples to separate runs with the
 * same per-sample seeds.
 */
import { ddimStepper } from './ddim';
import { ddpmStepper } from './ddpm';
import { dpmSolverStepper } from './dpm-solver';
import { PREDICTION_TYPES } from './prediction';
import type { PredictionType } from './prediction';
import { fillGaussian, sampleSeeds } from './random';
import { checkSchedule } from './schedule';
import type { NoiseSchedule } from './schedule';
import { INITIAL_NOISE_STREAM } from './stepper';
import type { StepContext, Stepper } from './stepper';
import { SAMPLERS, checkTimesteps, inferenceTimesteps } from './timesteps';
import type { SamplerName, TimestepSpacing } from './timesteps';
import { checkChoice, checkFloat32Array, checkInteger, checkNumber } from './validate';

/** What the denoiser is told about the batch it is given. */
export interface ModelStepInfo {
  /** 0-based index of this step. */
  readonly stepIndex: number;
  /** Steps in the run. */
  readonly steps: number;
  /** The training timestep every row is at in this step (also in the `timesteps` argument). */
  readonly timestep: number;
  /** Samples in the run (B). */
  readonly batchSize: number;
  /** Rows in this call: B, or 2B when guided. */
  readonly rows: number;
  /**
   * Null without guidance (all B rows are conditional). With guidance, rows [0, B) are
   * unconditional and rows [B, 2B) conditional; row r belongs to sample r mod B.
   */
  readonly guidance: null | { readonly scale: number; readonly uncond: RowRange; readonly cond: RowRange };
  /** The run's signal, for a backend that can cancel a forward pass. */
  readonly signal: AbortSignal | undefined;
}

/** Half-open row range [start, end). */
export interface RowRange {
  readonly start: number;
  readonly end: number;
}

/**
 * A denoiser forward pass: `x` holds `rows` samples row-major with the run's per-sample shape,
 * `timesteps[r]` is row r's training timestep. Returns the model output (per `predictionType`)
 * for the same rows, as a new or reused Float32Array; the sampler does not keep `x`.
 */
export type DenoiseModel = (
  x: Float32Array,
  timesteps: Float64Array,
  info: ModelStepInfo,
) => Promise<Float32Array> | Float32Array;

/** Reported after each step. */
export interface StepProgress {
  readonly stepIndex: number;
  readonly steps: number;
  /** The timestep this step's model call was at. */
  readonly timestep: number;
  /** The latent after this step (the final sample after the last), as float32. */
  sample(): Float32Array;
  /** This step's x̂0 estimate, as float32 (a preview of the final image). */
  predictedOriginal(): Float32Array;
}

export interface SamplerLimits {
  /** Most elements in one model call (rows × per-sample size). Default 2^24. */
  readonly maxElements: number;
}

export const DEFAULT_SAMPLER_LIMITS: SamplerLimits = Object.freeze({ maxElements: 2 ** 24 });

export interface SampleOptions {
  readonly model: DenoiseModel;
  /** [B, ...per-sample dims], e.g. [B, C, H, W]. */
  readonly shape: readonly number[];
  readonly sampler: SamplerName;
  readonly schedule: NoiseSchedule;
  /** Number of steps, in [1, numTrainTimesteps]. Exactly one of `steps` and `timesteps`. */
  readonly steps?: number;
  /** Explicit strictly decreasing timesteps (e.g. a truncated run for image-to-image). */
  readonly timesteps?: ArrayLike<number>;
  /** Default 'trailing' (see timesteps.ts for why). */
  readonly spacing?: TimestepSpacing;
  /** Added to timesteps under 'leading' spacing. Default 0 (SD configs: 1). */
  readonly stepsOffset?: number;
  /** Default 'epsilon'. */
  readonly predictionType?: PredictionType;
  /**
   * Whether the last step lands on ᾱ = 1 (returns the x̂0 estimate; diffusers' DDIM
   * `set_alpha_to_one=True` / DPM-Solver `final_sigmas_type='zero'`, and always DDPM) or on ᾱ_0
   * (SD's DDIM config, `final_sigmas_type='sigma_min'`). Default true.
   */
  readonly setAlphaToOne?: boolean;
  /** DDIM's η in [0, 1]. Default 0 (deterministic). Must be 0 for the other samplers. */
  readonly eta?: number;
  /**
   * Seed (sample i gets seed + i) or one seed per sample. Drives the initial noise (stream 0)
   * unless `noise` is given, and the step noise of DDPM and DDIM with η > 0 (stream k + 1 in step k).
   */
  readonly seed?: number | readonly number[];
  /** The initial latent (B × per-sample size), used instead of seeded noise. */
  readonly noise?: Float32Array;
  /**
   * Classifier-free guidance scale g; ε = ε_u + g·(ε_c − ε_u) on the model output. Any value
   * other than 1 doubles the batch (uncond first, cond second). Default 1 (no doubling).
   */
  readonly guidance?: number;
  /** Clip x̂0 to [−clipSample, clipSample] in every step. Default: no clipping. */
  readonly clipSample?: number;
  readonly onStep?: (progress: StepProgress) => void | Promise<void>;
  /** Checked before every model call; an abort rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  readonly limits?: Partial<SamplerLimits>;
}

interface Plan {
  readonly context: StepContext;
  readonly sampler: SamplerName;
  readonly guidance: number;
  readonly initialNoise: Float32Array | undefined;
  /** Every sample's seed, when seeded (the context keeps them only for stochastic samplers). */
  readonly seeds: readonly number[] | undefined;
}

function float32Copy(values: Float64Array): Float32Array {
  return Float32Array.from(values);
}

/** Validates the options and resolves defaults; allocates nothing proportional to the batch. */
function plan(options: SampleOptions): Plan {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  if (typeof options.model !== 'function') throw new TypeError('model must be a function');
  const sampler = checkChoice('sampler', options.sampler, SAMPLERS);
  const schedule = checkSchedule('schedule', options.schedule);
  const n = schedule.numTrainTimesteps;
  const maxElements = checkInteger(
    'limits.maxElements',
    options.limits?.maxElements ?? DEFAULT_SAMPLER_LIMITS.maxElements,
    1,
    2 ** 32,
  );

  if (!Array.isArray(options.shape) || options.shape.length < 1) {
    throw new TypeError('shape must be a non-empty array [B, ...]');
  }
  const dims = options.shape.map((d, i) => checkInteger(`shape[${i}]`, d, 1, maxElements));
  const batchSize = dims[0]!;
  const sampleSize = dims.slice(1).reduce((a, b) => a * b, 1);

  const guidance = checkNumber('guidance', options.guidance ?? 1, -Infinity, Infinity);
  const rows = guidance === 1 ? batchSize : 2 * batchSize;
  if (rows * sampleSize > maxElements) {
    throw new RangeError(
      `shape needs ${rows * sampleSize} elements per model call, above limits.maxElements ${maxElements}`,
    );
  }

  let timesteps: Int32Array;
  if (options.timesteps !== undefined) {
    if (options.steps !== undefined) throw new TypeError('pass steps or timesteps, not both');
    if (options.spacing !== undefined || options.stepsOffset !== undefined) {
      throw new TypeError('spacing and stepsOffset do not apply to explicit timesteps');
    }
    timesteps = checkTimesteps('timesteps', options.timesteps, n);
  } else {
    if (options.steps === undefined) throw new TypeError('steps is required (or timesteps)');
    checkInteger('steps', options.steps, 1, n);
    timesteps = inferenceTimesteps(n, options.steps, {
      spacing: options.spacing,
      stepsOffset: options.stepsOffset,
      sampler,
    });
  }

  const predictionType = checkChoice('predictionType', options.predictionType ?? 'epsilon', PREDICTION_TYPES);
  if (predictionType === 'epsilon' && schedule.alphasCumprod[timesteps[0]!] === 0) {
    throw new RangeError(
      `timestep ${timesteps[0]} has zero SNR: an 'epsilon' model cannot predict x0 there (use v_prediction)`,
    );
  }
  const setAlphaToOne = options.setAlphaToOne ?? true;
  if (typeof setAlphaToOne !== 'boolean') throw new TypeError('setAlphaToOne must be a boolean');
  const eta = checkNumber('eta', options.eta ?? 0, 0, 1);
  if (eta !== 0 && sampler !== 'ddim') throw new RangeError(`eta applies only to sampler 'ddim', got ${eta}`);
  const clipSample =
    options.clipSample === undefined ? undefined : checkNumber('clipSample', options.clipSample, 0, Infinity);

  const stochastic = sampler === 'ddpm' || eta > 0;
  const seeds = options.seed === undefined ? undefined : sampleSeeds(options.seed, batchSize);
  const initialNoise =
    options.noise === undefined
      ? undefined
      : checkFloat32Array('noise', options.noise, batchSize * sampleSize);
  if (seeds === undefined && initialNoise === undefined) throw new TypeError('seed or noise is required');
  if (seeds === undefined && stochastic) {
    throw new TypeError(`seed is required for stochastic sampling (sampler '${sampler}', eta ${eta})`);
  }
  if (options.onStep !== undefined && typeof options.onStep !== 'function') {
    throw new TypeError('onStep must be a function');
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new TypeError('signal must be an AbortSignal');
  }

  const context: StepContext = {
    schedule,
    timesteps,
    predictionType,
    finalAlphaCumprod: setAlphaToOne ? 1 : schedule.alphasCumprod[0]!,
    clipSample,
    eta,
    batchSize,
    sampleSize,
    seeds: stochastic ? seeds : undefined,
  };
  return { context, sampler, guidance, initialNoise, seeds };
}

function createStepper(sampler: SamplerName, context: StepContext): Stepper {
  if (sampler === 'ddpm') return ddpmStepper(context);
  if (sampler === 'ddim') return ddimStepper(context);
  return dpmSolverStepper(context);
}

/**
 * Runs a sampler to the end and returns the final sample (B × per-sample size, float32,
 * unclamped).
 * @throws {TypeError} a missing or wrongly typed option, or a model output that is not a Float32Array.
 * @throws {RangeError} an option out of range, a shape above `limits.maxElements`, or a model
 *   output of the wrong length.
 * Rejects with `signal.reason` when aborted, and with whatever the model or `onStep` throws.
 */
export async function sample(options: SampleOptions): Promise<Float32Array> {
  const { context, sampler, guidance, initialNoise, seeds } = plan(options);
  const { batchSize, sampleSize, timesteps } = context;
  const size = batchSize * sampleSize;
  const guided = guidance !== 1;
  const rows = guided ? 2 * batchSize : batchSize;
  const steps = timesteps.length;
  const { model, onStep, signal } = options;

  const x = new Float64Array(size);
  if (initialNoise !== undefined) {
    x.set(initialNoise);
  } else if (seeds !== undefined) {
    for (let s = 0; s < batchSize; s++) {
      fillGaussian(x.subarray(s * sampleSize, (s + 1) * sampleSize), seeds[s]!, INITIAL_NOISE_STREAM);
    }
  }

  const stepper = createStepper(sampler, context);
  const modelOutput = new Float64Array(size);
  const guidanceInfo = guided
    ? { scale: guidance, uncond: { start: 0, end: batchSize }, cond: { start: batchSize, end: rows } }
    : null;

  for (let stepIndex = 0; stepIndex < steps; stepIndex++) {
    signal?.throwIfAborted();
    const timestep = timesteps[stepIndex]!;
    const input = new Float32Array(rows * sampleSize);
    input.set(x);
    if (guided) input.copyWithin(size, 0, size);
    const rowTimesteps = new Float64Array(rows).fill(timestep);
    const output = await model(input, rowTimesteps, {
      stepIndex,
      steps,
      timestep,
      batchSize,
      rows,
      guidance: guidanceInfo,
      signal,
    });
    checkFloat32Array('model output', output, rows * sampleSize);
    if (guided) {
      for (let i = 0; i < size; i++) {
        const uncond = output[i]!;
        modelOutput[i] = uncond + guidance * (output[size + i]! - uncond);
      }
    } else {
      modelOutput.set(output);
    }
    stepper.step(stepIndex, x, modelOutput);
    if (onStep !== undefined) {
      await onStep({
        stepIndex,
        steps,
        timestep,
        sample: () => float32Copy(x),
        predictedOriginal: () => float32Copy(stepper.predictedOriginal),
      });
    }
  }
  return float32Copy(x);
}
