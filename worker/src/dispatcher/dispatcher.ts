/**
 * The dispatcher: one SQLite-backed Durable Object per base model. GPU runners dial in over
 * hibernatable WebSockets and announce capacity and the banks they hold; callers submit jobs
 * through RPC. Jobs wait in a bounded FIFO queue (kept in the object's SQLite, so a restart
 * or hibernation loses no job) and go to the runner with a free slot that holds the job's
 * bank, else the least loaded one. A job whose runner closes its socket or falls silent is
 * re-queued as a new attempt (up to MAX_ATTEMPTS); messages about superseded attempts are
 * ignored, so a caller never sees two results. Deadlines and runner silence are enforced by
 * the object's alarm. Progress streams to SSE subscribers; the PNG goes to R2
 * (`results/<jobId>.png`) and every state change of a job to its D1 row.
 *
 * Ordering rule: every decision (claiming a result, re-queueing, cancelling) is made
 * synchronously against SQLite before any `await`, because D1 and R2 calls do not hold the
 * object's input gate and other socket messages may run while they are in flight.
 */
import { DurableObject } from 'cloudflare:workers';
import type { GenerateEvents, RunnerSummary } from '../contract/api';
import {
  RUNNER_CLOSE_CODES,
  RUNNER_PROTOCOL_VERSION,
  type DispatcherToRunner,
  type HelloMessage,
  type ResultMessage,
  type ResultTimings,
  type RunnerToDispatcher,
  type SamplerName,
} from '../contract/runner-protocol';
import { limitsFromEnv, type WorkerLimits } from '../config';
import { createLogger, logLevelFrom, type Logger } from '../log';
import { decodeBase64, isPng, parseRunnerMessage } from './runner-messages';

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

/** Per-socket state, kept as the socket's serialized attachment so it survives hibernation. */
type SocketState =
  | { readonly phase: 'connecting'; readonly model: string; readonly connectedAt: number }
  | {
      readonly phase: 'ready';
      readonly model: string;
      readonly runnerId: string;
      readonly backend: string;
      readonly capacity: number;
      readonly banks: readonly string[];
      readonly load: number;
      readonly lastSeen: number;
      readonly lastAssigned: number;
    };

type ReadyState = Extract<SocketState, { phase: 'ready' }>;

interface JobRow extends Record<string, SqlStorageValue> {
  job_id: string;
  spec: string;
  state: 'queued' | 'running' | 'finishing';
  attempt: number;
  runner_id: string | null;
  deadline: number;
  submitted_at: number;
  dispatched_at: number | null;
}

type EventName = keyof GenerateEvents;

const encoder = new TextEncoder();
/** An SSE comment: clients ignore it; it keeps idle connections open through proxies. */
const KEEP_ALIVE = encoder.encode(': keep-alive\n\n');

