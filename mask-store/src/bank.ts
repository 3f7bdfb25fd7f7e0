/**
 * Mask banks: K timestep buckets × L layers of binary masks in one content-addressed file.
 * `encodeBank` builds the canonical bytes (each section coded with the smallest allowed codec),
 * `MaskBank.open` validates untrusted bytes completely before handing out anything, and the
 * decode methods turn one section, one bucket or the whole bank back into 0/1 masks.
 */
import { countZeros, isBinary } from './bits';
import { decodeSection, encodeSection, type CoderName, type EncodedSection } from './codecs/section';
import { MaskFormatError } from './errors';
import { readHeaderBytes, readPrefix, writeContainer, PREFIX_BYTES } from './format/container';
import {
  canonicalMeta,
  decodeHeader,
  encodeHeader,
  validateBucketEdges,
  type BankHeader,
  type BankMeta,
  type DeltaTarget,
  type SectionRecord,
} from './format/header';
import { crc32, sha256Hex } from './hash';
import { layerSize, layoutHash, validateLayout, type MaskLayout } from './layout';
import { checkLimit, resolveLimits, type MaskLimits } from './limits';

/** The scheduler length most diffusion models train with. */
export const DEFAULT_TIMESTEPS = 1000;

export interface OpenBankOptions {
  readonly limits?: Partial<MaskLimits>;
  /** Verify every section's CRC on open (default true); otherwise each is checked when read. */
  readonly verify?: boolean;
  /**
   * Bytes of decoded sections a bank keeps (least recently used out), so sections coded against
   * the previous bucket decode their chain once rather than once per bucket. Default 256 MiB.
   */
  readonly decodeCacheBytes?: number;
}

export class MaskBank {
  private readonly verified: Uint8Array;
  private readonly decoded = new Map<number, Uint8Array>();
  private decodedBytes = 0;
  private decodeCacheBytes = 256 * 1024 * 1024;

  private constructor(
    /** The bank's canonical bytes. */
    readonly bytes: Uint8Array,
    /** SHA-256 hex of `bytes`. */
    readonly id: string,
    readonly header: BankHeader,
    /** Absolute offset of the first section payload. */
    readonly payloadOffset: number,
  ) {
    this.verified = new Uint8Array(header.sections.length);
  }

  /**
   * Validates `bytes` as a bank: prefix, header checksum and schema, layout hash, limits,
   * section table, exact total length and (by default) every section checksum.
   * @throws MaskFormatError with codes `bad_magic`, `unsupported_version`, `truncated`,
   *   `trailing_bytes`, `checksum_mismatch`, `malformed_header`, `layout_mismatch`,
   *   `limit_exceeded`, `bad_layout`.
   */
  static async open(bytes: Uint8Array, options: OpenBankOptions = {}): Promise<MaskBank> {
    const limits = resolveLimits(options.limits);
    checkLimit('bank size', bytes.length, limits.maxBankBytes);
    const prefix = readPrefix(bytes, limits);
    const headerBytes = readHeaderBytes(bytes, prefix);
    const payloadOffset = PREFIX_BYTES + prefix.headerLength;
    const header = decodeHeader(headerBytes, limits, null);
    const last = header.sections[header.sections.length - 1];
    const declared = payloadOffset + (last === undefined ? 0 : last.offset + last.length);
    if (bytes.length < declared)
      throw new MaskFormatError('truncated', `bank is ${bytes.length} of ${declared} bytes`);
    if (bytes.length > declared) {
      throw new MaskFormatError(
        'trailing_bytes',
        `bank has ${bytes.length - declared} bytes after its last section`,
      );
    }
    if ((await layoutHash(header.layout)) !== header.layoutHash) {
      throw new MaskFormatError('layout_mismatch', 'layoutHash does not match the layer table');
    }
    const bank = new MaskBank(bytes, await sha256Hex(bytes), header, payloadOffset);
    if (options.decodeCacheBytes !== undefined) {
      if (!Number.isSafeInteger(options.decodeCacheBytes) || options.decodeCacheBytes < 0) {
        throw new RangeError('decodeCacheBytes must be a non-negative integer');
      }
      bank.decodeCacheBytes = options.decodeCacheBytes;
    }
    if (options.verify ?? true) {
      for (let index = 0; index < header.sections.length; index++) bank.checkedPayload(index);
    }
    return bank;
  }

