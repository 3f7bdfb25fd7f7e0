// Noise schedules and inference timesteps against diffusers: ᾱ values, and set_timesteps output
// for every spacing and step count (fingerprints of numpy reruns of diffusers' formulas).
import { describe, expect, it } from 'vitest';
import {
  createSchedule,
  fromDiffusersConfig,
  inferenceTimesteps,
  roundHalfEven,
  snr,
} from '../src/samplers/index';
import type { SamplerName, TimestepSpacing } from '../src/samplers/index';

// diffusers computes ᾱ in float32; we compute in float64. Relative differences measured with
// numpy are ≤ 2.1e-6 for linear/scaled_linear, so 1e-5 relative is the tolerance.
const DIFFUSERS_RELATIVE = 1e-5;

function expectRelative(actual: number, expected: number, tolerance: number): void {
  expect(Math.abs(actual - expected) / Math.abs(expected)).toBeLessThan(tolerance);
}

describe('createSchedule', () => {
  it('linear (DDPM) matches diffusers', () => {
    const { alphasCumprod, betas } = createSchedule({ betaSchedule: 'linear' });
    expect(betas[0]).toBe(0.0001);
    expect(betas[999]).toBe(0.02);
    expect(alphasCumprod[0]).toBeCloseTo(0.9999, 15);
    // diffusers (float32 torch): ᾱ[499] = 0.07858724, ᾱ[999] = 4.0358325e-05.
    expectRelative(alphasCumprod[499]!, 0.07858724, DIFFUSERS_RELATIVE);
    expectRelative(alphasCumprod[999]!, 4.0358325e-5, DIFFUSERS_RELATIVE);
  });

  it('scaled_linear (Stable Diffusion) matches diffusers', () => {
    const schedule = createSchedule({ betaSchedule: 'scaled_linear' });
    expect(schedule.betaStart).toBe(0.00085);
    expect(schedule.betaEnd).toBe(0.012);
    expect(schedule.alphasCumprod[0]).toBeCloseTo(0.99915, 15);
    // diffusers (float32): ᾱ[1] = 0.998296, ᾱ[499] = 0.2776695, ᾱ[999] = 0.0046600895.
    expectRelative(schedule.alphasCumprod[1]!, 0.99829603, DIFFUSERS_RELATIVE);
    expectRelative(schedule.alphasCumprod[499]!, 0.2776695, DIFFUSERS_RELATIVE);
    expectRelative(schedule.alphasCumprod[999]!, 0.0046600895, DIFFUSERS_RELATIVE);
  });

  it('squaredcos_cap_v2 telescopes to the cosine ᾱ(t) and caps the last beta', () => {
    const { alphasCumprod, betas } = createSchedule({ betaSchedule: 'squaredcos_cap_v2' });
    const alphaBar = (t: number): number => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    // Without clipping ᾱ[t] = ᾱ((t+1)/T)/ᾱ(0) exactly; float64 products drift by ~1e-13.
    for (const t of [0, 1, 100, 500, 900, 990]) {
      expectRelative(alphasCumprod[t]!, alphaBar((t + 1) / 1000) / alphaBar(0), 1e-12);
    }
    expect(betas[999]).toBe(0.999);
    expectRelative(alphasCumprod[0]!, 0.999958715775178, 1e-12);
  });

  it('ᾱ is strictly decreasing and inside (0, 1) for every schedule', () => {
    for (const betaSchedule of ['linear', 'scaled_linear', 'squaredcos_cap_v2'] as const) {
      const { alphasCumprod } = createSchedule({ betaSchedule, numTrainTimesteps: 4000 });
      expect(alphasCumprod.length).toBe(4000);
      const bad = alphasCumprod.findIndex(
        (a, t) => !(a > 0 && a < 1 && (t === 0 || a < alphasCumprod[t - 1]!)),
      );
      expect({ betaSchedule, bad }).toEqual({ betaSchedule, bad: -1 });
    }
  });

  it('snr is ᾱ/(1 − ᾱ)', () => {
    const schedule = createSchedule({ betaSchedule: 'scaled_linear' });
    expect(snr(schedule, 0)).toBeCloseTo(0.99915 / 0.00085, 9);
    expect(snr(schedule, 999)).toBeCloseTo(
      schedule.alphasCumprod[999]! / (1 - schedule.alphasCumprod[999]!),
      15,
    );
  });
});

