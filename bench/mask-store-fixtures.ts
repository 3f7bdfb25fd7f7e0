/**
 * Inputs and reference quantities of the mask-store codec benchmark: SD1.5's masked
 * decoder-attention layout, a seeded PRNG, i.i.d. Bernoulli masks, the two ways a mask drifts
 * from one timestep bucket to the next, and the entropy figures the measured sizes are
 * compared with. A bucket's masks live in one contiguous buffer with one view per layer, so
 * a whole bucket can be scanned, packed or dropped at once; every layer size is a multiple of
 * 8, so views stay 4-byte aligned (the codecs' word loops need that) and per-layer bitsets
 * concatenate into the bucket's bitset.
 */
import { layerSize, layoutSize, type MaskLayer, type MaskLayout } from '@maskunet/mask-store';
import { Sfc32, splitmix32 } from '@maskunet/gpu-runner';

/** Weights in SD1.5's 72 masked decoder-attention layers. */
export const SD15_MASKED_WEIGHTS = 49_029_120;

/** Width of the CLIP text embedding that attn2.to_k / to_v read. */
const TEXT_WIDTH = 768;
const UP_BLOCK_WIDTHS = [
  [1, 1280],
  [2, 640],
  [3, 320],
] as const;
const PROJECTIONS = ['to_q', 'to_k', 'to_v', 'to_out.0'] as const;

/**
 * attn1/attn2 × to_q, to_k, to_v, to_out.0 of transformer_blocks.0 in attentions.0..2 of
 * up_blocks.1..3, `[out, in]`. `shrink` divides every dimension (the `--quick` run uses 8:
 * same names and proportions, 1/64 of the weights).
 */
export function sd15DecoderAttentionLayout(shrink = 1): MaskLayout {
  if (![1, 2, 4, 8, 16, 32, 64].includes(shrink)) {
    throw new RangeError(`shrink must be a power of two dividing 64, got ${shrink}`);
  }
  const layers: MaskLayer[] = [];
  for (const [block, width] of UP_BLOCK_WIDTHS) {
    for (let attention = 0; attention < 3; attention++) {
      for (const attn of ['attn1', 'attn2'] as const) {
        for (const projection of PROJECTIONS) {
          const reads =
            attn === 'attn2' && (projection === 'to_k' || projection === 'to_v') ? TEXT_WIDTH : width;
          layers.push({
            name: `up_blocks.${block}.attentions.${attention}.transformer_blocks.0.${attn}.${projection}`,
            shape: [width / shrink, reads / shrink],
          });
        }
      }
    }
  }
  const layout = { layers };
  const expected = SD15_MASKED_WEIGHTS / (shrink * shrink);
  if (layers.length !== 72 || layoutSize(layout) !== expected) {
    throw new Error(
      `layout has ${layers.length} layers, ${layoutSize(layout)} weights; expected 72, ${expected}`,
    );
  }
  return layout;
}

/**
 * sfc32 (Chris Doty-Humphrey's small fast counter), seeded through splitmix32: fast enough to
 * draw ~50 M Bernoulli variables in well under a second and reproducible from one integer.
 */
export class Prng extends Sfc32 {
  // The fixtures' own seeding (counter d starts at 1), kept so the recorded codec figures
  // regenerate from the same masks; the generator is gpu-runner's sfc32.
  constructor(seed: number) {
    const mix = splitmix32(seed >>> 0);
    super(mix(), mix(), mix(), 1);
  }

  /** Uniform unsigned 32-bit integer. */
  next(): number {
    return this.nextUint32();
  }

  /** Uniform integer in [0, n) for n ≤ 2^21 (bias below n / 2^32, i.e. < 0.05 %). */
  below(n: number): number {
    return Math.floor((this.next() * n) / 4294967296);
  }

  /** Fills `out` with i.i.d. 0/1 values, 0 with probability `zeroProbability` (to 2^-32). */
  fillBernoulli(out: Uint8Array, zeroProbability: number): void {
    // next() inlined over locals in signed 32-bit arithmetic (same bits): uint32 values above
    // 2^31 are doubles to V8, which made this loop several times slower over 50 M draws.
    // Unsigned t < threshold is the signed comparison of both shifted by 2^31.
    const threshold = Math.round(zeroProbability * 4294967296) - 2147483648;
    let a = this.a | 0;
    let b = this.b | 0;
    let c = this.c | 0;
    let d = this.d | 0;
    for (let i = 0; i < out.length; i++) {
      const t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) | 0;
      out[i] = (t ^ -2147483648) < threshold ? 0 : 1;
    }
    this.a = a >>> 0;
    this.b = b >>> 0;
    this.c = c >>> 0;
    this.d = d >>> 0;
  }
}

/** One bucket's masks: a contiguous buffer and its per-layer views, in layout order. */
export interface MaskBucket {
  readonly data: Uint8Array;
  readonly layers: Uint8Array[];
}

/** Per-layer views of a bucket-sized buffer. */
export function bucketOf(layout: MaskLayout, data: Uint8Array): MaskBucket {
  const layers: Uint8Array[] = [];
  let offset = 0;
  for (const layer of layout.layers) {
    layers.push(data.subarray(offset, offset + layerSize(layer)));
    offset += layerSize(layer);
  }
  if (offset !== data.length) throw new RangeError(`buffer has ${data.length} values for ${offset} weights`);
  return { data, layers };
}

