/**
 * Bit-level helpers shared by the codecs: LSB-first bitset packing (the `raw` codec and the
 * packed decode output), zero counting, XOR of two masks, and an MSB-first bit writer/reader
 * for the Golomb codec. Masks everywhere in this package are `Uint8Array`s holding 0 or 1 per
 * weight, row-major in PyTorch `[out, in]` order.
 */

/** Bytes needed for an LSB-first bitset of `length` bits. */
export function packedLength(length: number): number {
  return Math.ceil(length / 8);
}

/** Packs a 0/1 mask into an LSB-first bitset: bit `i` is bit `i % 8` of byte `i >> 3`. */
export function packBits(mask: Uint8Array): Uint8Array {
  const out = new Uint8Array(packedLength(mask.length));
  const whole = mask.length & ~7;
  let o = 0;
  for (let i = 0; i < whole; i += 8, o++) {
    out[o] =
      mask[i]! |
      (mask[i + 1]! << 1) |
      (mask[i + 2]! << 2) |
      (mask[i + 3]! << 3) |
      (mask[i + 4]! << 4) |
      (mask[i + 5]! << 5) |
      (mask[i + 6]! << 6) |
      (mask[i + 7]! << 7);
  }
  for (let i = whole; i < mask.length; i++) out[o] = out[o]! | (mask[i]! << (i & 7));
  return out;
}

/** Unpacks `length` bits of an LSB-first bitset into a 0/1 mask (into `out` if given). */
export function unpackBits(bits: Uint8Array, length: number, out = new Uint8Array(length)): Uint8Array {
  const whole = length & ~7;
  let b = 0;
  for (let i = 0; i < whole; i += 8, b++) {
    const byte = bits[b]!;
    out[i] = byte & 1;
    out[i + 1] = (byte >>> 1) & 1;
    out[i + 2] = (byte >>> 2) & 1;
    out[i + 3] = (byte >>> 3) & 1;
    out[i + 4] = (byte >>> 4) & 1;
    out[i + 5] = (byte >>> 5) & 1;
    out[i + 6] = (byte >>> 6) & 1;
    out[i + 7] = (byte >>> 7) & 1;
  }
  for (let i = whole; i < length; i++) out[i] = (bits[i >>> 3]! >>> (i & 7)) & 1;
  return out;
}

/** A 32-bit view over the 4-byte-aligned prefix of `bytes`, or null when misaligned. */
function wordView(bytes: Uint8Array): Uint32Array | null {
  return bytes.byteOffset % 4 === 0
    ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2)
    : null;
}

/** Number of ones in a 0/1 mask. */
export function countOnes(mask: Uint8Array): number {
  let ones = 0;
  let i = 0;
  const words = wordView(mask);
  if (words !== null) {
    // Each byte is 0 or 1, so multiplying by 0x01010101 sums the four bytes into the top byte.
    for (let w = 0; w < words.length; w++) ones += Math.imul(words[w]!, 0x01010101) >>> 24;
    i = words.length * 4;
  }
  for (; i < mask.length; i++) ones += mask[i]!;
  return ones;
}

/** Number of zeros in a 0/1 mask. */
export function countZeros(mask: Uint8Array): number {
  return mask.length - countOnes(mask);
}

/**
 * Positions of `symbol` in a 0/1 vector known to hold exactly `count` of them. Scans a word
 * at a time, so sparse symbols cost about a quarter of a byte loop.
 */
export function positionsOf(vector: Uint8Array, symbol: 0 | 1, count: number): Int32Array {
  const positions = new Int32Array(count);
  let found = 0;
  let i = 0;
  const words = wordView(vector);
  if (words !== null) {
    const other = symbol === 1 ? 0 : 0x01010101;
    for (let w = 0; w < words.length; w++) {
      if (words[w] === other) continue;
      const base = w * 4;
      for (let k = base; k < base + 4; k++) if (vector[k] === symbol) positions[found++] = k;
    }
    i = words.length * 4;
  }
  for (; i < vector.length; i++) if (vector[i] === symbol) positions[found++] = i;
  if (found !== count) throw new RangeError(`expected ${count} positions of ${symbol}, found ${found}`);
  return positions;
}

