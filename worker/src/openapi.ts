/**
 * The OpenAPI 3.1 document, generated: every route is declared with `createRoute` from the
 * contract's schemas (`@maskunet/contract`) and registered through {@link openApiRoute},
 * which puts the declaration in the app's OpenAPI registry and the handler on the app. The
 * handler validates with the very schemas the declaration names, so the document, the types
 * and the checks cannot drift apart; a test checks that every route the app registers is in
 * the document and nothing else is.
 *
 * Why not `app.openapi(route, handler)`: it mounts its validators as handlers of their own
 * in front of ours, so a request would be validated before it is authenticated (a tenant
 * posting a bad body to an admin route would get 400 instead of 403) and its body read
 * whole before the MAX_JSON_BYTES check, and each route would be listed once per validator.
 * Validating inside the handler keeps the order the API has always checked in: who is
 * calling, media type, size, JSON, then fields.
 */
import { OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import type { Handler } from 'hono';
import { API_ERROR_CODES_BY_STATUS, apiErrorBodySchema, type ApiErrorStatus } from '@maskunet/contract';
import type { AppEnv } from './context';

/** `/x/{id}/y` → `/x/:id/y` (OpenAPI path → Hono path), in the type system too. */
type RoutingPath<P extends string> = P extends `${infer Head}{${infer Param}}${infer Tail}`
  ? `${Head}:${Param}${RoutingPath<Tail>}`
  : P;

function routingPath<P extends string>(path: P): RoutingPath<P> {
  return path.replace(/\{([^}]+)\}/g, ':$1') as RoutingPath<P>;
}

/** A new router whose routes will appear in the document (mount it with `app.route`). */
export function openApiRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>();
}

/** Declares `route` in the document and mounts `handler` as its only handler. */
export function openApiRoute<R extends RouteConfig>(
  app: OpenAPIHono<AppEnv>,
  route: R,
  handler: Handler<AppEnv, RoutingPath<R['path']>>,
): void {
  app.openAPIRegistry.registerPath(route);
  app.on(route.method.toUpperCase(), routingPath(route.path), handler);
}

/** Who may call a route, as the document's `security` says it. The route enforces it itself. */
export type Caller = 'admin' | 'tenant' | 'runner' | 'any' | 'optional' | 'none';

export const SECURITY: Record<Caller, Record<string, string[]>[]> = {
  admin: [{ admin: [] }],
  tenant: [{ apiKey: [] }],
  runner: [{ runner: [] }],
  any: [{ apiKey: [] }, { admin: [] }, { runner: [] }],
  optional: [{}, { apiKey: [] }, { runner: [] }],
  none: [],
};

const STATUS_TEXT: Record<ApiErrorStatus, string> = {
  400: 'Invalid request',
  401: 'Missing or unknown bearer token (with WWW-Authenticate: Bearer)',
  403: 'Authenticated, but not allowed',
  404: 'Not found, or not visible to this caller',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Too large',
  415: 'Wrong Content-Type',
  416: 'Range not satisfiable',
  422: 'Delta not available: download the bank whole',
  426: 'WebSocket upgrade required',
  429: 'Rate limited, see Retry-After',
  500: 'Internal error (no details; quote the x-request-id)',
  503: 'Queue full, see Retry-After',
};

/** The error responses of a route, each `{error: {code, message}}` with the codes of its status. */
export function errorResponses(...statuses: ApiErrorStatus[]): RouteConfig['responses'] {
  return Object.fromEntries(
    statuses.map((status) => [
      String(status),
      {
        description: `${STATUS_TEXT[status]} (${API_ERROR_CODES_BY_STATUS[status].join(', ')})`,
        content: { 'application/json': { schema: apiErrorBodySchema } },
      },
    ]),
  );
}

export type OpenApiDocument = ReturnType<OpenAPIHono['getOpenAPI31Document']>;

const documents = new WeakMap<OpenAPIHono<AppEnv>, OpenApiDocument>();

/**
 * The document of everything registered on `app` (the root app, after every router is
 * mounted), generated on first use and kept for the isolate's life: routes do not change.
 */
export function openApiDocument(app: OpenAPIHono<AppEnv>): OpenApiDocument {
  const cached = documents.get(app);
  if (cached !== undefined) return cached;
  const schemes = {
    apiKey: 'Tenant API key mk_…',
    admin: 'ADMIN_KEY secret',
    runner: 'RUNNER_TOKEN secret',
  };
  for (const [name, description] of Object.entries(schemes)) {
    app.openAPIRegistry.registerComponent('securitySchemes', name, {
      type: 'http',
      scheme: 'bearer',
      description,
    });
  }
  const document = app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'MaskUNet edge API',
      version: '1.0.0',
      description:
        'Tenant variants of shared diffusion U-Nets as content-addressed mask banks, and image generation on GPU runners. Errors are {error: {code, message}}; every response carries x-request-id.',
    },
    servers: [{ url: '/' }],
  });
  documents.set(app, document);
  return document;
}

/** `[METHOD, /path/{param}, summary]` of every operation in `document` (for the docs page). */
export function documentedRoutes(
  document: OpenApiDocument,
): { method: string; path: string; summary: string }[] {
  return Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
    (['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const).flatMap((method) => {
      const operation = item[method];
      return operation === undefined
        ? []
        : [{ method: method.toUpperCase(), path, summary: operation.summary ?? '' }];
    }),
  );
}
