/**
 * Writes `parity-noise.json`, the input of the diffusers reference (`diffusers_samplers.py`) and
 * the case list of `../samplers-parity.test.ts`: run `npx tsx gpu-runner/test/reference/dump-noise.ts`.
 *
 * The cases are defined here, once. For each it records the options (as `sample()` takes them),
 * the exact noise our samplers consume — the initial latent `gaussianNoise(6, 3)` and, for a
 * stochastic case, the noise of step k: stream `stepNoiseStream(k)` of seed 17, which is what
 * `addStepNoise` draws for sample 0 of a batch seeded 17 — and, for a cross-check only, the
 * timesteps our `inferenceTimesteps` picks (the reference computes its own, the diffusers way).
 * The noise is float32 values written as the shortest decimal that reads back as the same double,
 * so Python sees bit-identical numbers without a Philox port. Formatted with the repository's
 * prettier config, so regenerating leaves `npm run format:check` clean.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import {
  createSchedule,
  gaussianNoise,
  inferenceTimesteps,
  sampleSeeds,
  stepNoiseStream,
} from '../../src/samplers/index';
import type { SamplerName, TimestepSpacing } from '../../src/samplers/index';

/** The subset of `SampleOptions` the parity cases vary. Omitted fields take `sample()`'s defaults. */
export interface ParityOptions {
  readonly sampler: SamplerName;
  readonly steps: number;
  readonly spacing?: TimestepSpacing;
  readonly stepsOffset?: number;
  readonly setAlphaToOne?: boolean;
  readonly eta?: number;
}

export interface ParityCase {
  readonly name: string;
  readonly options: ParityOptions;
  /** Our timesteps for these options; informational (the reference derives diffusers'). */
  readonly ourTimesteps: number[];
  /** stepNoise[k]: the noise step k adds (per unit std); empty for a deterministic case. */
  readonly stepNoise: number[][];
}

export interface ParityNoiseFile {
  readonly generatedBy: string;
  /** The stand-in model both sides evaluate (documentation; each side implements it). */
  readonly model: string;
  readonly schedule: {
    betaSchedule: 'scaled_linear';
    numTrainTimesteps: number;
    betaStart: number;
    betaEnd: number;
  };
  /** [batch, elements]. */
  readonly shape: [number, number];
  readonly initialNoise: { seed: number; stream: number; values: number[] };
  readonly stepNoiseSeed: number;
  readonly cases: ParityCase[];
}

const SIZE = 6;
const INITIAL_NOISE_SEED = 3;
const STEP_NOISE_SEED = 17;

const CASES: readonly (readonly [string, ParityOptions])[] = [
  [
    'DPM-Solver++ 2M, 10 leading steps (SD offset), final σ = 0',
    { sampler: 'dpmpp2m', steps: 10, spacing: 'leading', stepsOffset: 1 },
  ],
  ['DPM-Solver++ 2M, 20 trailing steps', { sampler: 'dpmpp2m', steps: 20 }],
  [
    'DPM-Solver++ 2M, 20 leading steps, final σ_min (second-order last step)',
    { sampler: 'dpmpp2m', steps: 20, spacing: 'leading', stepsOffset: 1, setAlphaToOne: false },
  ],
  [
    'DPM-Solver++ 2M, 8 linspace steps, final σ_min (lower-order final)',
    { sampler: 'dpmpp2m', steps: 8, spacing: 'linspace', setAlphaToOne: false },
  ],
  [
    'DDIM, SD config (leading, offset 1, set_alpha_to_one false)',
    { sampler: 'ddim', steps: 10, spacing: 'leading', stepsOffset: 1, setAlphaToOne: false },
  ],
  ['DDIM, 10 trailing steps', { sampler: 'ddim', steps: 10 }],
  ['DDIM η = 0.7', { sampler: 'ddim', steps: 10, spacing: 'leading', stepsOffset: 1, eta: 0.7 }],
  ['DDPM, 10 leading steps', { sampler: 'ddpm', steps: 10, spacing: 'leading' }],
  ['DDPM, 12 trailing steps', { sampler: 'ddpm', steps: 12 }],
];

function parityNoise(): ParityNoiseFile {
  const schedule = createSchedule({ betaSchedule: 'scaled_linear' });
  const [seed] = sampleSeeds(STEP_NOISE_SEED, 1);
  const cases = CASES.map(([name, options]): ParityCase => {
    const timesteps = inferenceTimesteps(schedule.numTrainTimesteps, options.steps, {
      spacing: options.spacing,
      stepsOffset: options.stepsOffset,
      sampler: options.sampler,
    });
    const stochastic = options.sampler === 'ddpm' || (options.eta ?? 0) > 0;
    const stepNoise = stochastic
      ? Array.from(timesteps, (_, k) => Array.from(gaussianNoise(SIZE, seed!, stepNoiseStream(k))))
      : [];
    return { name, options, ourTimesteps: Array.from(timesteps), stepNoise };
  });
  return {
    generatedBy: 'npx tsx gpu-runner/test/reference/dump-noise.ts',
    model: '0.8 * tanh(x[i]) + 0.0003 * t + 0.01 * (i % 3)',
    schedule: {
      betaSchedule: 'scaled_linear',
      numTrainTimesteps: schedule.numTrainTimesteps,
      betaStart: schedule.betaStart,
      betaEnd: schedule.betaEnd,
    },
    shape: [1, SIZE],
    initialNoise: {
      seed: INITIAL_NOISE_SEED,
      stream: 0,
      values: Array.from(gaussianNoise(SIZE, INITIAL_NOISE_SEED)),
    },
    stepNoiseSeed: STEP_NOISE_SEED,
    cases,
  };
}

const path = join(import.meta.dirname, 'parity-noise.json');
const text = await format(JSON.stringify(parityNoise(), null, 2), {
  ...(await resolveConfig(path)),
  filepath: path,
});
await writeFile(path, text);
console.log(`wrote ${CASES.length} cases to ${path}`);
