/**
 * The runner's side of the runner protocol (`@maskunet/contract`, runner-protocol.ts): dials
 * out to the worker's dispatcher over a WebSocket (no inbound port), says hello with its
 * capacity and cached banks, sends heartbeats, runs each job through a pluggable handler
 * with progress, cancellation and a bank fetcher, and answers with a result or a failure.
 * It reconnects with exponential backoff and jitter; jobs in flight when a connection drops
 * are aborted, because the dispatcher re-queues them as new attempts anyway. What the
 * dispatcher sends is parsed with the contract's schemas on arrival; a frame that does not
 * parse is logged and dropped (see `onMessage`).
 *
 * Isomorphic: the socket is a small interface; the Node implementation (`ws`) is loaded
 * only when no `socketFactory` is given.
 */
import {
  DEFAULT_MAX_DISPATCHER_MESSAGE_CHARS,
  parseDispatcherMessage,
  RUNNER_PROTOCOL_VERSION,
  type HelloMessage,
  type JobMessage,
  type ResultTimings,
  type RunnerToDispatcher,
} from '@maskunet/contract';
import { CodedError } from '@maskunet/mask-store';
import { BankCache, BankFetchError, httpBankFetcher, DEFAULT_BANK_CACHE_BYTES } from './bank-cache';

/** What a job handler gets besides the job. */
export interface JobContext {
  /** Reports a finished sampling step (1-based) and its timestep. */
  onProgress(step: number, total: number, timestep: number): void;
  /** Aborted on cancel, on the job's deadline, on disconnect and on stop(). */
  readonly signal: AbortSignal;
  /** The bank's bytes by id (cached, verified against the id). */
  fetchBank(bankId: string): Promise<Uint8Array>;
}

export interface JobOutput {
  readonly png: Uint8Array;
  readonly timings: Omit<ResultTimings, 'queueMs'>;
  /** Backend that actually ran (defaults to the client's `backend`). */
  readonly backend?: string;
}

export type JobHandler = (job: JobMessage, context: JobContext) => Promise<JobOutput>;

/** Throw from a handler to fail a job with a stable code; `retryable` lets another attempt run. */
export class JobError extends CodedError {
  override readonly name = 'JobError';
  constructor(
    code: string,
    message: string,
    readonly retryable: boolean,
  ) {
    super(code, message, { prefixCode: false });
  }
}

/** The few socket operations the client needs; `connect` wires the callbacks. */
export interface RunnerSocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface SocketCallbacks {
  onOpen(): void;
  onMessage(data: string): void;
  /** The connection ended (or never opened). `httpStatus` when the upgrade was refused. */
  onClose(code: number, reason: string, httpStatus?: number): void;
}

export type SocketFactory = (
  url: string,
  headers: Record<string, string>,
  callbacks: SocketCallbacks,
) => RunnerSocket;

export interface ReconnectOptions {
  /** First delay after a drop. Default 500 ms. */
  readonly initialDelayMs?: number;
  /** Longest delay. Default 30 s. */
  readonly maxDelayMs?: number;
  /** Growth per failed attempt. Default 2. */
  readonly factor?: number;
  /** ± fraction of random spread on each delay. Default 0.2. */
  readonly jitter?: number;
}

export interface RunnerClientOptions {
  /** The worker's base URL, e.g. `http://127.0.0.1:8787`. */
  readonly url: string;
  /** RUNNER_TOKEN. */
  readonly token: string;
  readonly model: string;
  /** Backend announced in hello, e.g. `webgpu`, `cpu`. */
  readonly backend: string;
  readonly handler: JobHandler;
  /** Default: a random `runner-…` id per client. */
  readonly runnerId?: string;
  /** Jobs at once. Default 1. */
  readonly capacity?: number;
  /** Default 5 s; keep it under a third of the worker's RUNNER_HEARTBEAT_TIMEOUT_MS (30 s). */
  readonly heartbeatIntervalMs?: number;
  readonly reconnect?: ReconnectOptions;
  /** Bytes of banks kept. Default 512 MiB. */
  readonly bankCacheBytes?: number;
  readonly socketFactory?: SocketFactory;
  /**
   * Longest dispatcher frame accepted, checked before JSON.parse. Default
   * DEFAULT_MAX_DISPATCHER_MESSAGE_CHARS (1 Mi characters; a job is a few kB).
   */
  readonly maxMessageChars?: number;
  readonly fetch?: typeof fetch;
  readonly log?: (
    level: 'info' | 'warn' | 'error',
    message: string,
    fields?: Record<string, unknown>,
  ) => void;
}

