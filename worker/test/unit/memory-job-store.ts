/**
 * The job store in a Map, for the dispatcher's unit tests: the same contract as the
 * Durable Object's SQLite store (`worker/src/dispatcher/sql-job-store.ts`), which the
 * workerd tests exercise; it also counts writes so a test can assert that a refused or
 * stale call changed nothing.
 */
import type {
  JobRecord,
  JobRecordPatch,
  JobState,
  JobStore,
  NewJobRecord,
} from '../../src/dispatcher/job-store';
import type { DispatchJob } from '../../src/dispatcher/types';

export class MemoryJobStore implements JobStore {
  private readonly records = new Map<string, JobRecord>();
  /** Inserts, updates and deletes that found their job. */
  writes = 0;

  insert(record: NewJobRecord): JobRecord {
    const seq = Math.max(0, ...[...this.records.values()].map((r) => r.seq)) + 1;
    const stored = { ...record, seq };
    this.records.set(record.jobId, stored);
    this.writes += 1;
    return stored;
  }

  get(jobId: string): JobRecord | null {
    return this.records.get(jobId) ?? null;
  }

  update(jobId: string, patch: JobRecordPatch): void {
    const record = this.records.get(jobId);
    if (record === undefined) return;
    const defined = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
    this.records.set(jobId, { ...record, ...defined });
    this.writes += 1;
  }

  delete(jobId: string): void {
    if (this.records.delete(jobId)) this.writes += 1;
  }

  list(state: JobState, runnerId?: string): JobRecord[] {
    return this.sorted().filter(
      (r) => r.state === state && (runnerId === undefined || r.runnerId === runnerId),
    );
  }

  count(state: JobState, options: { runnerId?: string; beforeSeq?: number } = {}): number {
    return this.list(state, options.runnerId).filter(
      (r) => options.beforeSeq === undefined || r.seq < options.beforeSeq,
    ).length;
  }

  due(now: number): JobRecord[] {
    return this.sorted().filter((r) => r.state !== 'finishing' && r.deadline <= now);
  }

  nextDeadline(): number | null {
    const deadlines = this.sorted()
      .filter((r) => r.state !== 'finishing')
      .map((r) => r.deadline);
    return deadlines.length === 0 ? null : Math.min(...deadlines);
  }

  private sorted(): JobRecord[] {
    return [...this.records.values()].sort((a, b) => a.seq - b.seq);
  }
}

/** A job spec with test defaults. */
export function spec(jobId: string, bankId: string | null = null): DispatchJob {
  return {
    jobId,
    tenantId: 'tenant_1',
    model: 'm',
    variant: bankId === null ? null : 'variant_1',
    bankId,
    prompt: 'a red fox',
    seed: 42,
    steps: 3,
    guidance: 7.5,
    sampler: 'ddim',
    requestId: `req_${jobId}`,
  };
}

/** A clock a test moves by hand. */
export class ManualClock {
  constructor(public now = 1_000_000) {}
  readonly read = (): number => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}
