/**
 * Golden bank files: every format version's vectors (written once by make-vectors.ts, never
 * regenerated) must stay readable, decode to the stored masks, and re-encode byte for byte —
 * content addressing depends on a writer that does not drift.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  encodeBank,
  MaskBank,
  patchBank,
  readSafetensors,
  type EncodeBankOptions,
  type MaskLayout,
} from '../src/index';

const root = join(import.meta.dirname, 'vectors');
const versions = readdirSync(root, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

interface Manifest {
  layout: MaskLayout;
  vectors: {
    name: string;
    id: string;
    options?: EncodeBankOptions;
    parent: string | null;
    target?: string;
  }[];
}

describe.each(versions)('golden vectors %s', (version) => {
  const dir = join(root, version);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const read = (name: string) => new Uint8Array(readFileSync(join(dir, name)));

  it.each(manifest.vectors.filter((v) => v.parent === null).map((v) => [v.name, v] as const))(
    '%s',
    async (_, vector) => {
      const bank = await MaskBank.open(read(`${vector.name}.mkb`));
      expect(bank.id).toBe(vector.id);
      const tensors = readSafetensors(read(`${vector.name}.masks.safetensors`)).tensors;
      const expected = Array.from({ length: bank.bucketCount }, (_, b) =>
        manifest.layout.layers.map((l) => new Uint8Array(tensors.get(`b${b}/${l.name}.weight`)!.data)),
      );
      expect(bank.decodeAll()).toEqual(expected);
      const again = await encodeBank(
        {
          layout: manifest.layout,
          masks: expected,
          bucketEdges: bank.header.bucketEdges,
          modelId: bank.header.modelId,
          meta: bank.header.meta,
        },
        vector.options,
      );
      expect(again.id).toBe(vector.id);
    },
  );

  it.each(manifest.vectors.filter((v) => v.parent !== null).map((v) => [v.name, v] as const))(
    '%s patches',
    async (_, vector) => {
      const parent = await MaskBank.open(read(`${vector.parent}.mkb`));
      const delta = await MaskBank.open(read(`${vector.name}.mkb`));
      expect(delta.id).toBe(vector.id);
      const target = manifest.vectors.find((v) => v.name === vector.target)!;
      expect((await patchBank(parent, delta)).id).toBe(target.id);
    },
  );
});