/** An i.i.d. Bernoulli bucket: each weight masked (0) with probability `zeroProbability`. */
export function bernoulliBucket(layout: MaskLayout, zeroProbability: number, prng: Prng): MaskBucket {
  const data = new Uint8Array(layoutSize(layout));
  prng.fillBernoulli(data, zeroProbability);
  return bucketOf(layout, data);
}

/**
 * How consecutive buckets differ. `balanced`: in every layer, `fraction / 2` of the positions
 * go 1→0 (chosen among the previous mask's ones) and as many go 0→1 (among its zeros), so
 * the zero fraction is preserved. `uniform`: `fraction` of the positions of every layer,
 * chosen uniformly, flip whatever their value (the zero fraction drifts towards 1/2).
 */
export type DriftKind = 'balanced' | 'uniform';

/** The next bucket: a copy of `previous` with exactly the flips `kind` and `fraction` describe. */
export function driftBucket(
  layout: MaskLayout,
  previous: MaskBucket,
  kind: DriftKind,
  fraction: number,
  prng: Prng,
): MaskBucket {
  const next = bucketOf(layout, previous.data.slice());
  layout.layers.forEach((layer, l) => {
    const before = previous.layers[l]!;
    const after = next.layers[l]!;
    const size = layerSize(layer);
    // A position is eligible while it still holds its previous value, so no position flips twice.
    const flip = (count: number, from: number | null): void => {
      for (let done = 0; done < count;) {
        const i = prng.below(size);
        if (after[i] !== before[i] || (from !== null && before[i] !== from)) continue;
        after[i] = before[i]! ^ 1;
        done++;
      }
    };
    if (kind === 'uniform') {
      flip(Math.round(size * fraction), null);
      return;
    }
    const each = Math.round((size * fraction) / 2);
    let zeros = 0;
    for (let i = 0; i < size; i++) zeros += before[i]! ^ 1;
    if (each > zeros || each > size - zeros) {
      throw new RangeError(`${layer.name}: cannot flip ${each} each way with ${zeros} zeros of ${size}`);
    }
    flip(each, 1);
    flip(each, 0);
  });
  return next;
}

/** Binary entropy in bits of a symbol with probability `p`. */
export function binaryEntropy(p: number): number {
  if (p <= 0 || p >= 1) return 0;
  return -(p * Math.log2(p) + (1 - p) * Math.log2(1 - p));
}

/** Zeros of a 0/1 vector. */
export function zerosOf(data: Uint8Array): number {
  let ones = 0;
  for (let i = 0; i < data.length; i++) ones += data[i]!;
  return data.length - ones;
}

/** N·H(p̂) in bytes for `zeros` zeros among `count` weights: the i.i.d. entropy bound. */
export function entropyBoundBytes(zeros: number, count: number): number {
  return (count * binaryEntropy(zeros / count)) / 8;
}

/** Joint counts of (previous bit, current bit) over two equally long 0/1 vectors. */
export interface TransitionCounts {
  /** Weights that were 0 before. */
  readonly wereZero: number;
  /** Of those, still 0. */
  readonly stayedZero: number;
  /** Weights that were 1 before. */
  readonly wereOne: number;
  /** Of those, now 0. */
  readonly becameZero: number;
}

export function transitionCounts(before: Uint8Array, after: Uint8Array): TransitionCounts {
  let wereZero = 0;
  let stayedZero = 0;
  let becameZero = 0;
  for (let i = 0; i < before.length; i++) {
    const was = before[i]!;
    const now = after[i]!;
    wereZero += was ^ 1;
    stayedZero += (was | now) ^ 1;
    becameZero += was & (now ^ 1);
  }
  return { wereZero, stayedZero, wereOne: before.length - wereZero, becameZero };
}

/**
 * Bytes of the two reference codings of `after` given `before`: the conditional entropy
 * H(after | before), which the arithmetic codec conditioned on the reference bit approaches,
 * and N·H(d) of the XOR (d = fraction of positions that differ), which Golomb over
 * `after ⊕ before` approaches.
 */
export function transitionBoundBytes(counts: TransitionCounts): { conditional: number; xor: number } {
  const { wereZero, stayedZero, wereOne, becameZero } = counts;
  const conditional =
    wereZero * binaryEntropy(stayedZero / Math.max(1, wereZero)) +
    wereOne * binaryEntropy(becameZero / Math.max(1, wereOne));
  const total = wereZero + wereOne;
  const differ = wereZero - stayedZero + becameZero;
  return { conditional: conditional / 8, xor: (total * binaryEntropy(differ / total)) / 8 };
}

/**
 * Expected Golomb bits per minority symbol for i.i.d. gaps with minority fraction `q`, using
 * the parameter the encoder starts from (Gallager–van Voorhis): unary quotient plus truncated
 * binary remainder, summed in closed form.
 */
export function expectedGolombBitsPerSymbol(q: number): number {
  if (q <= 0) return 0;
  const theta = 1 - q;
  const m = Math.max(1, Math.ceil(Math.log(1 + theta) / -Math.log(theta)));
  const quotient = theta ** m / (1 - theta ** m);
  if (m === 1) return quotient + 1;
  const b = 32 - Math.clz32(m - 1);
  const cutoff = 2 ** b - m;
  // P(r) ∝ θ^r on [0, m); the first `cutoff` remainders take b − 1 bits, the rest b.
  const shortMass = (1 - theta ** cutoff) / (1 - theta ** m);
  return quotient + 1 + (b - 1) * shortMass + b * (1 - shortMass);
}
