/**
 * Binary arithmetic (range) coding with static probabilities, one or two contexts. Without a
 * reference mask there is one context and the probability of a zero is the section's zero
 * fraction; with a reference (the previous bucket, or a parent bank) the context is the
 * reference bit, so a mask whose zeros mostly stay zeros costs the conditional entropy
 * H(M | M_ref) rather than H(M ⊕ M_ref). Probabilities come from counts in the section record,
 * quantised to 16 bits; a context whose symbols are all equal costs no bits at all.
 *
 * The coder is LZMA's carry-less range coder with 32-bit range and a byte cache; `low` is kept
 * in a double so the carry bit needs no 64-bit integers.
 */
import { MaskFormatError } from '../errors';

const TOP = 0x1000000;
const PROB_BITS = 16;
const PROB_ONE = 1 << PROB_BITS;

/** Zero probability of a context holding `zeros` zeros among `count` symbols, 16-bit. */
export function contextProbability(zeros: number, count: number): number {
  return Math.min(PROB_ONE - 1, Math.max(1, Math.round((zeros * PROB_ONE) / count)));
}

function entropyBits(zeros: number, count: number): number {
  if (zeros === 0 || zeros === count) return 0;
  const p = zeros / count;
  return -count * (p * Math.log2(p) + (1 - p) * Math.log2(1 - p));
}

/** Context statistics: symbols and zeros under reference bit 0 and 1 (all in context 0 without a reference). */
export interface ArithCounts {
  readonly count0: number;
  readonly zeros0: number;
  readonly count1: number;
  readonly zeros1: number;
}

/** Counts of `mask` split by the reference bit. */
export function arithCounts(mask: Uint8Array, ref: Uint8Array | null, zeros: number): ArithCounts {
  if (ref === null) return { count0: mask.length, zeros0: zeros, count1: 0, zeros1: 0 };
  let count0 = 0;
  let zeros0 = 0;
  for (let i = 0; i < mask.length; i++) {
    const r = ref[i]!;
    count0 += r ^ 1;
    zeros0 += (r ^ 1) & (mask[i]! ^ 1);
  }
  return { count0, zeros0, count1: mask.length - count0, zeros1: zeros - zeros0 };
}

/** Expected payload bytes: the empirical entropy plus the coder's flush. */
export function arithEstimateBytes(counts: ArithCounts): number {
  return (
    Math.ceil((entropyBits(counts.zeros0, counts.count0) + entropyBits(counts.zeros1, counts.count1)) / 8) + 5
  );
}

function isDeterministic(zeros: number, count: number): boolean {
  return zeros === 0 || zeros === count;
}

/** Encodes `mask` under the context statistics `counts` (which must be `mask`'s own). */
export function encodeArith(mask: Uint8Array, ref: Uint8Array | null, counts: ArithCounts): Uint8Array {
  const fixed0 = isDeterministic(counts.zeros0, counts.count0);
  const fixed1 = isDeterministic(counts.zeros1, counts.count1);
  if (fixed0 && fixed1) return new Uint8Array(0);
  const p0 = fixed0 ? 0 : contextProbability(counts.zeros0, counts.count0);
  const p1 = fixed1 ? 0 : contextProbability(counts.zeros1, counts.count1);

  let out = new Uint8Array(arithEstimateBytes(counts) + 64);
  let outPos = 0;
  let low = 0;
  let range = 0xffffffff;
  let cache = 0;
  let cacheSize = 1;
  const push = (byte: number): void => {
    if (outPos === out.length) {
      const grown = new Uint8Array(out.length * 2);
      grown.set(out);
      out = grown;
    }
    out[outPos++] = byte;
  };
  const shiftLow = (): void => {
    if (low < 0xff000000 || low >= 0x100000000) {
      const carry = low >= 0x100000000 ? 1 : 0;
      let temp = cache;
      do {
        push((temp + carry) & 0xff);
        temp = 0xff;
      } while (--cacheSize !== 0);
      cache = Math.floor(low / TOP) & 0xff;
    }
    cacheSize++;
    low = (low % TOP) * 256;
  };

  for (let i = 0; i < mask.length; i++) {
    const context = ref === null ? 0 : ref[i]!;
    if (context === 0 ? fixed0 : fixed1) continue;
    const bound = (range >>> PROB_BITS) * (context === 0 ? p0 : p1);
    if (mask[i] === 0) {
      range = bound;
    } else {
      low += bound;
      range -= bound;
    }
    while (range < TOP) {
      range = (range * 256) >>> 0;
      shiftLow();
    }
  }
  for (let k = 0; k < 5; k++) shiftLow();
  return out.slice(0, outPos);
}

/**
 * Decodes an arithmetic section into `out`, then checks that each context decoded exactly
 * its declared zero count.
 * @throws MaskFormatError `corrupt_section` on a bad first byte, a count mismatch, or a
 *   stream shorter than the symbols it must hold. The loop runs exactly `out.length` times.
 */
export function decodeArith(
  payload: Uint8Array,
  ref: Uint8Array | null,
  counts: ArithCounts,
  out: Uint8Array,
): void {
  const fixed0 = isDeterministic(counts.zeros0, counts.count0);
  const fixed1 = isDeterministic(counts.zeros1, counts.count1);
  const fill0 = counts.zeros0 === 0 ? 1 : 0;
  const fill1 = counts.zeros1 === 0 ? 1 : 0;
  if (fixed0 && fixed1) {
    if (payload.length !== 0) throw new MaskFormatError('corrupt_section', 'deterministic section has bytes');
    if (ref === null) out.fill(fill0);
    else for (let i = 0; i < out.length; i++) out[i] = ref[i] === 0 ? fill0 : fill1;
    return;
  }
  if (payload.length < 5 || payload[0] !== 0) {
    throw new MaskFormatError('corrupt_section', 'arithmetic stream is too short or has a bad first byte');
  }
  const p0 = fixed0 ? 0 : contextProbability(counts.zeros0, counts.count0);
  const p1 = fixed1 ? 0 : contextProbability(counts.zeros1, counts.count1);
  const bytes = payload;
  const end = bytes.length;
  let pos = 5;
  let code = ((bytes[1]! << 24) | (bytes[2]! << 16) | (bytes[3]! << 8) | bytes[4]!) >>> 0;
  let range = 0xffffffff;
  let zeros0 = 0;
  let zeros1 = 0;
  for (let i = 0; i < out.length; i++) {
    const context = ref === null ? 0 : ref[i]!;
    if (context === 0 ? fixed0 : fixed1) {
      out[i] = context === 0 ? fill0 : fill1;
      continue;
    }
    const bound = (range >>> PROB_BITS) * (context === 0 ? p0 : p1);
    let bit: number;
    if (code < bound) {
      range = bound;
      bit = 0;
    } else {
      code -= bound;
      range -= bound;
      bit = 1;
    }
    out[i] = bit;
    if (bit === 0) {
      if (context === 0) zeros0++;
      else zeros1++;
    }
    while (range < TOP) {
      range = (range * 256) >>> 0;
      code = ((code * 256) >>> 0) + (pos < end ? bytes[pos]! : 0);
      pos++;
    }
  }
  if (pos > end + 5)
    throw new MaskFormatError('corrupt_section', 'arithmetic stream is shorter than its symbols');
  const expected0 = fixed0 ? 0 : counts.zeros0;
  const expected1 = fixed1 ? 0 : counts.zeros1;
  if (zeros0 !== expected0 || zeros1 !== expected1) {
    throw new MaskFormatError(
      'corrupt_section',
      'arithmetic stream decodes to other zero counts than declared',
    );
  }
}
