/**
 * Discrete variance-preserving noise schedules over `numTrainTimesteps` training timesteps:
 * betas, alphas and their cumulative product ᾱ, with x_t = sqrt(ᾱ_t)·x0 + sqrt(1 − ᾱ_t)·ε.
 * The three beta schedules are diffusers' (`linear`, `scaled_linear`, `squaredcos_cap_v2` as in
 * DDPMScheduler / DDIMScheduler / DPMSolverMultistepScheduler), computed in float64 where
 * diffusers computes betas and their cumprod in float32 (torch), so values differ from
 * diffusers' by float32 rounding only: relative 1e-6 for linear and scaled_linear, 1.4e-5 at
 * the tiny tail of the cosine schedule. One deliberate deviation: when `betaStart`/`betaEnd`
 * are omitted, `scaled_linear` defaults to Stable Diffusion's 0.00085 → 0.012 (its only common
 * use) where diffusers' constructor defaults to 0.0001 → 0.02 for every schedule.
 *
 * `rescaleBetasZeroSnr` is diffusers' option of the same name (Lin et al. 2024, "Common Diffusion
 * Noise Schedules and Sample Steps are Flawed", Algorithm 1): sqrt(ᾱ) is shifted and scaled so
 * the last timestep has ᾱ = 0 exactly (pure noise, zero SNR) and the first keeps its value. Only
 * a model that can predict at zero SNR (v- or x0-prediction) can sample from it.
 */
import { checkChoice, checkInteger, checkNumber } from './validate';

export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';

export const BETA_SCHEDULES: readonly BetaSchedule[] = ['linear', 'scaled_linear', 'squaredcos_cap_v2'];

/** diffusers' and DDPM's number of training timesteps. */
export const DEFAULT_TRAIN_TIMESTEPS = 1000;

/** Most training timesteps a schedule may have: bounds the arrays allocated here. */
export const MAX_TRAIN_TIMESTEPS = 1_000_000;

/** Default (betaStart, betaEnd) per schedule; the cosine schedule has no such parameters. */
export const DEFAULT_BETA_RANGE: Readonly<Record<'linear' | 'scaled_linear', readonly [number, number]>> =
  Object.freeze({
    // Ho et al. 2020 (DDPM), and diffusers' constructor defaults.
    linear: [0.0001, 0.02] as const,
    // Stable Diffusion 1.x/2.x/XL scheduler configs.
    scaled_linear: [0.00085, 0.012] as const,
  });

/** diffusers' cap on cosine betas, which keeps ᾱ of the last timestep above zero. */
const COSINE_MAX_BETA = 0.999;

export interface ScheduleOptions {
  /** Which beta schedule. Required: a sampler on the wrong schedule silently makes noise. */
  readonly betaSchedule: BetaSchedule;
  /** Training timesteps. Default {@link DEFAULT_TRAIN_TIMESTEPS}. */
  readonly numTrainTimesteps?: number;
  /** First beta (`linear`, `scaled_linear`). Default from {@link DEFAULT_BETA_RANGE}. */
  readonly betaStart?: number;
  /** Last beta (`linear`, `scaled_linear`). Default from {@link DEFAULT_BETA_RANGE}. */
  readonly betaEnd?: number;
  /** Rescale so the last timestep has zero SNR (ᾱ = 0). Default false. */
  readonly rescaleBetasZeroSnr?: boolean;
}

export interface NoiseSchedule {
  readonly betaSchedule: BetaSchedule;
  readonly numTrainTimesteps: number;
  /** The (betaStart, betaEnd) used; NaN for the cosine schedule. */
  readonly betaStart: number;
  readonly betaEnd: number;
  /** Whether the betas were rescaled to zero terminal SNR (then ᾱ of the last timestep is 0). */
  readonly rescaleBetasZeroSnr: boolean;
  /** β_t, t = 0 … numTrainTimesteps − 1. */
  readonly betas: Float64Array;
  /** α_t = 1 − β_t. */
  readonly alphas: Float64Array;
  /** ᾱ_t = ∏_{s ≤ t} α_s, strictly decreasing, in (0, 1) (the last one 0 under zero terminal SNR). */
  readonly alphasCumprod: Float64Array;
}

/** torch.linspace(start, end, n) in float64: n evenly spaced values, both ends included. */
function linspace(start: number, end: number, n: number): Float64Array {
  const out = new Float64Array(n);
  const step = n > 1 ? (end - start) / (n - 1) : 0;
  for (let i = 0; i < n; i++) out[i] = start + i * step;
  if (n > 1) out[n - 1] = end;
  return out;
}

/** diffusers' `betas_for_alpha_bar` with the cosine ᾱ(t) of Nichol & Dhariwal 2021. */
function cosineBetas(n: number): Float64Array {
  const alphaBar = (t: number): number => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
  const betas = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    betas[i] = Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), COSINE_MAX_BETA);
  }
  return betas;
}

/**
 * diffusers' `rescale_zero_terminal_snr`: new betas whose sqrt(ᾱ) is the old one shifted to end at
 * 0 and scaled to start at its old first value.
 */
