/**
 * The subscriber hub: the server-sent event streams of callers waiting on a job (POST
 * /v1/generate with `Accept: text/event-stream`). It writes each job event to every stream
 * of that job, passes progress on only when it moves forward (runner frames can arrive out
 * of order), writes an SSE comment to every open stream each `keepAliveMs` so proxies keep
 * idle connections, and ends a job's streams when the job ends. A stream whose caller went
 * away is dropped; the job carries on and can still be polled. In-memory only: progress is
 * advisory, and a stream cannot outlive the object that writes it anyway.
 */
import type { GenerateEvents } from '@maskunet/contract';

/** Where one caller's events go (a `WritableStreamDefaultWriter<Uint8Array>` is one). */
export interface EventSink {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export interface SubscriberHubOptions {
  /** Interval of keep-alive comments. SSE_KEEPALIVE_MS (default 15 s). */
  readonly keepAliveMs: number;
}

export type JobEventName = keyof GenerateEvents;

const encoder = new TextEncoder();
/** An SSE comment: clients ignore it; it keeps idle connections open through proxies. */
const KEEP_ALIVE = encoder.encode(': keep-alive\n\n');

export class SubscriberHub {
  private readonly keepAliveMs: number;
  private readonly sinks = new Map<string, Set<EventSink>>();
  /** Highest progress step passed on, per job and attempt. */
  private readonly lastStep = new Map<string, Map<number, number>>();
  /** Writes keep-alive comments to every open stream while there is one. */
  private keepAlive: ReturnType<typeof setInterval> | undefined;

  /** @throws RangeError when `keepAliveMs` is not a positive integer. */
  constructor(options: SubscriberHubOptions) {
    if (!Number.isSafeInteger(options.keepAliveMs) || options.keepAliveMs <= 0) {
      throw new RangeError(`keepAliveMs must be a positive integer, got ${options.keepAliveMs}`);
    }
    this.keepAliveMs = options.keepAliveMs;
  }

  /** A new event stream of `jobId` (the response body of a streaming generate). */
  open(jobId: string): ReadableStream<Uint8Array> {
    const pipe = new TransformStream<Uint8Array, Uint8Array>();
    this.subscribe(jobId, pipe.writable.getWriter());
    return pipe.readable;
  }

  subscribe(jobId: string, sink: EventSink): void {
    let set = this.sinks.get(jobId);
    if (set === undefined) this.sinks.set(jobId, (set = new Set()));
    set.add(sink);
    this.keepAlive ??= setInterval(() => {
      if (this.sinks.size === 0) {
        clearInterval(this.keepAlive);
        this.keepAlive = undefined;
        return;
      }
      for (const sinks of this.sinks.values()) broadcast(sinks, KEEP_ALIVE);
    }, this.keepAliveMs);
  }

  /** Open streams of `jobId`. */
  subscribers(jobId: string): number {
    return this.sinks.get(jobId)?.size ?? 0;
  }

  /** True while the keep-alive timer runs (it stops at the first tick with no stream). */
  get keepingAlive(): boolean {
    return this.keepAlive !== undefined;
  }

  emit<E extends JobEventName>(jobId: string, event: E, data: GenerateEvents[E]): void {
    const set = this.sinks.get(jobId);
    if (set === undefined) return;
    broadcast(set, encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
  }

  /**
   * Passes on progress of an attempt when its step is ahead of the last one passed on.
   * @returns whether it was passed on.
   */
  progress(attempt: number, data: GenerateEvents['progress']): boolean {
    let steps = this.lastStep.get(data.jobId);
    if (steps === undefined) this.lastStep.set(data.jobId, (steps = new Map<number, number>()));
    if (data.step <= (steps.get(attempt) ?? -1)) return false;
    steps.set(attempt, data.step);
    this.emit(data.jobId, 'progress', data);
    return true;
  }

  /** Ends the streams of a job that ended and forgets its progress. */
  close(jobId: string): void {
    this.lastStep.delete(jobId);
    const set = this.sinks.get(jobId);
    if (set === undefined) return;
    this.sinks.delete(jobId);
    for (const sink of set) sink.close().catch(() => undefined);
  }
}

/** Writes a chunk to every stream of a job; a stream whose caller went away is dropped. */
function broadcast(set: Set<EventSink>, chunk: Uint8Array): void {
  for (const sink of set) sink.write(chunk).catch(() => set.delete(sink));
}