describe('inferenceTimesteps', () => {
  it('reproduces diffusers for the common configurations', () => {
    // From numpy reruns of diffusers' DDIMScheduler / DPMSolverMultistepScheduler.set_timesteps.
    expect(
      Array.from(inferenceTimesteps(1000, 50, { spacing: 'leading', stepsOffset: 1 })).slice(0, 5),
    ).toEqual([981, 961, 941, 921, 901]);
    expect(Array.from(inferenceTimesteps(1000, 50, { spacing: 'leading', stepsOffset: 1 })).at(-1)).toBe(1);
    expect(Array.from(inferenceTimesteps(1000, 10))).toEqual([
      999, 899, 799, 699, 599, 499, 399, 299, 199, 99,
    ]);
    expect(Array.from(inferenceTimesteps(1000, 10, { spacing: 'linspace' }))).toEqual([
      999, 888, 777, 666, 555, 444, 333, 222, 111, 0,
    ]);
    expect(Array.from(inferenceTimesteps(1000, 10, { spacing: 'linspace', sampler: 'dpmpp2m' }))).toEqual([
      999, 899, 799, 699, 599, 500, 400, 300, 200, 100,
    ]);
    expect(
      Array.from(inferenceTimesteps(1000, 10, { spacing: 'leading', stepsOffset: 1, sampler: 'dpmpp2m' })),
    ).toEqual([901, 811, 721, 631, 541, 451, 361, 271, 181, 91]);
    // 1000/16 = 62.5 makes exact ties, which numpy rounds to even: 812.5 → 812 (then −1 = 811),
    // where Math.round would give 813.
    expect(Array.from(inferenceTimesteps(1000, 16))).toEqual([
      999, 937, 874, 811, 749, 687, 624, 561, 499, 437, 374, 311, 249, 187, 124, 61,
    ]);
  });

  it('keeps exactly N trailing steps where numpy.arange would add a −1', () => {
    const timesteps = inferenceTimesteps(1000, 61);
    expect(timesteps.length).toBe(61);
    expect(timesteps[0]).toBe(999);
    expect(Math.min(...timesteps)).toBeGreaterThanOrEqual(0);
  });

  it('matches numpy for every step count 1…1000 (fingerprints)', () => {
    // Fingerprint: h = (31·h + value) mod 1e9+7 over each run's length and its timesteps + 1,
    // for steps = 1 … 1000 at T = 1000, stepsOffset 0, computed with numpy from diffusers'
    // formulas (duplicates removed as DPMSolverMultistepScheduler does).
    const expected: Record<string, number> = {
      'leading/ddim': 732859361,
      'leading/dpmpp2m': 515020768,
      'trailing/ddim': 832305335,
      'trailing/dpmpp2m': 832305335,
      'linspace/ddim': 903909941,
      'linspace/dpmpp2m': 345879991,
    };
    for (const [key, fingerprint] of Object.entries(expected)) {
      const [spacing, sampler] = key.split('/') as [TimestepSpacing, SamplerName];
      let h = 0;
      for (let steps = 1; steps <= 1000; steps++) {
        const timesteps = inferenceTimesteps(1000, steps, { spacing, sampler });
        h = (h * 31 + timesteps.length) % 1_000_000_007;
        for (const t of timesteps) h = (h * 31 + t + 1) % 1_000_000_007;
      }
      expect({ key, h }).toEqual({ key, h: fingerprint });
    }
  });

  it('is strictly decreasing and in range for every configuration', () => {
    for (const spacing of ['leading', 'trailing', 'linspace'] as const) {
      for (const sampler of ['ddpm', 'ddim', 'dpmpp2m'] as const) {
        for (const steps of [1, 2, 3, 7, 25, 333, 999]) {
          const timesteps = inferenceTimesteps(1000, steps, { spacing, sampler });
          expect(timesteps.length).toBeGreaterThan(0);
          expect(timesteps.length).toBeLessThanOrEqual(steps);
          const bad = timesteps.findIndex(
            (t, i) => !(t >= 0 && t < 1000 && (i === 0 || t < timesteps[i - 1]!)),
          );
          expect({ spacing, sampler, steps, bad }).toEqual({ spacing, sampler, steps, bad: -1 });
        }
      }
    }
  });

  it('roundHalfEven is numpy.round', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999, 2.5001].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, 2, 3]);
  });
});

