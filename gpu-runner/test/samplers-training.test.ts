// Forward-process utilities for the trainer: q_sample, the v target and its inverse relations
// (which the samplers rely on), regression targets and Min-SNR-γ weights.
import { describe, expect, it } from 'vitest';
import {
  addNoise,
  cappedVelocityWeights,
  createSchedule,
  gaussianNoise,
  minSnrWeights,
  snr,
  trainingTarget,
  velocity,
} from '../src/samplers/index';

const schedule = createSchedule({ betaSchedule: 'scaled_linear' });

// Results are float64 arithmetic rounded once to float32: relative error ≤ 2^-24 ≈ 6e-8, so
// 1e-6 absolute covers values of magnitude up to ~10.
const FLOAT32 = 1e-6;

describe('addNoise / velocity', () => {
  const x0 = Float32Array.from(gaussianNoise(12, 1), (v) => v * 0.5);
  const noise = gaussianNoise(12, 2);
  const timesteps = [0, 500, 999];

  it('q_sample uses each sample’s own timestep', () => {
    const noisy = addNoise(schedule, x0, noise, timesteps);
    for (let i = 0; i < 12; i++) {
      const alphaCumprod = schedule.alphasCumprod[timesteps[Math.floor(i / 4)]!]!;
      expect(noisy[i]).toBeCloseTo(
        Math.sqrt(alphaCumprod) * x0[i]! + Math.sqrt(1 - alphaCumprod) * noise[i]!,
        6,
      );
    }
    // A batch is the concatenation of single-sample calls.
    const second = addNoise(schedule, x0.subarray(4, 8), noise.subarray(4, 8), [500]);
    expect(Array.from(noisy.subarray(4, 8))).toEqual(Array.from(second));
  });

  it('v = √ᾱ·ε − √(1−ᾱ)·x0, and (x_t, v) recover x0 and ε as the samplers assume', () => {
    const noisy = addNoise(schedule, x0, noise, timesteps);
    const v = velocity(schedule, x0, noise, timesteps);
    for (let i = 0; i < 12; i++) {
      const alphaCumprod = schedule.alphasCumprod[timesteps[Math.floor(i / 4)]!]!;
      const alpha = Math.sqrt(alphaCumprod);
      const sigma = Math.sqrt(1 - alphaCumprod);
      expect(v[i]).toBeCloseTo(alpha * noise[i]! - sigma * x0[i]!, 6);
      // Inverse relations used by splitPrediction for v_prediction; errors are the float32
      // rounding of x_t and v (two roundings, each ≤ FLOAT32).
      expect(Math.abs(alpha * noisy[i]! - sigma * v[i]! - x0[i]!)).toBeLessThan(2 * FLOAT32);
      expect(Math.abs(alpha * v[i]! + sigma * noisy[i]! - noise[i]!)).toBeLessThan(2 * FLOAT32);
    }
  });

  it('trainingTarget picks noise, v or x0 and returns a copy', () => {
    const eps = trainingTarget('epsilon', schedule, x0, noise, timesteps);
    expect(Array.from(eps)).toEqual(Array.from(noise));
    expect(eps).not.toBe(noise);
    expect(Array.from(trainingTarget('sample', schedule, x0, noise, timesteps))).toEqual(Array.from(x0));
    expect(Array.from(trainingTarget('v_prediction', schedule, x0, noise, timesteps))).toEqual(
      Array.from(velocity(schedule, x0, noise, timesteps)),
    );
  });
});

describe('minSnrWeights', () => {
  it('clips the SNR at γ per prediction type', () => {
    const gamma = 5;
    // SNR(999) ≈ 0.0047 < γ; SNR(0) ≈ 1175 > γ.
    const [low, high] = [999, 0];
    const snrLow = snr(schedule, low);
    const snrHigh = snr(schedule, high);
    const eps = minSnrWeights(schedule, [low, high], gamma, 'epsilon');
    expect(eps[0]).toBe(1);
    expect(eps[1]).toBeCloseTo(gamma / snrHigh, 12);
    const v = minSnrWeights(schedule, [low, high], gamma, 'v_prediction');
    expect(v[0]).toBeCloseTo(snrLow / (snrLow + 1), 12);
    expect(v[1]).toBeCloseTo(gamma / (snrHigh + 1), 12);
    expect(Array.from(minSnrWeights(schedule, [low, high], gamma, 'sample'))).toEqual([snrLow, gamma]);
  });
});

describe('cappedVelocityWeights', () => {
  const zeroSnr = createSchedule({ betaSchedule: 'squaredcos_cap_v2', rescaleBetasZeroSnr: true });

  it('keeps weight 1 where SNR + 1 ≤ γ (including zero SNR) and caps SNR + 1 at γ above', () => {
    const gamma = 5;
    const timesteps = [999, 700, 0];
    const weights = cappedVelocityWeights(zeroSnr, timesteps, gamma);
    expect(weights[0]).toBe(1);
    const mid = snr(zeroSnr, 700);
    expect(mid + 1).toBeLessThan(gamma);
    expect(weights[1]).toBe(1);
    const top = snr(zeroSnr, 0);
    expect(weights[2]).toBeCloseTo(gamma / (top + 1), 12);
  });

  it('is where plain Min-SNR-γ fails at zero SNR: v weight 0, ε weight undefined', () => {
    expect(minSnrWeights(zeroSnr, [999], 5, 'v_prediction')[0]).toBe(0);
    expect(() => minSnrWeights(zeroSnr, [999], 5, 'epsilon')).toThrow(/zero SNR/);
    expect(() => cappedVelocityWeights(zeroSnr, [999], 0.5)).toThrow(RangeError);
  });
});
