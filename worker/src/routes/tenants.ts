/**
 * Tenant management, admin key only: create a tenant (its first API key is returned once),
 * add keys, revoke keys. Keys are stored as SHA-256 digests plus a short lookup prefix.
 */
import { Hono } from 'hono';
import type { CreateKeyResponse, CreateTenantResponse, Tenant } from '../contract/api';
import { requireAdmin } from '../auth';
import { limitsFromEnv } from '../config';
import type { AppEnv } from '../context';
import { apiKeyLookup, generateApiKey, randomId, sha256Text } from '../crypto';
import { ApiError } from '../errors';
import { invalid, isoTime, optionalInteger, readJsonObject, requiredString } from '../request-body';

interface TenantRow {
  id: string;
  name: string;
  jobs_per_minute: number | null;
  bank_bytes_quota: number | null;
  created_at: number;
}

function tenantJson(row: TenantRow): Tenant {
  return {
    id: row.id,
    name: row.name,
    limits: { jobsPerMinute: row.jobs_per_minute, bankBytesQuota: row.bank_bytes_quota },
    createdAt: isoTime(row.created_at),
  };
}

async function newKey(
  db: D1Database,
  tenantId: string,
): Promise<{ keyId: string; apiKey: string; insert: D1PreparedStatement }> {
  const apiKey = generateApiKey();
  const keyId = randomId('key');
  const insert = db
    .prepare(`INSERT INTO api_keys (id, tenant_id, lookup, key_hash, created_at) VALUES (?, ?, ?, ?, ?)`)
    .bind(keyId, tenantId, apiKeyLookup(apiKey), await sha256Text(apiKey), Date.now());
  return { keyId, apiKey, insert };
}

async function requireTenantRow(db: D1Database, tenantId: string): Promise<TenantRow> {
  const row = await db.prepare(`SELECT * FROM tenants WHERE id = ?`).bind(tenantId).first<TenantRow>();
  if (row === null) throw new ApiError(404, 'tenant_not_found', `no tenant ${JSON.stringify(tenantId)}`);
  return row;
}

export const tenantRoutes = new Hono<AppEnv>()
  .post('/', async (c) => {
    requireAdmin(c);
    const body = await readJsonObject(c, limitsFromEnv(c.env).maxJsonBytes);
    const name = requiredString(body, 'name', { maxLength: 128 });
    const limits = body.limits ?? {};
    if (typeof limits !== 'object' || limits === null || Array.isArray(limits))
      throw invalid('limits must be an object');
    const jobsPerMinute =
      optionalInteger(limits as Record<string, unknown>, 'jobsPerMinute', 1, 1_000_000) ?? null;
    const bankBytesQuota =
      optionalInteger(limits as Record<string, unknown>, 'bankBytesQuota', 1, Number.MAX_SAFE_INTEGER) ??
      null;
    const row: TenantRow = {
      id: randomId('ten'),
      name,
      jobs_per_minute: jobsPerMinute,
      bank_bytes_quota: bankBytesQuota,
      created_at: Date.now(),
    };
    const key = await newKey(c.env.DB, row.id);
    await c.env.DB.batch([
      c.env.DB.prepare(
        `INSERT INTO tenants (id, name, jobs_per_minute, bank_bytes_quota, created_at) VALUES (?, ?, ?, ?, ?)`,
      ).bind(row.id, row.name, row.jobs_per_minute, row.bank_bytes_quota, row.created_at),
      key.insert,
    ]);
    c.get('log').info('tenant created', { tenantId: row.id });
    const response: CreateTenantResponse = { tenant: tenantJson(row), apiKey: key.apiKey, keyId: key.keyId };
    return c.json(response, 201);
  })
  .get('/:id', async (c) => {
    requireAdmin(c);
    return c.json(tenantJson(await requireTenantRow(c.env.DB, c.req.param('id'))));
  })
  .post('/:id/keys', async (c) => {
    requireAdmin(c);
    const tenant = await requireTenantRow(c.env.DB, c.req.param('id'));
    const key = await newKey(c.env.DB, tenant.id);
    await key.insert.run();
    const response: CreateKeyResponse = { keyId: key.keyId, apiKey: key.apiKey };
    return c.json(response, 201);
  })
  .delete('/:id/keys/:keyId', async (c) => {
    requireAdmin(c);
    const result = await c.env.DB.prepare(
      `UPDATE api_keys SET revoked_at = ? WHERE id = ? AND tenant_id = ? AND revoked_at IS NULL`,
    )
      .bind(Date.now(), c.req.param('keyId'), c.req.param('id'))
      .run();
    if (result.meta.changes === 0)
      throw new ApiError(404, 'key_not_found', 'no such active key for this tenant');
    return c.body(null, 204);
  });
