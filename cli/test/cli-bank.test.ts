import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatLayoutJson,
  masksFromSafetensors,
  masksToSafetensors,
  MaskBank,
  type MaskLayout,
} from '@maskunet/mask-store';
import { cli } from './helpers';

const layout: MaskLayout = {
  layers: [
    { name: 'up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q', shape: [32, 32] },
    { name: 'up_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k', shape: [32, 48] },
  ],
};

function masks(seed: number, p: number): Uint8Array[] {
  let state = seed;
  const random = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
  return layout.layers.map((l) =>
    Uint8Array.from({ length: l.shape[0] * l.shape[1] }, () => (random() < p ? 0 : 1)),
  );
}

let dir = '';
const path = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'maskunet-cli-'));
  await writeFile(path('layout.json'), formatLayoutJson(layout));
  await writeFile(path('a0.safetensors'), masksToSafetensors(layout, masks(1, 0.1)));
  await writeFile(path('a1.safetensors'), masksToSafetensors(layout, masks(2, 0.1)));
  await writeFile(path('b0.safetensors'), masksToSafetensors(layout, masks(3, 0.2)));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('maskunet bank', () => {
  it('packs, inspects and unpacks back to the same masks', async () => {
    const packed = await cli(
      'bank',
      'pack',
      '--layout',
      path('layout.json'),
      '--masks',
      path('a0.safetensors'),
      '--masks',
      path('a1.safetensors'),
      '--bucket-edges',
      '0,400,1000',
      '--meta',
      'tenant=acme',
      '--out',
      path('a.mkb'),
    );
    expect(packed.code).toBe(0);
    const bank = await MaskBank.open(new Uint8Array(await readFile(path('a.mkb'))));
    expect(packed.out[0]).toContain(bank.id);
    expect(bank.header.bucketEdges).toEqual([0, 400, 1000]);
    expect(bank.header.meta).toEqual({ tenant: 'acme' });

    const inspected = await cli('bank', 'inspect', path('a.mkb'), '--json');
    const info = JSON.parse(inspected.out.join('\n')) as { id: string; buckets: number; sections: unknown[] };
    expect(info).toMatchObject({ id: bank.id, buckets: 2 });
    expect(info.sections).toHaveLength(4);

    expect(
      (await cli('bank', 'unpack', path('a.mkb'), '--bucket', '1', '--out', path('u1.safetensors'))).code,
    ).toBe(0);
    expect(masksFromSafetensors(new Uint8Array(await readFile(path('u1.safetensors'))), layout)).toEqual(
      masks(2, 0.1),
    );
    expect((await cli('bank', 'unpack', path('a.mkb'), '--out', path('all.safetensors'))).code).toBe(0);
    expect(
      masksFromSafetensors(new Uint8Array(await readFile(path('all.bucket0.safetensors'))), layout),
    ).toEqual(masks(1, 0.1));
  });

  it('diffs and patches to a byte-identical bank', async () => {
    await cli(
      'bank',
      'pack',
      '--layout',
      path('layout.json'),
      '--masks',
      path('a0.safetensors'),
      '--out',
      path('old.mkb'),
    );
    await cli(
      'bank',
      'pack',
      '--layout',
      path('layout.json'),
      '--masks',
      path('b0.safetensors'),
      '--out',
      path('new.mkb'),
    );
    expect((await cli('bank', 'diff', path('old.mkb'), path('new.mkb'), '--out', path('d.mkb'))).code).toBe(
      0,
    );
    expect(
      (await cli('bank', 'patch', path('old.mkb'), path('d.mkb'), '--out', path('patched.mkb'))).code,
    ).toBe(0);
    expect(await readFile(path('patched.mkb'))).toEqual(await readFile(path('new.mkb')));
    const wrong = await cli('bank', 'patch', path('new.mkb'), path('d.mkb'), '--out', path('x.mkb'));
    expect(wrong).toMatchObject({
      code: 1,
      err: [expect.stringMatching(/^maskunet: error parent_mismatch: /)],
    });
  });

  it('answers bad input with one line naming the typed error code', async () => {
    await writeFile(path('bad.mkb'), 'MKBK garbage');
    expect(await cli('bank', 'inspect', path('bad.mkb'))).toMatchObject({
      code: 1,
      err: [expect.stringMatching(/^maskunet: error (truncated|unsupported_version): /)],
    });
    const wrongLayout = await cli(
      'bank',
      'pack',
      '--layout',
      path('layout.json'),
      '--masks',
      path('u1.safetensors'),
      '--masks',
      path('a0.safetensors'),
      '--bucket-edges',
      '0,1000',
      '--out',
      path('x.mkb'),
    );
    expect(wrongLayout).toMatchObject({
      code: 2,
      err: [expect.stringContaining('error usage: --bucket-edges needs 3 edges')],
    });
    await writeFile(path('other.json'), JSON.stringify({ layers: [{ name: 'x.to_q', shape: [32, 32] }] }));
    const mismatch = await cli(
      'bank',
      'pack',
      '--layout',
      path('other.json'),
      '--masks',
      path('a0.safetensors'),
      '--out',
      path('x.mkb'),
    );
    expect(mismatch).toMatchObject({
      code: 1,
      err: ['maskunet: error layout_mismatch: missing tensor x.to_q.weight'],
    });
    expect((await cli('bank', 'frobnicate')).code).toBe(2);
    expect((await cli('bank', 'inspect', path('a.mkb'), '--bogus')).code).toBe(2);
  });

  it('runs as the installed `maskunet` command with exit codes', async () => {
    const bin = join(import.meta.dirname, '..', 'bin', 'maskunet.js');
    const run = promisify(execFile);
    const ok = await run(process.execPath, [bin, 'bank', 'inspect', path('a.mkb')]);
    expect(ok.stdout).toContain('ratio to i.i.d. entropy bound');
    const failed = await run(process.execPath, [bin, 'bank', 'inspect', path('layout.json')]).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(failed).toMatchObject({
      code: 1,
      stderr: 'maskunet: error bad_magic: not a mask bank (magic is not MKBK)\n',
    });
  });
});