describe('rescaleBetasZeroSnr (Lin et al. 2024, Algorithm 1)', () => {
  for (const betaSchedule of ['linear', 'scaled_linear', 'squaredcos_cap_v2'] as const) {
    it(`${betaSchedule}: zero SNR at the last timestep, the first ᾱ kept, sqrt(ᾱ) an affine map of the original`, () => {
      const original = createSchedule({ betaSchedule });
      const rescaled = createSchedule({ betaSchedule, rescaleBetasZeroSnr: true });
      const n = original.numTrainTimesteps;
      expect(rescaled.rescaleBetasZeroSnr).toBe(true);
      expect(rescaled.alphasCumprod[n - 1]).toBe(0);
      expect(snr(rescaled, n - 1)).toBe(0);
      // Float64 arithmetic throughout: 1e-12 relative leaves room for the cumulative products.
      expectRelative(rescaled.alphasCumprod[0]!, original.alphasCumprod[0]!, 1e-12);
      const r0 = Math.sqrt(original.alphasCumprod[0]!);
      const rT = Math.sqrt(original.alphasCumprod[n - 1]!);
      for (const t of [1, 10, 250, 500, 900, 998]) {
        const expected = ((Math.sqrt(original.alphasCumprod[t]!) - rT) * r0) / (r0 - rT);
        expectRelative(Math.sqrt(rescaled.alphasCumprod[t]!), expected, 1e-9);
      }
      for (let t = 1; t < n; t++)
        expect(rescaled.alphasCumprod[t]!).toBeLessThan(rescaled.alphasCumprod[t - 1]!);
    });
  }

  it('is read from a diffusers config', () => {
    const settings = fromDiffusersConfig({
      _class_name: 'DDIMScheduler',
      beta_schedule: 'scaled_linear',
      beta_start: 0.00085,
      beta_end: 0.012,
      rescale_betas_zero_snr: true,
      prediction_type: 'v_prediction',
      timestep_spacing: 'trailing',
    });
    expect(settings.schedule.alphasCumprod[999]).toBe(0);
    expect(settings.predictionType).toBe('v_prediction');
    expect(() => fromDiffusersConfig({ rescale_betas_zero_snr: 'yes' })).toThrow(TypeError);
  });
});

describe('fromDiffusersConfig', () => {
  it("reads Stable Diffusion 1.5's scheduler_config.json", () => {
    const settings = fromDiffusersConfig({
      _class_name: 'PNDMScheduler',
      beta_end: 0.012,
      beta_schedule: 'scaled_linear',
      beta_start: 0.00085,
      num_train_timesteps: 1000,
      set_alpha_to_one: false,
      skip_prk_steps: true,
      steps_offset: 1,
      trained_betas: null,
    });
    expect(settings.schedule.betaSchedule).toBe('scaled_linear');
    expectRelative(settings.schedule.alphasCumprod[999]!, 0.0046600895, DIFFUSERS_RELATIVE);
    expect(settings).toMatchObject({
      predictionType: 'epsilon',
      spacing: 'leading',
      stepsOffset: 1,
      setAlphaToOne: false,
    });
    expect(settings.clipSample).toBeUndefined();
  });

  it('refuses features it does not implement', () => {
    expect(() => fromDiffusersConfig({ thresholding: true })).toThrow(/thresholding/);
    expect(() => fromDiffusersConfig({ trained_betas: [0.1] })).toThrow(RangeError);
    expect(() => fromDiffusersConfig({ beta_schedule: 'sigmoid' })).toThrow(/config.beta_schedule/);
  });
});
