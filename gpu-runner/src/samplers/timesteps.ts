/**
 * Which training timesteps an N-step sampling run visits, reproducing diffusers'
 * `set_timesteps` for `timestep_spacing` ∈ {leading, trailing, linspace} bit for bit (numpy's
 * round-half-to-even and its `arange` fill arithmetic included). DDPM and DDIM share one rule;
 * DPMSolverMultistepScheduler spaces `linspace` and `leading` over N + 1 points and drops the
 * last, so the sampler matters. Two deviations, both where diffusers misbehaves: `trailing` keeps
 * exactly N timesteps (numpy's `arange` yields N + 1 for 62 step counts in 1…1000 at 1000
 * training steps, the extra one being −1), and duplicates are dropped (as the DPM-Solver
 * scheduler does; DDIM would take a zero-length step).
 *
 * Our default is `trailing`: its first step is t = T − 1, the timestep whose training marginal
 * is closest to the pure noise a sampler starts from, while `leading` starts at T − T/N
 * (901 for 10 steps), a mismatch Lin et al. 2024 ("Common Diffusion Noise Schedules and Sample
 * Steps are Flawed", Table 2) show costs quality at few steps; trailing also spaces steps evenly
 * up to the top timestep bucket of a time-wise mask bank. Stable Diffusion parity is
 * `{ spacing: 'leading', stepsOffset: 1 }`.
 */
import { checkChoice, checkInteger } from './validate';

export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';
export type SamplerName = 'ddpm' | 'ddim' | 'dpmpp2m';

export const TIMESTEP_SPACINGS: readonly TimestepSpacing[] = ['leading', 'trailing', 'linspace'];
export const SAMPLERS: readonly SamplerName[] = ['ddpm', 'ddim', 'dpmpp2m'];

/** Our default spacing; see the file comment for why. */
export const DEFAULT_TIMESTEP_SPACING: TimestepSpacing = 'trailing';

export interface TimestepOptions {
  /** Default {@link DEFAULT_TIMESTEP_SPACING}. */
  readonly spacing?: TimestepSpacing;
  /** Added to every timestep under `leading` spacing only (as in diffusers). Default 0; SD configs use 1. */
  readonly stepsOffset?: number;
  /** The sampler the timesteps are for: `dpmpp2m` spaces `leading`/`linspace` differently. Default 'ddim'. */
  readonly sampler?: SamplerName;
}

/** numpy's `round`: to nearest, ties to even. */
export function roundHalfEven(value: number): number {
  const rounded = Math.round(value);
  return Math.abs(value % 1) === 0.5 ? 2 * Math.round(value / 2) : rounded;
}

/** numpy.linspace(0, stop, count) (endpoint included) evaluated as numpy does: i · (stop / (count − 1)). */
function linspaceFromZero(stop: number, count: number): number[] {
  if (count === 1) return [0];
  const step = stop / (count - 1);
  return Array.from({ length: count }, (_, i) => (i === count - 1 ? stop : i * step));
}

/**
 * numpy.arange(start, 0, −step), first `count` values, as numpy's fill computes them:
 * v0 = start, v1 = start − step, v_i = start + i · (v1 − v0).
 */
function arangeDown(start: number, step: number, count: number): number[] {
  const delta = start - step - start;
  return Array.from({ length: count }, (_, i) =>
    i === 0 ? start : i === 1 ? start - step : start + i * delta,
  );
}

/**
 * The timesteps of a `steps`-step run, strictly decreasing, each in [0, numTrainTimesteps).
 * May hold fewer than `steps` values where rounding makes two coincide (only for step counts
 * near `numTrainTimesteps` under `linspace`/`leading` with dpmpp2m).
 * @throws {RangeError} `steps` outside [1, numTrainTimesteps], a bad option, or an offset that
 *   pushes a timestep to numTrainTimesteps or beyond.
 */
export function inferenceTimesteps(
  numTrainTimesteps: number,
  steps: number,
  options: TimestepOptions = {},
): Int32Array {
  const n = checkInteger('numTrainTimesteps', numTrainTimesteps, 2, 2 ** 30);
  checkInteger('steps', steps, 1, n);
  const spacing = checkChoice('spacing', options.spacing ?? DEFAULT_TIMESTEP_SPACING, TIMESTEP_SPACINGS);
  const sampler = checkChoice('sampler', options.sampler ?? 'ddim', SAMPLERS);
  const stepsOffset = checkInteger('stepsOffset', options.stepsOffset ?? 0, 0, n - 1);
  const multistep = sampler === 'dpmpp2m';
  let values: number[];
  if (spacing === 'linspace') {
    values = multistep
      ? linspaceFromZero(n - 1, steps + 1)
          .reverse()
          .slice(0, steps)
      : linspaceFromZero(n - 1, steps).reverse();
    values = values.map(roundHalfEven);
  } else if (spacing === 'leading') {
    const points = multistep ? steps + 1 : steps;
    const ratio = Math.floor(n / points);
    values = Array.from({ length: steps }, (_, i) => (points - 1 - i) * ratio + stepsOffset);
  } else {
    values = arangeDown(n, n / steps, steps).map((v) => roundHalfEven(v) - 1);
  }
  const out: number[] = [];
  for (const t of values) {
    if (out.length === 0 || t < out[out.length - 1]!) out.push(t);
  }
  const first = out[0]!;
  if (first >= n) {
    throw new RangeError(`stepsOffset ${stepsOffset} moves timestep ${first} past numTrainTimesteps ${n}`);
  }
  return Int32Array.from(out);
}

/**
 * Checks caller-given timesteps (e.g. a truncated schedule for image-to-image): integers in
 * [0, numTrainTimesteps), strictly decreasing, at least one.
 */
export function checkTimesteps(name: string, value: unknown, numTrainTimesteps: number): Int32Array {
  if (!Array.isArray(value) && !ArrayBuffer.isView(value))
    throw new TypeError(`${name} must be an array of integers`);
  const list = Array.from(value as ArrayLike<unknown>);
  if (list.length < 1) throw new RangeError(`${name} must not be empty`);
  const out = new Int32Array(list.length);
  list.forEach((t, i) => {
    const timestep = checkInteger(`${name}[${i}]`, t, 0, numTrainTimesteps - 1);
    if (i > 0 && timestep >= out[i - 1]!)
      throw new RangeError(`${name} must be strictly decreasing at index ${i}`);
    out[i] = timestep;
  });
  return out;
}
