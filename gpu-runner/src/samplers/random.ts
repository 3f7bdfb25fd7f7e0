/**
 * Seeded, reproducible randomness in pure JavaScript, identical in Node and browsers: the
 * counter-based Philox4x32-10 generator (Salmon et al., SC'11; the generator behind cuRAND and
 * PyTorch's CUDA RNG) and Box-Muller Gaussians computed in float64 and rounded to float32.
 * Counter-based means any value is addressable by (seed, stream, index) without generating its
 * predecessors, so sample i of a batch can own a stream that depends only on its own seed: a
 * batch of different tenants draws exactly the noise each would draw alone.
 *
 * Layout (stable: changing it changes every image):
 * - key   = (seed mod 2^32, floor(seed / 2^32)), seed a non-negative safe integer;
 * - counter = (block, stream, domain, 0), domain {@link GAUSSIAN_DOMAIN} or {@link UNIFORM_DOMAIN};
 * - Gaussian value 2j and 2j+1 of a stream come from block j: u1 = (53 bits of words 0,1 + 1)/2^53
 *   in (0, 1], u2 = (53 bits of words 2,3)/2^53 in [0, 1), r = sqrt(-2 ln u1),
 *   z = (r cos 2πu2, r sin 2πu2), each rounded to float32.
 *
 * Within one JavaScript engine the bytes are fully deterministic. Across engines, Math.log /
 * cos / sin are not required to be correctly rounded; V8 and SpiderMonkey use fdlibm ports and
 * agree, others may differ by one float64 ulp, which changes the float32 result of a value with
 * probability about 2^-28 (a value must sit within an ulp of a float32 rounding boundary).
 * The noise does not reproduce PyTorch's `torch.randn` streams.
 */
import { checkInteger, checkSeed, checkStream } from './validate';

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;
const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;
const TWO_POW_26 = 67108864;

/** Counter word 2 for Gaussian noise streams. */
export const GAUSSIAN_DOMAIN = 0;
/** Counter word 2 for uniform integer streams (training timesteps). */
export const UNIFORM_DOMAIN = 1;

/** Most values drawn from one stream: the block counter is one 32-bit word (2^32 values use 2^31 blocks). */
export const MAX_STREAM_VALUES = 2 ** 32;

/**
 * High 32 bits of the 64-bit product of two unsigned 32-bit integers, from 16-bit halves: every
 * partial product is below 2^32, so the double arithmetic is exact and needs no division.
 */
function mulHi(a: number, b: number): number {
  const aLow = a & 0xffff;
  const aHigh = a >>> 16;
  const bLow = b & 0xffff;
  const bHigh = b >>> 16;
  const lowHigh = aLow * bHigh;
  const highLow = aHigh * bLow;
  const middle = ((aLow * bLow) >>> 16) + (lowHigh & 0xffff) + (highLow & 0xffff);
  return (aHigh * bHigh + (lowHigh >>> 16) + (highLow >>> 16) + (middle >>> 16)) >>> 0;
}

/**
 * One Philox4x32-10 block: 10 rounds over `counter` (4 words) with `key` (2 words), written
 * to `out`. Exposed so a GPU implementation can be checked against this one.
 */
