/**
 * Reads a diffusers `scheduler_config.json` (as shipped beside a U-Net, or copied into our
 * model.json) into sampler options, so a converted model samples on the schedule it was trained
 * with. Schedule keys absent from the config take diffusers' constructor defaults (linear,
 * 0.0001 → 0.02, 1000 steps), as diffusers itself would. An absent `timestep_spacing` takes the
 * named class's default (leading for DDIM/DDPM/PNDM, linspace for DPM-Solver/Euler/LMS) and
 * otherwise ours; other absent keys take our defaults. Features we do not implement
 * (`trained_betas`, `thresholding`) are refused rather than ignored.
 */
import { PREDICTION_TYPES } from './prediction';
import type { PredictionType } from './prediction';
import { BETA_SCHEDULES, DEFAULT_TRAIN_TIMESTEPS, createSchedule } from './schedule';
import type { NoiseSchedule } from './schedule';
import { TIMESTEP_SPACINGS } from './timesteps';
import type { TimestepSpacing } from './timesteps';
import { checkBoolean, checkChoice, checkInteger, checkNumber } from './validate';

/** Options for {@link sample} taken from a diffusers scheduler config. */
export interface DiffusersSchedulerSettings {
  readonly schedule: NoiseSchedule;
  readonly predictionType: PredictionType;
  readonly spacing?: TimestepSpacing;
  readonly stepsOffset: number;
  readonly setAlphaToOne?: boolean;
  readonly clipSample?: number;
}

const LEADING_BY_DEFAULT = new Set(['DDIMScheduler', 'DDPMScheduler', 'PNDMScheduler']);
const LINSPACE_BY_DEFAULT = new Set([
  'DPMSolverMultistepScheduler',
  'EulerDiscreteScheduler',
  'EulerAncestralDiscreteScheduler',
  'LMSDiscreteScheduler',
]);

/**
 * Sampler settings from a parsed diffusers scheduler config.
 * @throws {TypeError} a config that is not an object, or a key of the wrong type.
 * @throws {RangeError} an unknown schedule, spacing or prediction type, or an unsupported feature.
 */
export function fromDiffusersConfig(config: unknown): DiffusersSchedulerSettings {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new TypeError('config must be a JSON object');
  }
  const c = config as Record<string, unknown>;
  for (const unsupported of ['trained_betas', 'thresholding'] as const) {
    const value = c[unsupported];
    if (value !== undefined && value !== null && value !== false) {
      throw new RangeError(`config.${unsupported} is not supported`);
    }
  }
  const schedule = createSchedule({
    betaSchedule: checkChoice('config.beta_schedule', c.beta_schedule ?? 'linear', BETA_SCHEDULES),
    numTrainTimesteps: checkInteger(
      'config.num_train_timesteps',
      c.num_train_timesteps ?? DEFAULT_TRAIN_TIMESTEPS,
      2,
      2 ** 30,
    ),
    ...(c.beta_schedule === 'squaredcos_cap_v2'
      ? {}
      : {
          betaStart: checkNumber('config.beta_start', c.beta_start ?? 0.0001, 0, 1),
          betaEnd: checkNumber('config.beta_end', c.beta_end ?? 0.02, 0, 1),
        }),
    rescaleBetasZeroSnr: checkBoolean('config.rescale_betas_zero_snr', c.rescale_betas_zero_snr ?? false),
  });
  const className = typeof c._class_name === 'string' ? c._class_name : '';
  const classSpacing: TimestepSpacing | undefined = LEADING_BY_DEFAULT.has(className)
    ? 'leading'
    : LINSPACE_BY_DEFAULT.has(className)
      ? 'linspace'
      : undefined;
  const spacing =
    c.timestep_spacing === undefined
      ? classSpacing
      : checkChoice('config.timestep_spacing', c.timestep_spacing, TIMESTEP_SPACINGS);

  let setAlphaToOne: boolean | undefined;
  if (c.set_alpha_to_one !== undefined) {
    if (typeof c.set_alpha_to_one !== 'boolean')
      throw new TypeError('config.set_alpha_to_one must be a boolean');
    setAlphaToOne = c.set_alpha_to_one;
  } else if (c.final_sigmas_type !== undefined) {
    setAlphaToOne =
      checkChoice('config.final_sigmas_type', c.final_sigmas_type, ['zero', 'sigma_min']) === 'zero';
  }

  let clipSample: number | undefined;
  if (c.clip_sample !== undefined) {
    if (typeof c.clip_sample !== 'boolean') throw new TypeError('config.clip_sample must be a boolean');
    if (c.clip_sample)
      clipSample = checkNumber('config.clip_sample_range', c.clip_sample_range ?? 1, 0, Infinity);
  }

  return {
    schedule,
    predictionType: checkChoice('config.prediction_type', c.prediction_type ?? 'epsilon', PREDICTION_TYPES),
    ...(spacing === undefined ? {} : { spacing }),
    stepsOffset: checkInteger('config.steps_offset', c.steps_offset ?? 0, 0, schedule.numTrainTimesteps - 1),
    ...(setAlphaToOne === undefined ? {} : { setAlphaToOne }),
    ...(clipSample === undefined ? {} : { clipSample }),
  };
}
