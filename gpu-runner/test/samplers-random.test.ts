// Seeded noise: Philox known answers, Gaussian statistics, the per-sample seeding contract that
// lets a batch of tenants reproduce their separate runs, and unbiased training timesteps.
import { describe, expect, it } from 'vitest';
import {
  UniformStream,
  batchNoise,
  createSchedule,
  fillGaussian,
  gaussianNoise,
  philox4x32,
  sampleSeeds,
  sampleTrainingTimesteps,
} from '../src/samplers/index';

const hex = (words: Uint32Array): string[] => Array.from(words, (w) => w.toString(16).padStart(8, '0'));

describe('philox4x32', () => {
  // Random123's kat_vectors for philox4x32 with 10 rounds.
  it('matches the Random123 known-answer vectors', () => {
    expect(hex(philox4x32([0, 0, 0, 0], [0, 0]))).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
    expect(
      hex(philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff])),
    ).toEqual(['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
    expect(
      hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])),
    ).toEqual(['d16cfe09', '94fdcceb', '5001e420', '24126ea1']);
  });
});

describe('gaussianNoise', () => {
  it('is pinned: these values are what every seeded image depends on', () => {
    // Regression pin, cross-checked against an independent Python implementation (big-integer
    // Philox, CPython's libm, numpy float32 rounding). A change here changes every image.
    expect(Array.from(gaussianNoise(4, 0))).toEqual([
      -0.12151796370744705, -1.3500326871871948, -0.08187421411275864, -0.2227090448141098,
    ]);
    expect(Array.from(gaussianNoise(3, 12345, 7))).toEqual([
      -0.5743410587310791, -0.4091270864009857, -0.00670534186065197,
    ]);
  });

  it('gives identical bytes for the same seed and stream, different values otherwise', () => {
    const a = gaussianNoise(1001, 42);
    expect(new Uint8Array(gaussianNoise(1001, 42).buffer)).toEqual(new Uint8Array(a.buffer));
    const otherSeed = gaussianNoise(1001, 43);
    const otherStream = gaussianNoise(1001, 42, 1);
    expect(a.some((v, i) => v !== otherSeed[i])).toBe(true);
    expect(a.some((v, i) => v !== otherStream[i])).toBe(true);
    // The key uses both 32-bit halves of the seed: 2^32 + 5 is not 5.
    expect(Array.from(gaussianNoise(8, 2 ** 32 + 5))).not.toEqual(Array.from(gaussianNoise(8, 5)));
  });

  it('is a prefix-stable stream: shorter draws are prefixes of longer ones', () => {
    const long = gaussianNoise(1000, 9);
    for (const length of [0, 1, 2, 3, 999])
      expect(Array.from(gaussianNoise(length, 9))).toEqual(Array.from(long.subarray(0, length)));
  });

  it('writes float32 values into a Float64Array too', () => {
    const wide = new Float64Array(257);
    fillGaussian(wide, 3, 2);
    expect(Array.from(wide)).toEqual(Array.from(gaussianNoise(257, 3, 2)));
    expect(wide.every((v) => Math.fround(v) === v)).toBe(true);
  });

  it('has standard normal moments', () => {
    const n = 1 << 18;
    const z = gaussianNoise(n, 2024);
    let sum = 0;
    let sumSq = 0;
    let sum4 = 0;
    let tail = 0;
    for (const v of z) {
      sum += v;
      sumSq += v * v;
      sum4 += v ** 4;
      if (Math.abs(v) > 3) tail++;
    }
    const mean = sum / n;
    const variance = sumSq / n - mean * mean;
    // 5 standard errors: SE(mean) = 1/sqrt(n), SE(var) = sqrt(2/n), SE(E z^4) = sqrt(96/n),
    // SE(tail fraction) = sqrt(p(1-p)/n) with p = 0.0027.
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(Math.abs(sum4 / n - 3)).toBeLessThan(5 * Math.sqrt(96 / n));
    expect(Math.abs(tail / n - 0.0027)).toBeLessThan(5 * Math.sqrt((0.0027 * 0.9973) / n));
  });

  it('has uncorrelated neighbours and uncorrelated streams', () => {
    const n = 1 << 16;
    const a = gaussianNoise(n, 1);
    const b = gaussianNoise(n, 1, 1);
    let lag1 = 0;
    let cross = 0;
    for (let i = 0; i < n - 1; i++) lag1 += a[i]! * a[i + 1]!;
    for (let i = 0; i < n; i++) cross += a[i]! * b[i]!;
    // Correlation of independent N(0,1) pairs has standard error 1/sqrt(n); 5 SE.
    expect(Math.abs(lag1 / n)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(cross / n)).toBeLessThan(5 / Math.sqrt(n));
  });
});

describe('batch seeding', () => {
  it('sample i of a batch seeded s is the sample generated alone with seed s + i', () => {
    const batch = batchNoise([3, 2, 5, 5], 100);
    for (let i = 0; i < 3; i++) {
      expect(Array.from(batch.subarray(i * 50, (i + 1) * 50))).toEqual(
        Array.from(gaussianNoise(50, 100 + i)),
      );
    }
  });

  it('takes one seed per sample', () => {
    const batch = batchNoise([2, 7], [5, 2 ** 40]);
    expect(Array.from(batch.subarray(0, 7))).toEqual(Array.from(gaussianNoise(7, 5)));
    expect(Array.from(batch.subarray(7))).toEqual(Array.from(gaussianNoise(7, 2 ** 40)));
    expect(sampleSeeds(7, 3)).toEqual([7, 8, 9]);
  });
});

describe('uniform integers', () => {
  it('are unbiased over a non-power-of-two range (chi-square)', () => {
    const stream = new UniformStream(77);
    const bins = 10;
    const n = 100_000;
    const counts = new Array<number>(bins).fill(0);
    for (let i = 0; i < n; i++) {
      const v = stream.nextBelow(bins);
      counts[v] = counts[v]! + 1;
    }
    const expected = n / bins;
    const chi2 = counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
    // 9 degrees of freedom: P(chi2 > 27.88) = 0.001.
    expect(chi2).toBeLessThan(27.88);
  });

  it('sampleTrainingTimesteps is seeded, in range and covers the range', () => {
    const schedule = createSchedule({ betaSchedule: 'linear' });
    const a = sampleTrainingTimesteps(schedule, 20_000, 5, { stream: 3 });
    expect(Array.from(sampleTrainingTimesteps(schedule, 20_000, 5, { stream: 3 }))).toEqual(Array.from(a));
    expect(Array.from(sampleTrainingTimesteps(schedule, 100, 5, { stream: 4 }))).not.toEqual(
      Array.from(a.subarray(0, 100)),
    );
    expect(Math.min(...a)).toBe(0);
    expect(Math.max(...a)).toBe(999);
    const mean = a.reduce((s, t) => s + t, 0) / a.length;
    // Uniform on {0..999}: mean 499.5, sd 288.7; 5 SE = 5 · 288.7 / sqrt(20000) ≈ 10.2.
    expect(Math.abs(mean - 499.5)).toBeLessThan(10.3);
    const narrow = sampleTrainingTimesteps(schedule, 1000, 1, { low: 10, high: 12 });
    expect(new Set(narrow)).toEqual(new Set([10, 11]));
  });
});
