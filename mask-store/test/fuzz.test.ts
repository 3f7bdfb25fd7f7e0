/**
 * Fuzzing the decoders behind valid checksums: random mutations of section payloads (and of
 * coder parameters) with every CRC recomputed, so the bytes reach the Golomb and arithmetic
 * decoders. Each attempt must decode or throw a MaskFormatError — never hang, never throw
 * anything else, never return a mask of the wrong size.
 */
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { crc32, encodeBank, MaskBank, MaskFormatError, PREFIX_BYTES, type CoderName } from '../src/index';
import { randomMasks, rng, SMALL_LAYOUT } from './helpers';

const packr = new Packr({ useRecords: false, variableMapSize: true });

function rebuild(bank: MaskBank, payloads: Uint8Array[], edit?: (sections: unknown[][]) => void): Uint8Array {
  const header = packr.unpack(bank.bytes.subarray(PREFIX_BYTES, bank.payloadOffset)) as {
    sections: unknown[][];
  };
  let offset = 0;
  header.sections.forEach((record, i) => {
    record[2] = offset;
    record[3] = payloads[i]!.length;
    record[5] = crc32(payloads[i]!);
    offset += payloads[i]!.length;
  });
  edit?.(header.sections);
  const headerBytes = new Uint8Array(packr.pack(header));
  const out = new Uint8Array(PREFIX_BYTES + headerBytes.length + offset);
  out.set(bank.bytes.subarray(0, PREFIX_BYTES));
  const view = new DataView(out.buffer);
  view.setUint32(8, headerBytes.length, true);
  view.setUint32(12, crc32(headerBytes), true);
  out.set(headerBytes, PREFIX_BYTES);
  let position = PREFIX_BYTES + headerBytes.length;
  for (const payload of payloads) {
    out.set(payload, position);
    position += payload.length;
  }
  return out;
}

describe.each<CoderName>(['golomb', 'arith', 'raw'])(
  'fuzzing %s sections behind valid checksums',
  (coder) => {
    it('decodes or refuses with a typed error', async () => {
      const random = rng(coder.length * 7919);
      const masks = randomMasks(SMALL_LAYOUT, 2, 0.15, random);
      const bank = await encodeBank({ layout: SMALL_LAYOUT, masks }, { coders: [coder] });
      const payloads = bank.header.sections.map((_, i) => {
        const { start, end } = bank.sectionRange(Math.floor(i / 3), i % 3);
        return bank.bytes.slice(start, end);
      });
      let refused = 0;
      for (let attempt = 0; attempt < 400; attempt++) {
        const mutated = payloads.map((p) => p.slice());
        const target = Math.floor(random() * mutated.length);
        const kind = Math.floor(random() * 4);
        let payload = mutated[target]!;
        if (kind === 0 && payload.length > 0)
          payload[Math.floor(random() * payload.length)] = Math.floor(random() * 256);
        if (kind === 1) payload = payload.subarray(0, Math.floor(random() * (payload.length + 1)));
        if (kind === 2) payload = Uint8Array.of(...payload, Math.floor(random() * 256));
        if (kind === 3)
          payload = Uint8Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256));
        mutated[target] = payload;
        const paramEdit = random() < 0.3;
        const bytes = rebuild(bank, mutated, (sections) => {
          if (!paramEdit) return;
          const record = sections[target]!;
          const params = record[6] as number[];
          if (params.length > 0) params[0] = Math.floor(random() * 64) + (coder === 'golomb' ? 1 : 0);
          record[4] = Math.floor(random() * 400);
        });
        try {
          const opened = await MaskBank.open(bytes);
          const decoded = opened.decodeAll();
          decoded.forEach((bucket) =>
            bucket.forEach((m, l) =>
              expect(m.length).toBe(SMALL_LAYOUT.layers[l]!.shape[0] * SMALL_LAYOUT.layers[l]!.shape[1]),
            ),
          );
        } catch (error) {
          if (!(error instanceof MaskFormatError)) throw error;
          refused++;
        }
      }
      // Most mutations must be caught; a few (e.g. a raw bit flip consistent with a changed zero count) may decode.
      expect(refused).toBeGreaterThan(200);
    });
  },
);
