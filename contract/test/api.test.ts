/**
 * The HTTP API schemas: valid bodies survive a JSON round trip through their schema
 * unchanged, refusals name the field and what it must be (the text a caller reads in the 400
 * body), `null` means "left out" where the API always allowed it, and every schema can be
 * described in JSON Schema (what the worker's OpenAPI generator does with it).
 */
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  API_ERROR_CODES,
  API_ERROR_CODES_BY_STATUS,
  apiErrorBodySchema,
  bankVersionListSchema,
  createTenantRequestSchema,
  createTenantResponseSchema,
  createVariantRequestSchema,
  describeIssue,
  generateAcceptedSchema,
  generateEventSchemas,
  generateRequestSchema,
  jobSchema,
  modelListSchema,
  registerModelRequestSchema,
  SAMPLER_NAMES,
  uploadBankResponseSchema,
  variantListSchema,
  type ApiErrorBody,
  type Job,
  type Model,
  type UploadBankResponse,
} from '@maskunet/contract';

/** The refusal message of `value`, or null when it parses. */
function refusal(schema: z.ZodType, value: unknown): string | null {
  const parsed = schema.safeParse(value);
  return parsed.success ? null : describeIssue(parsed.error);
}

/** Parses what a client would send: the value after JSON.stringify/parse. */
function roundTrip<S extends z.ZodType>(schema: S, value: z.input<S>): z.output<S> {
  return schema.parse(JSON.parse(JSON.stringify(value)));
}

const BANK = 'ab'.repeat(32);
const TIME = '2026-05-01T12:00:00.000Z';

const model: Model = {
  id: 'emoji32',
  layout: { layers: [{ name: 'up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q', shape: [8, 16] }] },
  layoutHash: 'f'.repeat(64),
  bucketEdges: [0, 500, 1000],
  sampleSize: 32,
  timesteps: 1000,
  runners: { count: 1, backends: ['cpu'] },
  createdAt: TIME,
};

const job: Job = {
  id: 'job_1',
  model: 'emoji32',
  variant: null,
  bankId: BANK,
  status: 'done',
  attempt: 2,
  runnerId: 'runner-1',
  backend: 'cpu',
  request: { prompt: 'a cat', seed: 7, steps: 25, guidance: 7.5, sampler: 'dpmpp2m' },
  error: null,
  timings: { queueMs: 3, bankFetchMs: 1, stepsMs: 200, encodeMs: 4 },
  imageUrl: '/v1/jobs/job_1/image',
  createdAt: TIME,
  startedAt: TIME,
  finishedAt: TIME,
};

