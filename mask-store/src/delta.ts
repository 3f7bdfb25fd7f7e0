/**
 * Bank deltas. `diffBanks(old, new)` codes the new bank's masks against the old bank (each
 * section picks XOR/conditioned coding against the old masks, the previous bucket, or none —
 * whichever is smallest) and records the new bank's header verbatim. `patchBank(old, delta)`
 * decodes the masks and re-encodes them exactly as that header says, so the result is
 * byte-identical to the new bank; its SHA-256 is checked against the recorded id.
 */
import { encodeBank, MaskBank, type EncodeBankOptions } from './bank';
import { encodeSectionAs } from './codecs/section';
import { MaskFormatError } from './errors';
import { PREFIX_BYTES, writeContainer } from './format/container';
import { decodeHeader } from './format/header';
import { sha256Hex } from './hash';
import { resolveLimits, type MaskLimits } from './limits';

/** Size-related options of a diff (which coders it may use, limits). */
export type DiffOptions = Pick<EncodeBankOptions, 'coders' | 'limits' | 'sizeTolerance'>;

/**
 * Builds the delta that turns `oldBank` into `newBank`.
 * @throws MaskFormatError `layout_mismatch` (different layouts), `parent_mismatch` (the new
 *   bank is itself coded against a parent: diff its standalone form instead).
 */
export async function diffBanks(
  oldBank: MaskBank,
  newBank: MaskBank,
  options: DiffOptions = {},
): Promise<MaskBank> {
  if (oldBank.header.layoutHash !== newBank.header.layoutHash) {
    throw new MaskFormatError('layout_mismatch', 'banks of different layouts cannot be diffed');
  }
  if (newBank.header.parent !== null) {
    throw new MaskFormatError('parent_mismatch', 'the new bank of a diff must not itself reference a parent');
  }
  const header = newBank.header;
  const headerEnd = newBank.payloadOffset;
  return encodeBank(
    {
      layout: header.layout,
      masks: newBank.decodeAll(),
      bucketEdges: header.bucketEdges,
      timesteps: header.timesteps,
      modelId: header.modelId,
      meta: {},
    },
    {
      ...options,
      parent: oldBank,
      target: { id: newBank.id, header: newBank.bytes.slice(PREFIX_BYTES, headerEnd) },
    },
  );
}

/**
 * Applies `delta` to `oldBank`, returning the bank the delta was made from, byte for byte.
 * @throws MaskFormatError `malformed_header` (not a delta), `parent_mismatch` (delta made
 *   against another bank), `id_mismatch` (the rebuilt bytes do not hash to the recorded id),
 *   and any error of decoding the delta's sections.
 */
export async function patchBank(
  oldBank: MaskBank,
  delta: MaskBank,
  options: { limits?: Partial<MaskLimits> } = {},
): Promise<MaskBank> {
  const target = delta.header.target;
  if (target === null)
    throw new MaskFormatError('malformed_header', 'bank is not a delta (it records no target)');
  if (delta.header.parent !== oldBank.id) {
    throw new MaskFormatError(
      'parent_mismatch',
      `delta applies to ${delta.header.parent ?? ''}, not ${oldBank.id}`,
    );
  }
  const limits = resolveLimits(options.limits);
  const masks = delta.decodeAll(oldBank);
  const header = decodeHeader(target.header, limits, null);
  if (
    header.layoutHash !== delta.header.layoutHash ||
    header.bucketEdges.length !== delta.header.bucketEdges.length
  ) {
    throw new MaskFormatError(
      'malformed_header',
      'delta target disagrees with the delta about layout or buckets',
    );
  }
  const layers = header.layout.layers.length;
  const payloads = header.sections.map((record, index) => {
    const bucket = Math.floor(index / layers);
    const layer = index % layers;
    if (record.ref === 'parent')
      throw new MaskFormatError('malformed_header', 'delta target references a parent');
    const ref = record.ref === 'prev' ? masks[bucket - 1]![layer]! : null;
    const payload = encodeSectionAs(record, masks[bucket]![layer]!, ref);
    if (payload.length !== record.length)
      throw new MaskFormatError('id_mismatch', 'rebuilt section has another length');
    return payload;
  });
  const bytes = writeContainer(target.header, payloads);
  if ((await sha256Hex(bytes)) !== target.id) {
    throw new MaskFormatError('id_mismatch', 'patched bank does not hash to the id the delta records');
  }
  return MaskBank.open(bytes, { limits });
}
