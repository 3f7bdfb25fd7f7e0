import { describe, expect, it } from 'vitest';
import {
  formatLayoutJson,
  isMaskFormatError,
  layoutHash,
  layoutSize,
  parseLayoutJson,
  validateLayout,
  type MaskLayout,
} from '../src/index';
import { SMALL_LAYOUT } from './helpers';

describe('layout', () => {
  it('hashes deterministically and changes with any name, shape or order change', async () => {
    const base = await layoutHash(SMALL_LAYOUT);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(await layoutHash({ layers: [...SMALL_LAYOUT.layers] })).toBe(base);
    const renamed: MaskLayout = {
      layers: [{ ...SMALL_LAYOUT.layers[0]!, name: 'x.to_q' }, ...SMALL_LAYOUT.layers.slice(1)],
    };
    const reshaped: MaskLayout = {
      layers: [{ ...SMALL_LAYOUT.layers[0]!, shape: [16, 17] }, ...SMALL_LAYOUT.layers.slice(1)],
    };
    const reordered: MaskLayout = { layers: [...SMALL_LAYOUT.layers].reverse() };
    const hashes = await Promise.all([renamed, reshaped, reordered].map((l) => layoutHash(l)));
    expect(new Set([base, ...hashes]).size).toBe(4);
  });

  it('round-trips through the layout JSON file format', () => {
    const parsed = parseLayoutJson(formatLayoutJson(SMALL_LAYOUT));
    expect(parsed).toEqual(SMALL_LAYOUT);
    expect(layoutSize(parsed)).toBe(16 * 16 + 16 * 24 + 16 * 16);
  });

  it('ignores extra per-layer fields (initializer name, transposition)', () => {
    const text = JSON.stringify({
      layers: [{ name: 'a.to_q', shape: [2, 3], initializer: 'onnx::MatMul_1', transposed: true }],
    });
    expect(parseLayoutJson(text)).toEqual({ layers: [{ name: 'a.to_q', shape: [2, 3] }] });
  });

  it.each([
    ['not JSON', '{', 'bad_layout'],
    ['no layers', '{}', 'bad_layout'],
    ['empty', '{"layers":[]}', 'bad_layout'],
    ['bad name', '{"layers":[{"name":"a\\tb","shape":[1,1]}]}', 'bad_layout'],
    ['duplicate', '{"layers":[{"name":"a","shape":[1,1]},{"name":"a","shape":[1,1]}]}', 'bad_layout'],
    ['zero dim', '{"layers":[{"name":"a","shape":[0,1]}]}', 'bad_layout'],
    ['3-d shape', '{"layers":[{"name":"a","shape":[1,1,1]}]}', 'bad_layout'],
    ['fractional', '{"layers":[{"name":"a","shape":[1.5,1]}]}', 'bad_layout'],
  ])('refuses %s', (_, text, code) => {
    expect(() => parseLayoutJson(text)).toThrow(expect.objectContaining({ code }));
  });

  it('enforces layer, size and name limits', () => {
    const many = { layers: Array.from({ length: 5 }, (_, i) => ({ name: `l${i}`, shape: [1, 1] })) };
    expect(() => validateLayout(many, { maxLayers: 4 })).toThrow(
      expect.objectContaining({ code: 'limit_exceeded' }),
    );
    expect(() =>
      validateLayout({ layers: [{ name: 'a', shape: [10, 10] }] }, { maxLayerElements: 99 }),
    ).toThrow(expect.objectContaining({ code: 'limit_exceeded' }));
    expect(() => validateLayout(many, { maxBucketElements: 4 })).toThrow(
      expect.objectContaining({ code: 'limit_exceeded' }),
    );
    expect(() =>
      validateLayout({ layers: [{ name: 'abcdef', shape: [1, 1] }] }, { maxNameLength: 5 }),
    ).toThrow(expect.objectContaining({ code: 'limit_exceeded' }));
    try {
      validateLayout(many, { maxLayers: 4 });
    } catch (error) {
      expect(isMaskFormatError(error, 'limit_exceeded')).toBe(true);
    }
  });
});
