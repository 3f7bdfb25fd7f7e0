/**
 * Tenants and API keys: admin-only management, keys shown once and stored only as SHA-256
 * digests, revocation, and the 401/403 split between "who are you" and "not allowed".
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '@maskunet/mask-store';
import type { CreateKeyResponse, CreateTenantResponse, Tenant } from '@maskunet/contract';
import { constantTimeEqual } from '../src/crypto';
import { ADMIN_KEY, RUNNER_TOKEN, call, createTenant, errorCode, json } from './helpers';

describe('POST /v1/tenants', () => {
  it('creates a tenant with a one-time key that is stored only as its SHA-256', async () => {
    const res = await call('POST', '/v1/tenants', {
      token: ADMIN_KEY,
      json: { name: 'acme', limits: { jobsPerMinute: 5 } },
    });
    expect(res.status).toBe(201);
    const body = await json<CreateTenantResponse>(res);
    expect(body.tenant).toMatchObject({ name: 'acme', limits: { jobsPerMinute: 5, bankBytesQuota: null } });
    expect(body.apiKey).toMatch(/^mk_[A-Za-z0-9_-]{43}$/);
    const stored = await env.DB.prepare(`SELECT * FROM api_keys WHERE tenant_id = ?`)
      .bind(body.tenant.id)
      .all<Record<string, unknown>>();
    expect(stored.results).toHaveLength(1);
    expect(JSON.stringify(stored.results)).not.toContain(body.apiKey.slice(3));
    expect(stored.results[0]!.key_hash).toBe(await sha256Hex(new TextEncoder().encode(body.apiKey)));
    const read = await call('GET', `/v1/tenants/${body.tenant.id}`, { token: ADMIN_KEY });
    expect(await json<Tenant>(read)).toEqual(body.tenant);
  });

  it('needs the admin key: 401 without a token or with an unknown one, 403 with a tenant or runner key', async () => {
    const tenant = await createTenant();
    const none = await call('POST', '/v1/tenants', { json: { name: 'x' } });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await errorCode(none)).toBe('unauthorized');
    const unknown = await call('POST', '/v1/tenants', { token: 'mk_' + 'A'.repeat(43), json: { name: 'x' } });
    expect(unknown.status).toBe(401);
    const wrongAdmin = await call('POST', '/v1/tenants', { token: ADMIN_KEY + 'x', json: { name: 'x' } });
    expect(wrongAdmin.status).toBe(401);
    const asTenant = await call('POST', '/v1/tenants', { token: tenant.apiKey, json: { name: 'x' } });
    expect(asTenant.status).toBe(403);
    expect(await errorCode(asTenant)).toBe('forbidden');
    const asRunner = await call('POST', '/v1/tenants', { token: RUNNER_TOKEN, json: { name: 'x' } });
    expect(asRunner.status).toBe(403);
    const malformed = await call('GET', '/v1/models', { headers: { Authorization: 'Basic abc' } });
    expect(malformed.status).toBe(401);
  });

  it('validates the name and limits', async () => {
    const noName = await call('POST', '/v1/tenants', { token: ADMIN_KEY, json: {} });
    expect(noName.status).toBe(400);
    expect(await errorCode(noName)).toBe('invalid_request');
    const badLimit = await call('POST', '/v1/tenants', {
      token: ADMIN_KEY,
      json: { name: 'x', limits: { jobsPerMinute: -1 } },
    });
    expect(badLimit.status).toBe(400);
  });
});

describe('API keys', () => {
  it('adds a second key and revokes keys one by one', async () => {
    const tenant = await createTenant();
    const added = await call('POST', `/v1/tenants/${tenant.id}/keys`, { token: ADMIN_KEY });
    expect(added.status).toBe(201);
    const second = await json<CreateKeyResponse>(added);
    expect(second.apiKey).not.toBe(tenant.apiKey);
    expect((await call('GET', '/v1/variants', { token: second.apiKey })).status).toBe(200);

    const revoked = await call('DELETE', `/v1/tenants/${tenant.id}/keys/${second.keyId}`, {
      token: ADMIN_KEY,
    });
    expect(revoked.status).toBe(204);
    const after = await call('GET', '/v1/variants', { token: second.apiKey });
    expect(after.status).toBe(401);
    expect((await call('GET', '/v1/variants', { token: tenant.apiKey })).status).toBe(200);
    const again = await call('DELETE', `/v1/tenants/${tenant.id}/keys/${second.keyId}`, { token: ADMIN_KEY });
    expect(again.status).toBe(404);
    expect(await errorCode(again)).toBe('key_not_found');
  });

  it('answers 404 for keys of an unknown tenant and 403 for a tenant managing keys', async () => {
    const tenant = await createTenant();
    const unknown = await call('POST', '/v1/tenants/ten_missing/keys', { token: ADMIN_KEY });
    expect(unknown.status).toBe(404);
    expect(await errorCode(unknown)).toBe('tenant_not_found');
    const self = await call('POST', `/v1/tenants/${tenant.id}/keys`, { token: tenant.apiKey });
    expect(self.status).toBe(403);
  });

  it('compares digests in constant time without short-circuiting on length', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });
});
