/**
 * Bank downloads. A bank is immutable and named by its SHA-256, so it is served with
 * `ETag: "<bankId>"`, a year of `immutable` caching (`public` when any public variant uses
 * it, else `private`), 304 for a matching If-None-Match, and single byte ranges (206) so a
 * runner or client can fetch one section. `?from=<oldBankId>` serves the delta from an older
 * bank instead — exactly mask-store's `diffBanks(old, new)` — computed once and cached in R2
 * under `deltas/<old>..<new>`.
 */
import { createRoute } from '@hono/zod-openapi';
import * as z from 'zod';
import type { Context } from 'hono';
import { BankStore, diffBanks, isHexDigest, layoutSize, R2Backend } from '@maskunet/mask-store';
import { bankDownloadQuerySchema } from '@maskunet/contract';
import { limitsFromEnv } from '../config';
import type { AppEnv } from '../context';
import { requireAdmin } from '../auth';
import { bankAccess, type BankAccess } from '../data';
import { ApiError } from '../errors';
import { errorResponses, openApiRoute, openApiRouter, SECURITY } from '../openapi';
import { readQuery } from '../request-body';

const YEAR = 31_536_000;

function bankNotFound(id: string): ApiError {
  return new ApiError(404, 'bank_not_found', `no bank ${JSON.stringify(id)} visible to this caller`);
}

/** Parses one `bytes=` range against `size`; null = ignore the header (serve everything). */
export function parseRange(
  header: string,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | null {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return null; // multiple ranges or another unit: a full 200 is allowed
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return null;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size };
  }
  const start = Number(first);
  const end = last === '' ? size : Math.min(size, Number(last) + 1);
  if (last !== '' && Number(last) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/** Serves an immutable R2 object with ETag, caching, 304 and single-range support. */
async function serveImmutable(
  c: Context<AppEnv>,
  key: string,
  etag: string,
  access: BankAccess,
): Promise<Response> {
  const headers: Record<string, string> = {
    ETag: etag,
    'Cache-Control': `${access.isPublic ? 'public' : 'private'}, max-age=${YEAR}, immutable`,
    'Accept-Ranges': 'bytes',
  };
  const ifNoneMatch = c.req.header('If-None-Match');
  if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, etag)) return c.body(null, 304, headers);

  const rangeHeader = c.req.header('Range');
  const ifRange = c.req.header('If-Range');
  if (rangeHeader !== undefined && (ifRange === undefined || ifRange.trim() === etag)) {
    const head = await c.env.BANKS.head(key);
    if (head === null) throw new ApiError(404, 'bank_not_found', 'the bank is not in storage');
    const range = parseRange(rangeHeader, head.size);
    if (range === 'unsatisfiable') {
      throw new ApiError(416, 'range_not_satisfiable', `the object has ${head.size} bytes`, {
        'Content-Range': `bytes */${head.size}`,
      });
    }
    if (range !== null) {
      const object = await c.env.BANKS.get(key, {
        range: { offset: range.start, length: range.end - range.start },
      });
      if (object === null) throw new ApiError(404, 'bank_not_found', 'the bank is not in storage');
      return c.body(object.body, 206, {
        ...headers,
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(range.end - range.start),
        'Content-Range': `bytes ${range.start}-${range.end - 1}/${head.size}`,
      });
    }
  }
  const object = await c.env.BANKS.get(key);
  if (object === null) throw new ApiError(404, 'bank_not_found', 'the bank is not in storage');
  return c.body(object.body, 200, {
    ...headers,
    'Content-Type': 'application/octet-stream',
    'Content-Length': String(object.size),
  });
}

