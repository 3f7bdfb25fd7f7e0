/**
 * The bank header: a msgpack map written in a fixed key order, so the same bank content
 * always gives the same bytes. `decodeHeader` turns untrusted bytes into a typed header and
 * refuses anything that is not exactly the documented shape (docs/bank-format.md), checking
 * every count against the limits before a caller allocates from it.
 */
import { Packr, Unpackr } from 'msgpackr';
import { MaskFormatError } from '../errors';
import { isHexDigest } from '../hash';
import { layerSize, validateLayout, type MaskLayout } from '../layout';
import { checkLimit, type MaskLimits } from '../limits';
import { CODERS, REFS, validateSectionCoding, type SectionCoding } from '../codecs/section';

/** A section's coding plus where its payload lies (offset relative to the payload start). */
export interface SectionRecord extends SectionCoding {
  readonly offset: number;
  readonly length: number;
  /** CRC-32 of the payload bytes. */
  readonly crc: number;
}

/** JSON-like values allowed in bank metadata. */
export type MetaValue =
  null | boolean | number | string | readonly MetaValue[] | { readonly [key: string]: MetaValue };
export type BankMeta = { readonly [key: string]: MetaValue };

/** A delta file's description of the bank that patching rebuilds. */
export interface DeltaTarget {
  /** Bank id of the rebuilt bank. */
  readonly id: string;
  /** The rebuilt bank's header bytes, verbatim. */
  readonly header: Uint8Array;
}

export interface BankHeader {
  readonly modelId: string;
  readonly layoutHash: string;
  readonly layout: MaskLayout;
  /** Training timesteps of the model's scheduler; bucket edges cover [0, timesteps). */
  readonly timesteps: number;
  /** K + 1 strictly increasing integers from 0 to `timesteps`. */
  readonly bucketEdges: readonly number[];
  /** Id of the bank that `parent` references point into, or null. */
  readonly parent: string | null;
  readonly target: DeltaTarget | null;
  readonly meta: BankMeta;
  /** Bucket-major: the record of (bucket b, layer l) is at `b * layers + l`. */
  readonly sections: readonly SectionRecord[];
}

const packr = new Packr({ useRecords: false, variableMapSize: true, moreTypes: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

const CODER_IDS: Record<string, number> = { raw: 0, golomb: 1, arith: 2 };
const REF_IDS: Record<string, number> = { none: 0, prev: 1, parent: 2 };

/** Sorts object keys recursively and refuses values JSON could not carry. */
export function canonicalMeta(value: unknown, path = 'meta'): MetaValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`${path} must be a finite number`);
    return value;
  }
  if (Array.isArray(value)) return value.map((item, i) => canonicalMeta(item, `${path}[${i}]`));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, MetaValue> = {};
    for (const key of Object.keys(value).sort()) {
      if (key === '__proto__') throw new TypeError(`${path} may not have a __proto__ key`);
      out[key] = canonicalMeta((value as Record<string, unknown>)[key], `${path}.${key}`);
    }
    return out;
  }
  throw new TypeError(`${path} holds a value that is not JSON-like`);
}

/** Encodes a header in the canonical key order. */
export function encodeHeader(header: BankHeader): Uint8Array {
  const map = {
    modelId: header.modelId,
    layoutHash: header.layoutHash,
    layers: header.layout.layers.map((l) => [l.name, l.shape[0], l.shape[1]]),
    timesteps: header.timesteps,
    bucketEdges: [...header.bucketEdges],
    parent: header.parent,
    target: header.target === null ? null : { id: header.target.id, header: header.target.header },
    meta: canonicalMeta(header.meta),
    sections: header.sections.map((s) => [
      CODER_IDS[s.coder],
      REF_IDS[s.ref],
      s.offset,
      s.length,
      s.zeros,
      s.crc,
      [...s.params],
    ]),
  };
  return new Uint8Array(packr.pack(map));
}

function malformed(why: string): never {
  throw new MaskFormatError('malformed_header', why);
}

function isUint(value: unknown, max = Number.MAX_SAFE_INTEGER): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= max;
}

const HEADER_KEYS = [
  'modelId',
  'layoutHash',
  'layers',
  'timesteps',
  'bucketEdges',
  'parent',
  'target',
  'meta',
  'sections',
];

/**
 * Decodes and validates header bytes. Does not verify the layout hash (that needs async
 * SHA-256; `openBank` does it).
 * @throws MaskFormatError `malformed_header`, `bad_layout` or `limit_exceeded`.
 */
