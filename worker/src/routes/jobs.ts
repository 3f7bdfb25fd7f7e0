/**
 * Generation: POST /v1/generate validates the request, applies the tenant's rate limit,
 * records the job in D1 and hands it to the model's dispatcher. With
 * `Accept: text/event-stream` the response is the job's event stream (queued, started,
 * progress, done | error); otherwise 202 with the job id to poll. Jobs are tenant-scoped:
 * another tenant's job is 404.
 */
import { createRoute } from '@hono/zod-openapi';
import * as z from 'zod';
import {
  DEFAULT_SAMPLER,
  FINISHED_JOB_STATUSES,
  generateAcceptedSchema,
  generateEventSchemas,
  generateRequestSchema,
  jobSchema,
  type GenerateAccepted,
  type Job,
  type JobStatus,
  type ModelConfig,
  type ResultTimings,
} from '@maskunet/contract';
import { requireTenant } from '../auth';
import { limitsFromEnv } from '../config';
import type { TenantPrincipal } from '../context';
import { randomId } from '../crypto';
import { readableVariant, requireModel } from '../data';
import type { DispatchJob, SubmitResult } from '../dispatcher/dispatcher';
import { dispatcherFor } from '../dispatcher/stub';
import { ApiError } from '../errors';
import { errorResponses, openApiRoute, openApiRouter, SECURITY } from '../openapi';
import { takeJobSlot } from '../rate-limit';
import { invalid, isoTime, readJson } from '../request-body';

const DEFAULT_STEPS = 25;
const DEFAULT_GUIDANCE = 7.5;

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

function isFinished(status: JobStatus): boolean {
  return (FINISHED_JOB_STATUSES as readonly JobStatus[]).includes(status);
}

function wantsEventStream(accept: string | undefined): boolean {
  return accept !== undefined && /\btext\/event-stream\b/i.test(accept);
}

const SSE_DESCRIPTION = `Server-sent events, by name: ${Object.entries(generateEventSchemas)
  .map(([name, schema]) => `${name} {${Object.keys(schema.shape).join(', ')}}`)
  .join(
    ', ',
  )}; \`: keep-alive\` comment lines every SSE_KEEPALIVE_MS (15 s) while the stream is open. A re-queued job emits queued/started again with the next attempt.`;

export const generateRoutes = openApiRouter();

openApiRoute(
  generateRoutes,
  createRoute({
    method: 'post',
    path: '/',
    summary: 'Generate an image; SSE progress with Accept: text/event-stream, else 202',
    security: SECURITY.tenant,
    request: { body: { required: true, content: { 'application/json': { schema: generateRequestSchema } } } },
    responses: {
      202: { description: 'Queued', content: { 'application/json': { schema: generateAcceptedSchema } } },
      200: { description: SSE_DESCRIPTION, content: { 'text/event-stream': { schema: z.string() } } },
      ...errorResponses(400, 401, 403, 404, 409, 413, 415, 429, 503),
    },
  }),
  async (c) => {
    const tenant = requireTenant(c);
    const limits = limitsFromEnv(c.env);
    const body = await readJson(c, generateRequestSchema);
    // The schema holds the fixed bounds; these two are the deployment's.
    if (body.prompt.length > limits.maxPromptChars) {
      throw invalid(`prompt must be at most ${limits.maxPromptChars} characters`);
    }
    if (body.steps != null && body.steps > limits.maxSteps) {
      throw invalid(`steps must be an integer in [1, ${limits.maxSteps}]`);
    }
    const { prompt } = body;
    const seed = body.seed ?? crypto.getRandomValues(new Uint32Array(1))[0]!;
    const model = await requireModel(c.env.DB, body.model);
    // Leave-outs take the model package's own defaults, then the worker's.
    const defaults = (JSON.parse(model.config_json) as ModelConfig).defaults ?? {};
    const steps = body.steps ?? Math.min(defaults.steps ?? DEFAULT_STEPS, limits.maxSteps);
    const guidance = body.guidance ?? defaults.guidance ?? DEFAULT_GUIDANCE;
    const sampler = body.sampler ?? defaults.sampler ?? DEFAULT_SAMPLER;
    const variantId = body.variant ?? null;

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
  },
);

const jobParams = z.object({ id: z.string() });

export const jobRoutes = openApiRouter();

openApiRoute(
  jobRoutes,
  createRoute({
    method: 'get',
    path: '/{id}',
    summary: 'Read a job',
    security: SECURITY.tenant,
    request: { params: jobParams },
    responses: {
      200: { description: 'The job', content: { 'application/json': { schema: jobSchema } } },
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => {
    const tenant = requireTenant(c);
    return c.json(jobJson(await ownJob(c.env.DB, tenant, c.req.param('id'))));
  },
);

openApiRoute(
  jobRoutes,
  createRoute({
    method: 'get',
    path: '/{id}/image',
    summary: "A finished job's PNG",
    security: SECURITY.tenant,
    request: { params: jobParams },
    responses: {
      200: {
        description: 'The image',
        content: { 'image/png': { schema: { type: 'string', contentEncoding: 'binary' } } },
      },
      ...errorResponses(401, 403, 404, 409),
    },
  }),
  async (c) => {
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
  },
);

openApiRoute(
  jobRoutes,
  createRoute({
    method: 'post',
    path: '/{id}/cancel',
    summary: 'Cancel a queued or running job',
    security: SECURITY.tenant,
    request: { params: jobParams },
    responses: {
      200: { description: 'Cancelled', content: { 'application/json': { schema: jobSchema } } },
      ...errorResponses(401, 403, 404, 409),
    },
  }),
  async (c) => {
    const tenant = requireTenant(c);
    const row = await ownJob(c.env.DB, tenant, c.req.param('id'));
    if (isFinished(row.status)) {
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
  },
);
