/**
 * One section = one layer of one timestep bucket. This module picks, per section, the
 * smallest of the allowed (reference, coder) pairs and encodes/decodes a section given its
 * record. References: `none`, `prev` (the same layer in the previous bucket) and `parent`
 * (the same layer in the parent bank). Coders: `raw` bitset, `golomb` over the minority
 * symbol of the mask (or of mask ⊕ reference) and `arith` (conditioned on the reference bit).
 * Encoding is deterministic: same mask, same reference, same allowed set → same bytes.
 */
import { countOnes, packBits, packedLength, unpackBits, xorMasks } from '../bits';
import { MaskFormatError } from '../errors';
import { arithCounts, arithEstimateBytes, decodeArith, encodeArith } from './arith';
import {
  chooseGolombParameter,
  decodeGolomb,
  encodeGolomb,
  golombCostBits,
  MAX_GOLOMB_PARAMETER,
  minorityGaps,
} from './golomb';

export const CODERS = ['raw', 'golomb', 'arith'] as const;
export type CoderName = (typeof CODERS)[number];
export const REFS = ['none', 'prev', 'parent'] as const;
export type RefKind = (typeof REFS)[number];

/** How a section was coded: everything needed besides its payload and the layer size. */
export interface SectionCoding {
  readonly coder: CoderName;
  readonly ref: RefKind;
  /** Zeros in the decoded mask (not in the coded vector). */
  readonly zeros: number;
  /**
   * Coder parameters. golomb: `[m, ones of the coded vector]` (the mask, or mask ⊕ ref);
   * arith with a reference: `[symbols where ref = 0, zeros among them]`; otherwise `[]`.
   */
  readonly params: readonly number[];
}

export interface EncodedSection extends SectionCoding {
  readonly payload: Uint8Array;
}

export interface SectionEncodeOptions {
  /** Coders the encoder may choose from. Default: all. */
  readonly coders?: readonly CoderName[];
  /**
   * How much larger than the smallest candidate a faster-decoding one may be and still be
   * chosen (default 0.01: Golomb decodes 3–16× faster than arithmetic coding, measured in
   * docs/results/mask-store-codecs.md, and is within 1% of it on i.i.d. masks below 30% zeros).
   * 0 picks the strictly smallest.
   */
  readonly sizeTolerance?: number;
}

/** Decode-speed preference: raw, then Golomb, then arithmetic; within a coder none, prev, parent. */
const PREFERENCE: readonly CoderName[] = ['raw', 'golomb', 'arith'];

interface Candidate {
  readonly coding: SectionCoding;
  readonly bytes: number;
  readonly materialise: () => Uint8Array;
}

/**
 * Encodes `mask` as a section, trying every allowed coder against no reference and against
 * each reference in `refs` (reference kind → reference mask). Chooses the fastest-decoding
 * candidate whose size is within `sizeTolerance` of the smallest; the choice is deterministic.
 */
export function encodeSection(
  mask: Uint8Array,
  zeros: number,
  refs: ReadonlyMap<Exclude<RefKind, 'none'>, Uint8Array>,
  options: SectionEncodeOptions = {},
): EncodedSection {
  const coders = new Set(options.coders ?? CODERS);
  const tolerance = options.sizeTolerance ?? 0.01;
  if (!(tolerance >= 0)) throw new RangeError('options.sizeTolerance must be ≥ 0');
  const length = mask.length;
  const candidates: Candidate[] = [];
  let smallest = Infinity;
  const offer = (coding: SectionCoding, bytes: number, materialise: () => Uint8Array): void => {
    candidates.push({ coding, bytes, materialise });
    smallest = Math.min(smallest, bytes);
  };

  const refList: [RefKind, Uint8Array | null][] = [['none', null]];
  for (const ref of ['prev', 'parent'] as const) {
    const refMask = refs.get(ref);
    if (refMask !== undefined) refList.push([ref, refMask]);
  }
  for (const [ref, refMask] of refList) {
    if (coders.has('raw') && ref === 'none') {
      offer({ coder: 'raw', ref, zeros, params: [] }, packedLength(length), () => packBits(mask));
    }
    if (coders.has('golomb')) {
      const vector = refMask === null ? mask : xorMasks(mask, refMask);
      const ones = refMask === null ? length - zeros : countOnes(vector);
      const gaps = minorityGaps(vector, ones);
      const m = chooseGolombParameter(gaps, length);
      offer({ coder: 'golomb', ref, zeros, params: [m, ones] }, Math.ceil(golombCostBits(gaps, m) / 8), () =>
        encodeGolomb(gaps, m),
      );
    }
  }
  if (coders.has('arith')) {
    // Arithmetic coding is chosen only when it beats every faster candidate by more than the
    // tolerance, so it is run only when its entropy estimate could do that. The estimate is
    // the empirical entropy + 5 flush bytes and the real size is never below entropy, so the
    // 8-byte slack makes skipping safe: the choice is the same as if every candidate ran.
    const fastest = smallest;
    for (const [ref, refMask] of refList) {
      const counts = arithCounts(mask, refMask, zeros);
      if ((arithEstimateBytes(counts) - 8) * (1 + tolerance) > fastest) continue;
      const payload = encodeArith(mask, refMask, counts);
      offer(
        { coder: 'arith', ref, zeros, params: refMask === null ? [] : [counts.count0, counts.zeros0] },
        payload.length,
        () => payload,
      );
    }
  }
  if (candidates.length === 0) throw new RangeError('options.coders must allow at least one coder');
  const limit = smallest * (1 + tolerance);
  let chosen: Candidate | null = null;
  for (const coder of PREFERENCE) {
    for (const candidate of candidates) {
      if (candidate.coding.coder !== coder || candidate.bytes > limit) continue;
      if (chosen === null || candidate.bytes < chosen.bytes) chosen = candidate;
    }
    if (chosen !== null) break;
  }
  const winner = chosen!;
  return { ...winner.coding, payload: winner.materialise() };
}