export function decodeHeader(
  bytes: Uint8Array,
  limits: MaskLimits,
  payloadLength: number | null,
): BankHeader {
  let raw: unknown;
  try {
    raw = unpackr.unpack(bytes);
  } catch (error) {
    malformed(`header is not msgpack: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) malformed('header is not a map');
  const map = raw as Record<string, unknown>;
  const keys = Object.keys(map);
  if (keys.length !== HEADER_KEYS.length || !HEADER_KEYS.every((k, i) => keys[i] === k)) {
    malformed(`header keys must be exactly ${HEADER_KEYS.join(', ')} in that order`);
  }
  const { modelId, layoutHash, layers, timesteps, bucketEdges, parent, target, meta, sections } = map;
  if (typeof modelId !== 'string' || modelId.length > 256)
    malformed('modelId must be a string of ≤ 256 characters');
  if (!isHexDigest(layoutHash)) malformed('layoutHash must be 64 lower-case hex digits');
  if (!Array.isArray(layers)) malformed('layers must be an array');
  checkLimit('layer count', layers.length, limits.maxLayers);
  const layout = validateLayout(
    {
      layers: layers.map((entry: unknown) => {
        if (!Array.isArray(entry) || entry.length !== 3) malformed('each layer is [name, out, in]');
        return { name: entry[0] as unknown, shape: [entry[1] as unknown, entry[2] as unknown] };
      }),
    },
    limits,
  );
  if (!isUint(timesteps, 1 << 20) || timesteps < 1) malformed('timesteps must be a positive integer');
  if (!Array.isArray(bucketEdges) || bucketEdges.length < 2)
    malformed('bucketEdges needs at least two edges');
  checkLimit('bucket count', bucketEdges.length - 1, limits.maxBuckets);
  validateBucketEdges(bucketEdges, timesteps, malformed);
  if (parent !== null && !isHexDigest(parent)) malformed('parent must be null or a bank id');
  let deltaTarget: DeltaTarget | null = null;
  if (target !== null) {
    if (typeof target !== 'object' || Array.isArray(target)) malformed('target must be null or a map');
    const t = target as Record<string, unknown>;
    if (!isHexDigest(t.id) || !(t.header instanceof Uint8Array) || Object.keys(t).length !== 2) {
      malformed('target must be {id, header}');
    }
    if (parent === null) malformed('a delta target needs a parent');
    deltaTarget = { id: t.id, header: new Uint8Array(t.header) };
  }
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) malformed('meta must be a map');
  if (packr.pack(meta).length > limits.maxMetaBytes) {
    throw new MaskFormatError('limit_exceeded', `meta is above ${limits.maxMetaBytes} bytes`);
  }
  let canonical: MetaValue;
  try {
    canonical = canonicalMeta(meta);
  } catch (error) {
    malformed((error as Error).message);
  }

  const bucketCount = bucketEdges.length - 1;
  const layerCount = layout.layers.length;
  if (!Array.isArray(sections) || sections.length !== bucketCount * layerCount) {
    malformed(`sections must hold buckets × layers = ${bucketCount * layerCount} records`);
  }
  const records: SectionRecord[] = [];
  let offset = 0;
  for (let index = 0; index < sections.length; index++) {
    const entry: unknown = sections[index];
    if (!Array.isArray(entry) || entry.length !== 7) malformed(`section ${index} must have 7 fields`);
    const [coderId, refId, sectionOffset, length, zeros, crc, params] = entry as unknown[];
    const coder = CODERS[coderId as number];
    const ref = REFS[refId as number];
    if (!isUint(coderId) || coder === undefined) malformed(`section ${index} has an unknown coder`);
    if (!isUint(refId) || ref === undefined) malformed(`section ${index} has an unknown reference`);
    if (sectionOffset !== offset) malformed(`section ${index} does not start where the previous one ends`);
    if (!isUint(length, limits.maxBankBytes)) malformed(`section ${index} has a bad length`);
    if (!isUint(crc, 0xffffffff)) malformed(`section ${index} has a bad checksum field`);
    if (!Array.isArray(params) || params.length > 4 || !params.every((p) => isUint(p))) {
      malformed(`section ${index} has bad parameters`);
    }
    const bucket = Math.floor(index / layerCount);
    if (ref === 'prev' && bucket === 0)
      malformed(`section ${index} in bucket 0 references a previous bucket`);
    if (ref === 'parent' && parent === null) malformed(`section ${index} references a parent the bank lacks`);
    const layer = layout.layers[index % layerCount]!;
    const record: SectionRecord = {
      coder,
      ref,
      offset: sectionOffset,
      length,
      zeros: zeros as number,
      crc,
      params: params,
    };
    validateSectionCoding(record, layerSize(layer), length);
    records.push(record);
    offset += length;
  }
  if (payloadLength !== null && offset !== payloadLength) {
    malformed(`sections hold ${offset} bytes but the payload has ${payloadLength}`);
  }
  return {
    modelId,
    layoutHash,
    layout,
    timesteps,
    bucketEdges: bucketEdges as number[],
    parent: parent,
    target: deltaTarget,
    meta: canonical as BankMeta,
    sections: records,
  };
}

/** Checks bucket edges: integers, strictly increasing, from 0 to `timesteps`. */
export function validateBucketEdges(
  edges: readonly unknown[],
  timesteps: number,
  fail: (why: string) => never = (why) => {
    throw new RangeError(why);
  },
): void {
  if (edges[0] !== 0 || edges[edges.length - 1] !== timesteps) {
    fail(`bucket edges must run from 0 to ${timesteps}`);
  }
  for (let i = 1; i < edges.length; i++) {
    const edge = edges[i];
    if (!isUint(edge) || edge <= (edges[i - 1] as number))
      fail('bucket edges must be strictly increasing integers');
  }
}
