/**
 * The persistence port of the job queue and ledger: one record per job the dispatcher still
 * holds (queued, running, or finishing while its result is stored), read and written
 * synchronously. Synchronous on purpose: the dispatcher makes every decision about a job
 * before its first `await`, because D1 and R2 calls release the Durable Object's input gate
 * and let other socket messages run. The shell implements it over the object's SQLite
 * (`sql-job-store.ts`, which survives restarts and hibernation); the unit tests over a Map.
 */
import type { DispatchJob } from './types';

export type JobState = 'queued' | 'running' | 'finishing';

export interface JobRecord {
  readonly jobId: string;
  /** Submission order, 1, 2, …; a re-queued job keeps its place. */
  readonly seq: number;
  readonly spec: DispatchJob;
  readonly state: JobState;
  /** Dispatches so far: 0 while first queued, n while attempt n runs or waits to be retried. */
  readonly attempt: number;
  /** The runner of the current attempt while running or finishing, else null. */
  readonly runnerId: string | null;
  /** Epoch ms after which the job fails with `timeout`. */
  readonly deadline: number;
  readonly submittedAt: number;
  /** When the latest attempt was dispatched, null before the first. */
  readonly dispatchedAt: number | null;
}

export type NewJobRecord = Omit<JobRecord, 'seq'>;

export type JobRecordPatch = Partial<Pick<JobRecord, 'state' | 'attempt' | 'runnerId' | 'dispatchedAt'>>;

export interface JobStore {
  /** Stores a new job after every job it holds (`seq` one above the highest). */
  insert(record: NewJobRecord): JobRecord;
  get(jobId: string): JobRecord | null;
  /** Changes the fields in `patch`; a job it does not hold is left alone. */
  update(jobId: string, patch: JobRecordPatch): void;
  /** Forgets a job; a job it does not hold is left alone. */
  delete(jobId: string): void;
  /** Jobs in `state`, by `seq`; with `runnerId`, only that runner's. */
  list(state: JobState, runnerId?: string): JobRecord[];
  /** How many jobs are in `state`; with `beforeSeq`, only those submitted earlier. */
  count(state: JobState, options?: { runnerId?: string; beforeSeq?: number }): number;
  /** Jobs not finishing whose deadline is at or before `now`, by `seq`. */
  due(now: number): JobRecord[];
  /** The earliest deadline of a job not finishing, null when there is none. */
  nextDeadline(): number | null;
}
