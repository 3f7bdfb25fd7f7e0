/**
 * The runner client against an in-memory socket (the end-to-end test in test/ runs it over
 * a real WebSocket against the worker): hello and heartbeats, results and failures, cancel
 * and deadline reaching the handler, reconnect with backoff, stopping on fatal refusals;
 * and the bank cache's byte bound, id check and shared downloads. Waits are on events (a
 * message sent, a state reached); timing-dependent behaviour (deadlines, backoff) runs
 * under fake timers.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeBank, sha256Hex } from '@maskunet/mask-store';
import type { DispatcherToRunner, JobMessage, RunnerToDispatcher } from '@maskunet/contract';
import {
  BankCache,
  BankFetchError,
  JobError,
  RunnerClient,
  createPatternHandler,
  type JobHandler,
  type SocketCallbacks,
  type SocketFactory,
} from '../../src/service';

class FakeServer {
  connections: {
    url: string;
    headers: Record<string, string>;
    callbacks: SocketCallbacks;
    sent: RunnerToDispatcher[];
    closed: boolean;
  }[] = [];
  /** What the next connection does: open, or be refused with an HTTP status. */
  nextRefusal: number | null = null;
  /** Called after every message a client sends. */
  private readonly listeners = new Set<() => void>();

  factory: SocketFactory = (url, headers, callbacks) => {
    const connection = { url, headers, callbacks, sent: [] as RunnerToDispatcher[], closed: false };
    this.connections.push(connection);
    const refusal = this.nextRefusal;
    this.nextRefusal = null;
    // Opens (or refuses) 1 ms later, as a real socket does asynchronously.
    setTimeout(() => (refusal === null ? callbacks.onOpen() : callbacks.onClose(1006, '', refusal)), 1);
    return {
      send: (data) => {
        connection.sent.push(JSON.parse(data) as RunnerToDispatcher);
        for (const listener of [...this.listeners]) listener();
      },
      close: (code = 1000, reason = '') => {
        if (connection.closed) return;
        connection.closed = true;
        setTimeout(() => callbacks.onClose(code, reason), 1);
      },
    };
  };

  get last() {
    const connection = this.connections.at(-1);
    if (connection === undefined) throw new Error('no connection yet');
    return connection;
  }

  push(message: DispatcherToRunner): void {
    this.last.callbacks.onMessage(JSON.stringify(message));
  }

  drop(code = 1006): void {
    this.last.closed = true;
    this.last.callbacks.onClose(code, 'dropped');
  }

  /** The first message of `type` on the latest connection, as soon as it is sent. */
  waitForSent<T extends RunnerToDispatcher['type']>(
    type: T,
    timeoutMs = 2000,
  ): Promise<Extract<RunnerToDispatcher, { type: T }>> {
    const find = () =>
      this.last.sent.find((m): m is Extract<RunnerToDispatcher, { type: T }> => m.type === type);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = find();
        if (found === undefined) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`no ${type} sent within ${timeoutMs} ms`));
      }, timeoutMs);
      this.listeners.add(check);
      check();
    });
  }
}

function job(overrides: Partial<JobMessage> = {}): JobMessage {
  return {
    type: 'job',
    jobId: 'job_1',
    attempt: 1,
    model: 'm',
    variant: null,
    bankId: null,
    prompt: 'p',
    seed: 1,
    steps: 3,
    guidance: 7.5,
    sampler: 'ddim',
    deadlineMs: 10_000,
    ...overrides,
  };
}

const clients: RunnerClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop()));
  vi.useRealTimers();
});

function client(
  server: FakeServer,
  handler: JobHandler,
  extra: Partial<ConstructorParameters<typeof RunnerClient>[0]> = {},
) {
  const runner = new RunnerClient({
    url: 'http://edge.test',
    token: 'secret',
    model: 'm',
    backend: 'cpu',
    runnerId: 'r1',
    handler,
    socketFactory: server.factory,
    heartbeatIntervalMs: 20,
    reconnect: { initialDelayMs: 10, maxDelayMs: 40, jitter: 0 },
    ...extra,
  });
  clients.push(runner);
  return runner;
}

