import { describe, expect, it } from 'vitest';
import { diffBanks, encodeBank, MaskBank, patchBank } from '../src/index';
import { perturb, randomMasks, rng, SMALL_LAYOUT } from './helpers';

async function pair(fraction: number, buckets = 3) {
  const random = rng(21);
  const oldMasks = randomMasks(SMALL_LAYOUT, buckets, 0.1, random);
  const newMasks = oldMasks.map((bucket) => bucket.map((m) => perturb(m, fraction, random)));
  const oldBank = await encodeBank({ layout: SMALL_LAYOUT, masks: oldMasks, modelId: 'm', meta: { v: 1 } });
  const newBank = await encodeBank({ layout: SMALL_LAYOUT, masks: newMasks, modelId: 'm', meta: { v: 2 } });
  return { oldBank, newBank };
}

describe('deltas', () => {
  it('patches to the byte-identical new bank', async () => {
    for (const fraction of [0, 0.02, 0.5]) {
      const { oldBank, newBank } = await pair(fraction);
      const delta = await diffBanks(oldBank, newBank);
      expect(delta.header.parent).toBe(oldBank.id);
      expect(delta.header.target?.id).toBe(newBank.id);
      const patched = await patchBank(oldBank, await MaskBank.open(delta.bytes));
      expect(patched.bytes).toEqual(newBank.bytes);
      expect(patched.id).toBe(newBank.id);
    }
  });

  it('is deterministic, and small when little changed', async () => {
    const random = rng(5);
    const layout = { layers: [{ name: 'a.to_q', shape: [256, 256] as const }] };
    const oldMasks = randomMasks(layout, 2, 0.066, random);
    const newMasks = oldMasks.map((bucket) => bucket.map((m) => perturb(m, 0.01, random)));
    const oldBank = await encodeBank({ layout, masks: oldMasks });
    const newBank = await encodeBank({ layout, masks: newMasks });
    const a = await diffBanks(oldBank, newBank);
    const b = await diffBanks(oldBank, newBank);
    expect(a.bytes).toEqual(b.bytes);
    // 1% flips cost ~H(M|M_old) ≈ 0.07 bits/weight against ~0.35 for a fresh mask.
    expect(a.bytes.length).toBeLessThan(newBank.bytes.length * 0.4);
  });

  it('refuses the wrong old bank, a non-delta, and banks of different layouts', async () => {
    const { oldBank, newBank } = await pair(0.05);
    const delta = await diffBanks(oldBank, newBank);
    await expect(patchBank(newBank, delta)).rejects.toMatchObject({ code: 'parent_mismatch' });
    await expect(patchBank(oldBank, newBank)).rejects.toMatchObject({ code: 'malformed_header' });
    const otherLayout = { layers: [{ name: 'x.to_q', shape: [4, 4] as const }] };
    const other = await encodeBank({ layout: otherLayout, masks: randomMasks(otherLayout, 1, 0.1, rng(1)) });
    await expect(diffBanks(oldBank, other)).rejects.toMatchObject({ code: 'layout_mismatch' });
    await expect(diffBanks(oldBank, delta)).rejects.toMatchObject({ code: 'parent_mismatch' });
  });

  it('diffs banks with different bucket edges by mapping each bucket to the old bucket holding its start', async () => {
    const random = rng(8);
    const oldBank = await encodeBank({
      layout: SMALL_LAYOUT,
      masks: randomMasks(SMALL_LAYOUT, 2, 0.1, random),
    });
    const newBank = await encodeBank({
      layout: SMALL_LAYOUT,
      masks: randomMasks(SMALL_LAYOUT, 4, 0.1, random),
    });
    const patched = await patchBank(oldBank, await diffBanks(oldBank, newBank));
    expect(patched.id).toBe(newBank.id);
  });
});
