/**
 * The dispatcher: one SQLite-backed Durable Object per base model. GPU runners dial in over
 * hibernatable WebSockets and announce capacity and the banks they hold; callers submit jobs
 * through RPC. This class is the shell that wires plain parts to the platform; the parts
 * decide and their unit tests (worker/test/unit/) drive them without workerd:
 *
 * - `JobQueue` (job-queue.ts): the bounded FIFO of waiting jobs, QUEUE_LIMIT, deadlines;
 * - `JobLedger` (job-ledger.ts): job states and attempts — claiming a result, re-queueing a
 *   lost attempt up to MAX_ATTEMPTS, ignoring reports of superseded attempts;
 * - `RunnerRegistry` (runner-registry.ts): runner connections, hello, heartbeats, silence;
 * - `routeJobs` (routing-policy.ts): bank affinity, then load;
 * - `SubscriberHub` (subscriber-hub.ts): SSE streams, forward-only progress, keep-alives.
 *
 * The shell owns what they must not touch: the object's SQLite (through `SqlJobStore`), the
 * WebSockets and their attachments (the registry's state, which survives hibernation), the
 * alarm (deadlines and runner silence), and the D1 rows and R2 objects of jobs (the PNG goes
 * to `results/<jobId>.png`, every state change of a job to its D1 row).
 *
 * Ordering rule: every decision (claiming a result, re-queueing, cancelling) is made
 * synchronously against SQLite before any `await`, because D1 and R2 calls do not hold the
 * object's input gate and other socket messages may run while they are in flight.
 */
import { DurableObject } from 'cloudflare:workers';
import {
  RUNNER_CLOSE_CODES,
  type DispatcherToRunner,
  type HelloMessage,
  type ResultMessage,
  type ResultTimings,
  type RunnerToDispatcher,
} from '@maskunet/contract';
import { limitsFromEnv, type WorkerLimits } from '../config';
import { createLogger, logLevelFrom, type Logger } from '../log';
import type { JobRecord } from './job-store';
import { JobLedger, type SettledAttempt } from './job-ledger';
import { JobQueue } from './job-queue';
import { routeJobs, type RunnerCandidate } from './routing-policy';
import { RunnerRegistry, type ReadyState, type RunnerConnections, type RunnerState } from './runner-registry';
import { decodeBase64, isPng, parseRunnerMessage } from './runner-messages';
import { SqlJobStore } from './sql-job-store';
import { SubscriberHub } from './subscriber-hub';
import type { CancelResult, DispatchJob, DispatcherSummary, SubmitResult } from './types';

export type { CancelResult, DispatchJob, DispatcherSummary, SubmitResult } from './types';

/** A ready runner during a dispatch pass. */
type Ready = { readonly connection: WebSocket; readonly state: ReadyState };

