// Parity with diffusers: outputs of our samplers against a float64 numpy port of diffusers'
// DDIMScheduler / DDPMScheduler / DPMSolverMultistepScheduler step() (SD scaled_linear schedule),
// fed the same initial and per-step noise and the same non-linear stand-in model. The reference
// numbers below were produced by that port, written from the diffusers source rather than from
// this code.
import { describe, expect, it } from 'vitest';
import { createSchedule, gaussianNoise, sample } from '../src/samplers/index';
import type { DenoiseModel, SampleOptions } from '../src/samplers/index';

const schedule = createSchedule({ betaSchedule: 'scaled_linear' });

// Not a denoiser, just a smooth non-linear function of (x, t) that exercises every coefficient.
const model: DenoiseModel = (x, timesteps) =>
  x.map((v, i) => 0.8 * Math.tanh(v) + 0.0003 * timesteps[0]! + 0.01 * (i % 3));

const cases: [string, Partial<SampleOptions>, number[]][] = [
  [
    'DPM-Solver++ 2M, 10 leading steps (SD offset), final σ = 0',
    { sampler: 'dpmpp2m', steps: 10, spacing: 'leading', stepsOffset: 1 },
    [-0.951408854, -1.5766222, -0.146954759, 5.32426434, -0.0734587896, -2.20730539],
  ],
  [
    'DPM-Solver++ 2M, 20 trailing steps',
    { sampler: 'dpmpp2m', steps: 20 },
    [-1.68071716, -2.91223499, -0.282157129, 8.6453639, -0.190742906, -4.08555843],
  ],
  [
    'DPM-Solver++ 2M, 20 leading steps, final σ_min (second-order last step)',
    { sampler: 'dpmpp2m', steps: 20, spacing: 'leading', stepsOffset: 1, setAlphaToOne: false },
    [-1.16599709, -1.96534631, -0.19006782, 6.45874102, -0.106878461, -2.76533242],
  ],
  [
    'DPM-Solver++ 2M, 8 linspace steps, final σ_min (lower-order final)',
    { sampler: 'dpmpp2m', steps: 8, spacing: 'linspace', setAlphaToOne: false },
    [-1.88045729, -3.20337223, -0.300892082, 8.65512615, -0.206534702, -4.41654158],
  ],
  [
    'DDIM, SD config (leading, offset 1, set_alpha_to_one false)',
    { sampler: 'ddim', steps: 10, spacing: 'leading', stepsOffset: 1, setAlphaToOne: false },
    [-1.16837335, -1.84562269, -0.236699192, 5.30908316, -0.153713143, -2.49029125],
  ],
  [
    'DDIM, 10 trailing steps',
    { sampler: 'ddim', steps: 10 },
    [-2.24202258, -3.56380057, -0.442090793, 8.59128806, -0.327046119, -4.7488298],
  ],
  [
    'DDIM η = 0.7',
    { sampler: 'ddim', steps: 10, spacing: 'leading', stepsOffset: 1, eta: 0.7 },
    [0.443091661, -6.91774379, -3.72396853, 0.178679588, -1.05434828, -0.406899826],
  ],
  [
    'DDPM, 10 leading steps',
    { sampler: 'ddpm', steps: 10, spacing: 'leading' },
    [0.923572035, -8.4555393, -5.5268793, -0.820465877, -1.49397944, 0.0073348889],
  ],
  [
    'DDPM, 12 trailing steps',
    { sampler: 'ddpm', steps: 12 },
    [0.714006546, -16.7751544, -9.37711669, -0.656708491, -3.38429087, 0.630265843],
  ],
];

describe('parity with diffusers (numpy port)', () => {
  for (const [name, options, expected] of cases) {
    it(name, async () => {
      const out = await sample({
        model,
        shape: [1, 6],
        schedule,
        noise: gaussianNoise(6, 3),
        seed: 17,
        ...options,
      } as SampleOptions);
      // Measured differences ≤ 4.7e-7: the float32 rounding of our output (values up to 17, so
      // ≤ 1e-6) plus the reference's 9 significant digits. 2e-6 absolute.
      for (let i = 0; i < 6; i++) expect(Math.abs(out[i]! - expected[i]!)).toBeLessThan(2e-6);
    });
  }
});