describe('RunnerClient', () => {
  it('dials the connect URL with the token, says hello and sends heartbeats', async () => {
    const server = new FakeServer();
    const runner = client(server, createPatternHandler(), { capacity: 2 });
    runner.start();
    await runner.waitFor('open');
    expect(server.last.url).toBe('ws://edge.test/v1/runners/connect?model=m');
    expect(server.last.headers).toEqual({ Authorization: 'Bearer secret' });
    expect(server.last.sent[0]).toEqual({
      type: 'hello',
      runnerId: 'r1',
      model: 'm',
      backend: 'cpu',
      capacity: 2,
      banks: [],
      protocol: 1,
    });
    expect(await server.waitForSent('heartbeat')).toEqual({ type: 'heartbeat', load: 0, banks: [] });
  });

  it('runs a job: progress for every step, then one result with a PNG', async () => {
    const server = new FakeServer();
    const runner = client(server, createPatternHandler({ size: 4 }));
    runner.start();
    await runner.waitFor('open');
    server.push(job());
    const result = await server.waitForSent('result');
    expect(result).toMatchObject({ jobId: 'job_1', attempt: 1, backend: 'cpu' });
    const png = Uint8Array.from(atob(result.pngBase64), (c) => c.charCodeAt(0));
    expect([...png.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    const progress = server.last.sent.filter((m) => m.type === 'progress');
    expect(progress.map((m) => (m.type === 'progress' ? m.step : 0))).toEqual([1, 2, 3]);
  });

  it('reports handler failures with their code and retryability', async () => {
    const server = new FakeServer();
    let calls = 0;
    const runner = client(server, () => {
      calls += 1;
      return Promise.reject(calls === 1 ? new JobError('out_of_memory', 'too big', true) : new Error('boom'));
    });
    runner.start();
    await runner.waitFor('open');
    server.push(job());
    expect(await server.waitForSent('failed')).toEqual({
      type: 'failed',
      jobId: 'job_1',
      attempt: 1,
      code: 'out_of_memory',
      message: 'too big',
      retryable: true,
    });
    server.last.sent.length = 0;
    server.push(job({ jobId: 'job_2' }));
    expect(await server.waitForSent('failed')).toMatchObject({
      jobId: 'job_2',
      code: 'runner_error',
      retryable: true,
    });
  });

  it('aborts the handler on cancel and on the deadline, and sends nothing for those jobs', async () => {
    vi.useFakeTimers();
    const server = new FakeServer();
    const aborted: string[] = [];
    const runner = client(
      server,
      (message, context) =>
        new Promise((_, reject) => {
          context.signal.addEventListener('abort', () => {
            aborted.push(message.jobId);
            reject(new Error('aborted'));
          });
        }),
    );
    runner.start();
    await vi.advanceTimersByTimeAsync(1);
    expect(runner.state).toBe('open');
    server.push(job({ jobId: 'job_cancel' }));
    server.push({ type: 'cancel', jobId: 'job_cancel' });
    server.push(job({ jobId: 'job_deadline', deadlineMs: 30 }));
    // A job whose cancel overtook it is never started.
    server.push({ type: 'cancel', jobId: 'job_late' });
    server.push(job({ jobId: 'job_late' }));
    expect(aborted).toEqual(['job_cancel']);
    await vi.advanceTimersByTimeAsync(29);
    expect(aborted).toEqual(['job_cancel']);
    await vi.advanceTimersByTimeAsync(1);
    expect(aborted).toEqual(['job_cancel', 'job_deadline']);
    // The async advance lets promise callbacks run after each timer it fires, so the aborted
    // handlers' rejections have reached the client (which must stay silent) by now.
    expect(server.last.sent.filter((m) => m.type === 'result' || m.type === 'failed')).toEqual([]);
  });

  it('reconnects with backoff after a drop, aborting what the old connection held', async () => {
    vi.useFakeTimers();
    const server = new FakeServer();
    const aborted: string[] = [];
    const runner = client(
      server,
      (message, context) =>
        new Promise((_, reject) => {
          context.signal.addEventListener('abort', () => {
            aborted.push(message.jobId);
            reject(new Error('aborted'));
          });
        }),
    );
    runner.start();
    await vi.advanceTimersByTimeAsync(1);
    expect(runner.state).toBe('open');
    server.push(job());
    server.nextRefusal = 503;
    server.drop();
    expect(aborted).toEqual(['job_1']);
    expect(runner.state).toBe('waiting');
    // initialDelayMs 10, factor 2, no jitter: redial after 10 ms, refused 1 ms later, then 20 ms.
    await vi.advanceTimersByTimeAsync(9);
    expect(server.connections).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.connections).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(runner.state).toBe('waiting');
    await vi.advanceTimersByTimeAsync(19);
    expect(server.connections).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.connections).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(runner.state).toBe('open');
    expect(server.last.sent[0]?.type).toBe('hello');
  });

  it.each([
    ['an unknown token (401)', { http: 401 }],
    ['another model (close 4004)', { code: 4004 }],
  ] as const)('stops for good on %s', async (_what, refusal) => {
    vi.useFakeTimers();
    const server = new FakeServer();
    const runner = client(server, createPatternHandler());
    if ('http' in refusal) server.nextRefusal = refusal.http;
    runner.start();
    await vi.advanceTimersByTimeAsync(1);
    if ('code' in refusal) {
      expect(runner.state).toBe('open');
      server.drop(refusal.code);
    }
    expect(runner.state).toBe('stopped');
    expect(runner.error?.message).toMatch(/refused/);
    // Well past the longest backoff (maxDelayMs 40): no second dial.
    await vi.advanceTimersByTimeAsync(1000);
    expect(server.connections).toHaveLength(1);
  });
});