/**
 * Encodes `mask` exactly as `coding` says (used to rebuild a bank byte for byte from a
 * recorded header). Throws `corrupt_section` when the mask does not fit the recorded coding.
 */
export function encodeSectionAs(
  coding: SectionCoding,
  mask: Uint8Array,
  refMask: Uint8Array | null,
): Uint8Array {
  switch (coding.coder) {
    case 'raw':
      return packBits(mask);
    case 'golomb': {
      const vector = refMask === null ? mask : xorMasks(mask, refMask);
      const ones = countOnes(vector);
      if (ones !== coding.params[1])
        throw new MaskFormatError('corrupt_section', 'mask does not match its record');
      return encodeGolomb(minorityGaps(vector, ones), coding.params[0]!);
    }
    case 'arith':
      return encodeArith(mask, refMask, arithCounts(mask, refMask, coding.zeros));
  }
}

/**
 * Checks a section record's parameters against the layer size before any decoding.
 * @throws MaskFormatError `malformed_header`
 */
export function validateSectionCoding(coding: SectionCoding, length: number, payloadLength: number): void {
  const bad = (why: string): never => {
    throw new MaskFormatError('malformed_header', `section record: ${why}`);
  };
  const isCount = (value: unknown, max: number): boolean =>
    typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= max;
  if (!isCount(coding.zeros, length)) bad('zero count outside [0, layer size]');
  const params = coding.params;
  switch (coding.coder) {
    case 'raw':
      if (coding.ref !== 'none' || params.length !== 0) bad('raw takes no reference and no parameters');
      if (payloadLength !== packedLength(length)) bad('raw payload length is not ⌈N/8⌉');
      break;
    case 'golomb':
      if (params.length !== 2) bad('golomb needs [m, ones]');
      if (!isCount(params[0], MAX_GOLOMB_PARAMETER) || params[0] === 0) bad('golomb m out of range');
      if (!isCount(params[1], length)) bad('golomb ones outside [0, N]');
      if (coding.ref === 'none' && params[1] !== length - coding.zeros)
        bad('golomb ones disagree with zeros');
      break;
    case 'arith':
      if (coding.ref === 'none') {
        if (params.length !== 0) bad('arith without a reference takes no parameters');
      } else {
        if (params.length !== 2) bad('arith with a reference needs [count0, zeros0]');
        const [count0, zeros0] = params as [number, number];
        if (!isCount(count0, length) || !isCount(zeros0, count0)) bad('arith context counts out of range');
        if (!isCount(coding.zeros - zeros0, length - count0)) bad('arith context counts disagree with zeros');
      }
      break;
  }
}

/**
 * Decodes a section payload into a new 0/1 mask of `length` weights.
 * @throws MaskFormatError `corrupt_section` when the payload disagrees with its record.
 */
export function decodeSection(
  coding: SectionCoding,
  payload: Uint8Array,
  length: number,
  refMask: Uint8Array | null,
): Uint8Array {
  if ((coding.ref === 'none') !== (refMask === null)) {
    throw new RangeError(
      `section with reference ${coding.ref} needs ${coding.ref === 'none' ? 'no' : 'a'} reference mask`,
    );
  }
  if (refMask !== null && refMask.length !== length)
    throw new RangeError('reference mask has the wrong length');
  const out = new Uint8Array(length);
  switch (coding.coder) {
    case 'raw':
      unpackBits(payload, length, out);
      break;
    case 'golomb':
      decodeGolomb(payload, coding.params[1]!, coding.params[0]!, out);
      if (refMask !== null) xorMasks(out, refMask, out);
      break;
    case 'arith': {
      let counts = { count0: length, zeros0: coding.zeros, count1: 0, zeros1: 0 };
      if (refMask !== null) {
        const count0 = coding.params[0]!;
        const zeros0 = coding.params[1]!;
        if (length - countOnes(refMask) !== count0) {
          throw new MaskFormatError(
            'corrupt_section',
            'reference mask does not match the recorded context count',
          );
        }
        counts = { count0, zeros0, count1: length - count0, zeros1: coding.zeros - zeros0 };
      }
      decodeArith(payload, refMask, counts, out);
      break;
    }
  }
  // Golomb without a reference places exactly the declared number of zeros and arith counts
  // them as it decodes; the other paths are checked here.
  const counted = coding.coder === 'arith' || (coding.coder === 'golomb' && refMask === null);
  if (!counted && length - countOnes(out) !== coding.zeros) {
    throw new MaskFormatError('corrupt_section', 'decoded mask has another zero count than its record');
  }
  return out;
}
