/**
 * Base models: registered by the admin with their mask layout and sampling defaults, listed
 * for any authenticated caller together with the runners currently connected for each.
 */
import { createRoute } from '@hono/zod-openapi';
import * as z from 'zod';
import { isMaskFormatError, layoutHash, validateLayout, type MaskLayout } from '@maskunet/mask-store';
import {
  modelListSchema,
  modelSchema,
  registerModelRequestSchema,
  type ModelConfig,
  type RegisterModelRequest,
  type RunnerSummary,
} from '@maskunet/contract';
import { requireAdmin, requireAuthenticated } from '../auth';
import { modelJson, requireModel, type ModelRow } from '../data';
import { dispatcherFor } from '../dispatcher/stub';
import { ApiError } from '../errors';
import { errorResponses, openApiRoute, openApiRouter, SECURITY } from '../openapi';
import { readJson } from '../request-body';

/** mask-store's full layout rule (names, duplicates, limits), after the schema's shape check. */
function parseLayout(value: RegisterModelRequest['layout']): MaskLayout {
  try {
    return validateLayout(value);
  } catch (error) {
    if (isMaskFormatError(error))
      throw new ApiError(400, 'invalid_request', `layout: ${error.message}`, {}, error.code);
    throw error;
  }
}

/**
 * The stored configuration: leave-outs resolved, keys in this order. The order matters:
 * re-registering compares the stored JSON text, so it must not change between versions.
 */
function storedConfig(config: z.output<typeof registerModelRequestSchema>['config']): ModelConfig {
  const timesteps = config.timesteps ?? 1000;
  const bucketEdges = config.bucketEdges ?? [0, timesteps];
  const stored: ModelConfig = { sampleSize: config.sampleSize, timesteps, bucketEdges };
  const defaults = config.defaults;
  if (defaults === undefined) return stored;
  return {
    ...stored,
    defaults: {
      ...(defaults.steps == null ? {} : { steps: defaults.steps }),
      ...(defaults.guidance == null ? {} : { guidance: defaults.guidance }),
      ...(defaults.sampler == null ? {} : { sampler: defaults.sampler }),
    },
  };
}

async function runnersOf(env: Env, modelId: string): Promise<RunnerSummary> {
  const summary = await dispatcherFor(env, modelId).summary();
  return { count: summary.count, backends: summary.backends };
}

export const modelRoutes = openApiRouter();

openApiRoute(
  modelRoutes,
  createRoute({
    method: 'get',
    path: '/',
    summary: 'List base models with their connected runners',
    security: SECURITY.any,
    responses: {
      200: { description: 'Models', content: { 'application/json': { schema: modelListSchema } } },
      ...errorResponses(401),
    },
  }),
  async (c) => {
    requireAuthenticated(c);
    const { results } = await c.env.DB.prepare(`SELECT * FROM models ORDER BY id`).all<ModelRow>();
    const models = await Promise.all(
      results.map(async (row) => modelJson(row, await runnersOf(c.env, row.id))),
    );
    return c.json({ models });
  },
);

openApiRoute(
  modelRoutes,
  createRoute({
    method: 'get',
    path: '/{model}',
    summary: 'Read a base model',
    security: SECURITY.any,
    request: { params: z.object({ model: z.string() }) },
    responses: {
      200: { description: 'The model', content: { 'application/json': { schema: modelSchema } } },
      ...errorResponses(401, 404),
    },
  }),
  async (c) => {
    requireAuthenticated(c);
    const row = await requireModel(c.env.DB, c.req.param('model'));
    return c.json(modelJson(row, await runnersOf(c.env, row.id)));
  },
);

openApiRoute(
  modelRoutes,
  createRoute({
    method: 'post',
    path: '/',
    summary: 'Register a base model (idempotent for identical input)',
    security: SECURITY.admin,
    request: {
      body: { required: true, content: { 'application/json': { schema: registerModelRequestSchema } } },
    },
    responses: {
      201: { description: 'Registered', content: { 'application/json': { schema: modelSchema } } },
      200: {
        description: 'Already registered with the same layout and config',
        content: { 'application/json': { schema: modelSchema } },
      },
      ...errorResponses(400, 401, 403, 409, 413, 415),
    },
  }),
  async (c) => {
    requireAdmin(c);
    const body = await readJson(c, registerModelRequestSchema);
    const id = body.id;
    const layout = parseLayout(body.layout);
    const config = storedConfig(body.config);
    const row: ModelRow = {
      id,
      layout_json: JSON.stringify({ layers: layout.layers.map((l) => ({ name: l.name, shape: l.shape })) }),
      layout_hash: await layoutHash(layout),
      layer_count: layout.layers.length,
      config_json: JSON.stringify(config),
      created_at: Date.now(),
    };
    const inserted = await c.env.DB.prepare(
      `INSERT INTO models (id, layout_json, layout_hash, layer_count, config_json, created_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO NOTHING`,
    )
      .bind(row.id, row.layout_json, row.layout_hash, row.layer_count, row.config_json, row.created_at)
      .run();
    if (inserted.meta.changes === 0) {
      // Re-registering the same model is a no-op; changing a registered one is refused,
      // because stored banks were validated against its layout.
      const existing = await requireModel(c.env.DB, id);
      if (existing.layout_hash === row.layout_hash && existing.config_json === row.config_json) {
        return c.json(modelJson(existing, await runnersOf(c.env, id)), 200);
      }
      throw new ApiError(409, 'model_exists', `model ${id} exists with another layout or config`);
    }
    c.get('log').info('model registered', { modelId: id, layoutHash: row.layout_hash });
    return c.json(modelJson(row, await runnersOf(c.env, id)), 201);
  },
);
