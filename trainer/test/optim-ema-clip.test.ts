// Global gradient-norm clipping and the EMA of weights. Expected values are worked by hand in
// the comments; float32 storage is compared to 1e-6 absolute (values here are below 10, where
// float32 spacing is under 1e-6), and the decay schedule — pure float64 — to 1e-12.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clipGradNorm, EmaModel, globalGradNorm, isOptimizerError } from '../src/train';

describe('clipGradNorm', () => {
  it('scales all gradients together to the max norm', () => {
    // ‖[3, 4, 12]‖ = 13; max 6.5 → factor 6.5/(13 + 1e-6) ≈ 0.5.
    const grads = new Map([
      ['a', Float32Array.from([3, 4])],
      ['b', Float32Array.from([12])],
    ]);
    const { totalNorm, scale } = clipGradNorm(grads, 6.5);
    expect(totalNorm).toBe(13);
    expect(scale).toBeCloseTo(0.5, 7);
    expect([...(grads.get('a') ?? [])].map((v) => +v.toFixed(5))).toEqual([1.5, 2]);
    expect(grads.get('b')?.[0]).toBeCloseTo(6, 5);
  });

  it('leaves gradients under the max norm untouched', () => {
    const grads = new Map([['a', Float32Array.from([3, 4])]]);
    expect(clipGradNorm(grads, 5.5)).toEqual({ totalNorm: 5, scale: 1 });
    expect([...(grads.get('a') ?? [])]).toEqual([3, 4]);
  });

  it('does not scale by a non-finite norm (the caller can skip the step)', () => {
    const grads = new Map([['a', Float32Array.from([NaN, 1])]]);
    const result = clipGradNorm(grads, 1);
    expect(result.totalNorm).toBeNaN();
    expect(grads.get('a')?.[1]).toBe(1);
  });

  it('never leaves a norm above the maximum (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.float({ min: -100, max: 100, noNaN: true }), { minLength: 1, maxLength: 8 }), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.float({ min: Math.fround(0.01), max: 50, noNaN: true }),
        (arrays, maxNorm) => {
          const grads = new Map(arrays.map((a, i) => [`p${i}`, Float32Array.from(a)]));
          clipGradNorm(grads, maxNorm);
          // float32 storage of the scaled values may round up by a few ulps.
          expect(globalGradNorm(grads.values())).toBeLessThanOrEqual(maxNorm * (1 + 1e-6));
        },
      ),
    );
  });

  it('rejects a non-positive max norm', () => {
    expect(() => clipGradNorm(new Map(), 0)).toThrow(/maxNorm/);
  });
});

describe('EmaModel', () => {
  it('uses diffusers’ decay schedule', () => {
    const ema = new EmaModel(new Map());
    // Step 1 copies (decay 0); then (1 + s)/(10 + s) with s = step − 1: 2/11, 3/12, 4/13.
    expect([1, 2, 3, 4].map((t) => ema.decayAt(t))).toEqual([0, 2 / 11, 3 / 12, 4 / 13]);
    expect(ema.decayAt(1e9)).toBe(0.9999); // capped at `decay`
    const warm = new EmaModel(new Map(), { useWarmup: true, power: 2 / 3 });
    // 1 − (1 + s)^(−2/3): s = 1 → 1 − 2^(−2/3) = 0.370039…
    expect(warm.decayAt(2)).toBeCloseTo(1 - 2 ** (-2 / 3), 12);
    const delayed = new EmaModel(new Map(), { updateAfterStep: 1, minDecay: 0.5 });
    expect(delayed.decayAt(2)).toBe(0); // still copying until updateAfterStep + 1
    expect(delayed.decayAt(3)).toBe(0.5); // 2/11 raised to minDecay
  });

  it('averages: shadow ← shadow − (1 − decay)·(shadow − param)', () => {
    const p = new Map([['w', Float32Array.from([1, -1])]]);
    const ema = new EmaModel(p);
    p.get('w')?.set([3, 1]);
    expect(ema.step(p)).toBe(0); // step 1: copy
    expect([...(ema.shadow.get('w') ?? [])]).toEqual([3, 1]);
    p.get('w')?.set([14, 12]);
    const decay = ema.step(p); // 2/11: shadow = 3 − (9/11)·(3 − 14) = 12
    expect(decay).toBeCloseTo(2 / 11, 12);
    expect(ema.shadow.get('w')?.[0]).toBeCloseTo(12, 5);
    expect(ema.shadow.get('w')?.[1]).toBeCloseTo(10, 5); // 1 − (9/11)·(1 − 12) = 10
  });

  it('round-trips its state and copies the average out', () => {
    const p = new Map([['w', Float32Array.from([0.5])]]);
    const a = new EmaModel(p, { decay: 0.9 });
    for (const v of [1, 2, 3]) {
      p.get('w')?.set([v]);
      a.step(p);
    }
    const b = new EmaModel(new Map([['w', new Float32Array(1)]]), { decay: 0.9 });
    b.loadState(a.state());
    expect(b.stepCount).toBe(3);
    p.get('w')?.set([4]);
    a.step(p);
    b.step(p);
    expect(b.shadow.get('w')?.[0]).toBe(a.shadow.get('w')?.[0]);
    const out = new Map([['w', new Float32Array(1)]]);
    b.copyTo(out);
    expect(out.get('w')?.[0]).toBe(b.shadow.get('w')?.[0]);
  });

  it('refuses parameters that do not match the shadow', () => {
    const ema = new EmaModel(new Map([['w', new Float32Array(2)]]));
    let caught: unknown;
    try {
      ema.step(new Map([['w', new Float32Array(3)]]));
    } catch (error) {
      caught = error;
    }
    expect(isOptimizerError(caught, 'shape_mismatch')).toBe(true);
    expect(() => ema.step(new Map())).toThrow(expect.objectContaining({ code: 'bad_state' }));
    expect(ema.stepCount).toBe(0);
  });
});
