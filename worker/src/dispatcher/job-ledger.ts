/**
 * The job ledger: every state change of a job the dispatcher holds, decided synchronously
 * against the job store. A job is `queued` (attempt n waits to be dispatched as n + 1),
 * `running` (attempt n is on runner r), or `finishing` (attempt n's result was claimed and
 * is being stored); it leaves the ledger when it ends. Only the current (runner, attempt)
 * may report on a job: anything else — a runner that was replaced, an attempt re-queued or
 * cancelled, a second result of the same attempt — is answered with null and changes
 * nothing, so a caller never sees two results. A lost or retryably failed attempt is
 * re-queued while attempts are left (MAX_ATTEMPTS), else the job ends.
 */
import type { JobRecord, JobStore } from './job-store';
import type { Clock } from './types';

export interface JobLedgerOptions {
  /** Dispatches per job before a lost runner fails it. MAX_ATTEMPTS (default 3). */
  readonly maxAttempts: number;
  readonly clock: Clock;
}

/** What became of an attempt that did not produce a result. */
export type AttemptOutcome = 'requeued' | 'ended';

export interface SettledAttempt {
  /** The job as it was before the change (its `attempt` is the one that was lost). */
  readonly record: JobRecord;
  readonly outcome: AttemptOutcome;
}

export class JobLedger {
  private readonly maxAttempts: number;
  private readonly clock: Clock;

  /** @throws RangeError when `maxAttempts` is not a positive integer. */
  constructor(
    private readonly store: JobStore,
    options: JobLedgerOptions,
  ) {
    if (!Number.isSafeInteger(options.maxAttempts) || options.maxAttempts <= 0) {
      throw new RangeError(`maxAttempts must be a positive integer, got ${options.maxAttempts}`);
    }
    this.maxAttempts = options.maxAttempts;
    this.clock = options.clock;
  }

  get(jobId: string): JobRecord | null {
    return this.store.get(jobId);
  }

  /** Slots a runner's attempts hold (a finishing job's slot is already free). */
  runningOn(runnerId: string): number {
    return this.store.count('running', { runnerId });
  }

  /** Jobs waiting, and jobs running or finishing. */
  counts(): { readonly queued: number; readonly running: number } {
    return {
      queued: this.store.count('queued'),
      running: this.store.count('running') + this.store.count('finishing'),
    };
  }

  /**
   * Marks a queued job as dispatched to `runnerId` as its next attempt, now.
   * @returns the attempt number (1 for the first dispatch).
   * @throws Error when the job is not queued (the caller took it from a stale list).
   */
  start(jobId: string, runnerId: string): number {
    const record = this.store.get(jobId);
    if (record === null || record.state !== 'queued') {
      throw new Error(`job ${jobId} is ${record?.state ?? 'unknown'}, not queued`);
    }
    const attempt = record.attempt + 1;
    this.store.update(jobId, { state: 'running', attempt, runnerId, dispatchedAt: this.clock() });
    return attempt;
  }

  /** The job when (runner, job, attempt) is its running attempt, else null. */
  current(runnerId: string, jobId: string, attempt: number): JobRecord | null {
    const record = this.store.get(jobId);
    if (record === null || record.state !== 'running') return null;
    if (record.runnerId !== runnerId || record.attempt !== attempt) return null;
    return record;
  }

  /**
   * Claims the result of a running attempt: the job becomes `finishing` and frees its slot.
   * @returns the job as it was, or null when the report is stale or a duplicate.
   */
  claimResult(runnerId: string, jobId: string, attempt: number): JobRecord | null {
    const record = this.current(runnerId, jobId, attempt);
    if (record !== null) this.store.update(jobId, { state: 'finishing' });
    return record;
  }

  /**
   * A runner's failure report: re-queued when `retryable` and attempts are left, else ended.
   * @returns null when the report is about an attempt that is not current.
   */
  failAttempt(runnerId: string, jobId: string, attempt: number, retryable: boolean): SettledAttempt | null {
    const record = this.current(runnerId, jobId, attempt);
    if (record === null) return null;
    return { record, outcome: this.settle(record, retryable) };
  }

  /** Settles every running attempt of a runner that is gone, oldest job first. */
  orphan(runnerId: string): SettledAttempt[] {
    return this.store
      .list('running', runnerId)
      .map((record) => ({ record, outcome: this.settle(record, true) }));
  }

  /** What a cancel meets: nothing, a job whose result is being stored, or a job to end. */
  cancellation(jobId: string): 'unknown' | 'finishing' | JobRecord {
    const record = this.store.get(jobId);
    if (record === null) return 'unknown';
    return record.state === 'finishing' ? 'finishing' : record;
  }

  /** Jobs past their deadline (not those whose result is being stored), oldest first. */
  due(): JobRecord[] {
    return this.store.due(this.clock());
  }

  nextDeadline(): number | null {
    return this.store.nextDeadline();
  }

  /** Forgets a job that ended (done, failed, cancelled); idempotent. */
  end(jobId: string): void {
    this.store.delete(jobId);
  }

  private settle(record: JobRecord, retryable: boolean): AttemptOutcome {
    if (retryable && record.attempt < this.maxAttempts) {
      this.store.update(record.jobId, { state: 'queued', runnerId: null });
      return 'requeued';
    }
    this.store.delete(record.jobId);
    return 'ended';
  }
}