  get layout(): MaskLayout {
    return this.header.layout;
  }

  get bucketCount(): number {
    return this.header.bucketEdges.length - 1;
  }

  get layerCount(): number {
    return this.header.layout.layers.length;
  }

  /** The bucket whose [edge_b, edge_b+1) contains `timestep` (clamped into [0, timesteps)). */
  bucketForTimestep(timestep: number): number {
    return bucketForTimestep(this.header.bucketEdges, timestep);
  }

  /** The record of (bucket, layer). */
  section(bucket: number, layer: number): SectionRecord {
    return this.header.sections[this.sectionIndex(bucket, layer)]!;
  }

  /** Absolute byte range [start, end) of one section, for a Range request. */
  sectionRange(bucket: number, layer: number): { start: number; end: number } {
    const record = this.section(bucket, layer);
    const start = this.payloadOffset + record.offset;
    return { start, end: start + record.length };
  }

  /** Absolute byte range [start, end) of all sections of one bucket. */
  bucketRange(bucket: number): { start: number; end: number } {
    return {
      start: this.sectionRange(bucket, 0).start,
      end: this.sectionRange(bucket, this.layerCount - 1).end,
    };
  }

  /**
   * Decodes one layer of one bucket to a 0/1 mask (`[out, in]` row-major). A section coded
   * against the previous bucket decodes that one first; one coded against a parent needs
   * `parent`, the bank whose id the header names.
   * @throws MaskFormatError `checksum_mismatch`, `corrupt_section`, `parent_required`, `parent_mismatch`.
   */
  decodeLayer(bucket: number, layer: number, parent?: MaskBank): Uint8Array {
    return this.cachedLayer(bucket, layer, parent).slice();
  }

  /** Decodes every layer of one bucket. */
  decodeBucket(bucket: number, parent?: MaskBank): Uint8Array[] {
    return this.layout.layers.map((_, layer) => this.decodeLayer(bucket, layer, parent));
  }

  /** Decodes the whole bank: `masks[bucket][layer]`. */
  decodeAll(parent?: MaskBank): Uint8Array[][] {
    const masks: Uint8Array[][] = [];
    for (let b = 0; b < this.bucketCount; b++) {
      masks.push(
        this.layout.layers.map((_, layer) => {
          const previous = b > 0 ? masks[b - 1]![layer]! : null;
          return this.decodeOne(b, layer, this.section(b, layer).ref === 'prev' ? previous : null, parent);
        }),
      );
    }
    return masks;
  }

  /**
   * The decoded mask of (bucket, layer), from the decode cache or by decoding the chain of
   * previous-bucket references back to the nearest cached or self-contained section. The
   * result is shared with the cache: callers that may write to it copy it.
   */
  private cachedLayer(bucket: number, layer: number, parent?: MaskBank): Uint8Array {
    const index = this.sectionIndex(bucket, layer);
    const hit = this.decoded.get(index);
    if (hit !== undefined) {
      this.decoded.delete(index);
      this.decoded.set(index, hit);
      return hit;
    }
    let start = bucket;
    while (
      this.section(start, layer).ref === 'prev' &&
      !this.decoded.has((start - 1) * this.layerCount + layer)
    )
      start--;
    let mask: Uint8Array | null =
      this.section(start, layer).ref === 'prev' ? this.cachedLayer(start - 1, layer, parent) : null;
    for (let b = start; b <= bucket; b++) {
      mask = this.decodeOne(b, layer, mask, parent);
      this.remember(b * this.layerCount + layer, mask);
    }
    return mask!;
  }

  private remember(index: number, mask: Uint8Array): void {
    if (mask.length > this.decodeCacheBytes) return;
    this.decoded.set(index, mask);
    this.decodedBytes += mask.length;
    for (const [oldest, entry] of this.decoded) {
      if (this.decodedBytes <= this.decodeCacheBytes) break;
      this.decoded.delete(oldest);
      this.decodedBytes -= entry.length;
    }
  }

