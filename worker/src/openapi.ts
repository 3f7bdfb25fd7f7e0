/**
 * The OpenAPI 3.1 description of API v1, written by hand next to the routes it describes
 * (the shapes mirror `contract/api.ts`). A test checks that every route the app registers
 * appears here with its method, so the document cannot silently fall behind the code.
 */

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const str = (extra: Schema = {}): Schema => ({ type: 'string', ...extra });
const int = (extra: Schema = {}): Schema => ({ type: 'integer', ...extra });
const nullable = (schema: Schema): Schema => ({ oneOf: [schema, { type: 'null' }] });
const obj = (properties: Record<string, Schema>, required: string[] = Object.keys(properties)): Schema => ({
  type: 'object',
  properties,
  required,
});

const BANK_ID = str({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the bank file, lower-case hex' });
const TIMINGS = obj(
  {
    queueMs: { type: 'number' },
    bankFetchMs: { type: 'number' },
    stepsMs: { type: 'number' },
    encodeMs: { type: 'number' },
  },
  ['bankFetchMs', 'stepsMs', 'encodeMs'],
);

const schemas: Record<string, Schema> = {
  Error: obj({
    error: obj(
      {
        code: str({
          description: 'Stable machine-readable code (see the docs page for the list by status).',
        }),
        message: str(),
        reason: str({ description: 'For refused banks: the mask-store MaskFormatError code.' }),
      },
      ['code', 'message'],
    ),
  }),
  Tenant: obj({
    id: str(),
    name: str(),
    limits: obj({ jobsPerMinute: nullable(int()), bankBytesQuota: nullable(int()) }),
    createdAt: str({ format: 'date-time' }),
  }),
  Layout: obj({
    layers: {
      type: 'array',
      items: obj({
        name: str(),
        shape: { type: 'array', items: int({ minimum: 1 }), minItems: 2, maxItems: 2 },
      }),
    },
  }),
  Model: obj({
    id: str(),
    layout: ref('Layout'),
    layoutHash: str(),
    bucketEdges: { type: 'array', items: int() },
    sampleSize: int(),
    timesteps: int(),
    runners: obj({ count: int(), backends: { type: 'array', items: str() } }),
    createdAt: str({ format: 'date-time' }),
  }),
  Variant: obj({
    id: str(),
    model: str(),
    name: str(),
    visibility: str({ enum: ['private', 'public'] }),
    owned: { type: 'boolean' },
    currentBankId: nullable(BANK_ID),
    createdAt: str({ format: 'date-time' }),
    updatedAt: str({ format: 'date-time' }),
  }),
  BankVersion: obj({
    version: int(),
    bankId: BANK_ID,
    size: int(),
    buckets: int(),
    createdAt: str({ format: 'date-time' }),
    url: str(),
  }),
  Job: obj({
    id: str(),
    model: str(),
    variant: nullable(str()),
    bankId: nullable(BANK_ID),
    status: str({ enum: ['queued', 'running', 'done', 'failed', 'cancelled'] }),
    attempt: int(),
    runnerId: nullable(str()),
    backend: nullable(str()),
    request: obj({
      prompt: str(),
      seed: int(),
      steps: int(),
      guidance: { type: 'number' },
      sampler: str({ enum: ['ddim', 'dpmpp2m', 'ddpm'] }),
    }),
    error: nullable(obj({ code: str(), message: str() })),
    timings: nullable(TIMINGS),
    imageUrl: nullable(str()),
    createdAt: str({ format: 'date-time' }),
    startedAt: nullable(str({ format: 'date-time' })),
    finishedAt: nullable(str({ format: 'date-time' })),
  }),
};

interface Op {
  summary: string;
  auth: 'admin' | 'tenant' | 'runner' | 'any' | 'none' | 'optional';
  body?: Schema | 'binary';
  ok: Record<string, { description: string; schema?: Schema; contentType?: string; headers?: string[] }>;
  errors: number[];
  parameters?: Schema[];
}

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid request (code invalid_request, invalid_json, invalid_bank, layout_mismatch, bank_has_parent)',
  401: 'Missing or unknown bearer token (unauthorized)',
  403: 'Authenticated, but not allowed (forbidden)',
  404: 'Not found, or not visible to this caller (…_not_found)',
  409: 'Conflict (model_exists, variant_exists, variant_empty, job_finished, job_not_done)',
  413: 'Too large (body_too_large, bank_too_large, bank_limit_exceeded, quota_exceeded)',
  415: 'Wrong Content-Type (unsupported_media_type)',
  416: 'Range not satisfiable (range_not_satisfiable)',
  422: 'Delta not available (delta_unavailable): download the bank whole',
  426: 'WebSocket upgrade required (upgrade_required)',
  429: 'Rate limited (rate_limited), see Retry-After',
  503: 'Queue full (queue_full), see Retry-After',
};

const pathParam = (name: string): Schema => ({ name, in: 'path', required: true, schema: str() });

const ops: Record<string, Record<string, Op>> = {
  '/v1/tenants': {
    post: {
      summary: 'Create a tenant and its first API key (shown once)',
      auth: 'admin',
      body: obj(
        { name: str({ maxLength: 128 }), limits: obj({ jobsPerMinute: int(), bankBytesQuota: int() }, []) },
        ['name'],
      ),
      ok: {
        201: {
          description: 'Created',
          schema: obj({ tenant: ref('Tenant'), apiKey: str({ pattern: '^mk_' }), keyId: str() }),
        },
      },
      errors: [400, 401, 403, 413, 415],
    },
  },
  '/v1/tenants/{id}': {
    get: {
      summary: 'Read a tenant',
      auth: 'admin',
      parameters: [pathParam('id')],
      ok: { 200: { description: 'The tenant', schema: ref('Tenant') } },
      errors: [401, 403, 404],
    },
  },
  '/v1/tenants/{id}/keys': {
    post: {
      summary: 'Add an API key to a tenant (shown once)',
      auth: 'admin',
      parameters: [pathParam('id')],
      ok: { 201: { description: 'Created', schema: obj({ keyId: str(), apiKey: str() }) } },
      errors: [401, 403, 404],
    },
  },
  '/v1/tenants/{id}/keys/{keyId}': {
    delete: {
      summary: 'Revoke an API key',
      auth: 'admin',
      parameters: [pathParam('id'), pathParam('keyId')],
      ok: { 204: { description: 'Revoked' } },
      errors: [401, 403, 404],
    },
  },
  '/v1/models': {
    get: {
      summary: 'List base models with their connected runners',
      auth: 'any',
      ok: { 200: { description: 'Models', schema: obj({ models: { type: 'array', items: ref('Model') } }) } },
      errors: [401],
    },
    post: {
      summary: 'Register a base model (idempotent for identical input)',
      auth: 'admin',
      body: obj({
        id: str({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }),
        layout: ref('Layout'),
        config: obj(
          {
            sampleSize: int(),
            timesteps: int({ default: 1000 }),
            bucketEdges: { type: 'array', items: int() },
          },
          ['sampleSize'],
        ),
      }),
      ok: {
        201: { description: 'Registered', schema: ref('Model') },
        200: { description: 'Already registered with the same layout and config', schema: ref('Model') },
      },
      errors: [400, 401, 403, 409, 413, 415],
    },
  },
  '/v1/models/{model}': {
    get: {
      summary: 'Read a base model',
      auth: 'any',
      parameters: [pathParam('model')],
      ok: { 200: { description: 'The model', schema: ref('Model') } },
      errors: [401, 404],
    },
  },
  '/v1/variants': {
    get: {
      summary: "List the caller's variants",
      auth: 'tenant',
      parameters: [{ name: 'model', in: 'query', required: false, schema: str() }],
      ok: {
        200: { description: 'Variants', schema: obj({ variants: { type: 'array', items: ref('Variant') } }) },
      },
      errors: [401, 403],
    },
    post: {
      summary: 'Create a variant of a model',
      auth: 'tenant',
      body: obj(
        {
          model: str(),
          name: str({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }),
          visibility: str({ enum: ['private', 'public'], default: 'private' }),
        },
        ['model', 'name'],
      ),
      ok: { 201: { description: 'Created', schema: ref('Variant') } },
      errors: [400, 401, 403, 404, 409, 413, 415],
    },
  },
  '/v1/variants/{id}': {
    get: {
      summary: "Read a variant (own, or another tenant's public one)",
      auth: 'tenant',
      parameters: [pathParam('id')],
      ok: { 200: { description: 'The variant', schema: ref('Variant') } },
      errors: [401, 403, 404],
    },
    delete: {
      summary: 'Delete an own variant and its version history',
      auth: 'tenant',
      parameters: [pathParam('id')],
      ok: { 204: { description: 'Deleted' } },
      errors: [401, 403, 404],
    },
  },
  '/v1/variants/{id}/banks': {
    get: {
      summary: "List a variant's bank versions, newest first",
      auth: 'tenant',
      parameters: [pathParam('id')],
      ok: {
        200: {
          description: 'Versions',
          schema: obj({
            variantId: str(),
            currentBankId: nullable(BANK_ID),
            versions: { type: 'array', items: ref('BankVersion') },
          }),
        },
      },
      errors: [401, 403, 404],
    },
    post: {
      summary: 'Upload a bank (raw .mkb bytes); it becomes the current version',
      auth: 'tenant',
      parameters: [pathParam('id')],
      body: 'binary',
      ok: {
        201: { description: 'Stored as a new version', schema: ref('BankVersion') },
        200: { description: 'Identical to the current version; nothing changed', schema: ref('BankVersion') },
      },
      errors: [400, 401, 403, 404, 413, 415],
    },
  },
  '/v1/banks/{id}/raw': {
    get: {
      summary:
        'Admin diagnostics: the stored bank bytes straight from R2 (no caching headers, ranges or deltas)',
      auth: 'admin',
      parameters: [pathParam('id')],
      ok: { 200: { description: 'The bytes', contentType: 'application/octet-stream' } },
      errors: [401, 403, 404],
    },
  },
  '/v1/banks/{id}': {
    get: {
      summary: 'Download a bank, a byte range of it, or (?from=) the delta from an older bank',
      auth: 'optional',
      parameters: [
        pathParam('id'),
        { name: 'from', in: 'query', required: false, schema: BANK_ID },
        { name: 'Range', in: 'header', required: false, schema: str({ example: 'bytes=0-1023' }) },
        { name: 'If-None-Match', in: 'header', required: false, schema: str() },
      ],
      ok: {
        200: {
          description: 'The bytes',
          contentType: 'application/octet-stream',
          headers: ['ETag', 'Cache-Control'],
        },
        206: {
          description: 'One byte range',
          contentType: 'application/octet-stream',
          headers: ['Content-Range'],
        },
        304: { description: 'Not modified (ETag matched)' },
      },
      errors: [400, 401, 404, 416, 422],
    },
  },
  '/v1/generate': {
    post: {
      summary: 'Generate an image; SSE progress with Accept: text/event-stream, else 202',
      auth: 'tenant',
      body: obj(
        {
          model: str(),
          variant: str(),
          prompt: str(),
          seed: int({ minimum: 0, maximum: 4294967295 }),
          steps: int({ minimum: 1, default: 25 }),
          guidance: { type: 'number', minimum: 0, maximum: 30, default: 7.5 },
          sampler: str({ enum: ['ddim', 'dpmpp2m', 'ddpm'], default: 'ddim' }),
        },
        ['model', 'prompt'],
      ),
      ok: {
        202: {
          description: 'Queued',
          schema: obj({ jobId: str(), status: str({ enum: ['queued'] }), position: int(), url: str() }),
        },
        200: {
          description:
            'Server-sent events: queued {jobId, position, attempt}, started {jobId, runnerId, backend, attempt}, progress {jobId, step, total, timestep}, done {jobId, imageUrl, timings}, error {jobId, code, message}; `: keep-alive` comment lines every SSE_KEEPALIVE_MS (15 s) while the stream is open',
          contentType: 'text/event-stream',
        },
      },
      errors: [400, 401, 403, 404, 409, 413, 415, 429, 503],
    },
  },
  '/v1/jobs/{id}': {
    get: {
      summary: 'Read a job',
      auth: 'tenant',
      parameters: [pathParam('id')],
      ok: { 200: { description: 'The job', schema: ref('Job') } },
      errors: [401, 403, 404],
    },
  },
  '/v1/jobs/{id}/image': {
    get: {
      summary: "A finished job's PNG",
      auth: 'tenant',
      parameters: [pathParam('id')],
      ok: { 200: { description: 'The image', contentType: 'image/png' } },
      errors: [401, 403, 404, 409],
    },
  },
  '/v1/jobs/{id}/cancel': {
    post: {
      summary: 'Cancel a queued or running job',
      auth: 'tenant',
      parameters: [pathParam('id')],
      ok: { 200: { description: 'Cancelled', schema: ref('Job') } },
      errors: [401, 403, 404, 409],
    },
  },
  '/v1/runners/connect': {
    get: {
      summary: 'Runner WebSocket (runner protocol v1, see worker/src/contract/runner-protocol.ts)',
      auth: 'runner',
      parameters: [{ name: 'model', in: 'query', required: true, schema: str() }],
      ok: { 101: { description: 'Switching protocols' } },
      errors: [400, 401, 403, 404, 426],
    },
  },
  '/v1/openapi.json': {
    get: {
      summary: 'This document',
      auth: 'none',
      ok: { 200: { description: 'OpenAPI 3.1', contentType: 'application/json' } },
      errors: [],
    },
  },
  '/docs': {
    get: {
      summary: 'HTML docs page',
      auth: 'none',
      ok: { 200: { description: 'HTML', contentType: 'text/html' } },
      errors: [],
    },
  },
};

const SECURITY: Record<Op['auth'], unknown[] | undefined> = {
  admin: [{ admin: [] }],
  tenant: [{ apiKey: [] }],
  runner: [{ runner: [] }],
  any: [{ apiKey: [] }, { admin: [] }, { runner: [] }],
  optional: [{}, { apiKey: [] }, { runner: [] }],
  none: [],
};

function operation(op: Op): Schema {
  const responses: Record<string, unknown> = {};
  for (const [status, response] of Object.entries(op.ok)) {
    responses[status] = {
      description: response.description,
      ...(response.schema !== undefined
        ? { content: { 'application/json': { schema: response.schema } } }
        : response.contentType !== undefined
          ? { content: { [response.contentType]: {} } }
          : {}),
      ...(response.headers !== undefined
        ? { headers: Object.fromEntries(response.headers.map((h) => [h, { schema: str() }])) }
        : {}),
    };
  }
  for (const status of op.errors) {
    responses[String(status)] = {
      description: ERROR_TEXT[status] ?? 'Error',
      content: { 'application/json': { schema: ref('Error') } },
    };
  }
  return {
    summary: op.summary,
    security: SECURITY[op.auth],
    ...(op.parameters !== undefined ? { parameters: op.parameters } : {}),
    ...(op.body === undefined
      ? {}
      : {
          requestBody: {
            required: true,
            content:
              op.body === 'binary'
                ? { 'application/octet-stream': { schema: str({ contentEncoding: 'binary' }) } }
                : { 'application/json': { schema: op.body } },
          },
        }),
    responses,
  };
}

export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, Schema>> = {};
  for (const [path, methods] of Object.entries(ops)) {
    paths[path] = Object.fromEntries(Object.entries(methods).map(([method, op]) => [method, operation(op)]));
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'MaskUNet edge API',
      version: '1.0.0',
      description:
        'Tenant variants of shared diffusion U-Nets as content-addressed mask banks, and image generation on GPU runners. Errors are {error: {code, message}}; every response carries x-request-id.',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'Tenant API key mk_…' },
        admin: { type: 'http', scheme: 'bearer', description: 'ADMIN_KEY secret' },
        runner: { type: 'http', scheme: 'bearer', description: 'RUNNER_TOKEN secret' },
      },
      schemas,
    },
    paths,
  };
}

/** `[METHOD, /path/{param}]` pairs the document describes (for the docs page and tests). */
export function documentedRoutes(): { method: string; path: string; summary: string }[] {
  return Object.entries(ops).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      summary: op.summary,
    })),
  );
}