function rescaleZeroTerminalSnr(betas: Float64Array): Float64Array {
  const n = betas.length;
  const rootAlphaBar = new Float64Array(n);
  let product = 1;
  for (let t = 0; t < n; t++) {
    product *= 1 - betas[t]!;
    rootAlphaBar[t] = Math.sqrt(product);
  }
  const first = rootAlphaBar[0]!;
  const last = rootAlphaBar[n - 1]!;
  const scale = first / (first - last);
  const alphaBar = rootAlphaBar.map((r) => ((r - last) * scale) ** 2);
  const out = new Float64Array(n);
  out[0] = 1 - alphaBar[0]!;
  for (let t = 1; t < n; t++) out[t] = 1 - alphaBar[t]! / alphaBar[t - 1]!;
  // The shift makes the last ᾱ exactly 0 in exact arithmetic; pin it so rounding cannot leave
  // a 1e-17 remainder (a tiny positive SNR where the schedule promises none).
  out[n - 1] = 1;
  return out;
}

/**
 * Builds a schedule.
 * @throws {TypeError} a non-string `betaSchedule` or non-number parameter.
 * @throws {RangeError} an unknown `betaSchedule`, `numTrainTimesteps` outside [2, {@link MAX_TRAIN_TIMESTEPS}],
 *   or betas outside (0, 1).
 */
export function createSchedule(options: ScheduleOptions): NoiseSchedule {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const betaSchedule = checkChoice('betaSchedule', options.betaSchedule, BETA_SCHEDULES);
  const n = checkInteger(
    'numTrainTimesteps',
    options.numTrainTimesteps ?? DEFAULT_TRAIN_TIMESTEPS,
    2,
    MAX_TRAIN_TIMESTEPS,
  );
  let betas: Float64Array;
  let betaStart = Number.NaN;
  let betaEnd = Number.NaN;
  if (betaSchedule === 'squaredcos_cap_v2') {
    if (options.betaStart !== undefined || options.betaEnd !== undefined) {
      throw new RangeError("betaStart and betaEnd do not apply to betaSchedule 'squaredcos_cap_v2'");
    }
    betas = cosineBetas(n);
  } else {
    const [defaultStart, defaultEnd] = DEFAULT_BETA_RANGE[betaSchedule];
    // Open interval (0, 1): a zero beta makes ᾱ repeat (two timesteps with equal noise), one
    // makes it zero (x0 unrecoverable).
    betaStart = checkNumber('betaStart', options.betaStart ?? defaultStart, Number.MIN_VALUE, 1 - 2 ** -53);
    betaEnd = checkNumber('betaEnd', options.betaEnd ?? defaultEnd, Number.MIN_VALUE, 1 - 2 ** -53);
    if (betaSchedule === 'linear') {
      betas = linspace(betaStart, betaEnd, n);
    } else {
      betas = linspace(Math.sqrt(betaStart), Math.sqrt(betaEnd), n).map((b) => b * b);
    }
  }
  const rescaleBetasZeroSnr = options.rescaleBetasZeroSnr ?? false;
  if (typeof rescaleBetasZeroSnr !== 'boolean') throw new TypeError('rescaleBetasZeroSnr must be a boolean');
  if (rescaleBetasZeroSnr) betas = rescaleZeroTerminalSnr(betas);
  const alphas = betas.map((b) => 1 - b);
  const alphasCumprod = new Float64Array(n);
  let product = 1;
  for (let t = 0; t < n; t++) {
    product *= alphas[t]!;
    alphasCumprod[t] = product;
  }
  if (!rescaleBetasZeroSnr && !(alphasCumprod[n - 1]! > 0)) {
    throw new RangeError(`the schedule's last alphasCumprod underflows to ${alphasCumprod[n - 1]}`);
  }
  return Object.freeze({
    betaSchedule,
    numTrainTimesteps: n,
    betaStart,
    betaEnd,
    rescaleBetasZeroSnr,
    betas,
    alphas,
    alphasCumprod,
  });
}

/** Checks that `value` looks like a {@link NoiseSchedule} (arrays present and consistent). */
export function checkSchedule(name: string, value: unknown): NoiseSchedule {
  const schedule = value as Partial<NoiseSchedule> | null;
  if (
    typeof value !== 'object' ||
    schedule === null ||
    !(schedule.alphasCumprod instanceof Float64Array) ||
    typeof schedule.numTrainTimesteps !== 'number' ||
    schedule.alphasCumprod.length !== schedule.numTrainTimesteps
  ) {
    throw new TypeError(`${name} must be a NoiseSchedule from createSchedule()`);
  }
  return value as NoiseSchedule;
}

/** Signal-to-noise ratio ᾱ_t / (1 − ᾱ_t) of training timestep `timestep`. */
export function snr(schedule: NoiseSchedule, timestep: number): number {
  const t = checkInteger('timestep', timestep, 0, schedule.numTrainTimesteps - 1);
  const alphaCumprod = schedule.alphasCumprod[t]!;
  return alphaCumprod / (1 - alphaCumprod);
}