export class Dispatcher extends DurableObject<Env> {
  private readonly limits: WorkerLimits;
  private readonly log: Logger;
  private readonly subscribers = new Map<string, Set<WritableStreamDefaultWriter<Uint8Array>>>();
  /** Highest progress step sent to callers per `jobId#attempt` (in memory: progress is advisory). */
  private readonly lastStep = new Map<string, number>();
  /** Writes keep-alive comments to every open stream while there is one. */
  private keepAlive: ReturnType<typeof setInterval> | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.limits = limitsFromEnv(env);
    this.log = createLogger(
      { component: 'dispatcher', object: ctx.id.toString().slice(0, 12) },
      logLevelFrom(env),
    );
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS jobs (
      job_id TEXT PRIMARY KEY,
      seq INTEGER NOT NULL,
      spec TEXT NOT NULL,
      state TEXT NOT NULL,
      attempt INTEGER NOT NULL,
      runner_id TEXT,
      deadline INTEGER NOT NULL,
      submitted_at INTEGER NOT NULL,
      dispatched_at INTEGER
    )`);
  }

  // ---- RPC from the worker ----

  /** Queues a job; with `stream`, also returns its server-sent event stream. */
  async submit(job: DispatchJob, options: { stream: boolean }): Promise<SubmitResult> {
    const sql = this.ctx.storage.sql;
    const queued = sql.exec<{ n: number }>(`SELECT count(*) AS n FROM jobs WHERE state = 'queued'`).one().n;
    if (queued >= this.limits.queueLimit) {
      return { ok: false, code: 'queue_full', message: `the queue of this model holds ${queued} jobs` };
    }
    const now = Date.now();
    const seq = sql.exec<{ s: number }>(`SELECT coalesce(max(seq), 0) + 1 AS s FROM jobs`).one().s;
    sql.exec(
      `INSERT INTO jobs (job_id, seq, spec, state, attempt, deadline, submitted_at) VALUES (?, ?, ?, 'queued', 0, ?, ?)`,
      job.jobId,
      seq,
      JSON.stringify(job),
      now + this.limits.jobTimeoutMs,
      now,
    );
    let stream: ReadableStream<Uint8Array> | null = null;
    if (options.stream) {
      const pipe = new TransformStream<Uint8Array, Uint8Array>();
      this.subscribe(job.jobId, pipe.writable.getWriter());
      stream = pipe.readable;
    }
    this.emit(job.jobId, 'queued', { jobId: job.jobId, position: queued, attempt: 1 });
    this.log.info('job queued', { jobId: job.jobId, requestId: job.requestId, position: queued });
    await this.dispatch();
    await this.scheduleAlarm();
    return { ok: true, position: queued, stream };
  }

  /** Cancels a queued or running job (the runner is told to stop). */
  async cancel(jobId: string): Promise<CancelResult> {
    const row = this.job(jobId);
    if (row === null) return 'unknown';
    if (row.state === 'finishing') return 'finishing';
    if (row.state === 'running' && row.runner_id !== null) {
      this.sendTo(row.runner_id, { type: 'cancel', jobId });
    }
    await this.finishFailed(row, 'cancelled', 'cancelled', 'cancelled by the caller');
    await this.dispatch();
    return 'cancelled';
  }

  /** Connected runners and queue depth, for GET /v1/models. */
  summary(): DispatcherSummary {
    const runners = this.readyRunners().map(({ state }) => ({
      runnerId: state.runnerId,
      backend: state.backend,
      capacity: state.capacity,
      running: this.runningOn(state.runnerId),
      banks: state.banks,
    }));
    const counts = this.ctx.storage.sql
      .exec<{ state: string; n: number }>(`SELECT state, count(*) AS n FROM jobs GROUP BY state`)
      .toArray();
    const count = (state: string): number => counts.find((c) => c.state === state)?.n ?? 0;
    return {
      count: runners.length,
      backends: [...new Set(runners.map((r) => r.backend))].sort(),
      queued: count('queued'),
      running: count('running') + count('finishing'),
      runners,
    };
  }

  // ---- runner sockets ----

  /** The WebSocket upgrade, already authenticated by the worker (runner token, model exists). */
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const model = url.searchParams.get('model') ?? '';
    if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('expected a WebSocket upgrade', { status: 426 });
    }
    const pair = new WebSocketPair();
    const server = pair[1];
    this.ctx.acceptWebSocket(server);
    const state: SocketState = { phase: 'connecting', model, connectedAt: Date.now() };
    server.serializeAttachment(state);
    await this.scheduleAlarm();
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (typeof message !== 'string')
      return this.protocolError(ws, 'binary frames are not part of the protocol');
    // A result carries base64 PNG (4/3 of the bytes); everything else is small.
    const parsed = parseRunnerMessage(message, Math.ceil((this.limits.maxResultBytes * 4) / 3) + 4096);
    if (!parsed.ok) return this.protocolError(ws, parsed.reason);
    const state = ws.deserializeAttachment() as SocketState;
    const msg = parsed.message;
    if (state.phase === 'connecting') {
      // Frames of one socket can reach this object out of order (observed in workerd under
      // load), so a heartbeat that overtook its hello is dropped rather than fatal.
      if (msg.type === 'heartbeat') return;
      if (msg.type !== 'hello') return this.protocolError(ws, 'the first message must be hello');
      return this.onHello(ws, state, msg);
    }
    const seen: ReadyState = { ...state, lastSeen: Date.now() };
    await this.onReadyMessage(ws, seen, msg);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      ws.close(code === 1005 ? 1000 : code, reason);
    } catch {
      // Already closed from our side.
    }
    await this.onRunnerGone(ws, `socket closed (${code})`);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    await this.onRunnerGone(ws, `socket error: ${String(error)}`);
  }

  // ---- timers ----

  override async alarm(): Promise<void> {
    const now = Date.now();
    for (const socket of this.ctx.getWebSockets()) {
      const state = socket.deserializeAttachment() as SocketState | null;
      if (state === null) continue;
      const lastHeard = state.phase === 'ready' ? state.lastSeen : state.connectedAt;
      if (lastHeard + this.limits.runnerHeartbeatTimeoutMs <= now) {
        this.closeSocket(socket, RUNNER_CLOSE_CODES.heartbeatTimeout, 'heartbeat timeout');
        await this.onRunnerGone(socket, 'heartbeat timeout');
      }
    }
    const expired = this.ctx.storage.sql
      .exec<JobRow>(`SELECT * FROM jobs WHERE deadline <= ? AND state != 'finishing' ORDER BY seq`, now)
      .toArray();
    for (const row of expired) {
      if (row.state === 'running' && row.runner_id !== null) {
        this.sendTo(row.runner_id, { type: 'cancel', jobId: row.job_id });
      }
      await this.finishFailed(row, 'failed', 'timeout', `no result within ${this.limits.jobTimeoutMs} ms`);
    }
    await this.dispatch();
    await this.scheduleAlarm(true);
  }

  // ---- internals ----

  private async onHello(
    ws: WebSocket,
    state: Extract<SocketState, { phase: 'connecting' }>,
    hello: HelloMessage,
  ): Promise<void> {
    // Typed as the one version senders may write; at run time any number can arrive.
    const announced: number = hello.protocol;
    if (announced !== RUNNER_PROTOCOL_VERSION) {
      this.closeSocket(
        ws,
        RUNNER_CLOSE_CODES.unsupportedProtocol,
        `protocol ${RUNNER_PROTOCOL_VERSION} only`,
      );
      return;
    }
    if (hello.model !== state.model) {
      this.closeSocket(ws, RUNNER_CLOSE_CODES.wrongModel, `this dispatcher serves ${state.model}`);
      return;
    }
    // A runner that reconnects before its old socket was noticed gone replaces it; the old
    // socket's jobs are re-queued as new attempts (their late results are then ignored).
    for (const other of this.readyRunners()) {
      if (other.state.runnerId === hello.runnerId && other.socket !== ws) {
        this.closeSocket(other.socket, RUNNER_CLOSE_CODES.replaced, 'replaced by a newer connection');
        await this.onRunnerGone(other.socket, 'replaced');
      }
    }
    const ready: ReadyState = {
      phase: 'ready',
      model: state.model,
      runnerId: hello.runnerId,
      backend: hello.backend,
      capacity: hello.capacity,
      banks: [...hello.banks],
      load: 0,
      lastSeen: Date.now(),
      lastAssigned: 0,
    };
    ws.serializeAttachment(ready);
    this.log.info('runner ready', {
      runnerId: hello.runnerId,
      backend: hello.backend,
      capacity: hello.capacity,
    });
    await this.dispatch();
    await this.scheduleAlarm();
  }

  private async onReadyMessage(ws: WebSocket, state: ReadyState, msg: RunnerToDispatcher): Promise<void> {
    switch (msg.type) {
      case 'hello':
        return this.protocolError(ws, 'hello was already sent');
      case 'heartbeat':
        ws.serializeAttachment({ ...state, load: msg.load, banks: [...msg.banks] });
        await this.dispatch();
        await this.scheduleAlarm();
        return;
      case 'progress': {
        ws.serializeAttachment(state);
        const row = this.currentAttempt(state.runnerId, msg.jobId, msg.attempt);
        if (row === null || row.state !== 'running') return;
        // Callers see progress only move forward, even when frames arrive out of order.
        const key = `${msg.jobId}#${msg.attempt}`;
        if (msg.step <= (this.lastStep.get(key) ?? -1)) return;
        this.lastStep.set(key, msg.step);
        this.emit(msg.jobId, 'progress', {
          jobId: msg.jobId,
          step: msg.step,
          total: msg.total,
          timestep: msg.timestep,
        });
        return;
      }
      case 'result':
        ws.serializeAttachment(state);
        return this.onResult(state, msg);
      case 'failed': {
        ws.serializeAttachment(state);
        const row = this.currentAttempt(state.runnerId, msg.jobId, msg.attempt);
        if (row === null || row.state !== 'running') {
          this.log.info('ignored failure of a superseded attempt', {
            jobId: msg.jobId,
            attempt: msg.attempt,
          });
          return;
        }
        if (msg.retryable && row.attempt < this.limits.maxAttempts) {
          await this.requeue(row, `runner ${state.runnerId} failed: ${msg.code}`);
        } else {
          await this.finishFailed(row, 'failed', msg.code, msg.message);
        }
        await this.dispatch();
        await this.scheduleAlarm();
        return;
      }
    }
  }

  private async onResult(state: ReadyState, msg: ResultMessage): Promise<void> {
    const row = this.currentAttempt(state.runnerId, msg.jobId, msg.attempt);
    if (row === null || row.state !== 'running') {
      this.log.info('ignored result of a superseded attempt', { jobId: msg.jobId, attempt: msg.attempt });
      return;
    }
    // Claim the result before any await: a duplicate arriving meanwhile finds 'finishing'.
    this.ctx.storage.sql.exec(`UPDATE jobs SET state = 'finishing' WHERE job_id = ?`, row.job_id);
    await this.dispatch();
    const png = decodeBase64(msg.pngBase64);
    if (png === null || !isPng(png) || png.length > this.limits.maxResultBytes) {
      await this.finishFailed(
        row,
        'failed',
        'bad_result',
        png === null || !isPng(png)
          ? 'the runner sent something other than a PNG'
          : `the runner's PNG is larger than ${this.limits.maxResultBytes} bytes`,
      );
      return;
    }
    const timings: ResultTimings = {
      queueMs: Math.max(0, (row.dispatched_at ?? row.submitted_at) - row.submitted_at),
      bankFetchMs: msg.timings.bankFetchMs,
      stepsMs: msg.timings.stepsMs,
      encodeMs: msg.timings.encodeMs,
    };
    const imageKey = `results/${row.job_id}.png`;
    try {
      await this.env.BANKS.put(imageKey, png, { httpMetadata: { contentType: 'image/png' } });
      await this.env.DB.prepare(
        `UPDATE jobs SET status = 'done', backend = ?, timings_json = ?, image_key = ?, finished_at = ?
          WHERE id = ? AND status IN ('queued', 'running')`,
      )
        .bind(msg.backend, JSON.stringify(timings), imageKey, Date.now(), row.job_id)
        .run();
    } catch (error) {
      this.log.error('storing a result failed', { jobId: row.job_id, error: String(error) });
      await this.finishFailed(row, 'failed', 'internal_error', 'the result could not be stored');
      return;
    }
    this.ctx.storage.sql.exec(`DELETE FROM jobs WHERE job_id = ?`, row.job_id);
    this.emit(row.job_id, 'done', { jobId: row.job_id, imageUrl: `/v1/jobs/${row.job_id}/image`, timings });
    this.closeSubscribers(row.job_id);
    this.log.info('job done', {
      jobId: row.job_id,
      runnerId: state.runnerId,
      attempt: row.attempt,
      ...timings,
    });
  }

  /** Re-queues the jobs of a runner that is gone (or fails them when out of attempts). */
  private async onRunnerGone(ws: WebSocket, why: string): Promise<void> {
    const state = ws.deserializeAttachment() as SocketState | null;
    // Mark the socket so readyRunners() skips it while its close is still being delivered.
    try {
      ws.serializeAttachment(null);
    } catch {
      // A socket that is fully closed keeps its last attachment; nothing reads it again.
    }
    if (state === null || state.phase !== 'ready') return;
    // Another live socket with the same id (a reconnect) keeps nothing of this one's jobs:
    // they were dispatched on this socket, so they are re-queued either way.
    const rows = this.ctx.storage.sql
      .exec<JobRow>(`SELECT * FROM jobs WHERE runner_id = ? AND state = 'running'`, state.runnerId)
      .toArray();
    this.log.warn('runner gone', { runnerId: state.runnerId, why, jobs: rows.length });
    for (const row of rows) {
      if (row.attempt < this.limits.maxAttempts) await this.requeue(row, `runner ${state.runnerId}: ${why}`);
      else await this.finishFailed(row, 'failed', 'runner_lost', `runner lost ${row.attempt} times (${why})`);
    }
    await this.dispatch();
    await this.scheduleAlarm();
  }

  private async requeue(row: JobRow, why: string): Promise<void> {
    this.ctx.storage.sql.exec(
      `UPDATE jobs SET state = 'queued', runner_id = NULL WHERE job_id = ?`,
      row.job_id,
    );
    const position = this.ctx.storage.sql
      .exec<{ n: number }>(
        `SELECT count(*) AS n FROM jobs WHERE state = 'queued' AND seq < ?`,
        this.seqOf(row),
      )
      .one().n;
    this.emit(row.job_id, 'queued', { jobId: row.job_id, position, attempt: row.attempt + 1 });
    this.log.info('job re-queued', { jobId: row.job_id, attempt: row.attempt, why });
    // Guarded by the attempt: if the next dispatch's write lands first, this one changes nothing.
    await this.env.DB.prepare(
      `UPDATE jobs SET status = 'queued', runner_id = NULL WHERE id = ? AND attempt = ? AND status = 'running'`,
    )
      .bind(row.job_id, row.attempt)
      .run();
  }

  /** Ends a job that did not produce an image: D1 row, subscribers, local state. */
  private async finishFailed(
    row: JobRow,
    status: 'failed' | 'cancelled',
    code: string,
    message: string,
  ): Promise<void> {
    this.ctx.storage.sql.exec(`DELETE FROM jobs WHERE job_id = ?`, row.job_id);
    this.emit(row.job_id, 'error', { jobId: row.job_id, code, message });
    this.closeSubscribers(row.job_id);
    this.log.info(`job ${status}`, { jobId: row.job_id, code, attempt: row.attempt });
    await this.env.DB.prepare(
      `UPDATE jobs SET status = ?, error_code = ?, error_message = ?, finished_at = ?
        WHERE id = ? AND status IN ('queued', 'running')`,
    )
      .bind(status, code, message, Date.now(), row.job_id)
      .run();
  }

  /** Hands queued jobs, oldest first, to runners with free slots. */
  private async dispatch(): Promise<void> {
    const sql = this.ctx.storage.sql;
    const queued = sql.exec<JobRow>(`SELECT * FROM jobs WHERE state = 'queued' ORDER BY seq`).toArray();
    if (queued.length === 0) return;
    const runners = this.readyRunners().map((r) => ({ ...r, running: this.runningOn(r.state.runnerId) }));
    const writes: Promise<unknown>[] = [];
    const now = Date.now();
    for (const row of queued) {
      const spec = JSON.parse(row.spec) as DispatchJob;
      const free = runners.filter((r) => r.running < r.state.capacity);
      if (free.length === 0) break;
      const pick = free.sort((a, b) => rank(a, b, spec.bankId))[0]!;
      const attempt = row.attempt + 1;
      const job: DispatcherToRunner = {
        type: 'job',
        jobId: spec.jobId,
        attempt,
        model: spec.model,
        variant: spec.variant,
        bankId: spec.bankId,
        prompt: spec.prompt,
        seed: spec.seed,
        steps: spec.steps,
        guidance: spec.guidance,
        sampler: spec.sampler,
        deadlineMs: Math.max(0, row.deadline - now),
      };
      try {
        pick.socket.send(JSON.stringify(job));
      } catch {
        // The socket died under us; its close handler re-queues what it held.
        pick.running = Number.POSITIVE_INFINITY;
        continue;
      }
      sql.exec(
        `UPDATE jobs SET state = 'running', attempt = ?, runner_id = ?, dispatched_at = ? WHERE job_id = ?`,
        attempt,
        pick.state.runnerId,
        now,
        row.job_id,
      );
      pick.running += 1;
      const banks =
        spec.bankId === null || pick.state.banks.includes(spec.bankId)
          ? pick.state.banks
          : [...pick.state.banks, spec.bankId];
      pick.state = { ...pick.state, banks, lastAssigned: now };
      pick.socket.serializeAttachment(pick.state);
      this.emit(spec.jobId, 'started', {
        jobId: spec.jobId,
        runnerId: pick.state.runnerId,
        backend: pick.state.backend,
        attempt,
      });
      this.log.info('job dispatched', { jobId: spec.jobId, runnerId: pick.state.runnerId, attempt });
      writes.push(
        this.env.DB.prepare(
          `UPDATE jobs SET status = 'running', attempt = ?, runner_id = ?, backend = ?, started_at = coalesce(started_at, ?)
            WHERE id = ? AND status IN ('queued', 'running') AND attempt < ?`,
        )
          .bind(attempt, pick.state.runnerId, pick.state.backend, now, spec.jobId, attempt)
          .run(),
      );
    }
    await Promise.all(writes);
  }

  private readyRunners(): { socket: WebSocket; state: ReadyState }[] {
    const out: { socket: WebSocket; state: ReadyState }[] = [];
    for (const socket of this.ctx.getWebSockets()) {
      const state = socket.deserializeAttachment() as SocketState | null;
      if (state !== null && state.phase === 'ready') out.push({ socket, state });
    }
    return out;
  }

  private runningOn(runnerId: string): number {
    return this.ctx.storage.sql
      .exec<{ n: number }>(
        `SELECT count(*) AS n FROM jobs WHERE runner_id = ? AND state = 'running'`,
        runnerId,
      )
      .one().n;
  }

  private job(jobId: string): JobRow | null {
    return (
      this.ctx.storage.sql.exec<JobRow>(`SELECT * FROM jobs WHERE job_id = ?`, jobId).toArray()[0] ?? null
    );
  }

  private seqOf(row: JobRow): number {
    return this.ctx.storage.sql
      .exec<{ seq: number }>(`SELECT seq FROM jobs WHERE job_id = ?`, row.job_id)
      .one().seq;
  }

  /** The job row when (runner, job, attempt) is the job's current attempt, else null. */
  private currentAttempt(runnerId: string, jobId: string, attempt: number): JobRow | null {
    const row = this.job(jobId);
    if (row === null || row.runner_id !== runnerId || row.attempt !== attempt) return null;
    return row;
  }

  private sendTo(runnerId: string, message: DispatcherToRunner): void {
    for (const { socket, state } of this.readyRunners()) {
      if (state.runnerId !== runnerId) continue;
      try {
        socket.send(JSON.stringify(message));
      } catch {
        // Gone; the close handler deals with its jobs.
      }
    }
  }

  private protocolError(ws: WebSocket, reason: string): Promise<void> {
    this.log.warn('runner protocol error', { reason });
    this.closeSocket(ws, RUNNER_CLOSE_CODES.protocolError, reason.slice(0, 120));
    return this.onRunnerGone(ws, `protocol error: ${reason}`);
  }

  private closeSocket(ws: WebSocket, code: number, reason: string): void {
    try {
      ws.close(code, reason);
    } catch {
      // Already closed.
    }
  }

  /** Sets the alarm to the next deadline or heartbeat expiry (or clears it when idle). */
  private async scheduleAlarm(force = false): Promise<void> {
    let next = Number.POSITIVE_INFINITY;
    const deadline = this.ctx.storage.sql
      .exec<{ d: number | null }>(`SELECT min(deadline) AS d FROM jobs WHERE state != 'finishing'`)
      .one().d;
    if (deadline !== null) next = deadline;
    for (const socket of this.ctx.getWebSockets()) {
      const state = socket.deserializeAttachment() as SocketState | null;
      if (state === null) continue;
      const lastHeard = state.phase === 'ready' ? state.lastSeen : state.connectedAt;
      next = Math.min(next, lastHeard + this.limits.runnerHeartbeatTimeoutMs);
    }
    const current = await this.ctx.storage.getAlarm();
    if (next === Number.POSITIVE_INFINITY) {
      if (current !== null) await this.ctx.storage.deleteAlarm();
      return;
    }
    // Only move the alarm earlier; a late alarm that finds nothing due just reschedules.
    if (force || current === null || next < current) await this.ctx.storage.setAlarm(next);
  }

  private subscribe(jobId: string, writer: WritableStreamDefaultWriter<Uint8Array>): void {
    let set = this.subscribers.get(jobId);
    if (set === undefined) this.subscribers.set(jobId, (set = new Set()));
    set.add(writer);
    this.keepAlive ??= setInterval(() => {
      if (this.subscribers.size === 0) {
        clearInterval(this.keepAlive);
        this.keepAlive = undefined;
        return;
      }
      for (const streams of this.subscribers.values()) broadcast(streams, KEEP_ALIVE);
    }, this.limits.sseKeepAliveMs);
  }

  private emit<E extends EventName>(jobId: string, event: E, data: GenerateEvents[E]): void {
    const set = this.subscribers.get(jobId);
    if (set === undefined) return;
    broadcast(set, encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
  }

  private closeSubscribers(jobId: string): void {
    for (const key of this.lastStep.keys()) if (key.startsWith(`${jobId}#`)) this.lastStep.delete(key);
    const set = this.subscribers.get(jobId);
    if (set === undefined) return;
    this.subscribers.delete(jobId);
    for (const writer of set) writer.close().catch(() => undefined);
  }
}

/** Writes a chunk to every stream of a job; a stream whose caller went away is dropped (the job carries on and can be polled). */
function broadcast(set: Set<WritableStreamDefaultWriter<Uint8Array>>, chunk: Uint8Array): void {
  for (const writer of set) writer.write(chunk).catch(() => set.delete(writer));
}

/** Bank affinity first, then the lower load, then the runner idle longest, then id. */
function rank(
  a: { state: ReadyState; running: number },
  b: { state: ReadyState; running: number },
  bankId: string | null,
): number {
  if (bankId !== null) {
    const affinity = Number(b.state.banks.includes(bankId)) - Number(a.state.banks.includes(bankId));
    if (affinity !== 0) return affinity;
  }
  const load = (r: { state: ReadyState; running: number }): number =>
    Math.max(r.running / r.state.capacity, r.state.load);
  const byLoad = load(a) - load(b);
  if (byLoad !== 0) return byLoad;
  if (a.state.lastAssigned !== b.state.lastAssigned) return a.state.lastAssigned - b.state.lastAssigned;
  return a.state.runnerId < b.state.runnerId ? -1 : a.state.runnerId > b.state.runnerId ? 1 : 0;
}
