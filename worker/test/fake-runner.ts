/**
 * A scripted runner for the dispatcher tests: a real WebSocket client obtained by sending an
 * `Upgrade: websocket` request through the worker entry (exactly the path a GPU runner's
 * connection takes), which records what the dispatcher sends and lets the test decide what
 * the runner answers. Plus a reader for the server-sent events of POST /v1/generate.
 */
import { exports } from 'cloudflare:workers';
import type { DispatcherToRunner, JobMessage, RunnerToDispatcher } from '../src/contract/runner-protocol';
import type { GenerateEvents, Model } from '../src/contract/api';
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

  private constructor(
    readonly socket: WebSocket,
    readonly options: FakeRunnerOptions,
  ) {
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
    const runner = new FakeRunner(socket, options);
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

  heartbeat(banks: string[] = this.options.banks ?? [], load = 0): void {
    this.send({ type: 'heartbeat', load, banks });
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

  /** True when no message of `type` arrives within `ms`. */
  async quiet(type: DispatcherToRunner['type'], ms: number): Promise<boolean> {
    try {
      await this.next(type, ms);
      return false;
    } catch {
      return true;
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
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await call('GET', `/v1/models/${model}`, { token: RUNNER_TOKEN });
    const body = await json<Model>(res);
    if (body.runners.count === count) return;
    if (Date.now() > deadline) throw new Error(`${body.runners.count} runners, expected ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
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
      const end = this.buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (block.split('\n').every((line) => line.startsWith(':'))) this.comments++;
        if (event === undefined || data === undefined) continue;
        const parsed = { event, data: JSON.parse(data) as unknown } as SseEvent;
        this.seen.push(parsed);
        return parsed;
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
