/**
 * The dispatcher's shared shapes: what the worker hands it for a job, what its RPC methods
 * answer, and the clock its parts read. Types only, with no platform imports, so the plain
 * parts (queue, ledger, registry, policy, hub) and their Node unit tests can use them as well
 * as the Durable Object shell and the routes.
 */
import type { RunnerSummary } from '@maskunet/contract';
import type { SamplerName } from '@maskunet/contract';

/** What the worker hands the dispatcher for one job (already validated and authorised). */
export interface DispatchJob {
  readonly jobId: string;
  readonly tenantId: string;
  readonly model: string;
  readonly variant: string | null;
  readonly bankId: string | null;
  readonly prompt: string;
  readonly seed: number;
  readonly steps: number;
  readonly guidance: number;
  readonly sampler: SamplerName;
  readonly requestId: string;
}

export type SubmitResult =
  | { readonly ok: true; readonly position: number; readonly stream: ReadableStream<Uint8Array> | null }
  | { readonly ok: false; readonly code: 'queue_full'; readonly message: string };

export type CancelResult = 'cancelled' | 'unknown' | 'finishing';

export interface DispatcherSummary extends RunnerSummary {
  readonly queued: number;
  readonly running: number;
  readonly runners: readonly {
    readonly runnerId: string;
    readonly backend: string;
    readonly capacity: number;
    readonly running: number;
    readonly banks: readonly string[];
  }[];
}

/**
 * Milliseconds since the epoch. The shell passes `Date.now`; unit tests pass a counter they
 * move by hand, so timeouts are tested without waiting.
 */
export type Clock = () => number;
