/**
 * Generation: POST /v1/generate validates the request, applies the tenant's rate limit,
 * records the job in D1 and hands it to the model's dispatcher. With
 * `Accept: text/event-stream` the response is the job's event stream (queued, started,
 * progress, done | error); otherwise 202 with the job id to poll. Jobs are tenant-scoped:
 * another tenant's job is 404.
 */
import { Hono } from 'hono';
import type { GenerateAccepted, Job, JobStatus, ModelConfig } from '../contract/api';
import type { ResultTimings, SamplerName } from '../contract/runner-protocol';
import { requireTenant } from '../auth';
import { limitsFromEnv } from '../config';
import type { AppEnv, TenantPrincipal } from '../context';
import { randomId } from '../crypto';
import { readableVariant, requireModel } from '../data';
import type { DispatchJob, SubmitResult } from '../dispatcher/dispatcher';
import { dispatcherFor } from '../dispatcher/stub';
import { ApiError } from '../errors';
import { takeJobSlot } from '../rate-limit';
import {
  invalid,
  isoTime,
  NAME_PATTERN,
  optionalEnum,
  optionalInteger,
  optionalNumber,
  readJsonObject,
  requiredString,
} from '../request-body';

const SAMPLERS: readonly SamplerName[] = ['ddim', 'dpmpp2m', 'ddpm'];
const DEFAULT_STEPS = 25;
const DEFAULT_GUIDANCE = 7.5;
const MAX_GUIDANCE = 30;

interface JobRow {
  id: string;
  tenant_id: string;
  model_id: string;
  variant_id: string | null;
  bank_id: string | null;
  request_json: string;
  status: JobStatus;
  attempt: number;
  runner_id: string | null;
  backend: string | null;
  error_code: string | null;
  error_message: string | null;
  timings_json: string | null;
  image_key: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

function jobJson(row: JobRow): Job {
  return {
    id: row.id,
    model: row.model_id,
    variant: row.variant_id,
    bankId: row.bank_id,
    status: row.status,
    attempt: row.attempt,
    runnerId: row.runner_id,
    backend: row.backend,
    request: JSON.parse(row.request_json) as Job['request'],
    error: row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? '' },
    timings: row.timings_json === null ? null : (JSON.parse(row.timings_json) as ResultTimings),
    imageUrl: row.status === 'done' ? `/v1/jobs/${row.id}/image` : null,
    createdAt: isoTime(row.created_at),
    startedAt: isoTime(row.started_at),
    finishedAt: isoTime(row.finished_at),
  };
}

async function ownJob(db: D1Database, tenant: TenantPrincipal, jobId: string): Promise<JobRow> {
  const row = await db.prepare(`SELECT * FROM jobs WHERE id = ?`).bind(jobId).first<JobRow>();
  if (row === null || row.tenant_id !== tenant.tenantId) {
    throw new ApiError(404, 'job_not_found', `no job ${JSON.stringify(jobId)}`);
  }
  return row;
}

function wantsEventStream(accept: string | undefined): boolean {
  return accept !== undefined && /\btext\/event-stream\b/i.test(accept);
}