export function philox4x32(
  counter: ArrayLike<number>,
  key: ArrayLike<number>,
  out: Uint32Array = new Uint32Array(4),
): Uint32Array {
  let c0 = counter[0]! >>> 0;
  let c1 = counter[1]! >>> 0;
  let c2 = counter[2]! >>> 0;
  let c3 = counter[3]! >>> 0;
  let k0 = key[0]! >>> 0;
  let k1 = key[1]! >>> 0;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    const hi0 = mulHi(PHILOX_M0, c0);
    const lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulHi(PHILOX_M1, c2);
    const lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

/** The two Philox key words of a seed (a non-negative safe integer). */
function seedKey(seed: number): [number, number] {
  return [seed >>> 0, Math.floor(seed / TWO_POW_32) >>> 0];
}

/**
 * Fills `target` with standard normal values (each a float32 value, also when `target` is a
 * Float64Array) from the Gaussian stream (`seed`, `stream`), starting at its first value.
 */
export function fillGaussian(target: Float32Array | Float64Array, seed: number, stream = 0): void {
  checkSeed('seed', seed);
  checkStream('stream', stream);
  if (target.length > MAX_STREAM_VALUES) {
    throw new RangeError(`target has ${target.length} elements, above ${MAX_STREAM_VALUES} per stream`);
  }
  const key = seedKey(seed);
  const counter = new Uint32Array([0, stream, GAUSSIAN_DOMAIN, 0]);
  const words = new Uint32Array(4);
  const length = target.length;
  for (let block = 0, i = 0; i < length; block++, i += 2) {
    counter[0] = block;
    philox4x32(counter, key, words);
    const u1 = ((words[0]! >>> 5) * TWO_POW_26 + (words[1]! >>> 6) + 1) / TWO_POW_53;
    const u2 = ((words[2]! >>> 5) * TWO_POW_26 + (words[3]! >>> 6)) / TWO_POW_53;
    const radius = Math.sqrt(-2 * Math.log(u1));
    const angle = 2 * Math.PI * u2;
    target[i] = Math.fround(radius * Math.cos(angle));
    if (i + 1 < length) target[i + 1] = Math.fround(radius * Math.sin(angle));
  }
}

/** `length` standard normal float32 values from the Gaussian stream (`seed`, `stream`). */
export function gaussianNoise(length: number, seed: number, stream = 0): Float32Array {
  checkInteger('length', length, 0, MAX_STREAM_VALUES);
  const out = new Float32Array(length);
  fillGaussian(out, seed, stream);
  return out;
}

/**
 * Per-sample seeds of a batch: a single seed `s` means `s, s + 1, …, s + batchSize − 1`, so
 * sample i of a batch seeded `s` equals the same sample generated alone with seed `s + i`.
 */
export function sampleSeeds(seed: number | readonly number[], batchSize: number): number[] {
  if (typeof seed === 'number') {
    checkSeed('seed', seed);
    if (seed + batchSize - 1 > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(`seed + batch size - 1 must be a safe integer, got seed ${seed}`);
    }
    return Array.from({ length: batchSize }, (_, i) => seed + i);
  }
  if (!Array.isArray(seed)) throw new TypeError('seed must be a number or an array of numbers');
  if (seed.length !== batchSize) {
    throw new RangeError(`seed must hold one seed per sample (${batchSize}), has ${seed.length}`);
  }
  return seed.map((s, i) => checkSeed(`seed[${i}]`, s));
}

/**
 * Initial noise of a batch `[B, ...]`: sample i is `gaussianNoise(prod(shape[1:]), seeds[i], stream)`
 * (see {@link sampleSeeds} for how one seed expands to B).
 */
export function batchNoise(
  shape: readonly number[],
  seed: number | readonly number[],
  stream = 0,
): Float32Array {
  if (!Array.isArray(shape) || shape.length < 1) throw new TypeError('shape must be a non-empty array');
  const dims = shape.map((d, i) => checkInteger(`shape[${i}]`, d, 1, MAX_STREAM_VALUES));
  const batchSize = dims[0]!;
  const sampleSize = dims.slice(1).reduce((a, b) => a * b, 1);
  if (batchSize * sampleSize > MAX_STREAM_VALUES) {
    throw new RangeError(`shape holds ${batchSize * sampleSize} elements, above ${MAX_STREAM_VALUES}`);
  }
  const seeds = sampleSeeds(seed, batchSize);
  const out = new Float32Array(batchSize * sampleSize);
  seeds.forEach((s, i) => fillGaussian(out.subarray(i * sampleSize, (i + 1) * sampleSize), s, stream));
  return out;
}

/**
 * Sequential unsigned 32-bit integers from the uniform stream (`seed`, `stream`): word w is word
 * `w % 4` of block `floor(w / 4)`. Used where rejection sampling consumes a variable count.
 */
export class UniformStream {
  private readonly key: [number, number];
  private readonly counter: Uint32Array;
  private readonly words = new Uint32Array(4);
  private position = 4;

  constructor(seed: number, stream = 0) {
    checkSeed('seed', seed);
    checkStream('stream', stream);
    this.key = seedKey(seed);
    this.counter = new Uint32Array([0, stream, UNIFORM_DOMAIN, 0]);
  }

  /** The next unsigned 32-bit word. */
  nextUint32(): number {
    if (this.position === 4) {
      philox4x32(this.counter, this.key, this.words);
      // Wraps after 2^34 words; no caller draws that many from one stream.
      this.counter[0] = this.counter[0]! + 1;
      this.position = 0;
    }
    return this.words[this.position++]!;
  }

  /**
   * A uniform integer in [0, n), n in [1, 2^32], without modulo bias: words at or above the
   * largest multiple of n below 2^32 are rejected (fewer than half of all words in the worst case).
   */
  nextBelow(n: number): number {
    checkInteger('n', n, 1, TWO_POW_32);
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const word = this.nextUint32();
      if (word < limit) return word % n;
    }
  }
}
