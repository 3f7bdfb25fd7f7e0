/**
 * The runners' door: a WebSocket upgrade authenticated with RUNNER_TOKEN and handed to the
 * model's dispatcher, which owns the socket from then on. Runners dial out to this, so a
 * GPU box needs no inbound port.
 */
import { Hono } from 'hono';
import { requireRunner } from '../auth';
import type { AppEnv } from '../context';
import { requireModel } from '../data';
import { dispatcherFor } from '../dispatcher/stub';
import { ApiError } from '../errors';

export const runnerRoutes = new Hono<AppEnv>().get('/connect', async (c) => {
  requireRunner(c);
  const modelId = c.req.query('model');
  if (modelId === undefined)
    throw new ApiError(400, 'invalid_request', 'the model query parameter is required');
  await requireModel(c.env.DB, modelId);
  if (c.req.header('Upgrade')?.toLowerCase() !== 'websocket') {
    throw new ApiError(426, 'upgrade_required', 'connect with a WebSocket upgrade', { Upgrade: 'websocket' });
  }
  c.get('log').info('runner connecting', { modelId });
  return dispatcherFor(c.env, modelId).fetch(c.req.raw);
});
