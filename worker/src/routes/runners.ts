/**
 * The runners' door: a WebSocket upgrade authenticated with RUNNER_TOKEN and handed to the
 * model's dispatcher, which owns the socket from then on. Runners dial out to this, so a
 * GPU box needs no inbound port. What flows over the socket is the contract's runner
 * protocol (`@maskunet/contract`, runner-protocol.ts).
 */
import { createRoute } from '@hono/zod-openapi';
import { runnerConnectQuerySchema } from '@maskunet/contract';
import { requireRunner } from '../auth';
import { requireModel } from '../data';
import { dispatcherFor } from '../dispatcher/stub';
import { ApiError } from '../errors';
import { errorResponses, openApiRoute, openApiRouter, SECURITY } from '../openapi';
import { readQuery } from '../request-body';

export const runnerRoutes = openApiRouter();

openApiRoute(
  runnerRoutes,
  createRoute({
    method: 'get',
    path: '/connect',
    summary: 'Runner WebSocket (runner protocol v1, see @maskunet/contract runner-protocol.ts)',
    security: SECURITY.runner,
    request: { query: runnerConnectQuerySchema },
    responses: {
      101: { description: 'Switching protocols' },
      ...errorResponses(400, 401, 403, 404, 426),
    },
  }),
  async (c) => {
    requireRunner(c);
    const { model: modelId } = readQuery(c, runnerConnectQuerySchema);
    await requireModel(c.env.DB, modelId);
    if (c.req.header('Upgrade')?.toLowerCase() !== 'websocket') {
      throw new ApiError(426, 'upgrade_required', 'connect with a WebSocket upgrade', {
        Upgrade: 'websocket',
      });
    }
    c.get('log').info('runner connecting', { modelId });
    return dispatcherFor(c.env, modelId).fetch(c.req.raw);
  },
);
