/**
 * Tenant management, admin key only: create a tenant (its first API key is returned once),
 * add keys, revoke keys. Keys are stored as SHA-256 digests plus a short lookup prefix.
 */
import { createRoute } from '@hono/zod-openapi';
import * as z from 'zod';
import {
  createKeyResponseSchema,
  createTenantRequestSchema,
  createTenantResponseSchema,
  tenantSchema,
  type CreateKeyResponse,
  type CreateTenantResponse,
  type Tenant,
} from '@maskunet/contract';
import { requireAdmin } from '../auth';
import { apiKeyLookup, generateApiKey, randomId, sha256Text } from '../crypto';
import { ApiError } from '../errors';
import { errorResponses, openApiRoute, openApiRouter, SECURITY } from '../openapi';
import { isoTime, readJson } from '../request-body';

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

const tenantParams = z.object({ id: z.string() });

export const tenantRoutes = openApiRouter();

openApiRoute(
  tenantRoutes,
  createRoute({
    method: 'post',
    path: '/',
    summary: 'Create a tenant and its first API key (shown once)',
    security: SECURITY.admin,
    request: {
      body: { required: true, content: { 'application/json': { schema: createTenantRequestSchema } } },
    },
    responses: {
      201: {
        description: 'Created',
        content: { 'application/json': { schema: createTenantResponseSchema } },
      },
      ...errorResponses(400, 401, 403, 413, 415),
    },
  }),
  async (c) => {
    requireAdmin(c);
    const body = await readJson(c, createTenantRequestSchema);
    const row: TenantRow = {
      id: randomId('ten'),
      name: body.name,
      jobs_per_minute: body.limits?.jobsPerMinute ?? null,
      bank_bytes_quota: body.limits?.bankBytesQuota ?? null,
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
  },
);

openApiRoute(
  tenantRoutes,
  createRoute({
    method: 'get',
    path: '/{id}',
    summary: 'Read a tenant',
    security: SECURITY.admin,
    request: { params: tenantParams },
    responses: {
      200: { description: 'The tenant', content: { 'application/json': { schema: tenantSchema } } },
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => {
    requireAdmin(c);
    return c.json(tenantJson(await requireTenantRow(c.env.DB, c.req.param('id'))));
  },
);

openApiRoute(
  tenantRoutes,
  createRoute({
    method: 'post',
    path: '/{id}/keys',
    summary: 'Add an API key to a tenant (shown once)',
    security: SECURITY.admin,
    request: { params: tenantParams },
    responses: {
      201: { description: 'Created', content: { 'application/json': { schema: createKeyResponseSchema } } },
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => {
    requireAdmin(c);
    const tenant = await requireTenantRow(c.env.DB, c.req.param('id'));
    const key = await newKey(c.env.DB, tenant.id);
    await key.insert.run();
    const response: CreateKeyResponse = { keyId: key.keyId, apiKey: key.apiKey };
    return c.json(response, 201);
  },
);

openApiRoute(
  tenantRoutes,
  createRoute({
    method: 'delete',
    path: '/{id}/keys/{keyId}',
    summary: 'Revoke an API key',
    security: SECURITY.admin,
    request: { params: z.object({ id: z.string(), keyId: z.string() }) },
    responses: { 204: { description: 'Revoked' }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    requireAdmin(c);
    const result = await c.env.DB.prepare(
      `UPDATE api_keys SET revoked_at = ? WHERE id = ? AND tenant_id = ? AND revoked_at IS NULL`,
    )
      .bind(Date.now(), c.req.param('keyId'), c.req.param('id'))
      .run();
    if (result.meta.changes === 0)
      throw new ApiError(404, 'key_not_found', 'no such active key for this tenant');
    return c.body(null, 204);
  },
);
