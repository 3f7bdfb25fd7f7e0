/**
 * The HTTP API's request and response shapes (v1), shared with the client SDK through
 * `import type`. The OpenAPI document (`worker/src/openapi.ts`) describes the same shapes
 * for other languages; a test checks that every route of the app appears in it.
 */
import type { ResultTimings, SamplerName } from './runner-protocol';

/** Every error response: `{error: {code, message}}`, plus `reason` for refused banks. */
export interface ApiErrorBody {
  readonly error: {
    readonly code: ApiErrorCode;
    readonly message: string;
    /** For `invalid_bank` / `bank_limit_exceeded`: the mask-store `MaskFormatError` code. */
    readonly reason?: string;
  };
}

/** Stable error codes. Grouped by status in worker/README.md. */
export type ApiErrorCode =
  | 'invalid_request'
  | 'invalid_json'
  | 'invalid_bank'
  | 'layout_mismatch'
  | 'bank_has_parent'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'model_not_found'
  | 'variant_not_found'
  | 'bank_not_found'
  | 'job_not_found'
  | 'tenant_not_found'
  | 'key_not_found'
  | 'method_not_allowed'
  | 'model_exists'
  | 'variant_exists'
  | 'variant_empty'
  | 'job_finished'
  | 'job_not_done'
  | 'body_too_large'
  | 'bank_too_large'
  | 'bank_limit_exceeded'
  | 'quota_exceeded'
  | 'unsupported_media_type'
  | 'range_not_satisfiable'
  | 'delta_unavailable'
  | 'upgrade_required'
  | 'rate_limited'
  | 'queue_full'
  | 'internal_error';

export type Visibility = 'private' | 'public';

export interface TenantLimits {
  /** Jobs a tenant may submit per minute; null = the deployment default. */
  readonly jobsPerMinute: number | null;
  /** Bytes of distinct banks a tenant may store; null = the deployment default. */
  readonly bankBytesQuota: number | null;
}

export interface Tenant {
  readonly id: string;
  readonly name: string;
  readonly limits: TenantLimits;
  readonly createdAt: string;
}

export interface CreateTenantRequest {
  readonly name: string;
  readonly limits?: Partial<TenantLimits>;
}

export interface CreateTenantResponse {
  readonly tenant: Tenant;
  /** Shown once; only its SHA-256 is stored. */
  readonly apiKey: string;
  readonly keyId: string;
}

export interface CreateKeyResponse {
  readonly keyId: string;
  readonly apiKey: string;
}

export interface ModelConfig {
  /** Default bucket edges for banks of this model (K + 1 edges from 0 to timesteps). */
  readonly bucketEdges: readonly number[];
  /** Image side in pixels. */
  readonly sampleSize: number;
  /** Scheduler training timesteps. Default 1000. */
  readonly timesteps: number;
  /** Generation defaults for requests that leave them out (the model package's own). */
  readonly defaults?: {
    readonly steps?: number;
    readonly guidance?: number;
    readonly sampler?: SamplerName;
  };
}

export interface LayoutLayerJson {
  readonly name: string;
  readonly shape: readonly [number, number];
}

export interface RegisterModelRequest {
  readonly id: string;
  readonly layout: { readonly layers: readonly LayoutLayerJson[] };
  readonly config: Partial<ModelConfig> & Pick<ModelConfig, 'sampleSize'>;
}

export interface RunnerSummary {
  readonly count: number;
  /** Distinct backends of connected runners, sorted. */
  readonly backends: readonly string[];
}

export interface Model {
  readonly id: string;
  readonly layout: { readonly layers: readonly LayoutLayerJson[] };
  readonly layoutHash: string;
  readonly bucketEdges: readonly number[];
  readonly sampleSize: number;
  readonly timesteps: number;
  readonly runners: RunnerSummary;
  readonly createdAt: string;
}

export interface CreateVariantRequest {
  readonly model: string;
  readonly name: string;
  readonly visibility?: Visibility;
}

export interface Variant {
  readonly id: string;
  readonly model: string;
  readonly name: string;
  readonly visibility: Visibility;
  /** True when the caller's tenant owns it. */
  readonly owned: boolean;
  readonly currentBankId: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface BankVersion {
  readonly version: number;
  readonly bankId: string;
  readonly size: number;
  readonly buckets: number;
  readonly createdAt: string;
  readonly url: string;
}

export interface UploadBankResponse extends BankVersion {
  readonly variantId: string;
  /** False when the bytes were already the variant's current bank (status 200, not 201). */
  readonly created: boolean;
  readonly layoutHash: string;
}

export interface GenerateRequest {
  readonly model: string;
  readonly variant?: string;
  readonly prompt: string;
  readonly seed?: number;
  readonly steps?: number;
  readonly guidance?: number;
  readonly sampler?: SamplerName;
}

export interface GenerateAccepted {
  readonly jobId: string;
  readonly status: 'queued';
  /** Jobs ahead of this one in the model's queue when it was accepted. */
  readonly position: number;
  readonly url: string;
}

export type JobStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface Job {
  readonly id: string;
  readonly model: string;
  readonly variant: string | null;
  readonly bankId: string | null;
  readonly status: JobStatus;
  readonly attempt: number;
  readonly runnerId: string | null;
  readonly backend: string | null;
  readonly request: {
    readonly prompt: string;
    readonly seed: number;
    readonly steps: number;
    readonly guidance: number;
    readonly sampler: SamplerName;
  };
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly timings: ResultTimings | null;
  readonly imageUrl: string | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
}

/** Server-sent events of POST /v1/generate with `Accept: text/event-stream`, by event name. */
export interface GenerateEvents {
  readonly queued: { readonly jobId: string; readonly position: number; readonly attempt: number };
  readonly started: {
    readonly jobId: string;
    readonly runnerId: string;
    readonly backend: string;
    readonly attempt: number;
  };
  readonly progress: {
    readonly jobId: string;
    readonly step: number;
    readonly total: number;
    readonly timestep: number;
  };
  readonly done: { readonly jobId: string; readonly imageUrl: string; readonly timings: ResultTimings };
  readonly error: { readonly jobId: string; readonly code: string; readonly message: string };
}
