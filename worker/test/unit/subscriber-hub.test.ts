/**
 * The subscriber hub under fake timers: events fan out to every stream of a job and to no
 * other, progress only moves forward, streams end (and are forgotten) when their job ends, a
 * stream whose caller left is dropped, keep-alives run only while a stream is open.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SubscriberHub, type EventSink } from '../../src/dispatcher/subscriber-hub';

const KEEP_ALIVE_MS = 250;
const decoder = new TextDecoder();

/** Records what is written; `leave()` makes further writes fail as a closed stream's do. */
class RecordingSink implements EventSink {
  readonly chunks: string[] = [];
  closed = false;
  private gone = false;
  write(chunk: Uint8Array): Promise<void> {
    if (this.gone) return Promise.reject(new TypeError('the stream is closed'));
    this.chunks.push(decoder.decode(chunk));
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
  leave(): void {
    this.gone = true;
  }
  get events(): string[] {
    return this.chunks.filter((c) => !c.startsWith(':')).map((c) => /^event: (\w+)/.exec(c)?.[1] ?? c);
  }
  get keepAlives(): number {
    return this.chunks.filter((c) => c === ': keep-alive\n\n').length;
  }
}

const queued = (jobId: string) => ({ jobId, position: 0, attempt: 1 });
const progress = (jobId: string, step: number) => ({ jobId, step, total: 5, timestep: 1000 - step });

describe('SubscriberHub', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("writes each event to every stream of its job and to no other job's", () => {
    const hub = new SubscriberHub({ keepAliveMs: KEEP_ALIVE_MS });
    const [first, second, other] = [new RecordingSink(), new RecordingSink(), new RecordingSink()];
    hub.subscribe('a', first);
    hub.subscribe('a', second);
    hub.subscribe('b', other);
    hub.emit('a', 'queued', queued('a'));
    hub.emit('nobody', 'queued', queued('nobody'));
    expect(first.chunks).toEqual([`event: queued\ndata: ${JSON.stringify(queued('a'))}\n\n`]);
    expect(second.chunks).toEqual(first.chunks);
    expect(other.chunks).toEqual([]);
    hub.close('a');
  });

  it('passes progress on only when it moves forward, per attempt', () => {
    const hub = new SubscriberHub({ keepAliveMs: KEEP_ALIVE_MS });
    const sink = new RecordingSink();
    hub.subscribe('a', sink);
    expect([1, 3, 2, 3, 4].map((step) => hub.progress(1, progress('a', step)))).toEqual([
      true,
      true,
      false,
      false,
      true,
    ]);
    // A new attempt starts again from its own first step.
    expect(hub.progress(2, progress('a', 1))).toBe(true);
    expect(sink.chunks.map((c) => JSON.parse(/^data: (.*)$/m.exec(c)![1]!) as { step: number })).toEqual([
      expect.objectContaining({ step: 1 }),
      expect.objectContaining({ step: 3 }),
      expect.objectContaining({ step: 4 }),
      expect.objectContaining({ step: 1 }),
    ]);
    hub.close('a');
  });

  it("ends a job's streams when it ends and forgets them and its progress", () => {
    const hub = new SubscriberHub({ keepAliveMs: KEEP_ALIVE_MS });
    const [sink, other] = [new RecordingSink(), new RecordingSink()];
    hub.subscribe('a', sink);
    hub.subscribe('b', other);
    hub.progress(1, progress('a', 3));
    hub.close('a');
    expect(sink.closed).toBe(true);
    expect(other.closed).toBe(false);
    expect(hub.subscribers('a')).toBe(0);
    hub.emit('a', 'done', {
      jobId: 'a',
      imageUrl: '/x',
      timings: { bankFetchMs: 0, stepsMs: 0, encodeMs: 0 },
    });
    expect(sink.events).toEqual(['progress']);
    // Progress memory went with the job: a new stream of the same id starts from scratch.
    expect(hub.progress(1, progress('a', 1))).toBe(true);
    hub.close('b');
  });

  it('drops a stream whose caller went away; the others keep receiving', async () => {
    const hub = new SubscriberHub({ keepAliveMs: KEEP_ALIVE_MS });
    const [leaving, staying] = [new RecordingSink(), new RecordingSink()];
    hub.subscribe('a', leaving);
    hub.subscribe('a', staying);
    leaving.leave();
    hub.emit('a', 'queued', queued('a'));
    await vi.waitFor(() => expect(hub.subscribers('a')).toBe(1));
    hub.emit('a', 'started', { jobId: 'a', runnerId: 'r', backend: 'cpu', attempt: 1 });
    expect(staying.events).toEqual(['queued', 'started']);
    hub.close('a');
  });

  it('writes keep-alives every keepAliveMs while a stream is open, and stops the timer after', () => {
    const hub = new SubscriberHub({ keepAliveMs: KEEP_ALIVE_MS });
    expect(hub.keepingAlive).toBe(false);
    const sink = new RecordingSink();
    hub.subscribe('a', sink);
    expect(hub.keepingAlive).toBe(true);
    vi.advanceTimersByTime(KEEP_ALIVE_MS - 1);
    expect(sink.keepAlives).toBe(0);
    vi.advanceTimersByTime(1);
    expect(sink.keepAlives).toBe(1);
    vi.advanceTimersByTime(3 * KEEP_ALIVE_MS);
    expect(sink.keepAlives).toBe(4);
    expect(sink.events).toEqual([]);
    hub.close('a');
    vi.advanceTimersByTime(KEEP_ALIVE_MS);
    expect(hub.keepingAlive).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    expect(sink.keepAlives).toBe(4);
  });

  it('streams SSE bytes through open(): events in order, then the end of the stream', async () => {
    const hub = new SubscriberHub({ keepAliveMs: KEEP_ALIVE_MS });
    const reader = hub.open('a').getReader();
    hub.emit('a', 'queued', queued('a'));
    hub.emit('a', 'error', { jobId: 'a', code: 'cancelled', message: 'cancelled by the caller' });
    hub.close('a');
    let text = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      text += decoder.decode(chunk.value);
    }
    expect(text).toBe(
      `event: queued\ndata: ${JSON.stringify(queued('a'))}\n\n` +
        `event: error\ndata: ${JSON.stringify({ jobId: 'a', code: 'cancelled', message: 'cancelled by the caller' })}\n\n`,
    );
  });

  it('refuses a bad keepAliveMs with a RangeError', () => {
    expect(() => new SubscriberHub({ keepAliveMs: 0 })).toThrow(RangeError);
  });
});
