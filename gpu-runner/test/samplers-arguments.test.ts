// Every public entry point refuses bad arguments before doing work, with a TypeError (wrong
// type) or RangeError (out of range) whose message names the argument.
import { describe, expect, it } from 'vitest';
import {
  UniformStream,
  addNoise,
  batchNoise,
  createSchedule,
  gaussianNoise,
  inferenceTimesteps,
  sample,
  sampleTrainingTimesteps,
  snr,
  velocity,
} from '../src/samplers/index';
import type { DenoiseModel, NoiseSchedule, SampleOptions } from '../src/samplers/index';

const schedule = createSchedule({ betaSchedule: 'linear' });

type ErrorClass = typeof TypeError | typeof RangeError;

describe('synchronous entry points', () => {
  const cases: [string, () => unknown, ErrorClass, RegExp][] = [
    [
      'unknown schedule',
      () => createSchedule({ betaSchedule: 'cosine' as never }),
      RangeError,
      /betaSchedule/,
    ],
    ['missing options', () => createSchedule(undefined as never), TypeError, /options/],
    [
      'zero timesteps',
      () => createSchedule({ betaSchedule: 'linear', numTrainTimesteps: 0 }),
      RangeError,
      /numTrainTimesteps/,
    ],
    ['beta ≥ 1', () => createSchedule({ betaSchedule: 'linear', betaEnd: 1.5 }), RangeError, /betaEnd/],
    [
      'beta = 0',
      () => createSchedule({ betaSchedule: 'scaled_linear', betaStart: 0 }),
      RangeError,
      /betaStart/,
    ],
    [
      'string beta',
      () => createSchedule({ betaSchedule: 'linear', betaStart: '0.1' as never }),
      TypeError,
      /betaStart/,
    ],
    [
      'betas on cosine',
      () => createSchedule({ betaSchedule: 'squaredcos_cap_v2', betaStart: 0.1 }),
      RangeError,
      /betaStart/,
    ],
    ['zero steps', () => inferenceTimesteps(1000, 0), RangeError, /steps/],
    ['too many steps', () => inferenceTimesteps(1000, 1001), RangeError, /steps/],
    ['fractional steps', () => inferenceTimesteps(1000, 2.5), RangeError, /steps/],
    [
      'unknown spacing',
      () => inferenceTimesteps(1000, 10, { spacing: 'uniform' as never }),
      RangeError,
      /spacing/,
    ],
    ['negative offset', () => inferenceTimesteps(1000, 10, { stepsOffset: -1 }), RangeError, /stepsOffset/],
    [
      'offset past the end',
      () => inferenceTimesteps(1000, 1000, { spacing: 'leading', stepsOffset: 1 }),
      RangeError,
      /stepsOffset/,
    ],
    ['negative length', () => gaussianNoise(-1, 0), RangeError, /length/],
    ['negative seed', () => gaussianNoise(4, -1), RangeError, /seed/],
    ['fractional seed', () => gaussianNoise(4, 1.5), RangeError, /seed/],
    ['unsafe seed', () => gaussianNoise(4, 2 ** 53), RangeError, /seed/],
    ['string seed', () => gaussianNoise(4, '1' as never), TypeError, /seed/],
    ['stream ≥ 2^32', () => gaussianNoise(4, 0, 2 ** 32), RangeError, /stream/],
    ['empty sample dim', () => batchNoise([2, 0], 1), RangeError, /shape\[1\]/],
    ['seed count', () => batchNoise([2, 2], [1]), RangeError, /seed/],
    ['seed overflow', () => batchNoise([2, 2], Number.MAX_SAFE_INTEGER), RangeError, /seed/],
    ['n = 0', () => new UniformStream(1).nextBelow(0), RangeError, /\bn\b/],
    ['snr timestep', () => snr(schedule, 1000), RangeError, /timestep/],
    [
      'noise length',
      () => addNoise(schedule, new Float32Array(4), new Float32Array(3), [0]),
      RangeError,
      /noise/,
    ],
    ['x0 type', () => addNoise(schedule, [1, 2] as never, new Float32Array(2), [0]), TypeError, /x0/],
    [
      'timestep range',
      () => addNoise(schedule, new Float32Array(2), new Float32Array(2), [1000]),
      RangeError,
      /timesteps\[0\]/,
    ],
    [
      'timestep count',
      () => velocity(schedule, new Float32Array(5), new Float32Array(5), [0, 1]),
      RangeError,
      /timesteps/,
    ],
    [
      'schedule type',
      () => addNoise({} as NoiseSchedule, new Float32Array(1), new Float32Array(1), [0]),
      TypeError,
      /schedule/,
    ],
    ['empty range', () => sampleTrainingTimesteps(schedule, 4, 0, { low: 5, high: 5 }), RangeError, /high/],
  ];
  for (const [name, call, errorClass, pattern] of cases) {
    it(`${name}: ${errorClass.name} naming the argument`, () => {
      expect(call).toThrow(errorClass);
      expect(call).toThrow(pattern);
    });
  }
});

