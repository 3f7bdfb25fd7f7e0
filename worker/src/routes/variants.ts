/**
 * Tenant variants of a base model and their bank versions. An upload is validated completely
 * — size limit, container and checksums (mask-store's `MaskBank.open`), standalone (no
 * parent), the model's layout hash, the tenant's storage quota — before a byte is written;
 * then the blob goes to R2 under its content id and D1 records a new version. Uploading the
 * bank that is already current changes nothing and answers 200 instead of 201.
 */
import { createRoute } from '@hono/zod-openapi';
import * as z from 'zod';
import { MaskBank, R2Backend } from '@maskunet/mask-store';
import {
  bankVersionListSchema,
  createVariantRequestSchema,
  uploadBankResponseSchema,
  variantListQuerySchema,
  variantListSchema,
  variantSchema,
  type BankVersion,
  type UploadBankResponse,
  type Variant,
} from '@maskunet/contract';
import { requireTenant } from '../auth';
import { limitsFromEnv } from '../config';
import {
  readableVariant,
  requireModel,
  tenantBankBytes,
  variantJson,
  writableVariant,
  type VariantRow,
} from '../data';
import { randomId } from '../crypto';
import { ApiError } from '../errors';
import { errorResponses, openApiRoute, openApiRouter, SECURITY } from '../openapi';
import { isoTime, readBodyBytes, readJson, readQuery } from '../request-body';

const variantParams = z.object({ id: z.string() });

interface VersionRow {
  version: number;
  bank_id: string;
  size: number;
  buckets: number;
  created_at: number;
}

function versionJson(row: VersionRow): BankVersion {
  return {
    version: row.version,
    bankId: row.bank_id,
    size: row.size,
    buckets: row.buckets,
    createdAt: isoTime(row.created_at),
    url: `/v1/banks/${row.bank_id}`,
  };
}

export const variantRoutes = openApiRouter();

openApiRoute(
  variantRoutes,
  createRoute({
    method: 'post',
    path: '/',
    summary: 'Create a variant of a model',
    security: SECURITY.tenant,
    request: {
      body: { required: true, content: { 'application/json': { schema: createVariantRequestSchema } } },
    },
    responses: {
      201: { description: 'Created', content: { 'application/json': { schema: variantSchema } } },
      ...errorResponses(400, 401, 403, 404, 409, 413, 415),
    },
  }),
  async (c) => {
    const tenant = requireTenant(c);
    const body = await readJson(c, createVariantRequestSchema);
    const { model: modelId, name } = body;
    const visibility = body.visibility ?? 'private';
    await requireModel(c.env.DB, modelId);
    const now = Date.now();
    const row: VariantRow = {
      id: randomId('var'),
      tenant_id: tenant.tenantId,
      model_id: modelId,
      name,
      visibility,
      current_bank_id: null,
      created_at: now,
      updated_at: now,
    };
    const result = await c.env.DB.prepare(
      `INSERT INTO variants (id, tenant_id, model_id, name, visibility, current_bank_id, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, NULL, ?, ?) ON CONFLICT (tenant_id, model_id, name) DO NOTHING`,
    )
      .bind(row.id, row.tenant_id, row.model_id, row.name, row.visibility, now, now)
      .run();
    if (result.meta.changes === 0) {
      throw new ApiError(409, 'variant_exists', `this tenant already has a variant ${name} of ${modelId}`);
    }
    return c.json<Variant>(variantJson(row, tenant), 201);
  },
);

