/**
 * The job store over a Durable Object's SQLite (`ctx.storage.sql`): one `jobs` table, so a
 * restart or hibernation loses no job. The only dispatcher file besides the shell that
 * touches the platform; its behaviour is specified by `JobStore` (`job-store.ts`), which the
 * unit tests exercise through an in-memory implementation, and it is exercised here by the
 * workerd tests. The table's layout is the one objects already hold, so it is created with
 * IF NOT EXISTS and never migrated.
 */
import type { JobRecord, JobRecordPatch, JobState, JobStore, NewJobRecord } from './job-store';

interface JobRow extends Record<string, SqlStorageValue> {
  job_id: string;
  seq: number;
  spec: string;
  state: JobState;
  attempt: number;
  runner_id: string | null;
  deadline: number;
  submitted_at: number;
  dispatched_at: number | null;
}

const COLUMNS: Record<keyof JobRecordPatch, string> = {
  state: 'state',
  attempt: 'attempt',
  runnerId: 'runner_id',
  dispatchedAt: 'dispatched_at',
};

export class SqlJobStore implements JobStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS jobs (
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

  insert(record: NewJobRecord): JobRecord {
    const seq = this.sql.exec<{ s: number }>(`SELECT coalesce(max(seq), 0) + 1 AS s FROM jobs`).one().s;
    this.sql.exec(
      `INSERT INTO jobs (job_id, seq, spec, state, attempt, runner_id, deadline, submitted_at, dispatched_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      record.jobId,
      seq,
      JSON.stringify(record.spec),
      record.state,
      record.attempt,
      record.runnerId,
      record.deadline,
      record.submittedAt,
      record.dispatchedAt,
    );
    return { ...record, seq };
  }

  get(jobId: string): JobRecord | null {
    const row = this.sql.exec<JobRow>(`SELECT * FROM jobs WHERE job_id = ?`, jobId).toArray()[0];
    return row === undefined ? null : fromRow(row);
  }

  update(jobId: string, patch: JobRecordPatch): void {
    const keys = (Object.keys(patch) as (keyof JobRecordPatch)[]).filter((key) => patch[key] !== undefined);
    if (keys.length === 0) return;
    const assignments = keys.map((key) => `${COLUMNS[key]} = ?`).join(', ');
    const values = keys.map((key) => patch[key] as SqlStorageValue);
    this.sql.exec(`UPDATE jobs SET ${assignments} WHERE job_id = ?`, ...values, jobId);
  }

  delete(jobId: string): void {
    this.sql.exec(`DELETE FROM jobs WHERE job_id = ?`, jobId);
  }

  list(state: JobState, runnerId?: string): JobRecord[] {
    const rows =
      runnerId === undefined
        ? this.sql.exec<JobRow>(`SELECT * FROM jobs WHERE state = ? ORDER BY seq`, state)
        : this.sql.exec<JobRow>(
            `SELECT * FROM jobs WHERE state = ? AND runner_id = ? ORDER BY seq`,
            state,
            runnerId,
          );
    return rows.toArray().map(fromRow);
  }

  count(state: JobState, options: { runnerId?: string; beforeSeq?: number } = {}): number {
    const where = ['state = ?'];
    const values: SqlStorageValue[] = [state];
    if (options.runnerId !== undefined) {
      where.push('runner_id = ?');
      values.push(options.runnerId);
    }
    if (options.beforeSeq !== undefined) {
      where.push('seq < ?');
      values.push(options.beforeSeq);
    }
    return this.sql
      .exec<{ n: number }>(`SELECT count(*) AS n FROM jobs WHERE ${where.join(' AND ')}`, ...values)
      .one().n;
  }

  due(now: number): JobRecord[] {
    return this.sql
      .exec<JobRow>(`SELECT * FROM jobs WHERE deadline <= ? AND state != 'finishing' ORDER BY seq`, now)
      .toArray()
      .map(fromRow);
  }

  nextDeadline(): number | null {
    return this.sql
      .exec<{ d: number | null }>(`SELECT min(deadline) AS d FROM jobs WHERE state != 'finishing'`)
      .one().d;
  }
}

function fromRow(row: JobRow): JobRecord {
  return {
    jobId: row.job_id,
    seq: row.seq,
    // Written by insert() from a DispatchJob; the table is this object's own.
    spec: JSON.parse(row.spec) as JobRecord['spec'],
    state: row.state,
    attempt: row.attempt,
    runnerId: row.runner_id,
    deadline: row.deadline,
    submittedAt: row.submitted_at,
    dispatchedAt: row.dispatched_at,
  };
}
