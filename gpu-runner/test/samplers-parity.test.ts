// Parity with diffusers: outputs of our samplers against a float64 numpy re-implementation of
// diffusers' DDIMScheduler / DDPMScheduler / DPMSolverMultistepScheduler set_timesteps + step()
// (SD scaled_linear schedule), written from the diffusers source rather than from this code:
// reference/diffusers_samplers.py. Both sides get the same initial and per-step noise and the same
// non-linear stand-in model (float32 in, float32 out). The cases and the noise are in
// reference/parity-noise.json, the reference outputs in reference/parity-expected.json. To
// regenerate (numpy needed) after changing a case in dump-noise.ts or the noise generator:
//
//   npx tsx gpu-runner/test/reference/dump-noise.ts
//   python3 gpu-runner/test/reference/diffusers_samplers.py
//
// See reference/README.md.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSchedule, gaussianNoise, sample, stepNoiseStream } from '../src/samplers/index';
import type { DenoiseModel } from '../src/samplers/index';
import type { ParityNoiseFile } from './reference/dump-noise';

const referenceDir = join(import.meta.dirname, 'reference');
const readJson = (name: string): unknown => JSON.parse(readFileSync(join(referenceDir, name), 'utf8'));
const noiseFile = readJson('parity-noise.json') as ParityNoiseFile;
const expected = readJson('parity-expected.json') as Record<string, number[]>;

const schedule = createSchedule(noiseFile.schedule);
const [, size] = noiseFile.shape;
const initialNoise = gaussianNoise(size, noiseFile.initialNoise.seed);

// Not a denoiser, just a smooth non-linear function of (x, t) that exercises every coefficient.
// diffusers_samplers.py implements the same function.
const model: DenoiseModel = (x, timesteps) =>
  x.map((v, i) => 0.8 * Math.tanh(v) + 0.0003 * timesteps[0]! + 0.01 * (i % 3));

describe('parity with diffusers (numpy reference)', () => {
  it('reference files are current: same cases, and the noise our generator draws', () => {
    expect(Object.keys(expected)).toEqual(noiseFile.cases.map((c) => c.name));
    expect(Array.from(initialNoise)).toEqual(noiseFile.initialNoise.values);
    for (const { stepNoise } of noiseFile.cases) {
      stepNoise.forEach((values, k) =>
        expect(Array.from(gaussianNoise(size, noiseFile.stepNoiseSeed, stepNoiseStream(k)))).toEqual(values),
      );
    }
  });

  for (const { name, options } of noiseFile.cases) {
    it(name, async () => {
      const reference = expected[name];
      expect(reference, `no reference output for '${name}': regenerate (see the header)`).toHaveLength(size);
      const out = await sample({
        model,
        shape: noiseFile.shape,
        schedule,
        noise: initialNoise,
        seed: noiseFile.stepNoiseSeed,
        ...options,
      });
      // Measured differences ≤ 4.7e-7, all of it the float32 rounding of our output: every value
      // equals Math.fround of the reference (half an ulp is ≤ 9.5e-7 below 32; values reach 17).
      // What else differs (float64 evaluation order, libm ulps, the 1e-10·z diffusers' DDPM adds
      // on a last step that ours skips, ddpm.ts) is below float32 resolution but can flip a
      // rounding. 2e-6 absolute.
      for (let i = 0; i < size; i++) expect(Math.abs(out[i]! - reference![i]!)).toBeLessThan(2e-6);
    });
  }
});
