/**
 * The runner protocol, version 1: JSON text messages over one WebSocket that a GPU runner
 * dials out to (`GET /v1/runners/connect?model=<id>`, `Authorization: Bearer <RUNNER_TOKEN>`).
 * Every message is an object with a `type` discriminator. Both ends parse what arrives with
 * the schemas below ({@link parseRunnerMessage} in the dispatcher,
 * {@link parseDispatcherMessage} in the runner), so a malformed frame is refused with a
 * reason instead of reaching either side's state.
 *
 * Lifecycle: the runner sends `hello` first (anything else first closes the socket with
 * 4002), then `heartbeat`s at least every RUNNER_HEARTBEAT_TIMEOUT_MS / 3; the dispatcher
 * sends `job`s up to the announced capacity and `cancel`s. A runner answers each job attempt
 * with any number of `progress` messages and then exactly one `result` or `failed`.
 * Messages about an attempt that is no longer current (re-queued, cancelled, timed out) are
 * ignored by the dispatcher, so a late or duplicated result never reaches a caller twice.
 */
import './zod-config';
import * as z from 'zod';
import { samplerNameSchema } from './enums';
import {
  bankIdString,
  booleanField,
  boundedString,
  finiteNumber,
  integerIn,
  nonNegativeNumber,
  numberIn,
  patternString,
  record,
} from './fields';
import { describeIssue } from './issues';

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

/** Most bank ids a runner may announce in one hello or heartbeat. */
export const MAX_ANNOUNCED_BANKS = 4096;

/** Default bound on one dispatcher → runner frame, checked before JSON.parse (a job with a long prompt is a few kB). */
export const DEFAULT_MAX_DISPATCHER_MESSAGE_CHARS = 1 << 20;

/** Stable id of a runner process: 1–128 chars of [A-Za-z0-9._:-]. */
export const RUNNER_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
/** Execution backend names such as `cpu`, `webgpu`, `node-cpu`, `web-webgpu`. */
export const BACKEND_PATTERN = /^[a-z0-9_-]{1,64}$/;
/** Stable failure codes such as `bank_fetch_failed`, `out_of_memory`. */
export const FAILURE_CODE_PATTERN = /^[a-z0-9_]{1,64}$/;

const jobId = boundedString(64);
/** 1 for the first dispatch, +1 for each re-queue. */
const attempt = integerIn(1, 1000);
const backend = patternString(BACKEND_PATTERN, 'a backend name (1–64 chars of [a-z0-9_-])');
const bankList = z
  .array(bankIdString(), { error: 'must be an array of bank ids' })
  .max(MAX_ANNOUNCED_BANKS, { error: `must hold at most ${MAX_ANNOUNCED_BANKS} bank ids` });

// ---- runner → dispatcher ----

export const helloMessageSchema = record({
  type: z.literal('hello'),
  /** Stable id of the runner process. */
  runnerId: patternString(RUNNER_ID_PATTERN, 'a runner id (1–128 chars of [A-Za-z0-9._:-])'),
  /** Must equal the `model` query parameter of the connect URL. */
  model: boundedString(64),
  /** Execution backend, e.g. `webgpu`, `cpu`, `wasm`, `test`. */
  backend,
  /** Jobs the runner accepts at once. */
  capacity: integerIn(1, 64),
  /** Bank ids the runner holds decoded or cached; used for affinity. */
  banks: bankList,
  /**
   * Senders write RUNNER_PROTOCOL_VERSION. Any number parses, so that the dispatcher can
   * answer another version with 4003 unsupportedProtocol rather than a generic 4002.
   */
  protocol: finiteNumber(),
});
export type HelloMessage = z.infer<typeof helloMessageSchema>;

export const heartbeatMessageSchema = record({
  type: z.literal('heartbeat'),
  /** The runner's own view of how busy it is, 0 (idle) to 1 (full). */
  load: numberIn(0, 1),
  /** Bank ids held now (replaces the list from hello). */
  banks: bankList,
});
export type HeartbeatMessage = z.infer<typeof heartbeatMessageSchema>;

export const progressMessageSchema = record({
  type: z.literal('progress'),
  jobId,
  attempt,
  /** 1-based step just finished (0: none yet). */
  step: integerIn(0, 100_000),
  total: integerIn(1, 100_000),
  /** The sampler's timestep at this step. */
  timestep: finiteNumber(),
}).refine((message) => message.step <= message.total, {
  path: ['step'],
  error: 'must not exceed total',
});
export type ProgressMessage = z.infer<typeof progressMessageSchema>;

export const resultTimingsSchema = record({
  /** Filled in by the dispatcher: time from submission to the attempt's dispatch. */
  queueMs: nonNegativeNumber().optional(),
  bankFetchMs: nonNegativeNumber(),
  stepsMs: nonNegativeNumber(),
  encodeMs: nonNegativeNumber(),
}).meta({ id: 'ResultTimings', description: 'Milliseconds spent on each part of a job' });
export type ResultTimings = z.infer<typeof resultTimingsSchema>;