describe('request bodies', () => {
  it('keep a valid generate request as sent, with null as a left-out field', () => {
    const full = {
      model: 'emoji32',
      variant: 'var_1',
      prompt: 'a cat',
      seed: 0xffffffff,
      steps: 30,
      guidance: 0,
      sampler: 'ddpm' as const,
    };
    expect(roundTrip(generateRequestSchema, full)).toEqual(full);
    // The SDK sends `variant: null` for the bare base model; the type says so too.
    const bare = { model: 'emoji32', prompt: 'x', variant: null, seed: null, sampler: null };
    expect(roundTrip(generateRequestSchema, bare)).toEqual(bare);
  });

  it('drop fields they do not know, as the API always ignored them', () => {
    expect(generateRequestSchema.parse({ model: 'm', prompt: 'x', colour: 'red' })).toEqual({
      model: 'm',
      prompt: 'x',
    });
  });

  it.each([
    [{ prompt: 'x' }, 'model must be a non-empty string'],
    [{ model: 'has space', prompt: 'x' }, 'model must match /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/'],
    [{ model: 'm' }, 'prompt must be a non-empty string'],
    [{ model: 'm', prompt: '' }, 'prompt must be a non-empty string'],
    [{ model: 'm', prompt: 'x', variant: '' }, 'variant must be a non-empty string'],
    [{ model: 'm', prompt: 'x', seed: -1 }, 'seed must be an integer in [0, 4294967295]'],
    [{ model: 'm', prompt: 'x', seed: 1.5 }, 'seed must be an integer in [0, 4294967295]'],
    [{ model: 'm', prompt: 'x', steps: 0 }, 'steps must be a positive integer'],
    [{ model: 'm', prompt: 'x', guidance: 31 }, 'guidance must be a number in [0, 30]'],
    [{ model: 'm', prompt: 'x', guidance: '7' }, 'guidance must be a number in [0, 30]'],
    [{ model: 'm', prompt: 'x', sampler: 'euler' }, 'sampler must be one of ddim, dpmpp2m, ddpm'],
  ])('refuse generate %j: "%s"', (body, message) => {
    expect(refusal(generateRequestSchema, body)).toBe(message);
  });

  it('refuse tenant and variant bodies naming the nested field', () => {
    expect(refusal(createTenantRequestSchema, {})).toBe('name must be a non-empty string');
    expect(refusal(createTenantRequestSchema, { name: 'x'.repeat(129) })).toBe(
      'name must be at most 128 characters',
    );
    expect(refusal(createTenantRequestSchema, { name: 'x', limits: 3 })).toBe('limits must be an object');
    expect(refusal(createTenantRequestSchema, { name: 'x', limits: { jobsPerMinute: -1 } })).toBe(
      'limits.jobsPerMinute must be an integer in [1, 1000000]',
    );
    expect(refusal(createTenantRequestSchema, { name: 'x', limits: null })).toBeNull();
    expect(refusal(createVariantRequestSchema, { model: 'm', name: 'v', visibility: 'secret' })).toBe(
      'visibility must be one of private, public',
    );
    expect(refusal(createVariantRequestSchema, { model: 'm', name: 'v', visibility: null })).toBeNull();
  });

  it('check a model registration down to the layer shape and the bucket edges', () => {
    const layout = { layers: [{ name: 'a', shape: [4, 8] as [number, number] }] };
    const ok = { id: 'm', layout, config: { sampleSize: 64, bucketEdges: [0, 500, 1000] } };
    expect(roundTrip(registerModelRequestSchema, ok)).toEqual(ok);
    expect(refusal(registerModelRequestSchema, { ...ok, layout: { layers: [] } })).toBe(
      'layout.layers must hold at least one layer',
    );
    expect(
      refusal(registerModelRequestSchema, { ...ok, layout: { layers: [{ name: 'a', shape: [0, 4] }] } }),
    ).toBe('layout.layers[0].shape[0] must be a positive integer');
    expect(refusal(registerModelRequestSchema, { ...ok, config: {} })).toBe(
      'config.sampleSize must be an integer in [8, 4096]',
    );
    for (const bucketEdges of [
      [0, 700, 600, 1000],
      [0, 999],
      [1, 1000],
      [0],
      Array.from({ length: 66 }, (_, i) => i * 10),
    ]) {
      expect(refusal(registerModelRequestSchema, { ...ok, config: { sampleSize: 64, bucketEdges } })).toBe(
        'config.bucketEdges must be 2–65 increasing integers from 0 to 1000',
      );
    }
    // The edges default to [0, timesteps], so a custom timesteps alone is consistent.
    expect(
      refusal(registerModelRequestSchema, { ...ok, config: { sampleSize: 64, timesteps: 50 } }),
    ).toBeNull();
    expect(
      refusal(registerModelRequestSchema, { ...ok, config: { sampleSize: 64, defaults: { sampler: 'x' } } }),
    ).toBe('config.defaults.sampler must be one of ddim, dpmpp2m, ddpm');
  });
});

