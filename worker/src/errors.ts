/**
 * The worker's one error type and its one handler. Every refusal a caller can act on is an
 * `ApiError(status, code, message)` and becomes `{error: {code, message}}` with that status;
 * mask-store's `MaskFormatError` becomes `invalid_bank` (400) or `bank_limit_exceeded` (413).
 * Anything else is a fault: logged with its stack under the request id, answered with a
 * generic 500 that says nothing about the internals.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { CodedError, isMaskFormatError } from '@maskunet/mask-store';
import type { ApiErrorBody, ApiErrorCode } from '@maskunet/contract';
import type { AppEnv } from './context';

export class ApiError extends CodedError<ApiErrorCode> {
  override readonly name = 'ApiError';
  constructor(
    readonly status: ContentfulStatusCode,
    code: ApiErrorCode,
    message: string,
    /** Extra response headers (Retry-After, WWW-Authenticate, Allow). */
    readonly headers: Record<string, string> = {},
    /** For refused banks: the mask-store error code. */
    readonly reason?: string,
  ) {
    super(code, message, { prefixCode: false });
  }

  body(): ApiErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.reason === undefined ? {} : { reason: this.reason }),
      },
    };
  }
}

/** Maps a thrown value to the ApiError a caller sees, or null for a fault. */
export function toApiError(error: unknown): ApiError | null {
  if (error instanceof ApiError) return error;
  if (isMaskFormatError(error)) {
    return error.code === 'limit_exceeded'
      ? new ApiError(413, 'bank_limit_exceeded', error.message, {}, error.code)
      : new ApiError(400, 'invalid_bank', error.message, {}, error.code);
  }
  if (error instanceof HTTPException) {
    // Hono's own refusals (malformed requests it parses for us) are user errors.
    const status = error.status;
    return new ApiError(status, status === 413 ? 'body_too_large' : 'invalid_request', error.message);
  }
  return null;
}

export function errorResponse(c: Context<AppEnv>, error: ApiError): Response {
  return c.json(error.body(), error.status, error.headers);
}

/** The app's `onError`: user errors as their status, faults as a logged 500. */
export function onError(error: unknown, c: Context<AppEnv>): Response {
  const apiError = toApiError(error);
  if (apiError !== null) return errorResponse(c, apiError);
  c.get('log').error('unhandled fault', {
    error:
      error instanceof Error
        ? { name: error.name, message: error.message, stack: error.stack }
        : String(error),
  });
  return errorResponse(
    c,
    new ApiError(500, 'internal_error', 'internal error; quote the x-request-id when reporting it'),
  );
}