export class Dispatcher extends DurableObject<Env> {
  private readonly limits: WorkerLimits;
  private readonly log: Logger;
  private readonly queue: JobQueue;
  private readonly ledger: JobLedger;
  private readonly runners: RunnerRegistry<WebSocket>;
  private readonly hub: SubscriberHub;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.limits = limitsFromEnv(env);
    this.log = createLogger(
      { component: 'dispatcher', object: ctx.id.toString().slice(0, 12) },
      logLevelFrom(env),
    );
    const clock = Date.now;
    const store = new SqlJobStore(ctx.storage.sql);
    this.queue = new JobQueue(store, {
      limit: this.limits.queueLimit,
      jobTimeoutMs: this.limits.jobTimeoutMs,
      clock,
    });
    this.ledger = new JobLedger(store, { maxAttempts: this.limits.maxAttempts, clock });
    this.runners = new RunnerRegistry(socketConnections(ctx), {
      heartbeatTimeoutMs: this.limits.runnerHeartbeatTimeoutMs,
      clock,
    });
    this.hub = new SubscriberHub({ keepAliveMs: this.limits.sseKeepAliveMs });
  }

  // ---- RPC from the worker ----

  /** Queues a job; with `stream`, also returns its server-sent event stream. */
  async submit(job: DispatchJob, options: { stream: boolean }): Promise<SubmitResult> {
    const admitted = this.queue.enqueue(job);
    if (!admitted.ok) {
      return {
        ok: false,
        code: 'queue_full',
        message: `the queue of this model holds ${admitted.queued} jobs`,
      };
    }
    const { position } = admitted;
    const stream = options.stream ? this.hub.open(job.jobId) : null;
    this.hub.emit(job.jobId, 'queued', { jobId: job.jobId, position, attempt: 1 });
    this.log.info('job queued', { jobId: job.jobId, requestId: job.requestId, position });
    await this.dispatch();
    await this.scheduleAlarm();
    return { ok: true, position, stream };
  }

  /** Cancels a queued or running job (the runner is told to stop). */
  async cancel(jobId: string): Promise<CancelResult> {
    const found = this.ledger.cancellation(jobId);
    if (found === 'unknown' || found === 'finishing') return found;
    if (found.state === 'running' && found.runnerId !== null) {
      this.sendTo(found.runnerId, { type: 'cancel', jobId });
    }
    await this.finishFailed(found, 'cancelled', 'cancelled', 'cancelled by the caller');
    await this.dispatch();
    return 'cancelled';
  }

  /** Connected runners and queue depth, for GET /v1/models. */
  summary(): DispatcherSummary {
    const runners = this.runners.ready().map(({ state }) => ({
      runnerId: state.runnerId,
      backend: state.backend,
      capacity: state.capacity,
      running: this.ledger.runningOn(state.runnerId),
      banks: state.banks,
    }));
    return {
      count: runners.length,
      backends: [...new Set(runners.map((r) => r.backend))].sort(),
      ...this.ledger.counts(),
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
    this.runners.accept(server, model);
    await this.scheduleAlarm();
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (typeof message !== 'string')
      return this.protocolError(ws, 'binary frames are not part of the protocol');
    // A result carries base64 PNG (4/3 of the bytes); everything else is small.
    const parsed = parseRunnerMessage(message, Math.ceil((this.limits.maxResultBytes * 4) / 3) + 4096);
    if (!parsed.ok) return this.protocolError(ws, parsed.reason);
    const state = this.runners.state(ws);
    // A socket already dropped (replaced, timed out) may still deliver frames: nothing it
    // says can be current any more.
    if (state === null) return;
    const msg = parsed.message;
    if (state.phase === 'connecting') {
      // Frames of one socket can reach this object out of order (observed in workerd under
      // load), so a heartbeat that overtook its hello is dropped rather than fatal.
      if (msg.type === 'heartbeat') return;
      if (msg.type !== 'hello') return this.protocolError(ws, 'the first message must be hello');
      return this.onHello(ws, msg);
    }
    await this.onReadyMessage(ws, msg);
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
    for (const socket of this.runners.silent()) {
      this.closeSocket(socket, RUNNER_CLOSE_CODES.heartbeatTimeout, 'heartbeat timeout');
      await this.onRunnerGone(socket, 'heartbeat timeout');
    }
    const expired = this.ledger.due().map((record) => {
      if (record.state === 'running' && record.runnerId !== null) {
        this.sendTo(record.runnerId, { type: 'cancel', jobId: record.jobId });
      }
      return this.finishFailed(
        record,
        'failed',
        'timeout',
        `no result within ${this.limits.jobTimeoutMs} ms`,
      );
    });
    await Promise.all(expired);
    await this.dispatch();
    await this.scheduleAlarm(true);
  }

  // ---- internals ----

  private async onHello(ws: WebSocket, hello: HelloMessage): Promise<void> {
    const admission = this.runners.admit(ws, hello);
    if (!admission.ok) {
      this.closeSocket(ws, admission.closeCode, admission.reason);
      return;
    }
    // A runner that reconnects before its old socket was noticed gone replaces it; the old
    // socket's jobs are re-queued as new attempts (their late results are then ignored).
    for (const old of admission.replaces) {
      this.closeSocket(old, RUNNER_CLOSE_CODES.replaced, 'replaced by a newer connection');
      await this.onRunnerGone(old, 'replaced');
    }
    this.runners.register(ws, hello);
    this.log.info('runner ready', {
      runnerId: hello.runnerId,
      backend: hello.backend,
      capacity: hello.capacity,
    });
    await this.dispatch();
    await this.scheduleAlarm();
  }

  private async onReadyMessage(ws: WebSocket, msg: RunnerToDispatcher): Promise<void> {
    if (msg.type === 'hello') return this.protocolError(ws, 'hello was already sent');
    if (msg.type === 'heartbeat') {
      this.runners.heartbeat(ws, msg.load, msg.banks);
      await this.dispatch();
      await this.scheduleAlarm();
      return;
    }
    const runner = this.runners.touch(ws);
    if (runner === null) return;
    switch (msg.type) {
      case 'progress': {
        if (this.ledger.current(runner.runnerId, msg.jobId, msg.attempt) === null) return;
        // Callers see progress only move forward, even when frames arrive out of order.
        this.hub.progress(msg.attempt, {
          jobId: msg.jobId,
          step: msg.step,
          total: msg.total,
          timestep: msg.timestep,
        });
        return;
      }
      case 'result':
        return this.onResult(runner, msg);
      case 'failed': {
        const settled = this.ledger.failAttempt(runner.runnerId, msg.jobId, msg.attempt, msg.retryable);
        if (settled === null) {
          this.log.info('ignored failure of a superseded attempt', {
            jobId: msg.jobId,
            attempt: msg.attempt,
          });
          return;
        }
        await this.settled(settled, `runner ${runner.runnerId} failed: ${msg.code}`, msg.code, msg.message);
        await this.dispatch();
        await this.scheduleAlarm();
        return;
      }
    }
  }

  private async onResult(runner: ReadyState, msg: ResultMessage): Promise<void> {
    // Claimed before any await: a duplicate arriving meanwhile finds the job finishing.
    const record = this.ledger.claimResult(runner.runnerId, msg.jobId, msg.attempt);
    if (record === null) {
      this.log.info('ignored result of a superseded attempt', { jobId: msg.jobId, attempt: msg.attempt });
      return;
    }
    await this.dispatch();
    const png = decodeBase64(msg.pngBase64);
    if (png === null || !isPng(png) || png.length > this.limits.maxResultBytes) {
      await this.finishFailed(
        record,
        'failed',
        'bad_result',
        png === null || !isPng(png)
          ? 'the runner sent something other than a PNG'
          : `the runner's PNG is larger than ${this.limits.maxResultBytes} bytes`,
      );
      return;
    }
    const timings: ResultTimings = {
      queueMs: Math.max(0, (record.dispatchedAt ?? record.submittedAt) - record.submittedAt),
      bankFetchMs: msg.timings.bankFetchMs,
      stepsMs: msg.timings.stepsMs,
      encodeMs: msg.timings.encodeMs,
    };
    const imageKey = `results/${record.jobId}.png`;
    try {
      await this.env.BANKS.put(imageKey, png, { httpMetadata: { contentType: 'image/png' } });
      await this.env.DB.prepare(
        `UPDATE jobs SET status = 'done', backend = ?, timings_json = ?, image_key = ?, finished_at = ?
          WHERE id = ? AND status IN ('queued', 'running')`,
      )
        .bind(msg.backend, JSON.stringify(timings), imageKey, Date.now(), record.jobId)
        .run();
    } catch (error) {
      this.log.error('storing a result failed', { jobId: record.jobId, error: String(error) });
      await this.finishFailed(record, 'failed', 'internal_error', 'the result could not be stored');
      return;
    }
    this.ledger.end(record.jobId);
    this.hub.emit(record.jobId, 'done', {
      jobId: record.jobId,
      imageUrl: `/v1/jobs/${record.jobId}/image`,
      timings,
    });
    this.hub.close(record.jobId);
    this.log.info('job done', {
      jobId: record.jobId,
      runnerId: runner.runnerId,
      attempt: record.attempt,
      ...timings,
    });
  }

  /** Re-queues the jobs of a runner that is gone (or fails them when out of attempts). */
  private async onRunnerGone(ws: WebSocket, why: string): Promise<void> {
    // Forgotten first, so dispatch skips the socket while its close is still being delivered.
    const runner = this.runners.forget(ws);
    if (runner === null) return;
    // Another live socket with the same id (a reconnect) keeps nothing of this one's jobs:
    // they were dispatched on this socket, so they are re-queued either way.
    const orphans = this.ledger.orphan(runner.runnerId);
    this.log.warn('runner gone', { runnerId: runner.runnerId, why, jobs: orphans.length });
    await Promise.all(
      orphans.map((settled) =>
        this.settled(
          settled,
          `runner ${runner.runnerId}: ${why}`,
          'runner_lost',
          `runner lost ${settled.record.attempt} times (${why})`,
        ),
      ),
    );
    await this.dispatch();
    await this.scheduleAlarm();
  }

  /**
   * Tells callers and D1 what the ledger decided about an attempt without a result. Its
   * synchronous part (events, logs, starting the D1 write) runs before it returns.
   */
  private settled(settled: SettledAttempt, why: string, code: string, message: string): Promise<void> {
    const { record } = settled;
    if (settled.outcome === 'ended') return this.finishFailed(record, 'failed', code, message);
    const position = this.queue.positionOf(record);
    this.hub.emit(record.jobId, 'queued', { jobId: record.jobId, position, attempt: record.attempt + 1 });
    this.log.info('job re-queued', { jobId: record.jobId, attempt: record.attempt, why });
    // Guarded by the attempt: if the next dispatch's write lands first, this one changes nothing.
    return this.env.DB.prepare(
      `UPDATE jobs SET status = 'queued', runner_id = NULL WHERE id = ? AND attempt = ? AND status = 'running'`,
    )
      .bind(record.jobId, record.attempt)
      .run()
      .then(() => undefined);
  }

  /** Ends a job that did not produce an image: ledger, subscribers, D1 row. */
  private async finishFailed(
    record: JobRecord,
    status: 'failed' | 'cancelled',
    code: string,
    message: string,
  ): Promise<void> {
    this.ledger.end(record.jobId);
    this.hub.emit(record.jobId, 'error', { jobId: record.jobId, code, message });
    this.hub.close(record.jobId);
    this.log.info(`job ${status}`, { jobId: record.jobId, code, attempt: record.attempt });
    await this.env.DB.prepare(
      `UPDATE jobs SET status = ?, error_code = ?, error_message = ?, finished_at = ?
        WHERE id = ? AND status IN ('queued', 'running')`,
    )
      .bind(status, code, message, Date.now(), record.jobId)
      .run();
  }

  /** Hands queued jobs, oldest first, to runners with free slots (routing-policy.ts). */
  private async dispatch(): Promise<void> {
    const waiting = this.queue.waiting();
    if (waiting.length === 0) return;
    const now = Date.now();
    const candidates: RunnerCandidate<Ready>[] = this.runners.ready().map((runner) => ({
      runner,
      runnerId: runner.state.runnerId,
      capacity: runner.state.capacity,
      running: this.ledger.runningOn(runner.state.runnerId),
      load: runner.state.load,
      banks: runner.state.banks,
      lastAssigned: runner.state.lastAssigned,
    }));
    const writes: Promise<unknown>[] = [];
    routeJobs(
      waiting,
      (record) => record.spec.bankId,
      candidates,
      now,
      (record, { runner: { connection, state } }) => {
        const { spec } = record;
        const attempt = record.attempt + 1;
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
          deadlineMs: Math.max(0, record.deadline - now),
        };
        try {
          connection.send(JSON.stringify(job));
        } catch {
          // The socket died under us; its close handler re-queues what it held.
          return false;
        }
        this.ledger.start(record.jobId, state.runnerId);
        this.runners.assigned(connection, spec.bankId);
        this.hub.emit(spec.jobId, 'started', {
          jobId: spec.jobId,
          runnerId: state.runnerId,
          backend: state.backend,
          attempt,
        });
        this.log.info('job dispatched', { jobId: spec.jobId, runnerId: state.runnerId, attempt });
        writes.push(
          this.env.DB.prepare(
            `UPDATE jobs SET status = 'running', attempt = ?, runner_id = ?, backend = ?, started_at = coalesce(started_at, ?)
              WHERE id = ? AND status IN ('queued', 'running') AND attempt < ?`,
          )
            .bind(attempt, state.runnerId, state.backend, now, spec.jobId, attempt)
            .run(),
        );
        return true;
      },
    );
    await Promise.all(writes);
  }

  private sendTo(runnerId: string, message: DispatcherToRunner): void {
    for (const socket of this.runners.find(runnerId)) {
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
    const next = Math.min(
      this.ledger.nextDeadline() ?? Number.POSITIVE_INFINITY,
      this.runners.nextExpiry() ?? Number.POSITIVE_INFINITY,
    );
    const current = await this.ctx.storage.getAlarm();
    if (next === Number.POSITIVE_INFINITY) {
      if (current !== null) await this.ctx.storage.deleteAlarm();
      return;
    }
    // Only move the alarm earlier; a late alarm that finds nothing due just reschedules.
    if (force || current === null || next < current) await this.ctx.storage.setAlarm(next);
  }
}

/** The registry's state lives in each socket's serialized attachment (kept across hibernation). */
function socketConnections(ctx: DurableObjectState): RunnerConnections<WebSocket> {
  return {
    list: () => ctx.getWebSockets(),
    read: (socket) => socket.deserializeAttachment() as RunnerState | null,
    write: (socket, state) => {
      if (state !== null) {
        socket.serializeAttachment(state);
        return;
      }
      try {
        socket.serializeAttachment(null);
      } catch {
        // A socket that is fully closed keeps its last attachment; nothing reads it again.
      }
    },
  };
}
