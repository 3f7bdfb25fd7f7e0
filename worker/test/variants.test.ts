/**
 * Variants and tenancy: create/list/read/delete, another tenant's private variant is 404
 * (its id does not leak), writing to another tenant's public variant is 403.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Variant } from '@maskunet/contract';
import {
  call,
  createTenant,
  createVariant,
  errorCode,
  json,
  makeBank,
  registerModel,
  uploadBank,
  type TestTenant,
} from './helpers';

let model: string;
let alice: TestTenant;
let bob: TestTenant;

beforeAll(async () => {
  model = (await registerModel()).id;
  alice = await createTenant();
  bob = await createTenant();
});

describe('variants', () => {
  it('creates, lists, reads and deletes a variant', async () => {
    const res = await call('POST', '/v1/variants', {
      token: alice.apiKey,
      json: { model, name: 'portraits', visibility: 'public' },
    });
    expect(res.status).toBe(201);
    const variant = await json<Variant>(res);
    expect(variant).toMatchObject({
      model,
      name: 'portraits',
      visibility: 'public',
      owned: true,
      currentBankId: null,
    });
    expect(variant.id).toMatch(/^var_/);

    const list = await json<{ variants: Variant[] }>(
      await call('GET', '/v1/variants', { token: alice.apiKey }),
    );
    expect(list.variants.map((v) => v.id)).toContain(variant.id);
    const filtered = await json<{ variants: Variant[] }>(
      await call('GET', '/v1/variants?model=other', { token: alice.apiKey }),
    );
    expect(filtered.variants).toEqual([]);
    const read = await call('GET', `/v1/variants/${variant.id}`, { token: alice.apiKey });
    expect(await json<Variant>(read)).toEqual(variant);

    expect((await call('DELETE', `/v1/variants/${variant.id}`, { token: alice.apiKey })).status).toBe(204);
    const gone = await call('GET', `/v1/variants/${variant.id}`, { token: alice.apiKey });
    expect(gone.status).toBe(404);
    expect(await errorCode(gone)).toBe('variant_not_found');
  });

  it('refuses a duplicate name with 409, an unknown model with 404, bad input with 400', async () => {
    const first = await call('POST', '/v1/variants', { token: alice.apiKey, json: { model, name: 'dup' } });
    expect(first.status).toBe(201);
    const dup = await call('POST', '/v1/variants', { token: alice.apiKey, json: { model, name: 'dup' } });
    expect(dup.status).toBe(409);
    expect(await errorCode(dup)).toBe('variant_exists');
    // Another tenant may use the same name.
    expect(
      (await call('POST', '/v1/variants', { token: bob.apiKey, json: { model, name: 'dup' } })).status,
    ).toBe(201);
    const noModel = await call('POST', '/v1/variants', {
      token: alice.apiKey,
      json: { model: 'nope', name: 'x' },
    });
    expect(noModel.status).toBe(404);
    expect(await errorCode(noModel)).toBe('model_not_found');
    const badVisibility = await call('POST', '/v1/variants', {
      token: alice.apiKey,
      json: { model, name: 'x', visibility: 'secret' },
    });
    expect(badVisibility.status).toBe(400);
    const noAuth = await call('POST', '/v1/variants', { json: { model, name: 'x' } });
    expect(noAuth.status).toBe(401);
  });

  it("hides another tenant's private variant (404) on every route", async () => {
    const secret = await createVariant(alice, model, 'private');
    const bank = await makeBank({ seed: 11 });
    expect((await uploadBank(alice, secret, bank.bytes)).status).toBe(201);
    for (const [method, path] of [
      ['GET', `/v1/variants/${secret}`],
      ['GET', `/v1/variants/${secret}/banks`],
      ['DELETE', `/v1/variants/${secret}`],
    ] as const) {
      const res = await call(method, path, { token: bob.apiKey });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(await errorCode(res)).toBe('variant_not_found');
    }
    expect((await uploadBank(bob, secret, bank.bytes)).status).toBe(404);
    const generate = await call('POST', '/v1/generate', {
      token: bob.apiKey,
      json: { model, variant: secret, prompt: 'x' },
    });
    expect(generate.status).toBe(404);
    const list = await json<{ variants: Variant[] }>(
      await call('GET', '/v1/variants', { token: bob.apiKey }),
    );
    expect(list.variants.map((v) => v.id)).not.toContain(secret);
  });

  it('lets others read a public variant but not change it (403)', async () => {
    const shared = await createVariant(alice, model, 'public');
    const read = await call('GET', `/v1/variants/${shared}`, { token: bob.apiKey });
    expect(read.status).toBe(200);
    expect(await json<Variant>(read)).toMatchObject({ id: shared, owned: false });
    expect((await call('GET', `/v1/variants/${shared}/banks`, { token: bob.apiKey })).status).toBe(200);
    const del = await call('DELETE', `/v1/variants/${shared}`, { token: bob.apiKey });
    expect(del.status).toBe(403);
    expect(await errorCode(del)).toBe('forbidden');
    const upload = await uploadBank(bob, shared, (await makeBank({ seed: 12 })).bytes);
    expect(upload.status).toBe(403);
    expect((await call('GET', `/v1/variants/${shared}`, { token: alice.apiKey })).status).toBe(200);
  });

  it('needs a tenant key (the admin key is 403 on tenant routes)', async () => {
    const res = await call('GET', '/v1/variants', { token: 'test-admin-key' });
    expect(res.status).toBe(403);
  });
});