describe('BankCache', () => {
  const layout = { layers: [{ name: 'up_blocks.1.a', shape: [8, 8] as [number, number] }] };
  const bankOf = async (seed: number) =>
    (
      await encodeBank({
        layout,
        masks: [[Uint8Array.from({ length: 64 }, (_, i) => ((i + seed) % 3 === 0 ? 0 : 1))]],
      })
    ).bytes;

  it('fetches once per id, shares concurrent downloads, and checks bytes against the id', async () => {
    const bytes = await bankOf(0);
    const id = await sha256Hex(bytes);
    let fetches = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const cache = new BankCache(async (requested) => {
      fetches += 1;
      await released;
      return requested === id ? bytes : new Uint8Array([1, 2, 3]);
    });
    // Both gets start while the first download is still in flight.
    const both = Promise.all([cache.get(id), cache.get(id)]);
    release();
    const [a, b] = await both;
    expect(a).toBe(bytes);
    expect(b).toBe(bytes);
    await cache.get(id);
    expect(fetches).toBe(1);
    const wrong = '0'.repeat(64);
    await expect(cache.get(wrong)).rejects.toMatchObject({ code: 'bank_corrupt' });
    await expect(cache.get(wrong)).rejects.toBeInstanceOf(BankFetchError);
    expect(cache.ids()).toEqual([id]);
  });

  it('evicts the least recently used banks to stay within maxBytes', async () => {
    const banks = await Promise.all([0, 1, 2].map(bankOf));
    const ids = await Promise.all(banks.map((b) => sha256Hex(b)));
    expect(new Set(ids).size).toBe(3);
    const byId = new Map(ids.map((id, i) => [id, banks[i]!]));
    // Room for any two of the three, not all three.
    const maxBytes = banks.reduce((sum, b) => sum + b.length, 0) - 1;
    const cache = new BankCache((id) => Promise.resolve(byId.get(id)!), { maxBytes });
    await cache.get(ids[0]!);
    await cache.get(ids[1]!);
    await cache.get(ids[0]!); // now ids[1] is the least recently used
    await cache.get(ids[2]!);
    expect(cache.ids().sort()).toEqual([ids[0]!, ids[2]!].sort());
    expect(cache.size).toBeLessThanOrEqual(maxBytes);
  });
});
