/**
 * The job ledger on an in-memory store: attempts, re-queue of a vanished runner's jobs up to
 * MAX_ATTEMPTS, exactly one result per job however late or often runners report, cancel and
 * deadlines under a hand-moved clock.
 */
import { describe, expect, it } from 'vitest';
import { JobLedger } from '../../src/dispatcher/job-ledger';
import { JobQueue } from '../../src/dispatcher/job-queue';
import { ManualClock, MemoryJobStore, spec } from './memory-job-store';

function setup(maxAttempts = 3) {
  const clock = new ManualClock();
  const store = new MemoryJobStore();
  const queue = new JobQueue(store, { limit: 10, jobTimeoutMs: 4000, clock: clock.read });
  const ledger = new JobLedger(store, { maxAttempts, clock: clock.read });
  return { clock, store, queue, ledger };
}

describe('JobLedger', () => {
  it('numbers attempts from 1 and records runner and dispatch time', () => {
    const { queue, ledger, clock } = setup();
    queue.enqueue(spec('a'));
    clock.advance(250);
    expect(ledger.start('a', 'r1')).toBe(1);
    expect(ledger.get('a')).toMatchObject({
      state: 'running',
      attempt: 1,
      runnerId: 'r1',
      dispatchedAt: clock.now,
    });
    expect(ledger.runningOn('r1')).toBe(1);
    expect(ledger.counts()).toEqual({ queued: 0, running: 1 });
    expect(() => ledger.start('a', 'r2')).toThrow(/job a is running, not queued/);
  });

  it('re-queues the jobs of a vanished runner as new attempts, and ends a job after MAX_ATTEMPTS', () => {
    const { queue, ledger } = setup(3);
    queue.enqueue(spec('a'));
    for (let attempt = 1; attempt <= 2; attempt++) {
      expect(ledger.start('a', `r${attempt}`)).toBe(attempt);
      const settled = ledger.orphan(`r${attempt}`);
      expect(settled).toEqual([{ record: expect.objectContaining({ attempt }), outcome: 'requeued' }]);
      expect(ledger.get('a')).toMatchObject({ state: 'queued', attempt, runnerId: null });
    }
    expect(ledger.start('a', 'r3')).toBe(3);
    expect(ledger.orphan('r3')).toEqual([
      { record: expect.objectContaining({ jobId: 'a', attempt: 3 }), outcome: 'ended' },
    ]);
    expect(ledger.get('a')).toBeNull();
  });

  it("settles only the vanished runner's running jobs, oldest first", () => {
    const { queue, ledger } = setup();
    for (const id of ['a', 'b', 'c', 'd']) queue.enqueue(spec(id));
    ledger.start('a', 'r1');
    ledger.start('b', 'r2');
    ledger.start('c', 'r1');
    // "c"'s result is being stored: the runner going away cannot change that.
    ledger.claimResult('r1', 'c', 1);
    expect(ledger.orphan('r1').map((s) => s.record.jobId)).toEqual(['a']);
    expect(ledger.get('b')).toMatchObject({ state: 'running', runnerId: 'r2' });
    expect(ledger.get('c')).toMatchObject({ state: 'finishing' });
    expect(ledger.get('d')).toMatchObject({ state: 'queued', attempt: 0 });
    expect(ledger.orphan('r1')).toEqual([]);
  });

  it('takes one result per job: a late runner, a stale attempt and a duplicate change nothing', () => {
    const { queue, ledger, store } = setup();
    queue.enqueue(spec('a'));
    ledger.start('a', 'old');
    ledger.orphan('old');
    ledger.start('a', 'new');
    const writes = store.writes;
    // The vanished runner reports its attempt 1 after all; then claims to be attempt 2.
    expect(ledger.claimResult('old', 'a', 1)).toBeNull();
    expect(ledger.claimResult('old', 'a', 2)).toBeNull();
    expect(ledger.current('old', 'a', 1)).toBeNull();
    expect(ledger.failAttempt('old', 'a', 1, true)).toBeNull();
    expect(store.writes).toBe(writes);
    expect(ledger.get('a')).toMatchObject({ state: 'running', attempt: 2, runnerId: 'new' });

    const claimed = ledger.claimResult('new', 'a', 2);
    expect(claimed).toMatchObject({ jobId: 'a', attempt: 2, state: 'running' });
    expect(ledger.get('a')?.state).toBe('finishing');
    // The slot is free while the result is stored; a second copy of the result is refused.
    expect(ledger.runningOn('new')).toBe(0);
    expect(ledger.claimResult('new', 'a', 2)).toBeNull();
    ledger.end('a');
    expect(ledger.claimResult('new', 'a', 2)).toBeNull();
    expect(ledger.get('a')).toBeNull();
  });

  it('re-queues a retryable failure while attempts are left; ends a non-retryable one at once', () => {
    const { queue, ledger } = setup(2);
    queue.enqueue(spec('a'));
    queue.enqueue(spec('b'));
    ledger.start('a', 'r1');
    ledger.start('b', 'r1');
    expect(ledger.failAttempt('r1', 'a', 1, true)?.outcome).toBe('requeued');
    expect(ledger.failAttempt('r1', 'b', 1, false)?.outcome).toBe('ended');
    expect(ledger.get('b')).toBeNull();
    ledger.start('a', 'r1');
    expect(ledger.failAttempt('r1', 'a', 2, true)?.outcome).toBe('ended');
    expect(ledger.get('a')).toBeNull();
  });

  it('tells a cancel what it meets: nothing, a finishing job, or the job to end', () => {
    const { queue, ledger } = setup();
    queue.enqueue(spec('a'));
    queue.enqueue(spec('b'));
    ledger.start('b', 'r1');
    expect(ledger.cancellation('nope')).toBe('unknown');
    expect(ledger.cancellation('a')).toMatchObject({ jobId: 'a', state: 'queued', runnerId: null });
    expect(ledger.cancellation('b')).toMatchObject({ jobId: 'b', state: 'running', runnerId: 'r1' });
    ledger.claimResult('r1', 'b', 1);
    expect(ledger.cancellation('b')).toBe('finishing');
  });

  it('finds jobs past their deadline on the injected clock, except those being stored', () => {
    const { queue, ledger, clock } = setup();
    queue.enqueue(spec('a'));
    clock.advance(1000);
    queue.enqueue(spec('b'));
    queue.enqueue(spec('c'));
    expect(ledger.nextDeadline()).toBe(clock.now - 1000 + 4000);
    clock.advance(2999);
    expect(ledger.due()).toEqual([]);
    clock.advance(1);
    expect(ledger.due().map((r) => r.jobId)).toEqual(['a']);
    ledger.start('a', 'r1');
    ledger.start('b', 'r1');
    ledger.claimResult('r1', 'b', 1);
    clock.advance(1000);
    expect(ledger.due().map((r) => r.jobId)).toEqual(['a', 'c']);
    ledger.end('a');
    ledger.end('c');
    expect(ledger.nextDeadline()).toBeNull();
  });

  it('refuses a bad maxAttempts with a RangeError', () => {
    expect(() => new JobLedger(new MemoryJobStore(), { maxAttempts: 0, clock: () => 0 })).toThrow(RangeError);
  });
});