  /** Zero fraction of one bucket, or of the whole bank, from the section records. */
  zeroFraction(bucket?: number): number {
    let zeros = 0;
    let total = 0;
    for (let b = 0; b < this.bucketCount; b++) {
      if (bucket !== undefined && b !== bucket) continue;
      this.layout.layers.forEach((layer, l) => {
        zeros += this.section(b, l).zeros;
        total += layerSize(layer);
      });
    }
    return zeros / total;
  }

  private sectionIndex(bucket: number, layer: number): number {
    if (!Number.isInteger(bucket) || bucket < 0 || bucket >= this.bucketCount) {
      throw new RangeError(`bucket ${bucket} is outside [0, ${this.bucketCount})`);
    }
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.layerCount) {
      throw new RangeError(`layer ${layer} is outside [0, ${this.layerCount})`);
    }
    return bucket * this.layerCount + layer;
  }

  private checkedPayload(index: number): Uint8Array {
    const record = this.header.sections[index]!;
    const start = this.payloadOffset + record.offset;
    const payload = this.bytes.subarray(start, start + record.length);
    if (this.verified[index] === 0) {
      if (crc32(payload) !== record.crc) {
        const bucket = Math.floor(index / this.layerCount);
        const layer = this.layout.layers[index % this.layerCount]!.name;
        throw new MaskFormatError(
          'checksum_mismatch',
          `section (bucket ${bucket}, ${layer}) checksum mismatch`,
        );
      }
      this.verified[index] = 1;
    }
    return payload;
  }

  private decodeOne(
    bucket: number,
    layer: number,
    previous: Uint8Array | null,
    parent?: MaskBank,
  ): Uint8Array {
    const index = this.sectionIndex(bucket, layer);
    const record = this.header.sections[index]!;
    let ref: Uint8Array | null = null;
    if (record.ref === 'prev') ref = previous;
    if (record.ref === 'parent') {
      if (parent === undefined) {
        throw new MaskFormatError('parent_required', `section needs parent bank ${this.header.parent ?? ''}`);
      }
      if (parent.id !== this.header.parent) {
        throw new MaskFormatError(
          'parent_mismatch',
          `bank is coded against ${this.header.parent ?? ''}, not ${parent.id}`,
        );
      }
      ref = parent.cachedLayer(parentBucket(parent, this.header.bucketEdges, bucket), layer);
    }
    return decodeSection(record, this.checkedPayload(index), layerSize(this.layout.layers[layer]!), ref);
  }
}

