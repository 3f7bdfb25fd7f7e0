import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeBank, evenBucketEdges, MaskBank, bucketForTimestep } from '../src/index';
import { perturb, randomLayout, randomMasks, rng, SMALL_LAYOUT } from './helpers';

describe('bank round trips', () => {
  it('decodes exactly what was encoded, for random layouts, buckets and zero fractions', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer(),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom(0, 0.001, 0.05, 0.5, 1),
        async (seed, buckets, p) => {
          const random = rng(seed);
          const layout = randomLayout(random);
          const masks = randomMasks(layout, buckets, p, random);
          const bank = await encodeBank({ layout, masks, modelId: 'tiny', meta: { tenant: 't1' } });
          expect(bank.decodeAll()).toEqual(masks);
          for (let b = 0; b < buckets; b++) {
            expect(bank.decodeBucket(b)).toEqual(masks[b]);
          }
          expect(bank.header.modelId).toBe('tiny');
          expect(bank.header.meta).toEqual({ tenant: 't1' });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('gives byte-identical banks and ids for the same masks and options', async () => {
    const masks = randomMasks(SMALL_LAYOUT, 3, 0.1, rng(1));
    const a = await encodeBank({ layout: SMALL_LAYOUT, masks, meta: { b: 1, a: [1, 'x'] } });
    const copies = masks.map((bucket) => bucket.map((m) => m.slice()));
    const b = await encodeBank({ layout: SMALL_LAYOUT, masks: copies, meta: { a: [1, 'x'], b: 1 } });
    expect(b.bytes).toEqual(a.bytes);
    expect(b.id).toBe(a.id);
    expect((await MaskBank.open(a.bytes)).id).toBe(a.id);
    const flipped = copies.map((bucket) => bucket.map((m) => m.slice()));
    const layer = flipped[2]![1]!;
    layer[7] = layer[7]! ^ 1;
    const other = await encodeBank({ layout: SMALL_LAYOUT, masks: flipped, meta: { a: [1, 'x'], b: 1 } });
    expect(other.id).not.toBe(a.id);
  });

  it('codes correlated buckets against the previous bucket and decodes any single layer', async () => {
    const random = rng(5);
    const first = randomMasks(SMALL_LAYOUT, 1, 0.066, random)[0]!;
    const masks = [first];
    for (let b = 1; b < 6; b++) masks.push(masks[b - 1]!.map((m) => perturb(m, 0.01, random)));
    const bank = await encodeBank({ layout: SMALL_LAYOUT, masks });
    expect(bank.header.sections.some((s) => s.ref === 'prev')).toBe(true);
    expect(bank.decodeLayer(5, 1)).toEqual(masks[5]![1]);
    const noRefs = await encodeBank({ layout: SMALL_LAYOUT, masks }, { prevRefs: false });
    expect(noRefs.header.sections.every((s) => s.ref === 'none')).toBe(true);
    expect(noRefs.decodeAll()).toEqual(masks);
  });

  it('decodes previous-bucket chains in any order, with or without the decode cache', async () => {
    const random = rng(12);
    const masks = [randomMasks(SMALL_LAYOUT, 1, 0.066, random)[0]!];
    for (let b = 1; b < 5; b++) masks.push(masks[b - 1]!.map((m) => perturb(m, 0.02, random)));
    const encoded = await encodeBank({ layout: SMALL_LAYOUT, masks }, { sizeTolerance: 0 });
    for (const decodeCacheBytes of [0, 1 << 20]) {
      const bank = await MaskBank.open(encoded.bytes, { decodeCacheBytes });
      for (let b = 4; b >= 0; b--) expect(bank.decodeBucket(b)).toEqual(masks[b]);
      // Returned masks are copies: writing to one does not change the next decode.
      bank.decodeLayer(3, 0).fill(0);
      expect(bank.decodeLayer(3, 0)).toEqual(masks[3]![0]);
    }
  });

  it('maps timesteps to buckets by half-open edges', async () => {
    const edges = [0, 250, 600, 1000];
    expect([0, 249, 250, 599.9, 600, 999, 1000, -5, 5000].map((t) => bucketForTimestep(edges, t))).toEqual([
      0, 0, 1, 1, 2, 2, 2, 0, 2,
    ]);
    const masks = randomMasks(SMALL_LAYOUT, 3, 0.1, rng(8));
    const bank = await encodeBank({ layout: SMALL_LAYOUT, masks, bucketEdges: edges });
    expect(bank.bucketForTimestep(300)).toBe(1);
    expect(evenBucketEdges(4)).toEqual([0, 250, 500, 750, 1000]);
    expect(() => evenBucketEdges(0)).toThrow(RangeError);
  });

  it('reports section and bucket byte ranges that hold exactly those sections', async () => {
    const masks = randomMasks(SMALL_LAYOUT, 2, 0.1, rng(4));
    const bank = await encodeBank({ layout: SMALL_LAYOUT, masks });
    const bucket1 = bank.bucketRange(1);
    const sections = [0, 1, 2].map((l) => bank.sectionRange(1, l));
    expect(bucket1.start).toBe(sections[0]!.start);
    expect(bucket1.end).toBe(sections[2]!.end);
    expect(bank.bucketRange(1).end).toBe(bank.bytes.length);
  });

  it('refuses masks that do not fit the layout, and non-binary values', async () => {
    const masks = randomMasks(SMALL_LAYOUT, 1, 0.1, rng(1));
    await expect(encodeBank({ layout: SMALL_LAYOUT, masks: [masks[0]!.slice(0, 2)] })).rejects.toMatchObject({
      code: 'bad_mask',
    });
    const wrongLength = [masks[0]![0]!.subarray(1), masks[0]![1]!, masks[0]![2]!];
    await expect(encodeBank({ layout: SMALL_LAYOUT, masks: [wrongLength] })).rejects.toMatchObject({
      code: 'bad_mask',
    });
    const two = masks[0]!.map((m) => m.slice());
    two[1]![3] = 2;
    await expect(encodeBank({ layout: SMALL_LAYOUT, masks: [two] })).rejects.toMatchObject({
      code: 'bad_mask',
    });
    await expect(encodeBank({ layout: SMALL_LAYOUT, masks: [] })).rejects.toMatchObject({ code: 'bad_mask' });
    await expect(encodeBank({ layout: SMALL_LAYOUT, masks, bucketEdges: [0, 500] })).rejects.toThrow(
      RangeError,
    );
    await expect(encodeBank({ layout: SMALL_LAYOUT, masks, meta: { x: () => 1 } as never })).rejects.toThrow(
      TypeError,
    );
  });
});
