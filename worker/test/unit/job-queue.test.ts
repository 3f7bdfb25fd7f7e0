/**
 * The job queue on an in-memory store: first in, first out; QUEUE_LIMIT refuses before
 * storing; a re-queued job keeps its place; deadlines count from submission.
 */
import { describe, expect, it } from 'vitest';
import { JobLedger } from '../../src/dispatcher/job-ledger';
import { JobQueue } from '../../src/dispatcher/job-queue';
import { ManualClock, MemoryJobStore, spec } from './memory-job-store';

function setup(limit = 3) {
  const clock = new ManualClock();
  const store = new MemoryJobStore();
  const queue = new JobQueue(store, { limit, jobTimeoutMs: 4000, clock: clock.read });
  const ledger = new JobLedger(store, { maxAttempts: 3, clock: clock.read });
  return { clock, store, queue, ledger };
}

describe('JobQueue', () => {
  it('offers jobs in submission order and reports how many wait ahead', () => {
    const { queue } = setup(5);
    const positions = ['a', 'b', 'c'].map((id) => {
      const admitted = queue.enqueue(spec(id));
      if (!admitted.ok) throw new Error('refused');
      return admitted.position;
    });
    expect(positions).toEqual([0, 1, 2]);
    expect(queue.waiting().map((r) => r.jobId)).toEqual(['a', 'b', 'c']);
    expect(queue.length).toBe(3);
  });

  it('refuses a job beyond the limit without storing it, and admits again once one leaves', () => {
    const { queue, store, ledger } = setup(2);
    expect(queue.enqueue(spec('a')).ok).toBe(true);
    expect(queue.enqueue(spec('b')).ok).toBe(true);
    const writes = store.writes;
    expect(queue.enqueue(spec('c'))).toEqual({ ok: false, code: 'queue_full', queued: 2 });
    expect(store.writes).toBe(writes);
    expect(store.get('c')).toBeNull();
    // A running job does not count against the limit: only waiting ones do.
    ledger.start('a', 'r1');
    expect(queue.enqueue(spec('c'))).toMatchObject({ ok: true, position: 1 });
    expect(queue.waiting().map((r) => r.jobId)).toEqual(['b', 'c']);
  });

  it('puts a re-queued job back at its place, ahead of later submissions', () => {
    const { queue, ledger } = setup(5);
    for (const id of ['a', 'b', 'c']) queue.enqueue(spec(id));
    ledger.start('a', 'r1');
    ledger.start('b', 'r2');
    queue.enqueue(spec('d'));
    // r1 vanishes: "a" goes back ahead of "c" and "d".
    const [lost] = ledger.orphan('r1');
    expect(lost?.outcome).toBe('requeued');
    expect(queue.waiting().map((r) => r.jobId)).toEqual(['a', 'c', 'd']);
    expect(queue.positionOf(lost!.record)).toBe(0);
    expect(queue.positionOf(queue.waiting()[2]!)).toBe(2);
  });

  it('sets each deadline JOB_TIMEOUT_MS after submission; a retry keeps it', () => {
    const { queue, ledger, clock } = setup();
    const admitted = queue.enqueue(spec('a'));
    expect(admitted.ok && admitted.record.deadline).toBe(clock.now + 4000);
    clock.advance(1000);
    ledger.start('a', 'r1');
    ledger.orphan('r1');
    expect(queue.waiting()[0]).toMatchObject({ jobId: 'a', deadline: clock.now - 1000 + 4000, attempt: 1 });
  });

  it.each([
    ['limit', { limit: 0, jobTimeoutMs: 1 }],
    ['jobTimeoutMs', { limit: 1, jobTimeoutMs: 0.5 }],
  ] as const)('refuses a bad %s with a RangeError naming it', (name, options) => {
    expect(() => new JobQueue(new MemoryJobStore(), { ...options, clock: () => 0 })).toThrow(
      new RangeError(`${name} must be a positive integer, got ${options[name]}`),
    );
  });
});