/** True when every element is 0 or 1. */
export function isBinary(mask: Uint8Array): boolean {
  let bad = 0;
  for (let i = 0; i < mask.length; i++) bad |= mask[i]! & 0xfe;
  return bad === 0;
}

/** Element-wise XOR of two equally long 0/1 masks (`out` may alias `a`). */
export function xorMasks(a: Uint8Array, b: Uint8Array, out = new Uint8Array(a.length)): Uint8Array {
  let i = 0;
  const wa = wordView(a);
  const wb = wordView(b);
  const wo = wordView(out);
  if (wa !== null && wb !== null && wo !== null) {
    for (let w = 0; w < wa.length; w++) wo[w] = wa[w]! ^ wb[w]!;
    i = wa.length * 4;
  }
  for (; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** Grows as it goes; writes bits MSB-first within each byte. */
export class BitWriter {
  private buffer: Uint8Array;
  private bytePos = 0;
  /** Bits pending in `acc`, at most 7 between calls. */
  private accBits = 0;
  private acc = 0;

  constructor(initialBytes = 1024) {
    this.buffer = new Uint8Array(Math.max(16, initialBytes));
  }

  /** Appends the low `count` bits of `value` (count ≤ 30), most significant first. */
  write(value: number, count: number): void {
    if (count > 16) {
      this.write(value >>> 16, count - 16);
      this.write(value & 0xffff, 16);
      return;
    }
    this.acc = (this.acc << count) | (value & ((1 << count) - 1));
    this.accBits += count;
    while (this.accBits >= 8) {
      this.accBits -= 8;
      this.pushByte((this.acc >>> this.accBits) & 0xff);
    }
    this.acc &= (1 << this.accBits) - 1;
  }

  /** Appends `count` zero bits then a one bit (unary code of `count`). */
  writeUnary(count: number): void {
    let left = count;
    while (left >= 16) {
      this.write(0, 16);
      left -= 16;
    }
    this.write(1, left + 1);
  }

  /** The written bits, zero-padded to a whole byte. */
  finish(): Uint8Array {
    if (this.accBits > 0) {
      this.pushByte((this.acc << (8 - this.accBits)) & 0xff);
      this.accBits = 0;
      this.acc = 0;
    }
    return this.buffer.slice(0, this.bytePos);
  }

  private pushByte(byte: number): void {
    if (this.bytePos === this.buffer.length) {
      const grown = new Uint8Array(this.buffer.length * 2);
      grown.set(this.buffer);
      this.buffer = grown;
    }
    this.buffer[this.bytePos++] = byte;
  }
}

/**
 * Reads bits MSB-first. Reads past the end yield zero bits; callers bound their loops with
 * {@link BitReader.overrun} so a malicious stream of zeros cannot make them spin.
 */
export class BitReader {
  /** The input plus 8 zero bytes, so a 32-bit peek never reads out of bounds. */
  private readonly bytes: Uint8Array;
  readonly bitLength: number;
  pos = 0;

  constructor(input: Uint8Array) {
    this.bytes = new Uint8Array(input.length + 8);
    this.bytes.set(input);
    this.bitLength = input.length * 8;
  }

  /** The next 32 bits as an unsigned integer, without consuming them. */
  peek32(): number {
    const bytePos = this.pos >>> 3;
    const shift = this.pos & 7;
    const b = this.bytes;
    const word =
      ((b[bytePos]! << 24) | (b[bytePos + 1]! << 16) | (b[bytePos + 2]! << 8) | b[bytePos + 3]!) >>> 0;
    if (shift === 0) return word;
    return ((word << shift) | (b[bytePos + 4]! >>> (8 - shift))) >>> 0;
  }

  /** Reads `count` bits (1 ≤ count ≤ 32). */
  read(count: number): number {
    const value = this.peek32() >>> (32 - count);
    this.pos += count;
    return value;
  }

  /** True once more bits were consumed than the input holds. */
  get overrun(): boolean {
    return this.pos > this.bitLength;
  }
}
