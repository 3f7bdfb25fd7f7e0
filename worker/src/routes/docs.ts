/**
 * GET /v1/openapi.json (the OpenAPI 3.1 document, generated from the contract's schemas) and
 * GET /docs, a small self-contained HTML page rendered from the same document: no scripts or
 * assets from elsewhere, so it works on an offline machine. Both describe the whole app, so
 * they are registered on the root app after every router is mounted.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import * as z from 'zod';
import type { AppEnv } from '../context';
import { documentedRoutes, openApiDocument, openApiRoute, SECURITY, type OpenApiDocument } from '../openapi';

const escapeHtml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] ?? ch,
  );

function docsPage(document: OpenApiDocument): string {
  const rows = documentedRoutes(document)
    .map(
      (r) =>
        `<tr><td><code>${r.method}</code></td><td><code>${escapeHtml(r.path)}</code></td><td>${escapeHtml(r.summary)}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MaskUNet edge API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse;width:100%}td{border-top:1px solid #ddd;padding:.3rem .5rem;vertical-align:top}
code{font-size:90%}</style></head>
<body><h1>MaskUNet edge API v1</h1>
<p>Machine-readable description: <a href="/v1/openapi.json">/v1/openapi.json</a> (OpenAPI 3.1).
Authenticate with <code>Authorization: Bearer &lt;key&gt;</code>: a tenant key <code>mk_…</code>,
the admin key, or the runner token. Errors are <code>{"error":{"code","message"}}</code>; every
response carries <code>x-request-id</code>.</p>
<table><thead><tr><th>Method</th><th>Path</th><th>What it does</th></tr></thead><tbody>
${rows}
</tbody></table>
<h2>Generating</h2>
<p><code>POST /v1/generate</code> with <code>Accept: text/event-stream</code> streams
<code>queued</code>, <code>started</code>, <code>progress</code>, then <code>done</code>
(with <code>imageUrl</code>) or <code>error</code>, with <code>: keep-alive</code> comment lines
every 15 s while it is open (a queued job's stream stays up through idle-closing proxies). Without it the answer is
<code>202 {jobId}</code>; poll <code>GET /v1/jobs/{id}</code> and fetch <code>/v1/jobs/{id}/image</code>.</p>
</body></html>`;
}

/** Adds the two documentation routes to the root app. */
export function registerDocsRoutes(app: OpenAPIHono<AppEnv>): void {
  openApiRoute(
    app,
    createRoute({
      method: 'get',
      path: '/v1/openapi.json',
      summary: 'This document',
      security: SECURITY.none,
      responses: {
        200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: z.looseObject({}) } } },
      },
    }),
    (c) => c.json(openApiDocument(app), 200, { 'Cache-Control': 'no-cache' }),
  );
  openApiRoute(
    app,
    createRoute({
      method: 'get',
      path: '/docs',
      summary: 'HTML docs page',
      security: SECURITY.none,
      responses: { 200: { description: 'HTML', content: { 'text/html': { schema: z.string() } } } },
    }),
    (c) => c.html(docsPage(openApiDocument(app))),
  );
}