describe('sample', () => {
  let calls = 0;
  const model: DenoiseModel = (x) => {
    calls++;
    return new Float32Array(x.length);
  };
  const valid: SampleOptions = { model, shape: [2, 3], steps: 4, sampler: 'ddim', schedule, seed: 1 };

  const cases: [string, Partial<Record<keyof SampleOptions, unknown>>, ErrorClass, RegExp][] = [
    ['no model', { model: undefined }, TypeError, /model/],
    ['unknown sampler', { sampler: 'euler' }, RangeError, /sampler/],
    ['not a schedule', { schedule: {} }, TypeError, /schedule/],
    ['empty shape', { shape: [] }, TypeError, /shape/],
    ['zero dimension', { shape: [1, 0] }, RangeError, /shape\[1\]/],
    ['zero steps', { steps: 0 }, RangeError, /steps/],
    ['steps and timesteps', { timesteps: [10, 5] }, TypeError, /timesteps/],
    ['neither steps nor timesteps', { steps: undefined }, TypeError, /steps/],
    ['increasing timesteps', { steps: undefined, timesteps: [5, 10] }, RangeError, /timesteps/],
    ['timestep out of range', { steps: undefined, timesteps: [1000] }, RangeError, /timesteps\[0\]/],
    ['neither seed nor noise', { seed: undefined }, TypeError, /seed or noise/],
    [
      'ddpm without seed',
      { sampler: 'ddpm', seed: undefined, noise: new Float32Array(6) },
      TypeError,
      /seed/,
    ],
    ['η above 1', { eta: 1.5 }, RangeError, /eta/],
    ['η on dpmpp2m', { sampler: 'dpmpp2m', eta: 0.5 }, RangeError, /eta/],
    ['noise length', { noise: new Float32Array(5) }, RangeError, /noise/],
    ['noise type', { noise: new Float64Array(6) }, TypeError, /noise/],
    ['NaN guidance', { guidance: Number.NaN }, RangeError, /guidance/],
    ['unknown prediction type', { predictionType: 'x0' }, RangeError, /predictionType/],
    ['negative clip', { clipSample: -1 }, RangeError, /clipSample/],
    ['signal type', { signal: {} }, TypeError, /signal/],
    ['onStep type', { onStep: 3 }, TypeError, /onStep/],
    ['seed count', { seed: [1, 2, 3] }, RangeError, /seed/],
    [
      'above maxElements (guided batch counts twice)',
      { guidance: 2, limits: { maxElements: 11 } },
      RangeError,
      /maxElements/,
    ],
  ];
  for (const [name, override, errorClass, pattern] of cases) {
    it(`${name}: rejects with ${errorClass.name} before calling the model`, async () => {
      calls = 0;
      const options = { ...valid, ...override } as SampleOptions;
      await expect(sample(options)).rejects.toThrow(errorClass);
      await expect(sample(options)).rejects.toThrow(pattern);
      expect(calls).toBe(0);
    });
  }

  it('refuses a model output of the wrong length or type', async () => {
    await expect(sample({ ...valid, model: () => new Float32Array(5) })).rejects.toThrow(RangeError);
    await expect(sample({ ...valid, model: () => new Float32Array(5) })).rejects.toThrow(/model output/);
    await expect(sample({ ...valid, model: () => new Float64Array(6) as never })).rejects.toThrow(TypeError);
    // With guidance the model must answer for 2B rows.
    await expect(sample({ ...valid, guidance: 3, model: () => new Float32Array(6) })).rejects.toThrow(
      /12 elements/,
    );
  });

  it('the valid baseline runs', async () => {
    await expect(sample(valid)).resolves.toHaveLength(6);
  });
});
