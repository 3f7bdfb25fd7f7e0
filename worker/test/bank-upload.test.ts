/**
 * Bank uploads: stored once under their content id, idempotent (200 for the current bank),
 * versioned; every refusal (malformed, truncated, corrupted, oversized, wrong layout,
 * delta-coded, over quota, wrong media type) leaves R2 and D1 exactly as they were.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { diffBanks } from '@maskunet/mask-store';
import type { BankVersion, UploadBankResponse, Variant } from '@maskunet/contract';
import {
  OTHER_LAYOUT,
  call,
  createTenant,
  createVariant,
  json,
  makeBank,
  registerModel,
  uploadBank,
  type TestTenant,
} from './helpers';

let model: string;
let tenant: TestTenant;

beforeAll(async () => {
  model = (await registerModel()).id;
  tenant = await createTenant();
});

interface Snapshot {
  r2Keys: string[];
  banks: number;
  versions: number;
}

async function snapshot(): Promise<Snapshot> {
  const listed = await env.BANKS.list({ prefix: 'banks/' });
  const banks = await env.DB.prepare(`SELECT count(*) AS n FROM banks`).first<{ n: number }>();
  const versions = await env.DB.prepare(`SELECT count(*) AS n FROM bank_versions`).first<{ n: number }>();
  return { r2Keys: listed.objects.map((o) => o.key).sort(), banks: banks!.n, versions: versions!.n };
}

describe('uploading banks', () => {
  it('stores a bank under its id, makes it current, and is idempotent for the same bytes', async () => {
    const variant = await createVariant(tenant, model);
    const bank = await makeBank({ seed: 1 });
    const first = await uploadBank(tenant, variant, bank.bytes);
    expect(first.status).toBe(201);
    expect(first.headers.get('location')).toBe(`/v1/banks/${bank.id}`);
    const body = await json<UploadBankResponse>(first);
    expect(body).toMatchObject({
      bankId: bank.id,
      variantId: variant,
      version: 1,
      size: bank.bytes.length,
      buckets: 2,
      created: true,
      layoutHash: bank.header.layoutHash,
    });
    const stored = await env.BANKS.get(`banks/${bank.id}`);
    expect(new Uint8Array(await stored!.arrayBuffer())).toEqual(bank.bytes);

    const before = await snapshot();
    const again = await uploadBank(tenant, variant, bank.bytes);
    expect(again.status).toBe(200);
    expect(await json<UploadBankResponse>(again)).toMatchObject({
      bankId: bank.id,
      version: 1,
      created: false,
    });
    expect(await snapshot()).toEqual(before);
    const read = await json<Variant>(await call('GET', `/v1/variants/${variant}`, { token: tenant.apiKey }));
    expect(read.currentBankId).toBe(bank.id);
  });

  it('keeps a version history; re-uploading an older bank makes it current again as a new version', async () => {
    const variant = await createVariant(tenant, model);
    const v1 = await makeBank({ seed: 2 });
    const v2 = await makeBank({ seed: 3 });
    expect((await uploadBank(tenant, variant, v1.bytes)).status).toBe(201);
    expect((await uploadBank(tenant, variant, v2.bytes)).status).toBe(201);
    const back = await uploadBank(tenant, variant, v1.bytes);
    expect(back.status).toBe(201);
    expect((await json<UploadBankResponse>(back)).version).toBe(3);
    const list = await json<{ currentBankId: string; versions: BankVersion[] }>(
      await call('GET', `/v1/variants/${variant}/banks`, { token: tenant.apiKey }),
    );
    expect(list.currentBankId).toBe(v1.id);
    expect(list.versions.map((v) => [v.version, v.bankId])).toEqual([
      [3, v1.id],
      [2, v2.id],
      [1, v1.id],
    ]);
  });

  it('shares one blob between variants that upload the same bytes', async () => {
    const a = await createVariant(tenant, model);
    const b = await createVariant(tenant, model);
    const bank = await makeBank({ seed: 4 });
    expect((await uploadBank(tenant, a, bank.bytes)).status).toBe(201);
    const before = await snapshot();
    expect((await uploadBank(tenant, b, bank.bytes)).status).toBe(201);
    const after = await snapshot();
    expect(after.r2Keys).toEqual(before.r2Keys);
    expect(after.banks).toBe(before.banks);
    expect(after.versions).toBe(before.versions + 1);
  });

  describe('refusals store nothing', () => {
    it.each([
      [
        'not a bank at all',
        () => Promise.resolve(new TextEncoder().encode('hello, not a bank')),
        400,
        'invalid_bank',
        'bad_magic',
      ],
      [
        'truncated',
        async () => (await makeBank({ seed: 5 })).bytes.slice(0, -3),
        400,
        'invalid_bank',
        'truncated',
      ],
      [
        'a flipped payload bit',
        async () => {
          const bytes = (await makeBank({ seed: 6 })).bytes.slice();
          bytes[bytes.length - 1]! ^= 0x10;
          return bytes;
        },
        400,
        'invalid_bank',
        'checksum_mismatch',
      ],
      [
        'trailing bytes',
        async () => {
          const bytes = (await makeBank({ seed: 7 })).bytes;
          const longer = new Uint8Array(bytes.length + 4);
          longer.set(bytes);
          return longer;
        },
        400,
        'invalid_bank',
        'trailing_bytes',
      ],
      [
        'another layout',
        async () => (await makeBank({ layout: OTHER_LAYOUT, seed: 8 })).bytes,
        400,
        'layout_mismatch',
        undefined,
      ],
      [
        'a delta',
        async () => (await diffBanks(await makeBank({ seed: 9 }), await makeBank({ seed: 10 }))).bytes,
        400,
        'bank_has_parent',
        undefined,
      ],
      [
        'larger than MAX_BANK_BYTES',
        () => Promise.resolve(new Uint8Array(70_000)),
        413,
        'bank_too_large',
        undefined,
      ],
    ] as const)('refuses %s', async (_what, build, status, code, reason) => {
      const variant = await createVariant(tenant, model);
      const bytes = await build();
      const before = await snapshot();
      const res = await uploadBank(tenant, variant, bytes);
      expect(res.status).toBe(status);
      const body = await json<{ error: { code: string; reason?: string } }>(res);
      expect(body.error.code).toBe(code);
      expect(body.error.reason).toBe(reason);
      expect(await snapshot()).toEqual(before);
      const read = await json<Variant>(
        await call('GET', `/v1/variants/${variant}`, { token: tenant.apiKey }),
      );
      expect(read.currentBankId).toBeNull();
    });

    it('refuses a streamed body that grows past MAX_BANK_BYTES without a Content-Length', async () => {
      const variant = await createVariant(tenant, model);
      const before = await snapshot();
      const chunk = new Uint8Array(16_384);
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= 5) controller.close();
          else {
            sent += 1;
            controller.enqueue(chunk);
          }
        },
      });
      const res = await call('POST', `/v1/variants/${variant}/banks`, {
        token: tenant.apiKey,
        body,
        headers: { 'Content-Type': 'application/octet-stream' },
      });
      expect(res.status).toBe(413);
      expect(await snapshot()).toEqual(before);
    });

    it('refuses another media type with 415', async () => {
      const variant = await createVariant(tenant, model);
      const before = await snapshot();
      const res = await call('POST', `/v1/variants/${variant}/banks`, {
        token: tenant.apiKey,
        body: new Uint8Array((await makeBank({ seed: 13 })).bytes),
        headers: { 'Content-Type': 'application/json' },
      });
      expect(res.status).toBe(415);
      expect(await snapshot()).toEqual(before);
    });

    it('refuses a bank that would exceed the tenant quota with 413 quota_exceeded', async () => {
      const small = await makeBank({ seed: 14 });
      const limited = await createTenant({ bankBytesQuota: small.bytes.length + 10 });
      const variant = await createVariant(limited, model);
      expect((await uploadBank(limited, variant, small.bytes)).status).toBe(201);
      // The same bank again costs nothing: it is already counted.
      const other = await createVariant(limited, model);
      expect((await uploadBank(limited, other, small.bytes)).status).toBe(201);
      const before = await snapshot();
      const res = await uploadBank(limited, variant, (await makeBank({ seed: 15 })).bytes);
      expect(res.status).toBe(413);
      expect((await json<{ error: { code: string } }>(res)).error.code).toBe('quota_exceeded');
      expect(await snapshot()).toEqual(before);
      // Deleting the variants frees the quota.
      await call('DELETE', `/v1/variants/${variant}`, { token: limited.apiKey });
      await call('DELETE', `/v1/variants/${other}`, { token: limited.apiKey });
      const third = await createVariant(limited, model);
      expect((await uploadBank(limited, third, (await makeBank({ seed: 15 })).bytes)).status).toBe(201);
    });
  });
});
