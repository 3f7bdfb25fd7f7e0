/**
 * The HTTP API's request and response bodies and query parameters (v1). Request schemas are
 * what the worker validates with (a refusal is 400 `invalid_request` naming the field);
 * response schemas document what it answers. Schemas with a `meta({ id })` become named
 * components of the OpenAPI document. Limits that a deployment configures (MAX_PROMPT_CHARS,
 * MAX_STEPS) are not known here: the schema states the fixed bounds, the worker checks the
 * configured ones after parsing.
 *
 * Optional request fields accept `null` as "left out", as the API always has (the SDK sends
 * `variant: null` for the bare base model).
 */
import './zod-config';
import * as z from 'zod';
import { samplerNameSchema, jobStatusSchema, visibilitySchema } from './enums';
import {
  bankIdString,
  integerFrom,
  integerIn,
  nameString,
  nonEmptyString,
  numberIn,
  orNull,
  record,
  timestamp,
} from './fields';
import { resultTimingsSchema } from './runner-protocol';

/** Most bucket edges a model's default bank layout may have (64 buckets). */
export const MAX_MODEL_BUCKETS = 64;
/** Highest classifier-free guidance scale a request may ask for. */
export const MAX_GUIDANCE = 30;
/** Highest seed: seeds are unsigned 32-bit. */
export const MAX_SEED = 0xffffffff;
/** Longest tenant name. */
export const MAX_TENANT_NAME_CHARS = 128;

const bankId = bankIdString().meta({ description: 'SHA-256 of the bank file, lower-case hex' });

// ---- tenants ----

export const tenantLimitsSchema = z.object({
  /** Jobs a tenant may submit per minute; null = the deployment default. */
  jobsPerMinute: z.int().nullable(),
  /** Bytes of distinct banks a tenant may store; null = the deployment default. */
  bankBytesQuota: z.int().nullable(),
});
export type TenantLimits = z.infer<typeof tenantLimitsSchema>;

export const tenantSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    limits: tenantLimitsSchema,
    createdAt: timestamp(),
  })
  .meta({ id: 'Tenant' });
export type Tenant = z.infer<typeof tenantSchema>;

export const createTenantRequestSchema = record({
  name: nonEmptyString({ maxLength: MAX_TENANT_NAME_CHARS }),
  limits: record({
    jobsPerMinute: integerIn(1, 1_000_000).nullish(),
    bankBytesQuota: integerIn(1, Number.MAX_SAFE_INTEGER).nullish(),
  }).nullish(),
});
export type CreateTenantRequest = z.input<typeof createTenantRequestSchema>;

export const createTenantResponseSchema = z.object({
  tenant: tenantSchema,
  /** Shown once; only its SHA-256 is stored. */
  apiKey: z.string().regex(/^mk_[A-Za-z0-9_-]{43}$/),
  keyId: z.string(),
});
export type CreateTenantResponse = z.infer<typeof createTenantResponseSchema>;

export const createKeyResponseSchema = z.object({
  keyId: z.string(),
  /** Shown once. */
  apiKey: z.string().regex(/^mk_[A-Za-z0-9_-]{43}$/),
});
export type CreateKeyResponse = z.infer<typeof createKeyResponseSchema>;

// ---- models ----

export const layoutLayerSchema = record({
  /** Module path of a masked Linear, e.g. `up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q`. */
  name: nonEmptyString(),
  /** PyTorch layout [out, in]. */
  shape: z.tuple([integerFrom(1), integerFrom(1)], { error: 'must be [out, in]' }),
});
export type LayoutLayerJson = z.infer<typeof layoutLayerSchema>;

/**
 * The shape of a mask layout. mask-store's `validateLayout` is the full rule (name syntax,
 * no duplicates, size limits) and the worker applies it after this schema.
 */
export const layoutSchema = record({
  layers: z
    .array(layoutLayerSchema, { error: 'must be an array' })
    .min(1, { error: 'must hold at least one layer' }),
}).meta({ id: 'Layout' });
export type LayoutJson = z.infer<typeof layoutSchema>;

export const generationDefaultsSchema = record({
  steps: integerIn(1, 1000).nullish(),
  guidance: numberIn(0, MAX_GUIDANCE).nullish(),
  sampler: orNull(samplerNameSchema).optional(),
});

