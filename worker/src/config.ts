/**
 * Deployment limits: named options read from the worker's environment (wrangler.toml
 * [vars], overridable per environment or in tests), each with a documented default that
 * applies when the variable is absent. A present but malformed value is a configuration
 * fault and fails loudly rather than silently falling back.
 */
export interface WorkerLimits {
  /** Largest bank upload, bytes. MAX_BANK_BYTES, default 64 MiB. */
  readonly maxBankBytes: number;
  /** Largest JSON request body, bytes. MAX_JSON_BYTES, default 1 MiB. */
  readonly maxJsonBytes: number;
  /** Longest prompt, UTF-16 code units. MAX_PROMPT_CHARS, default 1000. */
  readonly maxPromptChars: number;
  /** Most sampling steps per job. MAX_STEPS, default 150. */
  readonly maxSteps: number;
  /**
   * Most decoded mask weights (buckets × layout size) the worker will diff to serve a delta;
   * diffing holds one byte per weight in memory. MAX_DELTA_WEIGHTS, default 2^25.
   */
  readonly maxDeltaWeights: number;
  /** Largest result PNG a runner may send, bytes. MAX_RESULT_BYTES, default 8 MiB. */
  readonly maxResultBytes: number;
  /** Default jobs per tenant per minute. RATE_LIMIT_JOBS_PER_MINUTE, default 60. */
  readonly jobsPerMinute: number;
  /** Default bytes of distinct banks per tenant. BANK_BYTES_QUOTA, default 1 GiB. */
  readonly bankBytesQuota: number;
  /** Jobs waiting per model before new ones get 503 queue_full. QUEUE_LIMIT, default 64. */
  readonly queueLimit: number;
  /** Time from submission until a job fails with `timeout`. JOB_TIMEOUT_MS, default 120 s. */
  readonly jobTimeoutMs: number;
  /** Dispatches per job before it fails with `runner_lost`. MAX_ATTEMPTS, default 3. */
  readonly maxAttempts: number;
  /** Silence after which a runner is dropped. RUNNER_HEARTBEAT_TIMEOUT_MS, default 30 s. */
  readonly runnerHeartbeatTimeoutMs: number;
  /**
   * Interval of SSE comment lines on an open event stream, so proxies that close idle
   * connections (Cloudflare's edge after 100 s) keep a queued job's stream. SSE_KEEPALIVE_MS, default 15 s.
   */
  readonly sseKeepAliveMs: number;
}

export const DEFAULT_WORKER_LIMITS: WorkerLimits = Object.freeze({
  maxBankBytes: 64 * 1024 * 1024,
  maxJsonBytes: 1024 * 1024,
  maxPromptChars: 1000,
  maxSteps: 150,
  maxDeltaWeights: 2 ** 25,
  maxResultBytes: 8 * 1024 * 1024,
  jobsPerMinute: 60,
  bankBytesQuota: 1024 * 1024 * 1024,
  queueLimit: 64,
  jobTimeoutMs: 120_000,
  maxAttempts: 3,
  runnerHeartbeatTimeoutMs: 30_000,
  sseKeepAliveMs: 15_000,
});

const ENV_NAMES: Record<keyof WorkerLimits, string> = {
  maxBankBytes: 'MAX_BANK_BYTES',
  maxJsonBytes: 'MAX_JSON_BYTES',
  maxPromptChars: 'MAX_PROMPT_CHARS',
  maxSteps: 'MAX_STEPS',
  maxDeltaWeights: 'MAX_DELTA_WEIGHTS',
  maxResultBytes: 'MAX_RESULT_BYTES',
  jobsPerMinute: 'RATE_LIMIT_JOBS_PER_MINUTE',
  bankBytesQuota: 'BANK_BYTES_QUOTA',
  queueLimit: 'QUEUE_LIMIT',
  jobTimeoutMs: 'JOB_TIMEOUT_MS',
  maxAttempts: 'MAX_ATTEMPTS',
  runnerHeartbeatTimeoutMs: 'RUNNER_HEARTBEAT_TIMEOUT_MS',
  sseKeepAliveMs: 'SSE_KEEPALIVE_MS',
};

const cache = new WeakMap<object, WorkerLimits>();

/**
 * The limits for an environment object (cached per object).
 * @throws RangeError naming the variable when a value is not a positive safe integer.
 */
export function limitsFromEnv(env: object): WorkerLimits {
  const cached = cache.get(env);
  if (cached !== undefined) return cached;
  const vars = env as Record<string, unknown>;
  const resolved = { ...DEFAULT_WORKER_LIMITS };
  for (const key of Object.keys(ENV_NAMES) as (keyof WorkerLimits)[]) {
    const name = ENV_NAMES[key];
    const raw = vars[name];
    if (raw === undefined || raw === '') continue;
    const value = typeof raw === 'number' ? raw : Number(raw);
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
    }
    resolved[key] = value;
  }
  Object.freeze(resolved);
  cache.set(env, resolved);
  return resolved;
}
