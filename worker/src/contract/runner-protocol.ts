/**
 * The runner protocol, version 1: JSON text messages over one WebSocket that a GPU runner
 * dials out to (`GET /v1/runners/connect?model=<id>`, `Authorization: Bearer <RUNNER_TOKEN>`).
 * Every message is an object with a `type` discriminator. Types plus two constants with no
 * imports, so the runner (`gpu-runner/src/service/`) and the client import it with
 * `import type`; the dispatcher's runtime checks live in `worker/src/dispatcher/runner-messages.ts`.
 *
 * Lifecycle: the runner sends `hello` first (anything else first closes the socket with
 * 4002), then `heartbeat`s at least every RUNNER_HEARTBEAT_TIMEOUT_MS / 3; the dispatcher
 * sends `job`s up to the announced capacity and `cancel`s. A runner answers each job attempt
 * with any number of `progress` messages and then exactly one `result` or `failed`.
 * Messages about an attempt that is no longer current (re-queued, cancelled, timed out) are
 * ignored by the dispatcher, so a late or duplicated result never reaches a caller twice.
 */

/** The protocol version a runner announces in `hello`. */
export const RUNNER_PROTOCOL_VERSION = 1;

/** Close codes the dispatcher uses (4000–4999 are application codes). */
export const RUNNER_CLOSE_CODES = {
  /** No message within RUNNER_HEARTBEAT_TIMEOUT_MS. */
  heartbeatTimeout: 4000,
  /** Another socket said hello with the same runnerId. */
  replaced: 4001,
  /** A message that does not follow this protocol (bad JSON, unknown type, not hello first). */
  protocolError: 4002,
  /** `hello.protocol` is not a version the dispatcher speaks. */
  unsupportedProtocol: 4003,
  /** `hello.model` is not the model this dispatcher serves. */
  wrongModel: 4004,
} as const;

export type SamplerName = 'ddim' | 'dpmpp2m' | 'ddpm';

// ---- runner → dispatcher ----

export interface HelloMessage {
  readonly type: 'hello';
  /** Stable id of the runner process (1–128 chars of [A-Za-z0-9._:-]). */
  readonly runnerId: string;
  /** Must equal the `model` query parameter of the connect URL. */
  readonly model: string;
  /** Execution backend, e.g. `webgpu`, `cpu`, `wasm`, `test`. */
  readonly backend: string;
  /** Jobs the runner accepts at once (1–64). */
  readonly capacity: number;
  /** Bank ids the runner holds decoded or cached; used for affinity. */
  readonly banks: readonly string[];
  readonly protocol: typeof RUNNER_PROTOCOL_VERSION;
}

export interface HeartbeatMessage {
  readonly type: 'heartbeat';
  /** The runner's own view of how busy it is, 0 (idle) to 1 (full). */
  readonly load: number;
  /** Bank ids held now (replaces the list from hello). */
  readonly banks: readonly string[];
}

export interface ProgressMessage {
  readonly type: 'progress';
  readonly jobId: string;
  readonly attempt: number;
  /** 1-based step just finished. */
  readonly step: number;
  readonly total: number;
  /** The sampler's timestep at this step. */
  readonly timestep: number;
}

export interface ResultTimings {
  /** Filled in by the dispatcher: time from submission to the attempt's dispatch. */
  readonly queueMs?: number;
  readonly bankFetchMs: number;
  readonly stepsMs: number;
  readonly encodeMs: number;
}

export interface ResultMessage {
  readonly type: 'result';
  readonly jobId: string;
  readonly attempt: number;
  /** The image, PNG, base64 (standard alphabet, padded). At most MAX_RESULT_BYTES decoded. */
  readonly pngBase64: string;
  readonly timings: ResultTimings;
  readonly backend: string;
}

export interface FailedMessage {
  readonly type: 'failed';
  readonly jobId: string;
  readonly attempt: number;
  /** Stable, machine-readable reason, e.g. `bank_fetch_failed`, `out_of_memory`, `cancelled`. */
  readonly code: string;
  readonly message: string;
  /** True when another attempt (possibly on another runner) might succeed. */
  readonly retryable: boolean;
}

export type RunnerToDispatcher =
  HelloMessage | HeartbeatMessage | ProgressMessage | ResultMessage | FailedMessage;

// ---- dispatcher → runner ----

export interface JobMessage {
  readonly type: 'job';
  readonly jobId: string;
  /** 1 for the first dispatch, +1 for each re-queue; echo it in progress/result/failed. */
  readonly attempt: number;
  readonly model: string;
  /** Variant id, or null for the bare base model. */
  readonly variant: string | null;
  /** Bank to apply (fetch with GET /v1/banks/:id and the runner token), or null. */
  readonly bankId: string | null;
  readonly prompt: string;
  /** Unsigned 32-bit seed. */
  readonly seed: number;
  readonly steps: number;
  readonly guidance: number;
  readonly sampler: SamplerName;
  /** Milliseconds left before the dispatcher gives up on the job, counted from receipt. */
  readonly deadlineMs: number;
}

export interface CancelMessage {
  readonly type: 'cancel';
  readonly jobId: string;
}

export type DispatcherToRunner = JobMessage | CancelMessage;