/** A model's stored configuration (what registration resolved its request to). */
export const modelConfigSchema = z.object({
  /** Default bucket edges for banks of this model (K + 1 edges from 0 to timesteps). */
  bucketEdges: z.array(z.int()),
  /** Image side in pixels. */
  sampleSize: z.int(),
  /** Scheduler training timesteps. */
  timesteps: z.int(),
  /** Generation defaults for requests that leave them out (the model package's own). */
  defaults: z
    .object({
      steps: z.int().optional(),
      guidance: z.number().optional(),
      sampler: samplerNameSchema.optional(),
    })
    .optional(),
});
export type ModelConfig = z.infer<typeof modelConfigSchema>;

export const registerModelConfigSchema = record({
  sampleSize: integerIn(8, 4096),
  timesteps: integerIn(1, 100_000).nullish().meta({ description: 'Default 1000' }),
  bucketEdges: z
    .array(z.int({ error: 'must be an integer' }), { error: 'must be an array of integers' })
    .nullish()
    .meta({
      description: `2–${MAX_MODEL_BUCKETS + 1} increasing integers from 0 to timesteps; default [0, timesteps]`,
    }),
  defaults: generationDefaultsSchema.optional(),
}).superRefine((config, context) => {
  const timesteps = config.timesteps ?? 1000;
  const edges = config.bucketEdges ?? [0, timesteps];
  const increasing = edges.every((edge, i) => i === 0 || edge > edges[i - 1]!);
  if (
    edges.length < 2 ||
    edges.length > MAX_MODEL_BUCKETS + 1 ||
    edges[0] !== 0 ||
    edges[edges.length - 1] !== timesteps ||
    !increasing
  ) {
    context.addIssue({
      code: 'custom',
      path: ['bucketEdges'],
      message: `must be 2–${MAX_MODEL_BUCKETS + 1} increasing integers from 0 to ${timesteps}`,
    });
  }
});

export const registerModelRequestSchema = record({
  id: nameString(),
  layout: layoutSchema,
  config: registerModelConfigSchema,
});
export type RegisterModelRequest = z.input<typeof registerModelRequestSchema>;

export const runnerSummarySchema = z.object({
  count: z.int(),
  /** Distinct backends of connected runners, sorted. */
  backends: z.array(z.string()),
});
export type RunnerSummary = z.infer<typeof runnerSummarySchema>;

export const modelSchema = z
  .object({
    id: z.string(),
    layout: layoutSchema,
    layoutHash: z.string(),
    bucketEdges: z.array(z.int()),
    sampleSize: z.int(),
    timesteps: z.int(),
    runners: runnerSummarySchema,
    createdAt: timestamp(),
  })
  .meta({ id: 'Model' });
export type Model = z.infer<typeof modelSchema>;

export const modelListSchema = z.object({ models: z.array(modelSchema) });
export type ModelList = z.infer<typeof modelListSchema>;

// ---- variants and banks ----

export const createVariantRequestSchema = record({
  model: nameString(),
  name: nameString(),
  visibility: orNull(visibilitySchema).optional().meta({ description: 'Default private' }),
});
export type CreateVariantRequest = z.input<typeof createVariantRequestSchema>;

export const variantSchema = z
  .object({
    id: z.string(),
    model: z.string(),
    name: z.string(),
    visibility: visibilitySchema,
    /** True when the caller's tenant owns it. */
    owned: z.boolean(),
    currentBankId: bankId.nullable(),
    createdAt: timestamp(),
    updatedAt: timestamp(),
  })
  .meta({ id: 'Variant' });
export type Variant = z.infer<typeof variantSchema>;

export const variantListQuerySchema = z.object({
  model: z.string().optional().meta({ description: 'Only variants of this model' }),
});
export const variantListSchema = z.object({ variants: z.array(variantSchema) });
export type VariantList = z.infer<typeof variantListSchema>;

export const bankVersionSchema = z
  .object({
    version: z.int(),
    bankId,
    size: z.int(),
    buckets: z.int(),
    createdAt: timestamp(),
    url: z.string(),
  })
  .meta({ id: 'BankVersion' });