/** The bucket of `edges` whose half-open range holds `timestep`, clamped into range. */
export function bucketForTimestep(edges: readonly number[], timestep: number): number {
  if (Number.isNaN(timestep)) throw new RangeError('timestep is NaN');
  const last = edges.length - 2;
  const t = Math.floor(timestep);
  let lo = 0;
  let hi = last;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (edges[mid]! <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The parent bucket a section of `bucket` (under `edges`) refers to: the one holding its first timestep. */
function parentBucket(parent: MaskBank, edges: readonly number[], bucket: number): number {
  return parent.bucketForTimestep(edges[bucket]!);
}

/** Evenly spaced integer bucket edges over [0, timesteps). */
export function evenBucketEdges(buckets: number, timesteps = DEFAULT_TIMESTEPS): number[] {
  if (!Number.isInteger(buckets) || buckets < 1 || buckets > timesteps) {
    throw new RangeError(`buckets must be an integer in [1, ${timesteps}], got ${buckets}`);
  }
  return Array.from({ length: buckets + 1 }, (_, i) => Math.round((i * timesteps) / buckets));
}

export interface BankInput {
  readonly layout: MaskLayout;
  /** `masks[bucket][layer]`: 0/1 per weight, `[out, in]` row-major. */
  readonly masks: readonly (readonly Uint8Array[])[];
  /** K + 1 edges from 0 to `timesteps`. Default: K even buckets. */
  readonly bucketEdges?: readonly number[];
  /** Default 1000. */
  readonly timesteps?: number;
  /** Base model the masks belong to. Default ''. */
  readonly modelId?: string;
  readonly meta?: BankMeta;
}

export interface EncodeBankOptions {
  /** Coders the encoder may choose from. Default: raw, golomb, arith. */
  readonly coders?: readonly CoderName[];
  /** How much larger a faster-decoding section may be than the smallest (see encodeSection). Default 0.01. */
  readonly sizeTolerance?: number;
  /** Whether sections may be coded against the previous bucket. Default true. */
  readonly prevRefs?: boolean;
  /** A bank to code against (sections may reference its masks); it becomes the header's parent. */
  readonly parent?: MaskBank;
  readonly limits?: Partial<MaskLimits>;
  /** @internal Set by `diffBanks`: the bank that patching rebuilds. */
  readonly target?: DeltaTarget;
}

/**
 * Encodes masks into canonical bank bytes and opens them. Same input and options give the
 * same bytes and so the same id.
 * @throws MaskFormatError `bad_layout`, `bad_mask` (wrong length, values other than 0/1),
 *   `layout_mismatch` (parent of another layout), `limit_exceeded`; RangeError for bad edges.
 */
export async function encodeBank(input: BankInput, options: EncodeBankOptions = {}): Promise<MaskBank> {
  const limits = resolveLimits(options.limits);
  const layout = validateLayout(input.layout, limits);
  const timesteps = input.timesteps ?? DEFAULT_TIMESTEPS;
  const masks = input.masks;
  if (masks.length < 1) throw new MaskFormatError('bad_mask', 'a bank needs at least one bucket of masks');
  checkLimit('bucket count', masks.length, limits.maxBuckets);
  const edges = input.bucketEdges ?? evenBucketEdges(masks.length, timesteps);
  if (edges.length !== masks.length + 1) {
    throw new RangeError(`bucketEdges has ${edges.length} edges for ${masks.length} buckets`);
  }
  validateBucketEdges(edges, timesteps);
  const hash = await layoutHash(layout);
  const parent = options.parent;
  if (parent !== undefined && parent.header.layoutHash !== hash) {
    throw new MaskFormatError('layout_mismatch', 'parent bank has another layout');
  }
  const meta = canonicalMeta(input.meta ?? {}) as BankMeta;

  const sections: EncodedSection[] = [];
  masks.forEach((bucketMasks, bucket) => {
    if (bucketMasks.length !== layout.layers.length) {
      throw new MaskFormatError(
        'bad_mask',
        `bucket ${bucket} has ${bucketMasks.length} masks for ${layout.layers.length} layers`,
      );
    }
    layout.layers.forEach((layer, l) => {
      const mask = bucketMasks[l]!;
      if (mask.length !== layerSize(layer)) {
        throw new MaskFormatError(
          'bad_mask',
          `bucket ${bucket} ${layer.name}: ${mask.length} values for shape [${layer.shape.join(', ')}]`,
        );
      }
      if (!isBinary(mask))
        throw new MaskFormatError('bad_mask', `bucket ${bucket} ${layer.name}: values other than 0 and 1`);
      const refs = new Map<'prev' | 'parent', Uint8Array>();
      if (bucket > 0 && (options.prevRefs ?? true)) refs.set('prev', masks[bucket - 1]![l]!);
      if (parent !== undefined)
        refs.set('parent', parent.decodeLayer(parent.bucketForTimestep(edges[bucket]!), l));
      sections.push(
        encodeSection(mask, countZeros(mask), refs, {
          coders: options.coders,
          sizeTolerance: options.sizeTolerance,
        }),
      );
    });
  });

  let offset = 0;
  const header: BankHeader = {
    modelId: input.modelId ?? '',
    layoutHash: hash,
    layout,
    timesteps,
    bucketEdges: [...edges],
    parent: parent?.id ?? null,
    target: options.target ?? null,
    meta,
    sections: sections.map((s) => {
      const record: SectionRecord = {
        coder: s.coder,
        ref: s.ref,
        zeros: s.zeros,
        params: s.params,
        offset,
        length: s.payload.length,
        crc: crc32(s.payload),
      };
      offset += s.payload.length;
      return record;
    }),
  };
  const bytes = writeContainer(
    encodeHeader(header),
    sections.map((s) => s.payload),
  );
  return MaskBank.open(bytes, { limits });
}
