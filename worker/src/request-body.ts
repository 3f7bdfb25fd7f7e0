/**
 * Request bodies read under a byte limit, checked before and while reading: a declared
 * Content-Length above the limit is refused without touching the body, and a body that
 * grows past the limit is cut off as soon as it does (chunked uploads declare nothing).
 * Then the contract's schema decides: a refusal is 400 `invalid_request` naming the field
 * (`describeIssue`), the same answer for bodies and query parameters.
 */
import type { Context } from 'hono';
import { describeIssue, type ApiErrorCode } from '@maskunet/contract';
import type { z } from 'zod';
import { limitsFromEnv } from './config';
import type { AppEnv } from './context';
import { ApiError } from './errors';

/** Reads the whole body, refusing more than `maxBytes` with 413 `code`. */
export async function readBodyBytes(
  c: Context<AppEnv>,
  maxBytes: number,
  code: ApiErrorCode,
): Promise<Uint8Array> {
  const tooLarge = (): ApiError => new ApiError(413, code, `request body is larger than ${maxBytes} bytes`);
  const declared = c.req.header('Content-Length');
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge();
  const body = c.req.raw.body;
  if (body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** `application/json` or `application/<x>+json`, with parameters such as `; charset=utf-8`. */
const JSON_CONTENT_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/i;

/** Parses a JSON object body of at most `maxBytes`. */
export async function readJsonObject(c: Context<AppEnv>, maxBytes: number): Promise<Record<string, unknown>> {
  const contentType = c.req.header('Content-Type') ?? '';
  if (!JSON_CONTENT_TYPE.test(contentType)) {
    throw new ApiError(415, 'unsupported_media_type', 'send the body as application/json');
  }
  const bytes = await readBodyBytes(c, maxBytes, 'body_too_large');
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ApiError(400, 'invalid_json', 'the body is not valid UTF-8 JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError(400, 'invalid_json', 'the body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

export function invalid(message: string): ApiError {
  return new ApiError(400, 'invalid_request', message);
}

/**
 * Parses `value` with `schema`; a refusal is 400 `invalid_request` naming the first bad field
 * (after `lead`, e.g. "query parameter ").
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, lead = ''): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalid(lead + describeIssue(parsed.error));
  return parsed.data;
}

/** Reads a JSON object body (at most MAX_JSON_BYTES) and parses it with `schema`. */
export async function readJson<S extends z.ZodType>(c: Context<AppEnv>, schema: S): Promise<z.output<S>> {
  return parseWith(schema, await readJsonObject(c, limitsFromEnv(c.env).maxJsonBytes));
}

/** Parses the query parameters (the first value of each) with `schema`. */
export function readQuery<S extends z.ZodType>(c: Context<AppEnv>, schema: S): z.output<S> {
  return parseWith(schema, c.req.query(), 'query parameter ');
}

export function isoTime(ms: number): string;
export function isoTime(ms: number | null): string | null;
export function isoTime(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
