/**
 * A scripted runner for the dispatcher tests: a real WebSocket client obtained by sending an
 * `Upgrade: websocket` request through the worker entry (exactly the path a GPU runner's
 * connection takes), which records what the dispatcher sends and lets the test decide what
 * the runner answers. Plus a reader for the server-sent events of POST /v1/generate.
 */
import { env, exports } from 'cloudflare:workers';
import { vi } from 'vitest';
import type { DispatcherToRunner, JobMessage, RunnerToDispatcher } from '@maskunet/contract';
import type { GenerateEvents, Model } from '@maskunet/contract';
import type { DispatcherSummary } from '../src/dispatcher/dispatcher';
import { dispatcherFor } from '../src/dispatcher/stub';
import { BASE, RUNNER_TOKEN, call, json } from './helpers';

/**
 * Bytes that start with the PNG signature, tagged so tests can tell results apart. The
 * dispatcher checks only the signature (decoding images is the runner's and client's job);
 * the runner-client end-to-end test sends real PNGs.
 */
export function tinyPng(tag: number): Uint8Array {
  return new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, tag & 0xff, (tag >> 8) & 0xff]);
}

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export interface FakeRunnerOptions {
  runnerId: string;
  backend?: string;
  capacity?: number;
  banks?: string[];
  /** Send hello right away (default true). */
  hello?: boolean;
}

