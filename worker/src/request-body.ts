/**
 * Request bodies read under a byte limit, checked before and while reading: a declared
 * Content-Length above the limit is refused without touching the body, and a body that
 * grows past the limit is cut off as soon as it does (chunked uploads declare nothing).
 * Plus the small field validators the routes share; each refusal names the field.
 */
import type { Context } from 'hono';
import type { ApiErrorCode } from './contract/api';
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

/** Parses a JSON object body of at most `maxBytes`. */
export async function readJsonObject(c: Context<AppEnv>, maxBytes: number): Promise<Record<string, unknown>> {
  const contentType = c.req.header('Content-Type') ?? '';
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType)) {
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

/** Ids and names: letters, digits, `.`, `_`, `-`; starts with a letter or digit; 1–64 chars. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function requiredString(
  body: Record<string, unknown>,
  field: string,
  options: { pattern?: RegExp; maxLength?: number } = {},
): string {
  const value = body[field];
  if (typeof value !== 'string' || value.length === 0) throw invalid(`${field} must be a non-empty string`);
  if (options.maxLength !== undefined && value.length > options.maxLength) {
    throw invalid(`${field} must be at most ${options.maxLength} characters`);
  }
  if (options.pattern !== undefined && !options.pattern.test(value)) {
    throw invalid(`${field} must match ${String(options.pattern)}`);
  }
  return value;
}

export function optionalInteger(
  body: Record<string, unknown>,
  field: string,
  min: number,
  max: number,
): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(`${field} must be an integer in [${min}, ${max}]`);
  }
  return value;
}

export function optionalNumber(
  body: Record<string, unknown>,
  field: string,
  min: number,
  max: number,
): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalid(`${field} must be a number in [${min}, ${max}]`);
  }
  return value;
}

export function optionalEnum<T extends string>(
  body: Record<string, unknown>,
  field: string,
  allowed: readonly T[],
): T | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalid(`${field} must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

export function isoTime(ms: number): string;
export function isoTime(ms: number | null): string | null;
export function isoTime(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
