/**
 * Cross-cutting behaviour: request ids, the error body, the OpenAPI document against the
 * routes the app really registers, and the docs page.
 */
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/app';
import { limitsFromEnv, DEFAULT_WORKER_LIMITS } from '../src/config';
import { call, errorCode, json } from './helpers';

describe('request ids and errors', () => {
  it('generates an x-request-id when none is sent and keeps a plain one that is', async () => {
    const generated = await call('GET', '/v1/openapi.json');
    expect(generated.headers.get('x-request-id')).toMatch(/^req_[a-z2-7]{26}$/);
    const kept = await call('GET', '/v1/openapi.json', { headers: { 'x-request-id': 'trace-42' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-42');
    const replaced = await call('GET', '/v1/openapi.json', {
      headers: { 'x-request-id': 'bad id with spaces' },
    });
    expect(replaced.headers.get('x-request-id')).toMatch(/^req_/);
  });

  it('answers unknown routes with a 404 error body and a request id', async () => {
    const res = await call('GET', '/v1/nothing-here', { headers: { 'x-request-id': 'abc' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-request-id')).toBe('abc');
    expect(await json(res)).toEqual({
      error: { code: 'not_found', message: 'no route GET /v1/nothing-here' },
    });
  });

  it('refuses malformed JSON with invalid_json and a wrong Content-Type with 415', async () => {
    const bad = await call('POST', '/v1/tenants', {
      token: 'test-admin-key',
      body: '{"name":',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(bad.status).toBe(400);
    expect(await errorCode(bad)).toBe('invalid_json');
    const form = await call('POST', '/v1/tenants', {
      token: 'test-admin-key',
      body: 'name=x',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
    expect(await errorCode(form)).toBe('unsupported_media_type');
  });

  it('refuses a JSON body above MAX_JSON_BYTES with 413 body_too_large', async () => {
    const res = await call('POST', '/v1/tenants', {
      token: 'test-admin-key',
      json: { name: 'x'.repeat(70_000) },
    });
    expect(res.status).toBe(413);
    expect(await errorCode(res)).toBe('body_too_large');
  });
});

describe('configuration', () => {
  it('reads limits from the environment and falls back to the documented defaults', () => {
    expect(limitsFromEnv({})).toEqual(DEFAULT_WORKER_LIMITS);
    expect(limitsFromEnv({ QUEUE_LIMIT: '7' }).queueLimit).toBe(7);
    expect(() => limitsFromEnv({ QUEUE_LIMIT: 'seven' })).toThrow(/QUEUE_LIMIT/);
    expect(() => limitsFromEnv({ MAX_STEPS: '0' })).toThrow(RangeError);
  });
});

describe('OpenAPI document and docs page', () => {
  it('describes every route the app registers, with its method', async () => {
    const res = await call('GET', '/v1/openapi.json');
    expect(res.status).toBe(200);
    const doc = await json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(res);
    expect(doc.openapi).toBe('3.1.0');
    const registered = createApp()
      .routes.filter((r) => r.method !== 'ALL')
      .map((r) => ({ method: r.method.toLowerCase(), path: r.path.replace(/:(\w+)/g, '{$1}') }));
    expect(registered.length).toBeGreaterThan(15);
    for (const route of registered) {
      expect(doc.paths[route.path]?.[route.method], `${route.method} ${route.path}`).toBeDefined();
    }
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method} ${path}`),
    );
    expect(documented.sort()).toEqual(registered.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('serves a self-contained HTML docs page listing the routes', async () => {
    const res = await call('GET', '/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('/v1/generate');
    expect(html).toContain('/v1/banks/{id}');
    expect(html).not.toMatch(/<script|https?:\/\/(?!127)/);
  });
});
