/**
 * D1 reads shared by several routes, and the tenancy rules they encode: a tenant sees its own
 * variants and public ones; another tenant's private variant is "not found" (so ids do not
 * leak), while writing to another tenant's public variant is "forbidden". Banks inherit the
 * visibility of the variants that reference them.
 */
import type { Model, ModelConfig, RunnerSummary, Variant, Visibility } from '@maskunet/contract';
import type { Principal, TenantPrincipal } from './context';
import { ApiError } from './errors';
import { isoTime } from './request-body';

export interface ModelRow {
  id: string;
  layout_json: string;
  layout_hash: string;
  layer_count: number;
  config_json: string;
  created_at: number;
}

export interface VariantRow {
  id: string;
  tenant_id: string;
  model_id: string;
  name: string;
  visibility: Visibility;
  current_bank_id: string | null;
  created_at: number;
  updated_at: number;
}

export async function findModel(db: D1Database, modelId: string): Promise<ModelRow | null> {
  return db.prepare(`SELECT * FROM models WHERE id = ?`).bind(modelId).first<ModelRow>();
}

export async function requireModel(db: D1Database, modelId: string): Promise<ModelRow> {
  const row = await findModel(db, modelId);
  if (row === null) throw new ApiError(404, 'model_not_found', `no model ${JSON.stringify(modelId)}`);
  return row;
}

export function modelJson(row: ModelRow, runners: RunnerSummary): Model {
  const config = JSON.parse(row.config_json) as ModelConfig;
  return {
    id: row.id,
    layout: JSON.parse(row.layout_json) as Model['layout'],
    layoutHash: row.layout_hash,
    bucketEdges: config.bucketEdges,
    sampleSize: config.sampleSize,
    timesteps: config.timesteps,
    runners,
    createdAt: isoTime(row.created_at),
  };
}

export function variantJson(row: VariantRow, principal: Principal): Variant {
  return {
    id: row.id,
    model: row.model_id,
    name: row.name,
    visibility: row.visibility,
    owned: principal.kind === 'tenant' && principal.tenantId === row.tenant_id,
    currentBankId: row.current_bank_id,
    createdAt: isoTime(row.created_at),
    updatedAt: isoTime(row.updated_at),
  };
}

function variantNotFound(variantId: string): ApiError {
  return new ApiError(404, 'variant_not_found', `no variant ${JSON.stringify(variantId)}`);
}

/** A variant the caller may read: its own, or a public one. Others' private ones are 404. */
export async function readableVariant(
  db: D1Database,
  principal: TenantPrincipal,
  variantId: string,
): Promise<VariantRow> {
  const row = await db.prepare(`SELECT * FROM variants WHERE id = ?`).bind(variantId).first<VariantRow>();
  if (row === null) throw variantNotFound(variantId);
  if (row.tenant_id !== principal.tenantId && row.visibility !== 'public') throw variantNotFound(variantId);
  return row;
}

/** A variant the caller may change: its own. Others' public ones are 403, private ones 404. */
export async function writableVariant(
  db: D1Database,
  principal: TenantPrincipal,
  variantId: string,
): Promise<VariantRow> {
  const row = await readableVariant(db, principal, variantId);
  if (row.tenant_id !== principal.tenantId) {
    throw new ApiError(403, 'forbidden', 'this variant belongs to another tenant');
  }
  return row;
}

export interface BankAccess {
  /** True when at least one public variant references the bank (cacheable by anyone). */
  readonly isPublic: boolean;
}

/**
 * Whether the caller may read bank `bankId`: runners always, tenants when one of their
 * variants references it, anyone when a public variant does. Null means "answer 404".
 */
export async function bankAccess(
  db: D1Database,
  principal: Principal,
  bankId: string,
): Promise<BankAccess | null> {
  const { results } = await db
    .prepare(
      `SELECT v.tenant_id, v.visibility FROM bank_versions bv JOIN variants v ON v.id = bv.variant_id
        WHERE bv.bank_id = ?`,
    )
    .bind(bankId)
    .all<{ tenant_id: string; visibility: Visibility }>();
  const isPublic = results.some((r) => r.visibility === 'public');
  if (principal.kind === 'runner' || principal.kind === 'admin') {
    const known = await db.prepare(`SELECT 1 AS x FROM banks WHERE id = ?`).bind(bankId).first();
    return known === null ? null : { isPublic };
  }
  if (isPublic) return { isPublic };
  if (principal.kind === 'tenant' && results.some((r) => r.tenant_id === principal.tenantId)) {
    return { isPublic: false };
  }
  return null;
}

/** Bytes of distinct banks referenced by the tenant's variants (the quota's measure). */
export async function tenantBankBytes(db: D1Database, tenantId: string): Promise<number> {
  const row = await db
    .prepare(
      `SELECT coalesce(sum(size), 0) AS bytes FROM banks WHERE id IN (
         SELECT bv.bank_id FROM bank_versions bv JOIN variants v ON v.id = bv.variant_id WHERE v.tenant_id = ?)`,
    )
    .bind(tenantId)
    .first<{ bytes: number }>();
  return row?.bytes ?? 0;
}