export const resultMessageSchema = record({
  type: z.literal('result'),
  jobId,
  attempt,
  /** The image, PNG, base64 (standard alphabet, padded). At most MAX_RESULT_BYTES decoded; checked by the dispatcher. */
  pngBase64: z.string({ error: 'must be a string' }),
  timings: resultTimingsSchema,
  backend,
});
export type ResultMessage = z.infer<typeof resultMessageSchema>;

export const failedMessageSchema = record({
  type: z.literal('failed'),
  jobId,
  attempt,
  /** Stable, machine-readable reason, e.g. `bank_fetch_failed`, `out_of_memory`, `cancelled`. */
  code: patternString(FAILURE_CODE_PATTERN, 'a failure code (1–64 chars of [a-z0-9_])'),
  message: z.string({ error: 'must be a string' }),
  /** True when another attempt (possibly on another runner) might succeed. */
  retryable: booleanField(),
});
export type FailedMessage = z.infer<typeof failedMessageSchema>;

export const runnerToDispatcherSchema = z.discriminatedUnion('type', [
  helloMessageSchema,
  heartbeatMessageSchema,
  progressMessageSchema,
  resultMessageSchema,
  failedMessageSchema,
]);
export type RunnerToDispatcher = z.infer<typeof runnerToDispatcherSchema>;

// ---- dispatcher → runner ----

export const jobMessageSchema = record({
  type: z.literal('job'),
  jobId,
  /** Echo it in progress/result/failed. */
  attempt,
  model: boundedString(64),
  /** Variant id, or null for the bare base model. */
  variant: z.string({ error: 'must be a string or null' }).nullable(),
  /** Bank to apply (fetch with GET /v1/banks/:id and the runner token), or null. */
  bankId: bankIdString().nullable(),
  prompt: z.string({ error: 'must be a string' }),
  /** Unsigned 32-bit seed. */
  seed: integerIn(0, 0xffffffff),
  steps: integerIn(1, 100_000),
  guidance: finiteNumber(),
  sampler: samplerNameSchema,
  /** Milliseconds left before the dispatcher gives up on the job, counted from receipt. */
  deadlineMs: finiteNumber(),
});
export type JobMessage = z.infer<typeof jobMessageSchema>;

export const cancelMessageSchema = record({
  type: z.literal('cancel'),
  jobId,
});
export type CancelMessage = z.infer<typeof cancelMessageSchema>;

export const dispatcherToRunnerSchema = z.discriminatedUnion('type', [jobMessageSchema, cancelMessageSchema]);
export type DispatcherToRunner = z.infer<typeof dispatcherToRunnerSchema>;

// ---- parsing one frame ----

/** A parsed frame, or why it was refused (short enough for a WebSocket close reason once cut to 120 chars). */
export type ParsedMessage<T> = { ok: true; message: T } | { ok: false; reason: string };

function parseFrame<T extends { type: string }>(
  schema: z.ZodType<T>,
  types: readonly string[],
  text: string,
  maxChars: number,
): ParsedMessage<T> {
  if (text.length > maxChars) return { ok: false, reason: `message longer than ${maxChars} characters` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'message is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'message is not an object' };
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !types.includes(type)) {
    return { ok: false, reason: `unknown message type ${JSON.stringify(type)}` };
  }
  const parsed = schema.safeParse(value);
  return parsed.success
    ? { ok: true, message: parsed.data }
    : { ok: false, reason: describeIssue(parsed.error, type) };
}

const RUNNER_MESSAGE_TYPES = runnerToDispatcherSchema.options.map((option) => option.shape.type.value);
const DISPATCHER_MESSAGE_TYPES = dispatcherToRunnerSchema.options.map((option) => option.shape.type.value);

/**
 * Parses one text frame a runner sent. `maxChars` bounds the frame before JSON.parse touches it.
 * Refusal reasons: `message longer than N characters`, `message is not JSON`, `message is not
 * an object`, `unknown message type "x"`, or `<type>.<field> <what it must be>`.
 */
export function parseRunnerMessage(text: string, maxChars: number): ParsedMessage<RunnerToDispatcher> {
  return parseFrame(runnerToDispatcherSchema, RUNNER_MESSAGE_TYPES, text, maxChars);
}

/** Parses one text frame the dispatcher sent; the same refusals as {@link parseRunnerMessage}. */
export function parseDispatcherMessage(
  text: string,
  maxChars = DEFAULT_MAX_DISPATCHER_MESSAGE_CHARS,
): ParsedMessage<DispatcherToRunner> {
  return parseFrame(dispatcherToRunnerSchema, DISPATCHER_MESSAGE_TYPES, text, maxChars);
}