export type BankVersion = z.infer<typeof bankVersionSchema>;

export const bankVersionListSchema = z.object({
  variantId: z.string(),
  currentBankId: bankId.nullable(),
  /** Newest first. */
  versions: z.array(bankVersionSchema),
});
export type BankVersionList = z.infer<typeof bankVersionListSchema>;

export const uploadBankResponseSchema = bankVersionSchema
  .extend({
    variantId: z.string(),
    /** False when the bytes were already the variant's current bank (status 200, not 201). */
    created: z.boolean(),
    layoutHash: z.string(),
  })
  .meta({ id: 'UploadBankResponse' });
export type UploadBankResponse = z.infer<typeof uploadBankResponseSchema>;

export const bankDownloadQuerySchema = z.object({
  from: bankIdString()
    .optional()
    .meta({ description: 'Serve the delta from this older bank (mask-store diffBanks) instead of the bank' }),
});

// ---- runners ----

/** `GET /v1/runners/connect?model=<id>`: the WebSocket a runner dials (runner-protocol.ts). */
export const runnerConnectQuerySchema = z.object({
  model: z.string({ error: 'is required' }).meta({ description: 'The model this runner serves' }),
});

// ---- generation and jobs ----

export const generateRequestSchema = record({
  model: nameString(),
  /** Variant id; absent or null = the bare base model. */
  variant: nonEmptyString().nullish(),
  prompt: nonEmptyString().meta({ description: 'At most MAX_PROMPT_CHARS characters (default 1000)' }),
  seed: integerIn(0, MAX_SEED).nullish().meta({ description: 'Default: random' }),
  steps: integerFrom(1)
    .nullish()
    .meta({ description: "At most MAX_STEPS (default 150); default: the model's, else 25" }),
  guidance: numberIn(0, MAX_GUIDANCE).nullish().meta({ description: "Default: the model's, else 7.5" }),
  sampler: orNull(samplerNameSchema).optional().meta({ description: "Default: the model's, else ddim" }),
});
export type GenerateRequest = z.input<typeof generateRequestSchema>;

export const generateAcceptedSchema = z.object({
  jobId: z.string(),
  status: z.literal('queued'),
  /** Jobs ahead of this one in the model's queue when it was accepted. */
  position: z.int(),
  url: z.string(),
});
export type GenerateAccepted = z.infer<typeof generateAcceptedSchema>;

/** The parameters a job ran with, after defaults were applied. */
export const jobRequestSchema = z.object({
  prompt: z.string(),
  seed: z.int(),
  steps: z.int(),
  guidance: z.number(),
  sampler: samplerNameSchema,
});
export type JobRequest = z.infer<typeof jobRequestSchema>;

export const jobSchema = z
  .object({
    id: z.string(),
    model: z.string(),
    variant: z.string().nullable(),
    bankId: bankId.nullable(),
    status: jobStatusSchema,
    attempt: z.int(),
    runnerId: z.string().nullable(),
    backend: z.string().nullable(),
    request: jobRequestSchema,
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    timings: orNull(resultTimingsSchema),
    imageUrl: z.string().nullable(),
    createdAt: timestamp(),
    startedAt: timestamp().nullable(),
    finishedAt: timestamp().nullable(),
  })
  .meta({ id: 'Job' });
export type Job = z.infer<typeof jobSchema>;

/** Server-sent events of POST /v1/generate with `Accept: text/event-stream`, by event name. */
export const generateEventSchemas = {
  queued: z.object({ jobId: z.string(), position: z.int(), attempt: z.int() }),
  started: z.object({ jobId: z.string(), runnerId: z.string(), backend: z.string(), attempt: z.int() }),
  progress: z.object({ jobId: z.string(), step: z.int(), total: z.int(), timestep: z.number() }),
  done: z.object({ jobId: z.string(), imageUrl: z.string(), timings: resultTimingsSchema }),
  error: z.object({ jobId: z.string(), code: z.string(), message: z.string() }),
} as const;
export type GenerateEvents = {
  [E in keyof typeof generateEventSchemas]: z.infer<(typeof generateEventSchemas)[E]>;
};
