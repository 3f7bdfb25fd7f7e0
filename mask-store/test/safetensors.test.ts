import { describe, expect, it } from 'vitest';
import { masksFromSafetensors, masksToSafetensors, readSafetensors, writeSafetensors } from '../src/index';
import { randomMasks, rng, SMALL_LAYOUT } from './helpers';

const layers = SMALL_LAYOUT.layers;

function tensorsAs(dtype: 'U8' | 'BOOL' | 'F32', masks: Uint8Array[]) {
  return layers.map((layer, i) => {
    const mask = masks[i]!;
    let data: Uint8Array = mask;
    if (dtype === 'F32') {
      const floats = new Float32Array(mask.length);
      // Soft values either side of the 0.5 threshold, as a sigmoid of logits would give.
      mask.forEach((v, j) => (floats[j] = v === 1 ? 0.5 + (j % 7) / 20 : 0.49 - (j % 5) / 20));
      data = new Uint8Array(floats.buffer);
    }
    return { name: `${layer.name}.weight`, dtype, shape: layer.shape, data };
  });
}

describe('safetensors masks', () => {
  it.each(['U8', 'BOOL', 'F32'] as const)('imports %s masks', (dtype) => {
    const masks = randomMasks(SMALL_LAYOUT, 1, 0.2, rng(3))[0]!;
    const file = writeSafetensors(tensorsAs(dtype, masks), { format: 'pt' });
    expect(masksFromSafetensors(file, SMALL_LAYOUT)).toEqual(masks);
  });

  it('exports U8 [out, in] tensors that read back identically, with metadata', () => {
    const masks = randomMasks(SMALL_LAYOUT, 1, 0.2, rng(4))[0]!;
    const file = masksToSafetensors(SMALL_LAYOUT, masks, { bank: 'abc' });
    const parsed = readSafetensors(file);
    expect(parsed.metadata).toEqual({ bank: 'abc' });
    expect(parsed.tensors.get(`${layers[1]!.name}.weight`)).toMatchObject({ dtype: 'U8', shape: [16, 24] });
    // Header padded so data starts 8-byte aligned.
    expect(Number(new DataView(file.buffer).getBigUint64(0, true)) % 8).toBe(0);
    expect(masksFromSafetensors(file, SMALL_LAYOUT)).toEqual(masks);
  });

  it('names the first missing, extra or misshapen tensor', () => {
    const masks = randomMasks(SMALL_LAYOUT, 1, 0.2, rng(5))[0]!;
    const all = tensorsAs('U8', masks);
    expect(() => masksFromSafetensors(writeSafetensors(all.slice(1)), SMALL_LAYOUT)).toThrow(
      `missing tensor ${layers[0]!.name}.weight`,
    );
    const extra = [
      ...all,
      { name: 'z.extra.weight', dtype: 'U8' as const, shape: [1, 1], data: Uint8Array.of(1) },
    ];
    expect(() => masksFromSafetensors(writeSafetensors(extra), SMALL_LAYOUT)).toThrow(
      expect.objectContaining({
        code: 'layout_mismatch',
        message: expect.stringContaining('z.extra.weight'),
      }),
    );
    const transposed = all.map((t, i) => (i === 1 ? { ...t, shape: [24, 16] } : t));
    expect(() => masksFromSafetensors(writeSafetensors(transposed), SMALL_LAYOUT)).toThrow(
      expect.objectContaining({ code: 'layout_mismatch', message: expect.stringContaining('[24, 16]') }),
    );
  });

  it('refuses values other than 0/1, NaN and other dtypes', () => {
    const masks = randomMasks(SMALL_LAYOUT, 1, 0.2, rng(6))[0]!;
    const bad = tensorsAs(
      'U8',
      masks.map((m) => m.slice()),
    );
    bad[2]!.data[5] = 3;
    expect(() => masksFromSafetensors(writeSafetensors(bad), SMALL_LAYOUT)).toThrow(
      expect.objectContaining({ code: 'bad_mask' }),
    );
    const nan = tensorsAs('F32', masks);
    new DataView(nan[0]!.data.buffer).setFloat32(0, NaN, true);
    expect(() => masksFromSafetensors(writeSafetensors(nan), SMALL_LAYOUT)).toThrow(
      expect.objectContaining({ code: 'bad_mask' }),
    );
    const i64 = tensorsAs('U8', masks).map((t, i) =>
      i === 0 ? { ...t, dtype: 'I64' as const, data: new Uint8Array(t.data.length * 8) } : t,
    );
    expect(() => masksFromSafetensors(writeSafetensors(i64), SMALL_LAYOUT)).toThrow(
      expect.objectContaining({ code: 'bad_mask' }),
    );
  });

  it('refuses malformed files at every truncation and with lying offsets', () => {
    const file = masksToSafetensors(SMALL_LAYOUT, randomMasks(SMALL_LAYOUT, 1, 0.2, rng(7))[0]!);
    for (let length = 0; length < file.length; length += 7) {
      expect(() => readSafetensors(file.slice(0, length)), `length ${length}`).toThrow(
        expect.objectContaining({ code: 'bad_safetensors' }),
      );
    }
    const header = JSON.stringify({ a: { dtype: 'U8', shape: [2], data_offsets: [0, 3] } });
    const lying = new Uint8Array(8 + header.length + 3);
    new DataView(lying.buffer).setBigUint64(0, BigInt(header.length), true);
    lying.set(new TextEncoder().encode(header), 8);
    expect(() => readSafetensors(lying)).toThrow(expect.objectContaining({ code: 'bad_safetensors' }));
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 40n, true);
    expect(() => readSafetensors(huge)).toThrow(expect.objectContaining({ code: 'limit_exceeded' }));
  });
});
