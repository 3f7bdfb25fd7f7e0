/**
 * Golomb coding of the gaps between occurrences of a vector's minority symbol. For an i.i.d.
 * mask with zero fraction p this is the optimal prefix code (Gallager & van Voorhis), within
 * about 1% of N·H(p) for p ≤ 30%; the arithmetic codec covers the range up to 50% where the
 * integer parameter loses more. Decoding costs one unary + one truncated-binary read per
 * minority symbol, so sparse masks decode at close to memory-fill speed.
 */
import { BitWriter, positionsOf } from '../bits';
import { MaskFormatError } from '../errors';

/** Largest Golomb parameter; bigger gains nothing measurable and keeps reads within 32 bits. */
export const MAX_GOLOMB_PARAMETER = 2 ** 24;

/** Which symbol is coded: the rarer one (ties code the ones). */
export function minoritySymbol(length: number, ones: number): 0 | 1 {
  return ones <= length - ones ? 1 : 0;
}

function truncatedBinaryWidth(m: number): number {
  return m <= 1 ? 0 : 32 - Math.clz32(m - 1);
}

/** Exact bit count of the Golomb code of `gaps` with parameter `m`. */
export function golombCostBits(gaps: Int32Array, m: number): number {
  const b = truncatedBinaryWidth(m);
  const cutoff = 2 ** b - m;
  let bits = 0;
  for (let k = 0; k < gaps.length; k++) {
    const g = gaps[k]!;
    const r = g % m;
    bits += (g - r) / m + 1 + (b === 0 ? 0 : r < cutoff ? b - 1 : b);
  }
  return bits;
}

/** Gaps (majority symbols before each minority symbol) of a vector. */
export function minorityGaps(vector: Uint8Array, ones: number): Int32Array {
  const symbol = minoritySymbol(vector.length, ones);
  const count = symbol === 1 ? ones : vector.length - ones;
  const gaps = positionsOf(vector, symbol, count);
  let previous = -1;
  for (let k = 0; k < gaps.length; k++) {
    const position = gaps[k]!;
    gaps[k] = position - previous - 1;
    previous = position;
  }
  return gaps;
}

/** The best parameter for `gaps` among the geometric optimum and its neighbours. */
export function chooseGolombParameter(gaps: Int32Array, length: number): number {
  if (gaps.length === 0) return 1;
  const theta = 1 - gaps.length / length;
  const optimum = theta <= 0 ? 1 : Math.ceil(Math.log(1 + theta) / -Math.log(theta));
  let best = 1;
  let bestBits = Infinity;
  for (const candidate of [optimum - 1, optimum, optimum + 1]) {
    const m = Math.min(MAX_GOLOMB_PARAMETER, Math.max(1, candidate));
    const bits = golombCostBits(gaps, m);
    if (bits < bestBits || (bits === bestBits && m < best)) {
      best = m;
      bestBits = bits;
    }
  }
  return best;
}

/** Encodes `gaps` with parameter `m`. */
export function encodeGolomb(gaps: Int32Array, m: number): Uint8Array {
  const b = truncatedBinaryWidth(m);
  const cutoff = 2 ** b - m;
  const writer = new BitWriter(Math.ceil(golombCostBits(gaps, m) / 8) + 8);
  for (let k = 0; k < gaps.length; k++) {
    const g = gaps[k]!;
    const r = g % m;
    writer.writeUnary((g - r) / m);
    if (b === 0) continue;
    if (r < cutoff) writer.write(r, b - 1);
    else writer.write(r + cutoff, b);
  }
  return writer.finish();
}

/**
 * Decodes a Golomb section into `out` (length N), which it fills with the majority symbol and
 * marks at each of the `ones`-derived minority positions.
 * @throws MaskFormatError `corrupt_section` when the stream runs past its bytes or positions
 *   past N; the loops are bounded by the payload's bit length and the declared count.
 */
export function decodeGolomb(payload: Uint8Array, ones: number, m: number, out: Uint8Array): void {
  const length = out.length;
  const symbol = minoritySymbol(length, ones);
  const count = symbol === 1 ? ones : length - ones;
  out.fill(symbol === 1 ? 0 : 1);
  if (count === 0) {
    if (payload.length !== 0) throw new MaskFormatError('corrupt_section', 'empty Golomb section has bytes');
    return;
  }
  const b = truncatedBinaryWidth(m);
  const cutoff = 2 ** b - m;
  // Big-endian 32-bit words plus two zero words of padding, so a 32-bit window at any bit
  // position is two loads; reads past the end see zeros and are caught by the bit count.
  const words = toWords(payload);
  const bitLength = payload.length * 8;
  let pos = 0;
  let index = -1;
  for (let k = 0; k < count; k++) {
    let q = 0;
    for (;;) {
      const w = pos >>> 5;
      const shift = pos & 31;
      const window =
        shift === 0 ? words[w]! : ((words[w]! << shift) | (words[w + 1]! >>> (32 - shift))) >>> 0;
      if (window !== 0) {
        const zeros = Math.clz32(window);
        q += zeros;
        pos += zeros + 1;
        break;
      }
      q += 32;
      pos += 32;
      if (pos > bitLength) throw new MaskFormatError('corrupt_section', 'Golomb stream ends inside a run');
    }
    let r = 0;
    if (b > 0) {
      const w = pos >>> 5;
      const shift = pos & 31;
      const window =
        shift === 0 ? words[w]! : ((words[w]! << shift) | (words[w + 1]! >>> (32 - shift))) >>> 0;
      // The top b bits of the window: b - 1 of them give r, the b-th only when r ≥ cutoff.
      r = b > 1 ? window >>> (33 - b) : 0;
      if (r >= cutoff) {
        r = (window >>> (32 - b)) - cutoff;
        pos += b;
      } else {
        pos += b - 1;
      }
    }
    index += q * m + r + 1;
    if (index >= length || pos > bitLength) {
      throw new MaskFormatError('corrupt_section', 'Golomb stream decodes past the end of the layer');
    }
    out[index] = symbol;
  }
  if (bitLength - pos >= 8) {
    throw new MaskFormatError('corrupt_section', 'Golomb stream has unused bytes');
  }
}

function toWords(bytes: Uint8Array): Uint32Array {
  const words = new Uint32Array((bytes.length >>> 2) + 3);
  const whole = bytes.length & ~3;
  let w = 0;
  for (let i = 0; i < whole; i += 4, w++) {
    words[w] = ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0;
  }
  let last = 0;
  for (let i = whole; i < bytes.length; i++) last |= bytes[i]! << (24 - 8 * (i - whole));
  words[w] = last >>> 0;
  return words;
}
