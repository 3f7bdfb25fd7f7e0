/**
 * The bounded FIFO of jobs waiting for a runner. Admission is where QUEUE_LIMIT applies: a
 * job is refused when `limit` jobs already wait (running jobs do not count), before anything
 * is stored. Order is submission order; a job re-queued after a lost attempt goes back to
 * its original place, ahead of jobs submitted after it. Each admitted job gets its deadline
 * (submission + `jobTimeoutMs`) here, so a retry never extends it.
 */
import type { JobRecord, JobStore } from './job-store';
import type { Clock, DispatchJob } from './types';

export interface JobQueueOptions {
  /** Jobs waiting before new ones are refused. The worker passes QUEUE_LIMIT (default 64). */
  readonly limit: number;
  /** Time from submission until the job fails with `timeout`. JOB_TIMEOUT_MS (default 120 s). */
  readonly jobTimeoutMs: number;
  readonly clock: Clock;
}

export type Admission =
  | {
      readonly ok: true;
      readonly record: JobRecord;
      /** Jobs waiting ahead of it. */ readonly position: number;
    }
  | {
      readonly ok: false;
      readonly code: 'queue_full';
      /** Jobs waiting when it was refused. */ readonly queued: number;
    };

export class JobQueue {
  private readonly limit: number;
  private readonly jobTimeoutMs: number;
  private readonly clock: Clock;

  /** @throws RangeError naming the option when `limit` or `jobTimeoutMs` is not a positive integer. */
  constructor(
    private readonly store: JobStore,
    options: JobQueueOptions,
  ) {
    for (const name of ['limit', 'jobTimeoutMs'] as const) {
      const value = options[name];
      if (!Number.isSafeInteger(value) || value <= 0) {
        throw new RangeError(`${name} must be a positive integer, got ${value}`);
      }
    }
    this.limit = options.limit;
    this.jobTimeoutMs = options.jobTimeoutMs;
    this.clock = options.clock;
  }

  /** Jobs waiting now. */
  get length(): number {
    return this.store.count('queued');
  }

  /** Stores `spec` as a queued job (attempt 0), unless the queue is full. */
  enqueue(spec: DispatchJob): Admission {
    const queued = this.length;
    if (queued >= this.limit) return { ok: false, code: 'queue_full', queued };
    const now = this.clock();
    const record = this.store.insert({
      jobId: spec.jobId,
      spec,
      state: 'queued',
      attempt: 0,
      runnerId: null,
      deadline: now + this.jobTimeoutMs,
      submittedAt: now,
      dispatchedAt: null,
    });
    return { ok: true, record, position: queued };
  }

  /** Waiting jobs, oldest submission first: the order they are offered to runners. */
  waiting(): JobRecord[] {
    return this.store.list('queued');
  }

  /** Jobs waiting ahead of `record` (submitted before it and still queued). */
  positionOf(record: JobRecord): number {
    return this.store.count('queued', { beforeSeq: record.seq });
  }
}