openApiRoute(
  variantRoutes,
  createRoute({
    method: 'get',
    path: '/',
    summary: "List the caller's variants",
    security: SECURITY.tenant,
    request: { query: variantListQuerySchema },
    responses: {
      200: { description: 'Variants', content: { 'application/json': { schema: variantListSchema } } },
      ...errorResponses(401, 403),
    },
  }),
  async (c) => {
    const tenant = requireTenant(c);
    const { model } = readQuery(c, variantListQuerySchema);
    const { results } = await c.env.DB.prepare(
      `SELECT * FROM variants WHERE tenant_id = ?1 AND (?2 IS NULL OR model_id = ?2) ORDER BY created_at, id`,
    )
      .bind(tenant.tenantId, model ?? null)
      .all<VariantRow>();
    return c.json({ variants: results.map((row) => variantJson(row, tenant)) });
  },
);

openApiRoute(
  variantRoutes,
  createRoute({
    method: 'get',
    path: '/{id}',
    summary: "Read a variant (own, or another tenant's public one)",
    security: SECURITY.tenant,
    request: { params: variantParams },
    responses: {
      200: { description: 'The variant', content: { 'application/json': { schema: variantSchema } } },
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => {
    const tenant = requireTenant(c);
    return c.json(variantJson(await readableVariant(c.env.DB, tenant, c.req.param('id')), tenant));
  },
);

openApiRoute(
  variantRoutes,
  createRoute({
    method: 'delete',
    path: '/{id}',
    summary: 'Delete an own variant and its version history',
    security: SECURITY.tenant,
    request: { params: variantParams },
    responses: { 204: { description: 'Deleted' }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const tenant = requireTenant(c);
    const row = await writableVariant(c.env.DB, tenant, c.req.param('id'));
    // Bank blobs stay in R2 (content-addressed, possibly shared); the quota stops counting
    // them once no variant of the tenant references them.
    await c.env.DB.batch([
      c.env.DB.prepare(`DELETE FROM bank_versions WHERE variant_id = ?`).bind(row.id),
      c.env.DB.prepare(`DELETE FROM variants WHERE id = ?`).bind(row.id),
    ]);
    c.get('log').info('variant deleted', { variantId: row.id });
    return c.body(null, 204);
  },
);

openApiRoute(
  variantRoutes,
  createRoute({
    method: 'get',
    path: '/{id}/banks',
    summary: "List a variant's bank versions, newest first",
    security: SECURITY.tenant,
    request: { params: variantParams },
    responses: {
      200: { description: 'Versions', content: { 'application/json': { schema: bankVersionListSchema } } },
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => {
    const tenant = requireTenant(c);
    const row = await readableVariant(c.env.DB, tenant, c.req.param('id'));
    const { results } = await c.env.DB.prepare(
      `SELECT bv.version, bv.bank_id, b.size, b.buckets, bv.created_at
         FROM bank_versions bv JOIN banks b ON b.id = bv.bank_id
        WHERE bv.variant_id = ? ORDER BY bv.version DESC`,
    )
      .bind(row.id)
      .all<VersionRow>();
    return c.json({
      variantId: row.id,
      currentBankId: row.current_bank_id,
      versions: results.map(versionJson),
    });
  },
);

openApiRoute(
  variantRoutes,
  createRoute({
    method: 'post',
    path: '/{id}/banks',
    summary: 'Upload a bank (raw .mkb bytes); it becomes the current version',
    security: SECURITY.tenant,
    request: {
      params: variantParams,
      body: {
        required: true,
        content: { 'application/octet-stream': { schema: { type: 'string', contentEncoding: 'binary' } } },
      },
    },
    responses: {
      201: {
        description: 'Stored as a new version',
        content: { 'application/json': { schema: uploadBankResponseSchema } },
      },
      200: {
        description: 'Identical to the current version; nothing changed',
        content: { 'application/json': { schema: uploadBankResponseSchema } },
      },
      ...errorResponses(400, 401, 403, 404, 413, 415),
    },
  }),
  async (c) => {
    const tenant = requireTenant(c);
    const limits = limitsFromEnv(c.env);
    const variant = await writableVariant(c.env.DB, tenant, c.req.param('id'));
    const contentType = (c.req.header('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/octet-stream') {
      throw new ApiError(415, 'unsupported_media_type', 'send the bank as application/octet-stream');
    }
    const bytes = await readBodyBytes(c, limits.maxBankBytes, 'bank_too_large');
    // Throws MaskFormatError → 400 invalid_bank / 413 bank_limit_exceeded (see errors.ts).
    const bank = await MaskBank.open(bytes, { limits: { maxBankBytes: limits.maxBankBytes } });
    if (bank.header.parent !== null) {
      throw new ApiError(
        400,
        'bank_has_parent',
        'upload the standalone bank, not a delta or a parent-coded bank',
      );
    }
    const model = await requireModel(c.env.DB, variant.model_id);
    if (bank.header.layoutHash !== model.layout_hash) {
      throw new ApiError(
        400,
        'layout_mismatch',
        `the bank's layout ${bank.header.layoutHash} is not model ${model.id}'s layout ${model.layout_hash}`,
      );
    }

    const alreadyCounted = await c.env.DB.prepare(
      `SELECT 1 AS x FROM bank_versions bv JOIN variants v ON v.id = bv.variant_id
        WHERE v.tenant_id = ? AND bv.bank_id = ? LIMIT 1`,
    )
      .bind(tenant.tenantId, bank.id)
      .first();
    if (alreadyCounted === null) {
      const quota = tenant.bankBytesQuota ?? limits.bankBytesQuota;
      const used = await tenantBankBytes(c.env.DB, tenant.tenantId);
      if (used + bytes.length > quota) {
        throw new ApiError(
          413,
          'quota_exceeded',
          `storing ${bytes.length} more bytes would exceed this tenant's bank quota (${used} of ${quota} bytes used)`,
        );
      }
    }

    // Blob first, rows second: a row never points at a missing blob.
    const backend = new R2Backend(c.env.BANKS, 'banks/');
    if ((await backend.size(bank.id)) === null) await backend.put(bank.id, bytes);

    const now = Date.now();
    const [, inserted] = await c.env.DB.batch<{ version: number }>([
      c.env.DB.prepare(
        `INSERT INTO banks (id, size, layout_hash, buckets, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO NOTHING`,
      ).bind(bank.id, bytes.length, bank.header.layoutHash, bank.bucketCount, now),
      c.env.DB.prepare(
        `INSERT INTO bank_versions (variant_id, version, bank_id, created_at)
         SELECT ?1, (SELECT coalesce(max(version), 0) + 1 FROM bank_versions WHERE variant_id = ?1), ?2, ?3
          WHERE NOT EXISTS (SELECT 1 FROM variants WHERE id = ?1 AND current_bank_id IS ?2)
         RETURNING version`,
      ).bind(variant.id, bank.id, now),
      c.env.DB.prepare(
        `UPDATE variants SET current_bank_id = ?2, updated_at = ?3 WHERE id = ?1 AND current_bank_id IS NOT ?2`,
      ).bind(variant.id, bank.id, now),
    ]);
    const created = (inserted?.results.length ?? 0) > 0;
    const current = await c.env.DB.prepare(
      `SELECT bv.version, bv.bank_id, b.size, b.buckets, bv.created_at
         FROM bank_versions bv JOIN banks b ON b.id = bv.bank_id
        WHERE bv.variant_id = ? AND bv.bank_id = ? ORDER BY bv.version DESC LIMIT 1`,
    )
      .bind(variant.id, bank.id)
      .first<VersionRow>();
    if (current === null) throw new Error('bank version row missing right after insert');
    c.get('log').info('bank uploaded', {
      variantId: variant.id,
      bankId: bank.id,
      size: bytes.length,
      created,
    });
    const response: UploadBankResponse = {
      ...versionJson(current),
      variantId: variant.id,
      created,
      layoutHash: bank.header.layoutHash,
    };
    return c.json(response, created ? 201 : 200, { Location: `/v1/banks/${bank.id}` });
  },
);
