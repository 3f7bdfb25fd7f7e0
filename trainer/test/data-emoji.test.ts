import { describe, expect, it } from 'vitest';
import { emojiCatalog, loadEmojiTensor } from '../src/data/emoji-catalog';
import { compositeOnWhite, downsample, imageToTensor, tensorToImage } from '@maskunet/gpu-runner';
import { decodePng, encodePng } from '@maskunet/gpu-runner';

describe('image plumbing', () => {
  it('composites alpha onto white', () => {
    const rgba = Uint8Array.of(255, 0, 0, 255, 0, 0, 0, 0, 0, 0, 255, 128);
    expect([...compositeOnWhite(rgba, 3, 1, 4).data]).toEqual([255, 0, 0, 255, 255, 255, 127, 127, 255]);
  });

  it('box-downsamples by averaging', () => {
    const image = {
      width: 2,
      height: 2,
      data: Uint8Array.of(0, 0, 0, 100, 100, 100, 200, 200, 200, 100, 100, 100),
    };
    expect([...downsample(image, 2).data]).toEqual([100, 100, 100]);
  });

  it('maps bytes to [-1, 1] CHW and back exactly', () => {
    const image = { width: 2, height: 1, data: Uint8Array.of(0, 128, 255, 10, 20, 30) };
    const tensor = imageToTensor(image);
    expect(tensor[0]).toBe(-1);
    expect(tensor[4]).toBe(1); // channel 2 (blue) of pixel 0
    expect(tensorToImage(tensor, 2, 1).data).toEqual(image.data);
  });

  it('round-trips PNG', () => {
    const image = { width: 3, height: 2, data: Uint8Array.from({ length: 18 }, (_, i) => i * 13) };
    expect(decodePng(encodePng(image))).toEqual(image);
  });
});

describe('emoji catalog', () => {
  const catalog = emojiCatalog();

  it('lists base emoji and skin-tone variants with prompts and labels', () => {
    expect(catalog.length).toBeGreaterThan(3500);
    const thumbs = catalog.find((e) => e.id === '1F44D-1F3FD');
    expect(thumbs).toMatchObject({
      baseId: '1F44D',
      name: 'thumbs up sign, medium skin tone',
      category: 'People & Body',
    });
    expect(thumbs?.keywords.length).toBeGreaterThan(0);
  });

  it('holds out about 10% of base emoji, with their variants, reproducibly', () => {
    const bases = new Map<string, Set<string>>();
    for (const e of catalog) bases.set(e.baseId, (bases.get(e.baseId) ?? new Set()).add(e.split));
    for (const splits of bases.values()) expect(splits.size).toBe(1);
    const heldout = [...bases.values()].filter((s) => s.has('heldout')).length / bases.size;
    // A seeded Bernoulli(0.1) over ~1900 bases: ±2.5 points is ~4 standard deviations.
    expect(heldout).toBeGreaterThan(0.075);
    expect(heldout).toBeLessThan(0.125);
    expect(emojiCatalog().map((e) => e.split)).toEqual(catalog.map((e) => e.split));
    const other = emojiCatalog({ splitSeed: 7 });
    expect(other.map((e) => e.split)).not.toEqual(catalog.map((e) => e.split));
  });

  it('loads a 32×32 tensor on white in [-1, 1]', async () => {
    const tensor = await loadEmojiTensor(
      catalog.find((e) => e.id === '1F600')!,
      'google',
    );
    expect(tensor.length).toBe(3 * 32 * 32);
    expect(Math.max(...tensor)).toBeLessThanOrEqual(1);
    expect(Math.min(...tensor)).toBeGreaterThanOrEqual(-1);
    // Corners are background: white.
    expect(tensor[0]).toBe(1);
    // The grinning face is mostly yellow: red and green high, blue low at the centre.
    const centre = 16 * 32 + 10;
    expect(tensor[centre]).toBeGreaterThan(0.5);
    expect(tensor[2 * 1024 + centre]).toBeLessThan(0);
  });
});
