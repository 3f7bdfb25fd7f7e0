import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countZeros, packBits, unpackBits } from '../src/bits';
import { decodeSection, encodeSection, type CoderName } from '../src/codecs/section';
import { rng, randomMask, perturb } from './helpers';

const CODER_SETS: CoderName[][] = [['raw'], ['golomb'], ['arith'], ['raw', 'golomb', 'arith']];

function entropyBytes(length: number, zeros: number): number {
  const p = zeros / length;
  if (p === 0 || p === 1) return 0;
  return (-length * (p * Math.log2(p) + (1 - p) * Math.log2(1 - p))) / 8;
}

describe('bit packing', () => {
  it('packs LSB-first and round-trips any length', () => {
    expect([...packBits(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 1))]).toEqual([1, 1]);
    expect([...packBits(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1))]).toEqual([128]);
    fc.assert(
      fc.property(fc.uint8Array({ min: 0, max: 1, maxLength: 200 }), (mask) => {
        expect(unpackBits(packBits(mask), mask.length)).toEqual(mask);
      }),
    );
  });
});

describe('section codecs', () => {
  it('round-trip every coder, with and without references, for arbitrary masks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }),
        fc.constantFrom(0, 0.001, 0.05, 0.5, 0.9, 1),
        fc.integer(),
        fc.constantFrom(...CODER_SETS),
        (length, p, seed, coders) => {
          const random = rng(seed);
          const mask = randomMask(length, p, random);
          const prev = perturb(mask, 0.05, random);
          const refs = new Map([['prev', prev] as const]);
          const section = encodeSection(mask, countZeros(mask), refs, { coders });
          expect(coders).toContain(section.coder);
          const ref = section.ref === 'none' ? null : prev;
          expect(decodeSection(section, section.payload, length, ref)).toEqual(mask);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('stays within 2% of the entropy bound from 0.5% to 50% zeros (64k weights)', () => {
    for (const p of [0.005, 0.01, 0.05, 0.066, 0.1, 0.2, 0.3, 0.4, 0.5]) {
      const mask = randomMask(65536, p, rng(Math.round(p * 1000)));
      const zeros = countZeros(mask);
      const section = encodeSection(mask, zeros, new Map());
      // 2% is the target; +8 bytes covers the coder's flush on a section this small.
      expect(section.payload.length, `p=${p} via ${section.coder}`).toBeLessThanOrEqual(
        entropyBytes(65536, zeros) * 1.02 + 8,
      );
    }
  });

  it('codes a mask that follows its reference below the XOR entropy (conditional contexts)', () => {
    const random = rng(3);
    const prev = randomMask(100_000, 0.066, random);
    const mask = perturb(prev, 0.01, random);
    const alone = encodeSection(mask, countZeros(mask), new Map());
    const coded = encodeSection(mask, countZeros(mask), new Map([['prev', prev] as const]));
    expect(coded.ref).toBe('prev');
    expect(coded.payload.length).toBeLessThan(alone.payload.length * 0.3);
  });

  it('prefers the faster coder within the size tolerance, and the smallest with tolerance 0', () => {
    const mask = randomMask(100_000, 0.066, rng(9));
    const zeros = countZeros(mask);
    expect(encodeSection(mask, zeros, new Map()).coder).toBe('golomb');
    expect(encodeSection(mask, zeros, new Map(), { sizeTolerance: 0 }).coder).toBe('arith');
  });
});
