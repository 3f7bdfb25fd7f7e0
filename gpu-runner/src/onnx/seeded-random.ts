/**
 * A small seeded PRNG for deterministic test weights: sfc32 seeded through splitmix32 from
 * a numeric seed and a stream name (the parameter name). Keying the stream by name makes a
 * parameter's values depend only on (seed, name), not on how many parameters came before,
 * so adding a layer to a config does not reshuffle every other weight.
 */

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** splitmix32: a stream of well-mixed 32-bit words from one 32-bit state (seeds sfc32). */
export function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * sfc32 (Doty-Humphrey's small fast counting generator) over a public 128-bit state, so a hot
 * loop may inline the step over locals and write the state back (the mask-store benchmark's
 * Bernoulli fill does). Subclasses choose the seeding; 12 discarded outputs mix the state.
 */
export class Sfc32 {
  constructor(
    public a: number,
    public b: number,
    public c: number,
    public d: number,
  ) {
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }
}

function seededState(seed: number, stream: string): [number, number, number, number] {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  const mix = splitmix32((seed ^ Math.floor(seed / 2 ** 32) ^ fnv1a(stream)) >>> 0);
  return [mix(), mix(), mix(), mix() | 1];
}

export class SeededRandom extends Sfc32 {
  private spareNormal: number | undefined;

  /** @param seed any safe integer; @param stream a name selecting an independent sequence. */
  constructor(seed: number, stream = '') {
    super(...seededState(seed, stream));
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextUint32() / 2 ** 32;
  }

  /** Standard normal (Box–Muller, both values used). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const value = this.spareNormal;
      this.spareNormal = undefined;
      return value;
    }
    const u = 1 - this.uniform();
    const v = this.uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }
}