export type RunnerClientState = 'idle' | 'connecting' | 'open' | 'waiting' | 'stopped';

/** Close codes after which reconnecting cannot help (see RUNNER_CLOSE_CODES). */
const FATAL_CLOSE_CODES = new Set([4003, 4004]);
/** HTTP answers to the upgrade after which reconnecting cannot help. */
const FATAL_HTTP = new Set([400, 401, 403]);
/** Cancelled job ids remembered, in case a cancel overtakes its job. */
const CANCELLED_MEMORY = 256;

interface RunningJob {
  readonly attempt: number;
  readonly abort: AbortController;
  readonly done: Promise<void>;
}

export class RunnerClient {
  readonly runnerId: string;
  private readonly options: RunnerClientOptions;
  private readonly capacity: number;
  private readonly heartbeatIntervalMs: number;
  private readonly maxMessageChars: number;
  private readonly banks: BankCache;
  private readonly jobs = new Map<string, RunningJob>();
  private readonly cancelled = new Set<string>();
  private socket: RunnerSocket | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  private currentState: RunnerClientState = 'idle';
  private fatal: Error | null = null;
  private readonly listeners = new Set<(state: RunnerClientState) => void>();

  constructor(options: RunnerClientOptions) {
    const capacity = options.capacity ?? 1;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 64) {
      throw new RangeError(`capacity must be an integer in [1, 64], got ${capacity}`);
    }
    const heartbeat = options.heartbeatIntervalMs ?? 5000;
    if (!(heartbeat > 0)) throw new RangeError(`heartbeatIntervalMs must be positive, got ${heartbeat}`);
    const maxMessageChars = options.maxMessageChars ?? DEFAULT_MAX_DISPATCHER_MESSAGE_CHARS;
    if (!Number.isSafeInteger(maxMessageChars) || maxMessageChars < 1) {
      throw new RangeError(`maxMessageChars must be a positive integer, got ${maxMessageChars}`);
    }
    this.options = options;
    this.capacity = capacity;
    this.maxMessageChars = maxMessageChars;
    this.heartbeatIntervalMs = heartbeat;
    this.runnerId = options.runnerId ?? `runner-${Math.random().toString(36).slice(2, 10)}`;
    const maxBytes = options.bankCacheBytes ?? DEFAULT_BANK_CACHE_BYTES;
    this.banks = new BankCache(httpBankFetcher(options.url, options.token, options.fetch ?? fetch), {
      maxBytes,
    });
  }

  get state(): RunnerClientState {
    return this.currentState;
  }

  /** Why the client stopped on its own (a refused token, another model), else null. */
  get error(): Error | null {
    return this.fatal;
  }

  /** Ids of the banks held in the cache. */
  cachedBanks(): string[] {
    return this.banks.ids();
  }

  /** Starts connecting (and keeps reconnecting until stop()). */
  start(): void {
    if (this.currentState !== 'idle') throw new Error(`start() in state ${this.currentState}`);
    this.connect();
  }

  /** Resolves when the client reaches `state` (rejects if it stops first, unless waiting for 'stopped'). */
  waitFor(state: RunnerClientState, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.currentState === state) return resolve();
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`runner client not ${state} within ${timeoutMs} ms (is ${this.currentState})`));
      }, timeoutMs);
      const listener = (next: RunnerClientState): void => {
        if (next === state || next === 'stopped') {
          clearTimeout(timer);
          this.listeners.delete(listener);
          if (next === state) resolve();
          else reject(this.fatal ?? new Error('runner client stopped'));
        }
      };
      this.listeners.add(listener);
    });
  }

  /** Stops reconnecting, aborts running jobs, closes the socket and waits for handlers to settle. */
  async stop(): Promise<void> {
    if (this.currentState === 'stopped') return;
    this.setState('stopped');
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.stopHeartbeat();
    const running = [...this.jobs.values()];
    for (const job of running) job.abort.abort(new Error('runner stopping'));
    this.socket?.close(1000, 'runner stopping');
    this.socket = null;
    await Promise.allSettled(running.map((job) => job.done));
  }

  // ---- connection ----

  private connect(): void {
    this.setState('connecting');
    const url = new URL(
      `/v1/runners/connect?model=${encodeURIComponent(this.options.model)}`,
      this.options.url,
    );
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const headers = { Authorization: `Bearer ${this.options.token}` };
    let closed = false;
    const callbacks: SocketCallbacks = {
      onOpen: () => {
        if (this.currentState === 'stopped') return;
        this.sendRaw(socket, this.hello());
        this.failures = 0;
        this.setState('open');
        this.startHeartbeat();
      },
      onMessage: (data) => this.onMessage(data),
      onClose: (code, reason, httpStatus) => {
        if (closed) return;
        closed = true;
        if (this.socket === socket) this.socket = null;
        this.onDisconnect(code, reason, httpStatus);
      },
    };
    let socket: RunnerSocket;
    const factory = this.options.socketFactory;
    if (factory !== undefined) {
      socket = factory(url.toString(), headers, callbacks);
      this.socket = socket;
      return;
    }
    // Node default, loaded lazily so the browser build never touches `ws`.
    socket = { send: () => undefined, close: () => undefined };
    import('./node-socket')
      .then(({ nodeSocketFactory }) => {
        if (this.currentState === 'stopped') return;
        socket = nodeSocketFactory(url.toString(), headers, callbacks);
        this.socket = socket;
      })
      .catch((error: unknown) =>
        callbacks.onClose(1006, `cannot load the WebSocket client: ${String(error)}`),
      );
  }

  private hello(): HelloMessage {
    return {
      type: 'hello',
      runnerId: this.runnerId,
      model: this.options.model,
      backend: this.options.backend,
      capacity: this.capacity,
      banks: this.banks.ids(),
      protocol: RUNNER_PROTOCOL_VERSION,
    };
  }

  private onDisconnect(code: number, reason: string, httpStatus?: number): void {
    this.stopHeartbeat();
    // The dispatcher re-queues what this connection held; finishing it would be wasted work.
    for (const job of this.jobs.values()) job.abort.abort(new Error('connection lost'));
    if (this.currentState === 'stopped') return;
    const fatal =
      (httpStatus !== undefined && FATAL_HTTP.has(httpStatus)) || FATAL_CLOSE_CODES.has(code)
        ? new Error(
            `dispatcher refused this runner: ${httpStatus !== undefined ? `HTTP ${httpStatus}` : `${code} ${reason}`}`,
          )
        : null;
    if (fatal !== null) {
      this.fatal = fatal;
      this.log('error', 'runner stopped', { reason: fatal.message });
      void this.stop();
      return;
    }
    const delay = this.backoffDelay();
    this.failures += 1;
    this.log('warn', 'disconnected; reconnecting', { code, reason, httpStatus, delayMs: Math.round(delay) });
    this.setState('waiting');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.currentState === 'waiting') this.connect();
    }, delay);
  }

  /** Exponential backoff with ± jitter (delay before reconnect attempt `failures + 1`). */
  private backoffDelay(): number {
    const options = this.options.reconnect ?? {};
    const initial = options.initialDelayMs ?? 500;
    const max = options.maxDelayMs ?? 30_000;
    const factor = options.factor ?? 2;
    const jitter = options.jitter ?? 0.2;
    const base = Math.min(max, initial * factor ** this.failures);
    return Math.max(0, base * (1 + jitter * (2 * Math.random() - 1)));
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    this.heartbeatTimer = setInterval(() => {
      this.send({
        type: 'heartbeat',
        load: Math.min(1, this.jobs.size / this.capacity),
        banks: this.banks.ids(),
      });
    }, this.heartbeatIntervalMs);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  // ---- messages ----

  /**
   * A frame that does not parse is logged and dropped, not answered by closing: the
   * dispatcher is the authority on the connection (closing would re-queue every job this
   * runner holds, over one bad frame), and a newer dispatcher may send a message type or
   * value this runner does not know yet. A dropped job times out on the dispatcher's side.
   */
  private onMessage(data: string): void {
    const parsed = parseDispatcherMessage(data, this.maxMessageChars);
    if (!parsed.ok) {
      this.log('warn', 'ignored a malformed dispatcher message', { reason: parsed.reason });
      return;
    }
    const message = parsed.message;
    if (message.type === 'job') this.onJob(message);
    else if (message.type === 'cancel') this.onCancel(message.jobId);
  }

  private onCancel(jobId: string): void {
    const job = this.jobs.get(jobId);
    if (job !== undefined) job.abort.abort(new Error('cancelled by the dispatcher'));
    this.cancelled.add(jobId);
    if (this.cancelled.size > CANCELLED_MEMORY) {
      const oldest = this.cancelled.values().next().value;
      if (oldest !== undefined) this.cancelled.delete(oldest);
    }
  }

  private onJob(job: JobMessage): void {
    if (this.cancelled.has(job.jobId)) return;
    const previous = this.jobs.get(job.jobId);
    if (previous !== undefined) previous.abort.abort(new Error(`superseded by attempt ${job.attempt}`));
    const abort = new AbortController();
    const deadline = setTimeout(() => abort.abort(new Error('deadline passed')), Math.max(0, job.deadlineMs));
    const done = this.run(job, abort.signal).finally(() => {
      clearTimeout(deadline);
      if (this.jobs.get(job.jobId)?.abort === abort) this.jobs.delete(job.jobId);
    });
    this.jobs.set(job.jobId, { attempt: job.attempt, abort, done });
  }

  private async run(job: JobMessage, signal: AbortSignal): Promise<void> {
    const context: JobContext = {
      signal,
      onProgress: (step, total, timestep) => {
        if (signal.aborted) return;
        this.send({ type: 'progress', jobId: job.jobId, attempt: job.attempt, step, total, timestep });
      },
      fetchBank: (bankId) => this.banks.get(bankId),
    };
    try {
      const output = await this.options.handler(job, context);
      if (signal.aborted) return;
      this.send({
        type: 'result',
        jobId: job.jobId,
        attempt: job.attempt,
        pngBase64: toBase64(output.png),
        timings: output.timings,
        backend: output.backend ?? this.options.backend,
      });
    } catch (error) {
      // Cancelled, timed out or disconnected: the dispatcher has moved on; say nothing.
      if (signal.aborted) return;
      const failure =
        error instanceof JobError || error instanceof BankFetchError
          ? { code: error.code, message: error.message, retryable: error.retryable }
          : {
              code: 'runner_error',
              message: error instanceof Error ? error.message : String(error),
              retryable: true,
            };
      this.log('warn', 'job failed', { jobId: job.jobId, attempt: job.attempt, ...failure });
      this.send({ type: 'failed', jobId: job.jobId, attempt: job.attempt, ...failure });
    }
  }

  private send(message: RunnerToDispatcher): void {
    if (this.socket !== null && this.currentState === 'open') this.sendRaw(this.socket, message);
  }

  private sendRaw(socket: RunnerSocket, message: RunnerToDispatcher): void {
    try {
      socket.send(JSON.stringify(message));
    } catch (error) {
      this.log('warn', 'send failed', { type: message.type, error: String(error) });
    }
  }

  private setState(state: RunnerClientState): void {
    this.currentState = state;
    for (const listener of [...this.listeners]) listener(state);
  }

  private log(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown> = {}): void {
    this.options.log?.(level, message, { runnerId: this.runnerId, ...fields });
  }
}

/** Standard padded base64 of bytes, without Node's Buffer. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}