describe('response bodies', () => {
  it('round-trip what the worker answers', () => {
    expect(roundTrip(jobSchema, job)).toEqual(job);
    expect(
      roundTrip(jobSchema, { ...job, timings: null, error: { code: 'timeout', message: 'late' } }),
    ).toEqual({
      ...job,
      timings: null,
      error: { code: 'timeout', message: 'late' },
    });
    expect(roundTrip(modelListSchema, { models: [model] })).toEqual({ models: [model] });
    const upload: UploadBankResponse = {
      version: 1,
      bankId: BANK,
      size: 120,
      buckets: 2,
      createdAt: TIME,
      url: `/v1/banks/${BANK}`,
      variantId: 'var_1',
      created: true,
      layoutHash: 'f'.repeat(64),
    };
    expect(roundTrip(uploadBankResponseSchema, upload)).toEqual(upload);
    const versions = { variantId: 'var_1', currentBankId: null, versions: [] };
    expect(roundTrip(bankVersionListSchema, versions)).toEqual(versions);
    expect(roundTrip(variantListSchema, { variants: [] })).toEqual({ variants: [] });
    const accepted = { jobId: 'job_1', status: 'queued' as const, position: 0, url: '/v1/jobs/job_1' };
    expect(roundTrip(generateAcceptedSchema, accepted)).toEqual(accepted);
    const tenant = {
      tenant: {
        id: 'ten_1',
        name: 'acme',
        limits: { jobsPerMinute: 5, bankBytesQuota: null },
        createdAt: TIME,
      },
      apiKey: `mk_${'A'.repeat(43)}`,
      keyId: 'key_1',
    };
    expect(roundTrip(createTenantResponseSchema, tenant)).toEqual(tenant);
  });

  it('name every SSE event of a generation', () => {
    expect(Object.keys(generateEventSchemas)).toEqual(['queued', 'started', 'progress', 'done', 'error']);
    const done = {
      jobId: 'job_1',
      imageUrl: '/v1/jobs/job_1/image',
      timings: { bankFetchMs: 0, stepsMs: 1, encodeMs: 2 },
    };
    expect(roundTrip(generateEventSchemas.done, done)).toEqual(done);
  });

  it('refuse a job whose status is not a job status', () => {
    expect(refusal(jobSchema, { ...job, status: 'lost' })).toBe(
      'status must be one of queued, running, done, failed, cancelled',
    );
  });
});

describe('errors and vocabularies', () => {
  it('give every error code exactly one status', () => {
    const all = Object.values(API_ERROR_CODES_BY_STATUS).flat();
    expect(new Set(all).size).toBe(all.length);
    expect([...API_ERROR_CODES].sort()).toEqual([...all].sort());
    expect(API_ERROR_CODES_BY_STATUS[400]).toContain('invalid_request');
    expect(API_ERROR_CODES_BY_STATUS[503]).toEqual(['queue_full']);
  });

  it('accept the error body the worker sends, with reason only where it applies', () => {
    const plain: ApiErrorBody = { error: { code: 'not_found', message: 'no route GET /x' } };
    expect(roundTrip(apiErrorBodySchema, plain)).toEqual(plain);
    const bank: ApiErrorBody = {
      error: { code: 'invalid_bank', message: 'bad checksum', reason: 'checksum_mismatch' },
    };
    expect(roundTrip(apiErrorBodySchema, bank)).toEqual(bank);
    expect(refusal(apiErrorBodySchema, { error: { code: 'nope', message: '' } })).not.toBeNull();
  });

  it('list the samplers once, ddim first (the default)', () => {
    expect(SAMPLER_NAMES).toEqual(['ddim', 'dpmpp2m', 'ddpm']);
  });
});

describe('JSON Schema', () => {
  it('describes the schemas, named ones as shared definitions by their id', () => {
    for (const schema of [generateRequestSchema, registerModelRequestSchema, createTenantRequestSchema]) {
      expect(() => z.toJSONSchema(schema, { io: 'input' })).not.toThrow();
    }
    const document = z.toJSONSchema(jobSchema) as { $ref?: string; $defs?: Record<string, unknown> };
    expect(document.$ref).toBe('#/$defs/Job');
    expect(Object.keys(document.$defs ?? {}).sort()).toEqual([
      'Job',
      'JobStatus',
      'ResultTimings',
      'SamplerName',
    ]);
  });
});