/** Returns the R2 key of the delta old → new, computing and storing it when absent. */
async function deltaKey(c: Context<AppEnv>, oldId: string, newId: string): Promise<string> {
  const key = `deltas/${oldId}..${newId}`;
  if ((await c.env.BANKS.head(key)) !== null) return key;
  const limits = limitsFromEnv(c.env);
  const store = new BankStore(new R2Backend(c.env.BANKS, 'banks/'));
  const found = await store.getHeader(newId);
  if (found === null) throw bankNotFound(newId);
  const weights = layoutSize(found.header.layout) * (found.header.bucketEdges.length - 1);
  if (weights > limits.maxDeltaWeights) {
    throw new ApiError(
      422,
      'delta_unavailable',
      `the bank has ${weights} mask weights, above the ${limits.maxDeltaWeights} this worker diffs; download it whole`,
    );
  }
  const [oldBank, newBank] = await Promise.all([store.open(oldId), store.open(newId)]);
  if (oldBank === null) throw bankNotFound(oldId);
  if (newBank === null) throw bankNotFound(newId);
  if (oldBank.header.layoutHash !== newBank.header.layoutHash) {
    throw new ApiError(
      422,
      'delta_unavailable',
      'the two banks have different layouts; download the bank whole',
    );
  }
  const delta = await diffBanks(oldBank, newBank);
  await c.env.BANKS.put(key, delta.bytes);
  c.get('log').info('delta computed', { from: oldId, to: newId, size: delta.bytes.length });
  return key;
}

const bankParams = z.object({
  id: z.string().meta({ description: 'The bank id (SHA-256, lower-case hex)' }),
});
const bankBytes = {
  'application/octet-stream': { schema: { type: 'string', contentEncoding: 'binary' } },
} as const;
const header = (description: string) => ({ description, schema: { type: 'string' } }) as const;

export const bankRoutes = openApiRouter();

// Admin diagnostics: the stored object straight from R2 — no visibility lookup, no ETag,
// range or delta logic. It is the baseline the serving benchmark compares /v1/banks/:id to.
openApiRoute(
  bankRoutes,
  createRoute({
    method: 'get',
    path: '/{id}/raw',
    summary:
      'Admin diagnostics: the stored bank bytes straight from R2 (no caching headers, ranges or deltas)',
    security: SECURITY.admin,
    request: { params: bankParams },
    responses: { 200: { description: 'The bytes', content: bankBytes }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    requireAdmin(c);
    const id = c.req.param('id');
    if (!isHexDigest(id)) throw bankNotFound(id);
    const object = await c.env.BANKS.get(`banks/${id}`);
    if (object === null) throw bankNotFound(id);
    return new Response(object.body, {
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(object.size) },
    });
  },
);

openApiRoute(
  bankRoutes,
  createRoute({
    method: 'get',
    path: '/{id}',
    summary: 'Download a bank, a byte range of it, or (?from=) the delta from an older bank',
    security: SECURITY.optional,
    request: {
      params: bankParams,
      query: bankDownloadQuerySchema,
      headers: z.object({
        range: z.string().optional().meta({ description: 'One byte range, e.g. bytes=0-1023' }),
        'if-none-match': z.string().optional(),
        'if-range': z.string().optional(),
      }),
    },
    responses: {
      200: {
        description: 'The bytes',
        content: bankBytes,
        headers: { ETag: header('"<bankId>" or "<from>..<bankId>"'), 'Cache-Control': header('immutable') },
      },
      206: {
        description: 'One byte range',
        content: bankBytes,
        headers: { 'Content-Range': header('bytes <start>-<end>/<size>') },
      },
      304: { description: 'Not modified (ETag matched)' },
      ...errorResponses(400, 401, 404, 416, 422),
    },
  }),
  async (c) => {
    const id = c.req.param('id');
    if (!isHexDigest(id)) throw bankNotFound(id);
    const principal = c.get('principal');
    const access = await bankAccess(c.env.DB, principal, id);
    if (access === null) throw bankNotFound(id);
    const { from } = readQuery(c, bankDownloadQuerySchema);
    if (from === undefined) return serveImmutable(c, `banks/${id}`, `"${id}"`, access);

    if (from === id) throw new ApiError(400, 'invalid_request', 'from must differ from the bank itself');
    const fromAccess = await bankAccess(c.env.DB, principal, from);
    if (fromAccess === null) throw bankNotFound(from);
    const key = await deltaKey(c, from, id);
    // A delta reveals both banks, so it is only as public as the less public one.
    return serveImmutable(c, key, `"${from}..${id}"`, { isPublic: access.isPublic && fromAccess.isPublic });
  },
);
