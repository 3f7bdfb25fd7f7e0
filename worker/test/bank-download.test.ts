/**
 * Bank downloads: who may read (owner, anyone for public banks, runners; others 404),
 * immutable caching headers, ETag/304, single ranges (206, 416), HEAD, and deltas that patch
 * to the exact new bank and are cached in R2.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { MaskBank, patchBank } from '@maskunet/mask-store';
import {
  ADMIN_KEY,
  RUNNER_TOKEN,
  bytesOf,
  call,
  createTenant,
  createVariant,
  errorCode,
  makeBank,
  registerModel,
  uploadBank,
  type TestTenant,
} from './helpers';

let model: string;
let owner: TestTenant;
let stranger: TestTenant;
let privateBank: MaskBank;
let publicBank: MaskBank;

beforeAll(async () => {
  model = (await registerModel()).id;
  owner = await createTenant();
  stranger = await createTenant();
  privateBank = await makeBank({ seed: 21, buckets: 3 });
  publicBank = await makeBank({ seed: 22 });
  const secret = await createVariant(owner, model, 'private');
  const shared = await createVariant(owner, model, 'public');
  expect((await uploadBank(owner, secret, privateBank.bytes)).status).toBe(201);
  expect((await uploadBank(owner, shared, publicBank.bytes)).status).toBe(201);
});

describe('GET /v1/banks/:id', () => {
  it('serves a private bank to its owner and to runners with private immutable caching', async () => {
    for (const token of [owner.apiKey, RUNNER_TOKEN]) {
      const res = await call('GET', `/v1/banks/${privateBank.id}`, { token });
      expect(res.status).toBe(200);
      expect(res.headers.get('etag')).toBe(`"${privateBank.id}"`);
      expect(res.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      expect(res.headers.get('accept-ranges')).toBe('bytes');
      expect(await bytesOf(res)).toEqual(privateBank.bytes);
    }
  });

  it('hides a private bank from other tenants and anonymous callers (404)', async () => {
    for (const token of [stranger.apiKey, null]) {
      const res = await call('GET', `/v1/banks/${privateBank.id}`, { token });
      expect(res.status).toBe(404);
      expect(await errorCode(res)).toBe('bank_not_found');
    }
    const unknown = await call('GET', `/v1/banks/${'0'.repeat(64)}`, { token: RUNNER_TOKEN });
    expect(unknown.status).toBe(404);
    const malformed = await call('GET', '/v1/banks/not-an-id', { token: owner.apiKey });
    expect(malformed.status).toBe(404);
  });

  it('serves a public bank to anyone with public caching', async () => {
    const res = await call('GET', `/v1/banks/${publicBank.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await bytesOf(res)).toEqual(publicBank.bytes);
    expect((await call('GET', `/v1/banks/${publicBank.id}`, { token: stranger.apiKey })).status).toBe(200);
  });

  it('answers a matching If-None-Match with 304 and no body', async () => {
    const etag = `"${privateBank.id}"`;
    for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const res = await call('GET', `/v1/banks/${privateBank.id}`, {
        token: owner.apiKey,
        headers: { 'If-None-Match': header },
      });
      expect(res.status, header).toBe(304);
      expect(res.headers.get('etag')).toBe(etag);
      expect((await bytesOf(res)).length).toBe(0);
    }
    const stale = await call('GET', `/v1/banks/${privateBank.id}`, {
      token: owner.apiKey,
      headers: { 'If-None-Match': '"something-else"' },
    });
    expect(stale.status).toBe(200);
    await stale.arrayBuffer();
  });

  it('serves one section by Range with 206 and Content-Range', async () => {
    const size = privateBank.bytes.length;
    const section = privateBank.sectionRange(1, 0);
    const res = await call('GET', `/v1/banks/${privateBank.id}`, {
      token: owner.apiKey,
      headers: { Range: `bytes=${section.start}-${section.end - 1}` },
    });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes ${section.start}-${section.end - 1}/${size}`);
    expect(await bytesOf(res)).toEqual(privateBank.bytes.slice(section.start, section.end));

    const suffix = await call('GET', `/v1/banks/${privateBank.id}`, {
      token: owner.apiKey,
      headers: { Range: 'bytes=-5' },
    });
    expect(suffix.status).toBe(206);
    expect(await bytesOf(suffix)).toEqual(privateBank.bytes.slice(size - 5));
    const open = await call('GET', `/v1/banks/${privateBank.id}`, {
      token: owner.apiKey,
      headers: { Range: 'bytes=16-' },
    });
    expect(open.headers.get('content-range')).toBe(`bytes 16-${size - 1}/${size}`);
    expect(await bytesOf(open)).toEqual(privateBank.bytes.slice(16));

    const beyond = await call('GET', `/v1/banks/${privateBank.id}`, {
      token: owner.apiKey,
      headers: { Range: `bytes=${size}-` },
    });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${size}`);
    expect(await errorCode(beyond)).toBe('range_not_satisfiable');

    const multi = await call('GET', `/v1/banks/${privateBank.id}`, {
      token: owner.apiKey,
      headers: { Range: 'bytes=0-1,4-5' },
    });
    expect(multi.status).toBe(200);
    expect(await bytesOf(multi)).toEqual(privateBank.bytes);

    const staleIfRange = await call('GET', `/v1/banks/${privateBank.id}`, {
      token: owner.apiKey,
      headers: { Range: 'bytes=0-3', 'If-Range': '"other"' },
    });
    expect(staleIfRange.status).toBe(200);
    await staleIfRange.arrayBuffer();
  });

  it('answers HEAD with the headers and no body', async () => {
    const res = await call('HEAD', `/v1/banks/${privateBank.id}`, { token: owner.apiKey });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(`"${privateBank.id}"`);
    expect(res.headers.get('content-length')).toBe(String(privateBank.bytes.length));
    expect((await bytesOf(res)).length).toBe(0);
  });
});

describe('delta downloads', () => {
  it('serves exactly diffBanks(old, new), which patches to the new bank, and caches it in R2', async () => {
    const variant = await createVariant(owner, model);
    const oldBank = await makeBank({ seed: 31, buckets: 3, keep: 0.9 });
    // A small edit of the old masks: what a fine-tuning step typically changes.
    const newBank = await makeBank({ seed: 31, buckets: 3, keep: 0.88 });
    expect((await uploadBank(owner, variant, oldBank.bytes)).status).toBe(201);
    expect((await uploadBank(owner, variant, newBank.bytes)).status).toBe(201);

    const res = await call('GET', `/v1/banks/${newBank.id}?from=${oldBank.id}`, { token: owner.apiKey });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(`"${oldBank.id}..${newBank.id}"`);
    expect(res.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    const deltaBytes = await bytesOf(res);
    const delta = await MaskBank.open(deltaBytes);
    expect(delta.header.parent).toBe(oldBank.id);
    const patched = await patchBank(oldBank, delta);
    expect(patched.id).toBe(newBank.id);
    expect(patched.bytes).toEqual(newBank.bytes);

    const cached = await env.BANKS.get(`deltas/${oldBank.id}..${newBank.id}`);
    expect(new Uint8Array(await cached!.arrayBuffer())).toEqual(deltaBytes);
    const second = await call('GET', `/v1/banks/${newBank.id}?from=${oldBank.id}`, { token: owner.apiKey });
    expect(await bytesOf(second)).toEqual(deltaBytes);
    const notModified = await call('GET', `/v1/banks/${newBank.id}?from=${oldBank.id}`, {
      token: owner.apiKey,
      headers: { 'If-None-Match': `"${oldBank.id}..${newBank.id}"` },
    });
    expect(notModified.status).toBe(304);
  });

  it('refuses deltas from banks the caller cannot read, malformed ids, and oversized banks', async () => {
    const fromHidden = await call('GET', `/v1/banks/${publicBank.id}?from=${privateBank.id}`, {
      token: stranger.apiKey,
    });
    expect(fromHidden.status).toBe(404);
    const malformed = await call('GET', `/v1/banks/${publicBank.id}?from=xyz`, { token: owner.apiKey });
    expect(malformed.status).toBe(400);
    const self = await call('GET', `/v1/banks/${publicBank.id}?from=${publicBank.id}`, {
      token: owner.apiKey,
    });
    expect(self.status).toBe(400);

    // MAX_DELTA_WEIGHTS is 100000 in the test configuration.
    const bigLayout = { layers: [{ name: 'up_blocks.1.big', shape: [320, 320] as [number, number] }] };
    const bigModel = (await registerModel(bigLayout)).id;
    const variant = await createVariant(owner, bigModel);
    const a = await makeBank({ layout: bigLayout, seed: 41, buckets: 1, keep: 0.999 });
    const b = await makeBank({ layout: bigLayout, seed: 42, buckets: 1, keep: 0.999 });
    expect((await uploadBank(owner, variant, a.bytes)).status).toBe(201);
    expect((await uploadBank(owner, variant, b.bytes)).status).toBe(201);
    const tooBig = await call('GET', `/v1/banks/${b.id}?from=${a.id}`, { token: owner.apiKey });
    expect(tooBig.status).toBe(422);
    expect(await errorCode(tooBig)).toBe('delta_unavailable');
  });
});

describe('GET /v1/banks/:id/raw (admin diagnostics)', () => {
  it('serves the stored bytes straight from R2 to the admin only', async () => {
    const res = await call('GET', `/v1/banks/${privateBank.id}/raw`, { token: ADMIN_KEY });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBeNull();
    expect(await bytesOf(res)).toEqual(privateBank.bytes);
    for (const token of [owner.apiKey, RUNNER_TOKEN]) {
      expect((await call('GET', `/v1/banks/${privateBank.id}/raw`, { token })).status).toBe(403);
    }
    expect((await call('GET', `/v1/banks/${privateBank.id}/raw`, { token: null })).status).toBe(401);
    const unknown = await call('GET', `/v1/banks/${'0'.repeat(64)}/raw`, { token: ADMIN_KEY });
    expect(unknown.status).toBe(404);
  });
});
