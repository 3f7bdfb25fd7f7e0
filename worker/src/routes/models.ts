/**
 * Base models: registered by the admin with their mask layout and sampling defaults, listed
 * for any authenticated caller together with the runners currently connected for each.
 */
import { Hono } from 'hono';
import { isMaskFormatError, layoutHash, validateLayout, type MaskLayout } from '@maskunet/mask-store';
import type { ModelConfig, RunnerSummary } from '../contract/api';
import { requireAdmin, requireAuthenticated } from '../auth';
import { limitsFromEnv } from '../config';
import type { AppEnv } from '../context';
import { modelJson, requireModel, type ModelRow } from '../data';
import { dispatcherFor } from '../dispatcher/stub';
import { ApiError } from '../errors';
import {
  invalid,
  NAME_PATTERN,
  optionalEnum,
  optionalInteger,
  optionalNumber,
  readJsonObject,
  requiredString,
} from '../request-body';

const MAX_BUCKETS = 64;

function parseLayout(value: unknown): MaskLayout {
  try {
    return validateLayout(value);
  } catch (error) {
    if (isMaskFormatError(error))
      throw new ApiError(400, 'invalid_request', `layout: ${error.message}`, {}, error.code);
    throw error;
  }
}

function parseConfig(value: unknown): ModelConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid('config must be an object');
  const config = value as Record<string, unknown>;
  const sampleSize = optionalInteger(config, 'sampleSize', 8, 4096);
  if (sampleSize === undefined) throw invalid('config.sampleSize is required');
  const timesteps = optionalInteger(config, 'timesteps', 1, 100_000) ?? 1000;
  const edges = config.bucketEdges ?? [0, timesteps];
  if (
    !Array.isArray(edges) ||
    edges.length < 2 ||
    edges.length > MAX_BUCKETS + 1 ||
    edges[0] !== 0 ||
    edges[edges.length - 1] !== timesteps ||
    !edges.every((e, i) => Number.isSafeInteger(e) && (i === 0 || (e as number) > (edges[i - 1] as number)))
  ) {
    throw invalid(
      `config.bucketEdges must be 2–${MAX_BUCKETS + 1} increasing integers from 0 to ${timesteps}`,
    );
  }
  const defaults = config.defaults;
  if (defaults === undefined) return { sampleSize, timesteps, bucketEdges: edges as number[] };
  if (typeof defaults !== 'object' || defaults === null || Array.isArray(defaults)) {
    throw invalid('config.defaults must be an object');
  }
  const d = defaults as Record<string, unknown>;
  const steps = optionalInteger(d, 'steps', 1, 1000);
  const guidance = optionalNumber(d, 'guidance', 0, 30);
  const sampler = optionalEnum(d, 'sampler', ['ddim', 'dpmpp2m', 'ddpm'] as const);
  return {
    sampleSize,
    timesteps,
    bucketEdges: edges as number[],
    defaults: {
      ...(steps === undefined ? {} : { steps }),
      ...(guidance === undefined ? {} : { guidance }),
      ...(sampler === undefined ? {} : { sampler }),
    },
  };
}

async function runnersOf(env: Env, modelId: string): Promise<RunnerSummary> {
  const summary = await dispatcherFor(env, modelId).summary();
  return { count: summary.count, backends: summary.backends };
}

export const modelRoutes = new Hono<AppEnv>()
  .get('/', async (c) => {
    requireAuthenticated(c);
    const { results } = await c.env.DB.prepare(`SELECT * FROM models ORDER BY id`).all<ModelRow>();
    const models = await Promise.all(
      results.map(async (row) => modelJson(row, await runnersOf(c.env, row.id))),
    );
    return c.json({ models });
  })
  .get('/:model', async (c) => {
    requireAuthenticated(c);
    const row = await requireModel(c.env.DB, c.req.param('model'));
    return c.json(modelJson(row, await runnersOf(c.env, row.id)));
  })
  .post('/', async (c) => {
    requireAdmin(c);
    const body = await readJsonObject(c, limitsFromEnv(c.env).maxJsonBytes);
    const id = requiredString(body, 'id', { pattern: NAME_PATTERN });
    const layout = parseLayout(body.layout);
    const config = parseConfig(body.config);
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
  });
