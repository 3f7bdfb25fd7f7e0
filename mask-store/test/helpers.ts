/** Test helpers: a seeded PRNG and random layouts/masks for property tests. */
import type { MaskLayout } from '../src/index';

/** mulberry32: small, seeded, good enough for test data. */
export function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 0/1 mask whose entries are zero with probability `p`. */
export function randomMask(length: number, p: number, random: () => number): Uint8Array {
  const mask = new Uint8Array(length);
  for (let i = 0; i < length; i++) mask[i] = random() < p ? 0 : 1;
  return mask;
}

export function randomLayout(random: () => number, maxLayers = 4, maxDim = 48): MaskLayout {
  const count = 1 + Math.floor(random() * maxLayers);
  return {
    layers: Array.from({ length: count }, (_, i) => ({
      name: `up_blocks.${i}.attn1.to_q`,
      shape: [1 + Math.floor(random() * maxDim), 1 + Math.floor(random() * maxDim)] as const,
    })),
  };
}

export function randomMasks(
  layout: MaskLayout,
  buckets: number,
  p: number,
  random: () => number,
): Uint8Array[][] {
  return Array.from({ length: buckets }, () =>
    layout.layers.map((l) => randomMask(l.shape[0] * l.shape[1], p, random)),
  );
}

/** Flips `fraction` of the positions of `mask`, keeping its zero count (half 0→1, half 1→0). */
export function perturb(mask: Uint8Array, fraction: number, random: () => number): Uint8Array {
  const out = mask.slice();
  const flips = Math.max(1, Math.round((mask.length * fraction) / 2));
  for (let k = 0; k < flips; k++) {
    for (const target of [0, 1]) {
      for (let tries = 0; tries < 64; tries++) {
        const i = Math.floor(random() * out.length);
        if (out[i] === target) {
          out[i] = 1 - target;
          break;
        }
      }
    }
  }
  return out;
}

export const SMALL_LAYOUT: MaskLayout = {
  layers: [
    { name: 'up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q', shape: [16, 16] },
    { name: 'up_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k', shape: [16, 24] },
    { name: 'up_blocks.1.attentions.0.transformer_blocks.0.attn2.to_out.0', shape: [16, 16] },
  ],
};
