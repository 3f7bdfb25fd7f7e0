/**
 * Refusals: every truncation offset, every flipped bit, every limit, trailing bytes, and
 * hand-crafted headers that lie. A refused bank must throw a MaskFormatError with the right
 * code and leave the process able to open the next bank.
 */
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { crc32, encodeBank, MaskBank, MaskFormatError, PREFIX_BYTES } from '../src/index';
import { randomMasks, rng, SMALL_LAYOUT } from './helpers';

async function smallBank(buckets = 2): Promise<MaskBank> {
  return encodeBank({
    layout: SMALL_LAYOUT,
    masks: randomMasks(SMALL_LAYOUT, buckets, 0.2, rng(11)),
    modelId: 'm',
  });
}

async function openError(
  bytes: Uint8Array,
  options?: Parameters<typeof MaskBank.open>[1],
): Promise<MaskFormatError> {
  try {
    await MaskBank.open(bytes, options);
  } catch (error) {
    expect(error).toBeInstanceOf(MaskFormatError);
    return error as MaskFormatError;
  }
  throw new Error('bank was accepted');
}

/** Rewrites a bank's header through `edit` and fixes the header length and CRC. */
function withHeader(bank: MaskBank, edit: (header: Record<string, unknown>) => void): Uint8Array {
  const headerBytes = bank.bytes.subarray(PREFIX_BYTES, bank.payloadOffset);
  const header = new Packr({ useRecords: false, variableMapSize: true }).unpack(headerBytes) as Record<
    string,
    unknown
  >;
  edit(header);
  const packed = new Uint8Array(new Packr({ useRecords: false, variableMapSize: true }).pack(header));
  const out = new Uint8Array(PREFIX_BYTES + packed.length + bank.bytes.length - bank.payloadOffset);
  out.set(bank.bytes.subarray(0, PREFIX_BYTES));
  const view = new DataView(out.buffer);
  view.setUint32(8, packed.length, true);
  view.setUint32(12, crc32(packed), true);
  out.set(packed, PREFIX_BYTES);
  out.set(bank.bytes.subarray(bank.payloadOffset), PREFIX_BYTES + packed.length);
  return out;
}