export class FakeRunner {
  readonly received: DispatcherToRunner[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: (() => void)[] = [];
  /** The banks this runner last announced (hello, then each heartbeat). */
  private announced: string[];
  private flushes = 0;

  private constructor(
    readonly socket: WebSocket,
    readonly model: string,
    readonly options: FakeRunnerOptions,
  ) {
    this.announced = options.banks ?? [];
    socket.addEventListener('message', (event) => {
      this.received.push(JSON.parse(String(event.data)) as DispatcherToRunner);
      this.wake();
    });
    socket.addEventListener('close', (event) => {
      this.closed = { code: event.code, reason: event.reason };
      this.wake();
    });
  }

  static async connect(model: string, options: FakeRunnerOptions): Promise<FakeRunner> {
    const res = await exports.default.fetch(
      new Request(`${BASE}/v1/runners/connect?model=${encodeURIComponent(model)}`, {
        headers: { Upgrade: 'websocket', Authorization: `Bearer ${RUNNER_TOKEN}` },
      }),
    );
    if (res.status !== 101 || res.webSocket === null || res.headers.get('x-request-id') === null) {
      throw new Error(`connect failed: ${res.status} ${await res.text()}`);
    }
    const socket = res.webSocket;
    socket.accept();
    const runner = new FakeRunner(socket, model, options);
    if (options.hello ?? true) {
      runner.send({
        type: 'hello',
        runnerId: options.runnerId,
        model,
        backend: options.backend ?? 'test',
        capacity: options.capacity ?? 1,
        banks: options.banks ?? [],
        protocol: 1,
      });
    }
    return runner;
  }

  send(message: RunnerToDispatcher | Record<string, unknown>): void {
    this.socket.send(JSON.stringify(message));
  }

  heartbeat(banks: string[] = this.announced, load = 0): void {
    this.announced = banks;
    this.send({ type: 'heartbeat', load, banks });
  }

  /**
   * Resolves once the dispatcher has handled the frames this runner sent before the call —
   * the way to check that a message had no effect without sleeping. It sends a heartbeat
   * announcing the runner's banks plus a marker bank no job uses (so routing is unchanged)
   * and polls the dispatcher until it shows the marker: one socket's frames are handled in
   * the order sent, and a message about a stale attempt is dropped synchronously.
   */
  async flush(timeoutMs = 5000): Promise<void> {
    this.flushes += 1;
    const marker = this.flushes.toString(16).padStart(64, 'e');
    this.send({ type: 'heartbeat', load: 0, banks: [...this.announced, marker] });
    await vi.waitFor(
      async () => {
        const seen = (await dispatcherSummary(this.model)).runners.find(
          (r) => r.runnerId === this.options.runnerId,
        );
        if (seen?.banks.includes(marker) !== true) {
          throw new Error(`${this.options.runnerId}: the dispatcher has not handled the flush heartbeat`);
        }
      },
      { timeout: timeoutMs, interval: 10 },
    );
  }

  /** Waits for the next message of `type` not yet taken, for up to `timeoutMs`. */
  async next<T extends DispatcherToRunner['type']>(
    type: T,
    timeoutMs = 5000,
  ): Promise<Extract<DispatcherToRunner, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.received.findIndex((m) => m.type === type);
      if (index >= 0) return this.received.splice(index, 1)[0] as Extract<DispatcherToRunner, { type: T }>;
      if (this.closed !== null)
        throw new Error(`${this.options.runnerId} closed (${this.closed.code}) waiting for ${type}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.options.runnerId}: no ${type} within ${timeoutMs} ms`);
      await this.wait(left);
    }
  }

  /**
   * True when no message of `type` arrives within `ms`, false as soon as one does.
   * @throws when the socket closes first (or is closed already): a closed socket receives
   * nothing, so its silence would prove nothing.
   */
  async quiet(type: DispatcherToRunner['type'], ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (this.received.some((m) => m.type === type)) return false;
      if (this.closed !== null) {
        throw new Error(
          `${this.options.runnerId} closed (${this.closed.code}) while checking that no ${type} arrives`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) return true;
      await this.wait(left);
    }
  }

  async waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (this.closed === null) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.options.runnerId} still open after ${timeoutMs} ms`);
      await this.wait(left);
    }
    return this.closed;
  }

  progress(job: JobMessage, step: number, attempt = job.attempt): void {
    this.send({
      type: 'progress',
      jobId: job.jobId,
      attempt,
      step,
      total: job.steps,
      timestep: 1000 - step * 10,
    });
  }

  result(job: JobMessage, tag: number, attempt = job.attempt): void {
    this.send({
      type: 'result',
      jobId: job.jobId,
      attempt,
      pngBase64: toBase64(tinyPng(tag)),
      timings: { bankFetchMs: 1, stepsMs: 2, encodeMs: 3 },
      backend: this.options.backend ?? 'test',
    });
  }

  fail(job: JobMessage, code: string, retryable: boolean, attempt = job.attempt): void {
    this.send({ type: 'failed', jobId: job.jobId, attempt, code, message: `${code} on purpose`, retryable });
  }

  close(code = 1000): void {
    this.socket.close(code, 'bye');
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** Polls GET /v1/models/:model until `count` runners are connected (hello processed). */
export async function waitForRunners(model: string, count: number, timeoutMs = 5000): Promise<void> {
  await vi.waitFor(
    async () => {
      const res = await call('GET', `/v1/models/${model}`, { token: RUNNER_TOKEN });
      const body = await json<Model>(res);
      if (body.runners.count !== count) throw new Error(`${body.runners.count} runners, expected ${count}`);
    },
    { timeout: timeoutMs, interval: 20 },
  );
}

/** The dispatcher's own view of a model (runners with their banks and slots), over RPC. */
export function dispatcherSummary(model: string): Promise<DispatcherSummary> {
  return dispatcherFor(env, model).summary();
}

export type SseEvent = {
  [E in keyof GenerateEvents]: { event: E; data: GenerateEvents[E] };
}[keyof GenerateEvents];

/** Reads server-sent events from a streaming response, one at a time. */
export class EventReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buffer = '';
  readonly seen: SseEvent[] = [];
  /** Comment-only blocks (keep-alives) read so far. */
  comments = 0;

  constructor(res: Response) {
    if (res.body === null) throw new Error('no body');
    this.reader = res.body.getReader();
  }

  /** The next event, or null at the end of the stream. */
  async next(timeoutMs = 6000): Promise<SseEvent | null> {
    for (;;) {
      const block = await this.block(timeoutMs);
      if (block === null) return null;
      const event = this.parse(block);
      if (event !== null) return event;
    }
  }

  /**
   * Reads until `count` more comment-only blocks (keep-alives) have arrived.
   * @throws when an event or the end of the stream comes first.
   */
  async keepAlives(count: number, timeoutMs = 6000): Promise<void> {
    const target = this.comments + count;
    while (this.comments < target) {
      const block = await this.block(timeoutMs);
      if (block === null) throw new Error('the stream ended while waiting for keep-alives');
      const event = this.parse(block);
      if (event !== null) throw new Error(`event ${event.event} while waiting for keep-alives`);
    }
  }

  /** Counts a comment-only block; returns (and records) the event of an event block. */
  private parse(block: string): SseEvent | null {
    const event = /^event: (.*)$/m.exec(block)?.[1];
    const data = /^data: (.*)$/m.exec(block)?.[1];
    if (block.split('\n').every((line) => line.startsWith(':'))) this.comments++;
    if (event === undefined || data === undefined) return null;
    const parsed = { event, data: JSON.parse(data) as unknown } as SseEvent;
    this.seen.push(parsed);
    return parsed;
  }

  /** The next block (up to a blank line), or null at the end of the stream. */
  private async block(timeoutMs: number): Promise<string | null> {
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        return block;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const chunk = await Promise.race([
        this.reader.read(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no event within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
      if (chunk.done) return null;
      this.buffer += this.decoder.decode(chunk.value, { stream: true });
    }
  }

  /** Reads until the stream ends; returns all events seen (including earlier ones). */
  async drain(timeoutMs = 6000): Promise<SseEvent[]> {
    while ((await this.next(timeoutMs)) !== null) {
      // keep reading
    }
    return this.seen;
  }
}
