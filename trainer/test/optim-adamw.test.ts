// AdamW against a two-step example worked by hand, decoupled weight decay, schedules, state
// round trips and refusals. Tolerances: parameters are float32, so values written out in
// decimal are compared to 1e-6 absolute (float32 spacing near 2 is 2.4e-7); round trips must be
// bit-identical because the arithmetic is deterministic.
import { describe, expect, it } from 'vitest';
import {
  AdamW,
  constantSchedule,
  isOptimizerError,
  warmupCosineSchedule,
  type TrainingState,
} from '../src/train';

const params = (values: number[]): Map<string, Float32Array> => new Map([['w', Float32Array.from(values)]]);
const grads = (values: number[]): Map<string, Float32Array> => new Map([['w', Float32Array.from(values)]]);

describe('AdamW', () => {
  it('matches a two-step example worked by hand', () => {
    // lr 0.1, λ 0.01, β₁ 0.9, β₂ 0.999, ε 1e-8; p₀ = [1, −2]; g₁ = [0.5, −1]; g₂ = [0.1, 0.2].
    // Step 1: decay p·(1 − 0.001) = [0.999, −1.998]. m = 0.1·g₁ = [0.05, −0.1], v = 0.001·g₁².
    //   lr/(1−β₁) = 1; √v/√(1−β₂) = |g₁| = [0.5, 1], so the step is m/|g₁| = [0.1, −0.1] (ε aside):
    //   p₁ = [0.899, −1.898].
    // Step 2: decay → [0.898101, −1.896102]. m = 0.9·m + 0.1·g₂ = [0.055, −0.07];
    //   v = 0.999·v + 0.001·g₂² = [0.00025975, 0.001039]. lr/(1 − 0.81) = 0.526316;
    //   √v/√(1 − 0.998001) = [0.016117, 0.032234]/0.044710 = [0.360472, 0.720943];
    //   step = 0.526316·m/that = [0.080304, −0.051103] → p₂ = [0.817797, −1.844999].
    const p = params([1, -2]);
    const opt = new AdamW(p, { lr: 0.1, weightDecay: 0.01 });
    opt.step(grads([0.5, -1]));
    expect(p.get('w')?.[0]).toBeCloseTo(0.899, 6);
    expect(p.get('w')?.[1]).toBeCloseTo(-1.898, 6);
    opt.step(grads([0.1, 0.2]));
    expect(p.get('w')?.[0]).toBeCloseTo(0.817797, 6);
    expect(p.get('w')?.[1]).toBeCloseTo(-1.844999, 6);
    expect(opt.stepCount).toBe(2);
    const state = opt.state();
    expect(state.tensors['exp_avg/w']?.[0]).toBeCloseTo(0.055, 7);
    expect(state.tensors['exp_avg_sq/w']?.[1]).toBeCloseTo(0.001039, 9);
  });

  it('decays weights independently of the gradient (decoupled), and only where asked', () => {
    const p = new Map([
      ['w', Float32Array.from([2])],
      ['bias', Float32Array.from([2])],
    ]);
    const opt = new AdamW(p, { lr: 0.5, weightDecay: 0.1, decays: (name) => name !== 'bias' });
    opt.step(
      new Map([
        ['w', Float32Array.from([0])],
        ['bias', Float32Array.from([0])],
      ]),
    );
    // Zero gradient: Adam's step is 0, so only the decay 2·(1 − 0.5·0.1) = 1.9 acts.
    expect(p.get('w')?.[0]).toBeCloseTo(1.9, 6);
    expect(p.get('bias')?.[0]).toBe(2);
  });

  it('follows a learning-rate schedule by completed steps', () => {
    const p = params([0]);
    const opt = new AdamW(p, { lr: constantSchedule(0.2, 2), weightDecay: 0 });
    expect(opt.nextLr).toBe(0);
    expect(opt.step(grads([1]))).toBe(0);
    expect(p.get('w')?.[0]).toBe(0); // diffusers' warm-up starts at lr 0
    expect(opt.step(grads([1]))).toBeCloseTo(0.1, 12);
    expect(opt.step(grads([1]))).toBeCloseTo(0.2, 12);
  });

  it('round-trips its state: a restored optimiser continues bit-identically', () => {
    const gradSeq = [
      [0.3, -0.2, 0.1],
      [-0.5, 0.4, 0.05],
      [0.2, 0.2, -0.3],
    ];
    const a = params([0.1, 0.2, 0.3]);
    const optA = new AdamW(a, { lr: 0.05 });
    for (const g of gradSeq.slice(0, 2)) optA.step(grads(g));
    const saved: TrainingState = optA.state();
    const b = params([...(a.get('w') ?? [])]);
    const optB = new AdamW(b, { lr: 0.05 });
    optB.loadState(saved);
    optA.step(grads(gradSeq[2] ?? []));
    optB.step(grads(gradSeq[2] ?? []));
    expect(optB.stepCount).toBe(3);
    expect([...(b.get('w') ?? [])]).toEqual([...(a.get('w') ?? [])]);
  });

  it('refuses a missing or mis-sized gradient without changing anything', () => {
    const p = params([1, 2]);
    const opt = new AdamW(p);
    expect(() => opt.step(new Map())).toThrow(expect.objectContaining({ code: 'missing_gradient' }));
    let caught: unknown;
    try {
      opt.step(grads([1]));
    } catch (error) {
      caught = error;
    }
    expect(isOptimizerError(caught, 'shape_mismatch')).toBe(true);
    expect([...(p.get('w') ?? [])]).toEqual([1, 2]);
    expect(opt.stepCount).toBe(0);
  });

  it('refuses a state for other parameters', () => {
    const opt = new AdamW(params([1, 2]));
    const other = new AdamW(new Map([['v', new Float32Array(2)]])).state();
    expect(() => opt.loadState(other)).toThrow(expect.objectContaining({ code: 'bad_state' }));
    const short = {
      tensors: { 'exp_avg/w': new Float32Array(1), 'exp_avg_sq/w': new Float32Array(1) },
      scalars: { step: 1 },
    };
    expect(() => opt.loadState(short)).toThrow(expect.objectContaining({ code: 'shape_mismatch' }));
  });

  it('rejects invalid hyper-parameters naming them', () => {
    expect(() => new AdamW(params([1]), { beta1: 1 })).toThrow(/beta1/);
    expect(() => new AdamW(params([1]), { lr: -1 })).toThrow(/lr/);
    expect(() => new AdamW(params([1]), { eps: 0 })).toThrow(/eps/);
  });
});

describe('warm-up + cosine schedule', () => {
  const schedule = warmupCosineSchedule({ peakLr: 1e-3, warmupSteps: 10, totalSteps: 110 });

  it('rises linearly from 0, peaks after warm-up, halves mid-way and ends at the floor', () => {
    expect(schedule(0)).toBe(0);
    expect(schedule(5)).toBeCloseTo(5e-4, 12);
    expect(schedule(10)).toBeCloseTo(1e-3, 12);
    expect(schedule(60)).toBeCloseTo(5e-4, 12); // cos(π/2) = 0 → half of the peak
    expect(schedule(110)).toBeCloseTo(0, 12);
  });

  it('honours a floor ratio', () => {
    const floored = warmupCosineSchedule({ peakLr: 1e-3, warmupSteps: 0, totalSteps: 100, minLrRatio: 0.1 });
    expect(floored(0)).toBeCloseTo(1e-3, 12);
    expect(floored(100)).toBeCloseTo(1e-4, 12);
  });
});
