/**
 * The API's error body, `{error: {code, message}}` (plus `reason` for refused banks), and the
 * stable error codes grouped by the HTTP status that carries them. The grouping is the single
 * list: the code enum, the OpenAPI error responses and worker/README.md's table follow it.
 */
import './zod-config';
import * as z from 'zod';

/** Every stable code, by the status it is answered with. A code has exactly one status. */
export const API_ERROR_CODES_BY_STATUS = {
  400: ['invalid_request', 'invalid_json', 'invalid_bank', 'layout_mismatch', 'bank_has_parent'],
  401: ['unauthorized'],
  403: ['forbidden'],
  404: [
    'not_found',
    'model_not_found',
    'variant_not_found',
    'bank_not_found',
    'job_not_found',
    'tenant_not_found',
    'key_not_found',
  ],
  405: ['method_not_allowed'],
  409: ['model_exists', 'variant_exists', 'variant_empty', 'job_finished', 'job_not_done'],
  413: ['body_too_large', 'bank_too_large', 'bank_limit_exceeded', 'quota_exceeded'],
  415: ['unsupported_media_type'],
  416: ['range_not_satisfiable'],
  422: ['delta_unavailable'],
  426: ['upgrade_required'],
  429: ['rate_limited'],
  500: ['internal_error'],
  503: ['queue_full'],
} as const;

export type ApiErrorStatus = keyof typeof API_ERROR_CODES_BY_STATUS;

/** Stable error codes. */
export type ApiErrorCode = (typeof API_ERROR_CODES_BY_STATUS)[ApiErrorStatus][number];

export const API_ERROR_CODES: readonly ApiErrorCode[] = Object.values(API_ERROR_CODES_BY_STATUS).flat();

export const apiErrorCodeSchema = z.enum(API_ERROR_CODES as readonly [ApiErrorCode, ...ApiErrorCode[]]).meta({
  id: 'ApiErrorCode',
  description: 'Stable machine-readable code; see the error responses for the list by status.',
});

/** Every error response. */
export const apiErrorBodySchema = z
  .object({
    error: z.object({
      code: apiErrorCodeSchema,
      message: z.string().meta({ description: 'For people; may change between versions.' }),
      reason: z.string().optional().meta({
        description:
          'For `invalid_bank` / `bank_limit_exceeded` (and refused layouts): the mask-store MaskFormatError code.',
      }),
    }),
  })
  .meta({ id: 'Error' });
export type ApiErrorBody = z.infer<typeof apiErrorBodySchema>;
