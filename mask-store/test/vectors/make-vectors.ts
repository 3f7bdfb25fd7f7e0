/**
 * Writes the golden bank files of one format version: `npx tsx mask-store/test/vectors/make-vectors.ts v1`.
 * Each vector is a bank (`<name>.mkb`) plus the masks it must decode to (`<name>.masks.safetensors`,
 * one U8 tensor `b<bucket>/<layer>.weight` per section) and an entry in `manifest.json` (id, options).
 * Run it only when a new format version is introduced: old versions' files stay as they are, so
 * later readers are tested against the bytes earlier writers produced.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { diffBanks, encodeBank, writeSafetensors, type BankInput, type EncodeBankOptions, type MaskBank } from '../../src/index';
import { perturb, randomMasks, rng, SMALL_LAYOUT } from '../helpers';

const version = process.argv[2] ?? 'v1';
const dir = join(import.meta.dirname, version);

interface Vector {
  readonly name: string;
  readonly input: BankInput;
  readonly options?: EncodeBankOptions;
  readonly note: string;
}

const random = rng(20250101);
const base = randomMasks(SMALL_LAYOUT, 1, 0.066, random)[0]!;
const correlated = [base, base.map((m) => perturb(m, 0.02, random)), base.map((m) => perturb(m, 0.04, random))];

const vectors: Vector[] = [
  { name: 'raw-one-bucket', input: { layout: SMALL_LAYOUT, masks: [randomMasks(SMALL_LAYOUT, 1, 0.5, random)[0]!] }, options: { coders: ['raw'] }, note: 'raw codec only' },
  { name: 'golomb-sparse', input: { layout: SMALL_LAYOUT, masks: [randomMasks(SMALL_LAYOUT, 1, 0.05, random)[0]!], modelId: 'tiny-unet', meta: { tenant: 'acme', method: 'training-free' } }, options: { coders: ['golomb'] }, note: 'golomb, metadata' },
  { name: 'arith-dense', input: { layout: SMALL_LAYOUT, masks: [randomMasks(SMALL_LAYOUT, 1, 0.4, random)[0]!] }, options: { coders: ['arith'] }, note: 'arith without reference' },
  { name: 'all-ones-all-zeros', input: { layout: SMALL_LAYOUT, masks: [SMALL_LAYOUT.layers.map((l) => new Uint8Array(l.shape[0] * l.shape[1]).fill(1)), SMALL_LAYOUT.layers.map((l) => new Uint8Array(l.shape[0] * l.shape[1]))] }, note: 'empty sections' },
  { name: 'three-buckets-prev', input: { layout: SMALL_LAYOUT, masks: correlated, bucketEdges: [0, 200, 600, 1000] }, options: { sizeTolerance: 0 }, note: 'prev references, uneven edges' },
];

function masksFile(masks: readonly (readonly Uint8Array[])[]): Uint8Array {
  return writeSafetensors(
    masks.flatMap((bucket, b) =>
      bucket.map((data, l) => ({ name: `b${b}/${SMALL_LAYOUT.layers[l]!.name}.weight`, dtype: 'U8' as const, shape: SMALL_LAYOUT.layers[l]!.shape, data })),
    ),
  );
}

await mkdir(dir, { recursive: true });
const manifest: Record<string, unknown>[] = [];
const banks = new Map<string, MaskBank>();
for (const vector of vectors) {
  const bank = await encodeBank(vector.input, vector.options);
  banks.set(vector.name, bank);
  await writeFile(join(dir, `${vector.name}.mkb`), bank.bytes);
  await writeFile(join(dir, `${vector.name}.masks.safetensors`), masksFile(vector.input.masks));
  manifest.push({ name: vector.name, id: bank.id, note: vector.note, options: vector.options ?? {}, parent: null });
}
const delta = await diffBanks(banks.get('golomb-sparse')!, banks.get('arith-dense')!);
await writeFile(join(dir, 'delta-golomb-to-arith.mkb'), delta.bytes);
manifest.push({ name: 'delta-golomb-to-arith', id: delta.id, note: 'delta: patch golomb-sparse into arith-dense', parent: 'golomb-sparse', target: 'arith-dense' });
await writeFile(join(dir, 'manifest.json'), JSON.stringify({ version, layout: SMALL_LAYOUT, vectors: manifest }, null, 2) + '\n');
console.log(`wrote ${manifest.length} vectors to ${dir}`);