export const generateRoutes = new Hono<AppEnv>().post('/', async (c) => {
  const tenant = requireTenant(c);
  const limits = limitsFromEnv(c.env);
  const body = await readJsonObject(c, limits.maxJsonBytes);
  const modelId = requiredString(body, 'model', { pattern: NAME_PATTERN });
  const prompt = requiredString(body, 'prompt', { maxLength: limits.maxPromptChars });
  const seed = optionalInteger(body, 'seed', 0, 0xffffffff) ?? crypto.getRandomValues(new Uint32Array(1))[0]!;
  const model = await requireModel(c.env.DB, modelId);
  // Leave-outs take the model package's own defaults, then the worker's.
  const defaults = (JSON.parse(model.config_json) as ModelConfig).defaults ?? {};
  const steps =
    optionalInteger(body, 'steps', 1, limits.maxSteps) ??
    Math.min(defaults.steps ?? DEFAULT_STEPS, limits.maxSteps);
  const guidance = optionalNumber(body, 'guidance', 0, MAX_GUIDANCE) ?? defaults.guidance ?? DEFAULT_GUIDANCE;
  const sampler = optionalEnum(body, 'sampler', SAMPLERS) ?? defaults.sampler ?? 'ddim';
  const variantId =
    body.variant === undefined || body.variant === null ? null : requiredString(body, 'variant');

  let bankId: string | null = null;
  if (variantId !== null) {
    const variant = await readableVariant(c.env.DB, tenant, variantId);
    if (variant.model_id !== model.id)
      throw invalid(`variant ${variant.id} belongs to model ${variant.model_id}`);
    if (variant.current_bank_id === null) {
      throw new ApiError(409, 'variant_empty', `variant ${variant.id} has no bank yet; upload one first`);
    }
    bankId = variant.current_bank_id;
  }

  const rate = await takeJobSlot(c.env.DB, tenant.tenantId, tenant.jobsPerMinute ?? limits.jobsPerMinute);
  if (!rate.ok) {
    throw new ApiError(429, 'rate_limited', 'too many jobs this minute for this tenant', {
      'Retry-After': String(rate.retryAfterSeconds),
    });
  }

  const jobId = randomId('job');
  const request = { prompt, seed, steps, guidance, sampler };
  await c.env.DB.prepare(
    `INSERT INTO jobs (id, tenant_id, model_id, variant_id, bank_id, request_json, status, created_at)
     VALUES (?, ?, ?, ?, ?, ?, 'queued', ?)`,
  )
    .bind(jobId, tenant.tenantId, model.id, variantId, bankId, JSON.stringify(request), Date.now())
    .run();
  const job: DispatchJob = {
    jobId,
    tenantId: tenant.tenantId,
    model: model.id,
    variant: variantId,
    bankId,
    ...request,
    requestId: c.get('requestId'),
  };
  const stream = wantsEventStream(c.req.header('Accept'));
  const forget = () => c.env.DB.prepare(`DELETE FROM jobs WHERE id = ?`).bind(jobId).run();
  let submitted: SubmitResult;
  try {
    submitted = await dispatcherFor(c.env, model.id).submit(job, { stream });
  } catch (error) {
    // The dispatcher never took it: no row may claim the job is queued.
    await forget();
    throw error;
  }
  if (!submitted.ok) {
    await forget();
    throw new ApiError(503, submitted.code, submitted.message, { 'Retry-After': '5' });
  }
  c.get('log').info('job submitted', { jobId, modelId: model.id, variantId, bankId, stream });
  if (submitted.stream !== null) {
    return c.body(submitted.stream, 200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      'X-Job-Id': jobId,
    });
  }
  const accepted: GenerateAccepted = {
    jobId,
    status: 'queued',
    position: submitted.position,
    url: `/v1/jobs/${jobId}`,
  };
  return c.json(accepted, 202, { Location: accepted.url });
});

export const jobRoutes = new Hono<AppEnv>()
  .get('/:id', async (c) => {
    const tenant = requireTenant(c);
    return c.json(jobJson(await ownJob(c.env.DB, tenant, c.req.param('id'))));
  })
  .get('/:id/image', async (c) => {
    const tenant = requireTenant(c);
    const row = await ownJob(c.env.DB, tenant, c.req.param('id'));
    if (row.status !== 'done' || row.image_key === null) {
      throw new ApiError(409, 'job_not_done', `job ${row.id} is ${row.status}`);
    }
    const object = await c.env.BANKS.get(row.image_key);
    if (object === null) throw new Error(`result ${row.image_key} of a done job is missing from R2`);
    return c.body(object.body, 200, {
      'Content-Type': 'image/png',
      'Content-Length': String(object.size),
      'Cache-Control': `private, max-age=31536000, immutable`,
    });
  })
  .post('/:id/cancel', async (c) => {
    const tenant = requireTenant(c);
    const row = await ownJob(c.env.DB, tenant, c.req.param('id'));
    if (row.status === 'done' || row.status === 'failed' || row.status === 'cancelled') {
      throw new ApiError(409, 'job_finished', `job ${row.id} is already ${row.status}`);
    }
    const outcome = await dispatcherFor(c.env, row.model_id).cancel(row.id);
    if (outcome === 'finishing') throw new ApiError(409, 'job_finished', `job ${row.id} is finishing`);
    if (outcome === 'unknown') {
      // The dispatcher no longer holds it (it just finished, or its state was lost): settle the row.
      await c.env.DB.prepare(
        `UPDATE jobs SET status = 'cancelled', error_code = 'cancelled', error_message = 'cancelled by the caller',
                finished_at = ? WHERE id = ? AND status IN ('queued', 'running')`,
      )
        .bind(Date.now(), row.id)
        .run();
    }
    const after = await ownJob(c.env.DB, tenant, row.id);
    if (after.status !== 'cancelled')
      throw new ApiError(409, 'job_finished', `job ${row.id} is already ${after.status}`);
    return c.json(jobJson(after));
  });