describe('bank refusals', () => {
  it('refuses every truncation with truncated', async () => {
    const bank = await smallBank();
    for (let length = 0; length < bank.bytes.length; length++) {
      const error = await openError(bank.bytes.slice(0, length));
      expect(error.code, `length ${length}`).toBe('truncated');
    }
    // Still usable after all those errors.
    expect((await MaskBank.open(bank.bytes)).id).toBe(bank.id);
  });

  it('catches a flipped bit anywhere in the file', async () => {
    const bank = await smallBank();
    const codes = new Set<string>();
    for (let bit = 0; bit < bank.bytes.length * 8; bit++) {
      const bytes = bank.bytes.slice();
      bytes[bit >>> 3]! ^= 1 << (bit & 7);
      const error = await openError(bytes);
      codes.add(error.code);
    }
    // Magic, version, flags, lengths, header CRC, section CRCs: all caught, by these codes only.
    expect([...codes].sort()).toEqual(
      expect.arrayContaining(['bad_magic', 'checksum_mismatch', 'malformed_header', 'unsupported_version']),
    );
    for (const code of codes) {
      expect([
        'bad_magic',
        'checksum_mismatch',
        'malformed_header',
        'unsupported_version',
        'truncated',
        'trailing_bytes',
        'limit_exceeded',
      ]).toContain(code);
    }
  });

  it('catches a corrupt section lazily when verification on open is off', async () => {
    const bank = await smallBank();
    const bytes = bank.bytes.slice();
    const { start } = bank.sectionRange(1, 2);
    bytes[start]! ^= 0x10;
    const lazy = await MaskBank.open(bytes, { verify: false });
    expect(lazy.decodeLayer(0, 0)).toEqual(bank.decodeLayer(0, 0));
    expect(() => lazy.decodeLayer(1, 2)).toThrow(expect.objectContaining({ code: 'checksum_mismatch' }));
  });

  it('refuses trailing bytes, bad magic and unknown versions', async () => {
    const bank = await smallBank();
    expect((await openError(Uint8Array.of(...bank.bytes, 0))).code).toBe('trailing_bytes');
    const magic = bank.bytes.slice();
    magic[0] = 0x50;
    expect((await openError(magic)).code).toBe('bad_magic');
    const version = bank.bytes.slice();
    version[4] = 2;
    expect((await openError(version)).code).toBe('unsupported_version');
  });

  it('enforces every limit before decoding', async () => {
    const bank = await smallBank(3);
    expect((await openError(bank.bytes, { limits: { maxBankBytes: bank.bytes.length - 1 } })).code).toBe(
      'limit_exceeded',
    );
    expect((await openError(bank.bytes, { limits: { maxHeaderBytes: 16 } })).code).toBe('limit_exceeded');
    expect((await openError(bank.bytes, { limits: { maxLayers: 2 } })).code).toBe('limit_exceeded');
    expect((await openError(bank.bytes, { limits: { maxBuckets: 2 } })).code).toBe('limit_exceeded');
    expect((await openError(bank.bytes, { limits: { maxLayerElements: 300 } })).code).toBe('limit_exceeded');
    expect((await openError(bank.bytes, { limits: { maxBucketElements: 800 } })).code).toBe('limit_exceeded');
    expect((await openError(bank.bytes, { limits: { maxNameLength: 10 } })).code).toBe('limit_exceeded');
    const meta = await encodeBank({
      layout: SMALL_LAYOUT,
      masks: randomMasks(SMALL_LAYOUT, 1, 0.1, rng(1)),
      meta: { note: 'x'.repeat(500) },
    });
    expect((await openError(meta.bytes, { limits: { maxMetaBytes: 100 } })).code).toBe('limit_exceeded');
  });

  it('refuses headers that lie, even with a valid CRC', async () => {
    const bank = await smallBank();
    const cases: [string, (h: Record<string, unknown>) => void, string][] = [
      ['layout hash of another layout', (h) => (h.layoutHash = 'a'.repeat(64)), 'layout_mismatch'],
      ['extra key', (h) => (h.extra = 1), 'malformed_header'],
      ['layer renamed', (h) => ((h.layers as unknown[][])[0]![0] = 'up_blocks.9.to_q'), 'layout_mismatch'],
      ['shape changed', (h) => ((h.layers as unknown[][])[0]![1] = 17), 'malformed_header'],
      ['edges not increasing', (h) => (h.bucketEdges = [0, 700, 500, 1000]), 'malformed_header'],
      ['section count', (h) => (h.sections as unknown[]).pop(), 'malformed_header'],
      ['unknown coder', (h) => ((h.sections as unknown[][])[0]![0] = 9), 'malformed_header'],
      [
        'gap between sections',
        (h) => ((h.sections as number[][])[1]![2] = (h.sections as number[][])[1]![2]! + 1),
        'malformed_header',
      ],
      ['prev ref in bucket 0', (h) => ((h.sections as unknown[][])[0]![1] = 1), 'malformed_header'],
      ['parent ref without parent', (h) => ((h.sections as unknown[][])[4]![1] = 2), 'malformed_header'],
      ['zeros above layer size', (h) => ((h.sections as unknown[][])[0]![4] = 10_000), 'malformed_header'],
      [
        'golomb m of zero',
        (h) => {
          const golomb = (h.sections as unknown[][]).find((s) => s[0] === 1);
          if (golomb !== undefined) (golomb[6] as number[])[0] = 0;
          else h.extra = 1;
        },
        'malformed_header',
      ],
      ['header is an array', (h) => Object.keys(h).forEach((k) => delete h[k]), 'malformed_header'],
    ];
    for (const [what, edit, code] of cases) {
      expect((await openError(withHeader(bank, edit))).code, what).toBe(code);
    }
  });

  it('refuses a section whose zero count lies (caught after decoding)', async () => {
    const bank = await encodeBank(
      { layout: SMALL_LAYOUT, masks: randomMasks(SMALL_LAYOUT, 1, 0.3, rng(2)) },
      { coders: ['raw'] },
    );
    const lying = withHeader(bank, (h) => {
      const record = (h.sections as number[][])[0]!;
      record[4] = record[4]! + 1;
    });
    const opened = await MaskBank.open(lying);
    expect(() => opened.decodeLayer(0, 0)).toThrow(expect.objectContaining({ code: 'corrupt_section' }));
  });

  it('needs the right parent for parent-coded sections', async () => {
    const parent = await smallBank();
    const child = await encodeBank({ layout: SMALL_LAYOUT, masks: parent.decodeAll() }, { parent });
    expect(child.header.parent).toBe(parent.id);
    expect(() => child.decodeAll()).toThrow(expect.objectContaining({ code: 'parent_required' }));
    const stranger = await encodeBank({
      layout: SMALL_LAYOUT,
      masks: randomMasks(SMALL_LAYOUT, 2, 0.2, rng(99)),
    });
    expect(() => child.decodeAll(stranger)).toThrow(expect.objectContaining({ code: 'parent_mismatch' }));
    expect(child.decodeAll(parent)).toEqual(parent.decodeAll());
  });
});
