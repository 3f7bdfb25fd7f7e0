/**
 * The Hono app: request id and structured access log on every request, bearer
 * authentication, the v1 routes, the OpenAPI document (generated from the routes' contract
 * schemas) and docs page, and one error handler
 * that turns ApiErrors (and mask-store refusals) into `{error: {code, message}}`.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { authenticate } from './auth';
import type { AppEnv } from './context';
import { randomId } from './crypto';
import { ApiError, errorResponse, onError } from './errors';
import { createLogger, logLevelFrom } from './log';
import { bankRoutes } from './routes/banks';
import { registerDocsRoutes } from './routes/docs';
import { generateRoutes, jobRoutes } from './routes/jobs';
import { modelRoutes } from './routes/models';
import { runnerRoutes } from './routes/runners';
import { tenantRoutes } from './routes/tenants';
import { variantRoutes } from './routes/variants';

/** A caller-supplied request id is kept when it is short and plain; otherwise one is made. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function createApp(): OpenAPIHono<AppEnv> {
  // OpenAPIHono: mounting a router also merges its route declarations into this app's
  // OpenAPI registry, from which the document is generated (openapi.ts).
  const app = new OpenAPIHono<AppEnv>();

  app.use('*', async (c, next) => {
    const supplied = c.req.header('x-request-id');
    const requestId = supplied !== undefined && REQUEST_ID.test(supplied) ? supplied : randomId('req');
    const log = createLogger({ requestId }, logLevelFrom(c.env));
    c.set('requestId', requestId);
    c.set('log', log);
    const started = Date.now();
    await next();
    if (c.res.status === 101) {
      // An upgrade response from the dispatcher has immutable headers; rebuild it around the socket.
      const headers = new Headers(c.res.headers);
      headers.set('x-request-id', requestId);
      c.res = new Response(null, { status: 101, headers, webSocket: c.res.webSocket });
    } else {
      c.res.headers.set('x-request-id', requestId);
    }
    log.info('request', {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Date.now() - started,
    });
  });

  app.use('/v1/*', authenticate());

  app.route('/v1/tenants', tenantRoutes);
  app.route('/v1/models', modelRoutes);
  app.route('/v1/variants', variantRoutes);
  app.route('/v1/banks', bankRoutes);
  app.route('/v1/generate', generateRoutes);
  app.route('/v1/jobs', jobRoutes);
  app.route('/v1/runners', runnerRoutes);
  registerDocsRoutes(app);

  app.notFound((c) =>
    errorResponse(c, new ApiError(404, 'not_found', `no route ${c.req.method} ${c.req.path}`)),
  );
  app.onError(onError);
  return app;
}
