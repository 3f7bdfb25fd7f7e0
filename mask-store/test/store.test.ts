import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BankStore, encodeBank, MemoryBackend, type BlobBackend } from '../src/index';
import { FilesystemBackend } from '../src/node/index';
import { randomMasks, rng, SMALL_LAYOUT } from './helpers';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const backends: [string, () => Promise<BlobBackend>][] = [
  ['memory', () => Promise.resolve(new MemoryBackend())],
  [
    'filesystem',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'maskunet-store-'));
      dirs.push(dir);
      return new FilesystemBackend(join(dir, 'banks'));
    },
  ],
];

describe.each(backends)('BankStore over %s', (_, makeBackend) => {
  it('stores idempotently by id, reads whole and by range, lists and deletes', async () => {
    const store = new BankStore(await makeBackend());
    const banks = await Promise.all(
      [1, 2, 3].map((seed) =>
        encodeBank({ layout: SMALL_LAYOUT, masks: randomMasks(SMALL_LAYOUT, 2, 0.1, rng(seed)) }),
      ),
    );
    const first = await store.put(banks[0]!.bytes);
    expect(first).toMatchObject({ id: banks[0]!.id, created: true, size: banks[0]!.bytes.length });
    expect((await store.put(banks[0]!.bytes)).created).toBe(false);
    for (const bank of banks.slice(1)) await store.put(bank.bytes);
    expect(await store.get(banks[1]!.id)).toEqual(banks[1]!.bytes);
    expect((await store.open(banks[2]!.id))?.id).toBe(banks[2]!.id);
    expect(await store.getRange(banks[0]!.id, 3, 10)).toEqual(banks[0]!.bytes.slice(3, 10));

    const sorted = banks.map((b) => b.id).sort();
    const page1 = await store.list({ limit: 2 });
    expect(page1.ids).toEqual(sorted.slice(0, 2));
    const page2 = await store.list({ limit: 2, cursor: page1.cursor });
    expect(page2).toEqual({ ids: sorted.slice(2), cursor: null });

    const header = await store.getHeader(banks[0]!.id);
    expect(header?.header.sections.length).toBe(6);
    const { start, end } = banks[0]!.sectionRange(1, 2);
    expect(await store.getSectionBytes(banks[0]!.id, 1, 2)).toEqual(banks[0]!.bytes.slice(start, end));

    expect(await store.delete(banks[0]!.id)).toBe(true);
    expect(await store.delete(banks[0]!.id)).toBe(false);
    expect(await store.get(banks[0]!.id)).toBeNull();
    expect(await store.getHeader(banks[0]!.id)).toBeNull();
  });

  it('refuses a malformed bank before storing anything', async () => {
    const backend = await makeBackend();
    const store = new BankStore(backend, { limits: { maxBuckets: 2 } });
    const bank = await encodeBank({ layout: SMALL_LAYOUT, masks: randomMasks(SMALL_LAYOUT, 3, 0.1, rng(1)) });
    await expect(store.put(bank.bytes)).rejects.toMatchObject({ code: 'limit_exceeded' });
    const corrupt = bank.bytes.slice();
    corrupt[corrupt.length - 1]! ^= 1;
    await expect(new BankStore(backend).put(corrupt)).rejects.toMatchObject({ code: 'checksum_mismatch' });
    await expect(store.put(Uint8Array.of(1, 2, 3, 4, 5))).rejects.toMatchObject({ code: 'bad_magic' });
    expect((await store.list()).ids).toEqual([]);
    await expect(store.get('not-an-id')).rejects.toThrow(TypeError);
  });
});

describe('FilesystemBackend', () => {
  it('leaves no temp files behind and never exposes a partial bank', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maskunet-fs-'));
    dirs.push(dir);
    const store = new BankStore(new FilesystemBackend(dir));
    const bank = await encodeBank({ layout: SMALL_LAYOUT, masks: randomMasks(SMALL_LAYOUT, 1, 0.1, rng(2)) });
    await Promise.all([store.put(bank.bytes), store.put(bank.bytes), store.put(bank.bytes)]);
    expect(await readdir(dir)).toEqual([`${bank.id}.mkb`]);
    expect(await store.get(bank.id)).toEqual(bank.bytes);
  });
});
