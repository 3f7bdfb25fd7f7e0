/**
 * What the runner does with dispatcher frames that do not follow the protocol: each is
 * logged with the contract's reason and dropped — the handler never sees it, nothing is sent
 * back, the connection stays open and the next good job runs. Also the one place where the
 * wire's sampler names (the contract) are checked against the samplers gpu-runner
 * implements (see contract/src/enums.ts for why there are two lists).
 */
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import {
  SAMPLER_NAMES,
  type JobMessage,
  type RunnerToDispatcher,
  type SamplerName,
} from '@maskunet/contract';
import { SAMPLERS, type SamplerName as ImplementedSampler } from '../../src/samplers/index';
import {
  RunnerClient,
  type JobHandler,
  type RunnerClientOptions,
  type SocketCallbacks,
} from '../../src/service';

const PNG = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0);

const job: JobMessage = {
  type: 'job',
  jobId: 'job_1',
  attempt: 1,
  model: 'm',
  variant: null,
  bankId: null,
  prompt: 'p',
  seed: 1,
  steps: 2,
  guidance: 7.5,
  sampler: 'ddim',
  deadlineMs: 60_000,
};

interface Harness {
  readonly runner: RunnerClient;
  readonly sent: RunnerToDispatcher[];
  readonly warnings: { message: string; fields: Record<string, unknown> | undefined }[];
  readonly handled: string[];
  /** Delivers one text frame as the dispatcher would. */
  deliver(frame: string): void;
  /** Resolves with the first sent message of `type`. */
  nextSent<T extends RunnerToDispatcher['type']>(type: T): Promise<Extract<RunnerToDispatcher, { type: T }>>;
}

const runners: RunnerClient[] = [];
afterEach(async () => {
  await Promise.all(runners.splice(0).map((runner) => runner.stop()));
});

async function connected(extra: Partial<RunnerClientOptions> = {}): Promise<Harness> {
  const sent: RunnerToDispatcher[] = [];
  const waiters: { type: string; resolve: (message: RunnerToDispatcher) => void }[] = [];
  const warnings: Harness['warnings'] = [];
  const handled: string[] = [];
  let callbacks: SocketCallbacks | null = null;
  const handler: JobHandler = (message) => {
    handled.push(message.jobId);
    return Promise.resolve({ png: PNG, timings: { bankFetchMs: 0, stepsMs: 1, encodeMs: 0 } });
  };
  const runner = new RunnerClient({
    url: 'http://edge.test',
    token: 't',
    model: 'm',
    backend: 'cpu',
    runnerId: 'r1',
    handler,
    heartbeatIntervalMs: 3_600_000,
    log: (level, message, fields) => {
      if (level === 'warn') warnings.push({ message, fields });
    },
    socketFactory: (_url, _headers, socketCallbacks) => {
      callbacks = socketCallbacks;
      // Opened after the factory returns, as a real socket would be.
      queueMicrotask(() => socketCallbacks.onOpen());
      return {
        send: (data) => {
          const message = JSON.parse(data) as RunnerToDispatcher;
          sent.push(message);
          for (const waiter of waiters.splice(0)) {
            if (waiter.type === message.type) waiter.resolve(message);
            else waiters.push(waiter);
          }
        },
        close: () => undefined,
      };
    },
    ...extra,
  });
  runners.push(runner);
  runner.start();
  await runner.waitFor('open');
  return {
    runner,
    sent,
    warnings,
    handled,
    deliver: (frame) => {
      if (callbacks === null) throw new Error('not connected');
      callbacks.onMessage(frame);
    },
    nextSent: (type) =>
      new Promise((resolve) => {
        const found = sent.find((message) => message.type === type);
        if (found !== undefined) resolve(found as never);
        else waiters.push({ type, resolve: resolve as (message: RunnerToDispatcher) => void });
      }),
  };
}

describe('malformed dispatcher messages', () => {
  it.each([
    ['not JSON', '{"type":', 'message is not JSON'],
    ['not an object', '"job"', 'message is not an object'],
    ['an unknown type', '{"type":"reboot"}', 'unknown message type "reboot"'],
    [
      'a job with a sampler this runner does not know',
      JSON.stringify({ ...job, sampler: 'euler' }),
      'job.sampler must be one of ddim, dpmpp2m, ddpm',
    ],
    ['a job without an id', JSON.stringify({ ...job, jobId: undefined }), 'job.jobId must be a string'],
    [
      'a job with a seed out of range',
      JSON.stringify({ ...job, seed: -1 }),
      'job.seed must be an integer in [0, 4294967295]',
    ],
    ['a cancel without an id', '{"type":"cancel"}', 'cancel.jobId must be a string'],
  ])('logs and drops %s, then still runs the next job', async (_what, frame, reason) => {
    const harness = await connected();
    harness.deliver(frame);
    expect(harness.warnings).toEqual([
      { message: 'ignored a malformed dispatcher message', fields: { runnerId: 'r1', reason } },
    ]);
    expect(harness.handled).toEqual([]);
    expect(harness.sent.map((message) => message.type)).toEqual(['hello']);
    expect(harness.runner.state).toBe('open');

    harness.deliver(JSON.stringify(job));
    expect(await harness.nextSent('result')).toMatchObject({ jobId: 'job_1', attempt: 1, backend: 'cpu' });
    expect(harness.handled).toEqual(['job_1']);
  });

  it('drops a frame above maxMessageChars before parsing it', async () => {
    const harness = await connected({ maxMessageChars: 200 });
    harness.deliver(JSON.stringify({ ...job, prompt: 'x'.repeat(200) }));
    expect(harness.warnings.map((w) => w.fields?.reason)).toEqual(['message longer than 200 characters']);
    expect(harness.handled).toEqual([]);
  });

  it('refuses a maxMessageChars that is not a positive integer', () => {
    const options = { url: 'http://edge.test', token: 't', model: 'm', backend: 'cpu' } as const;
    const handler: JobHandler = () => Promise.reject(new Error('unused'));
    expect(() => new RunnerClient({ ...options, handler, maxMessageChars: 0 })).toThrow(RangeError);
    expect(() => new RunnerClient({ ...options, handler, maxMessageChars: 1.5 })).toThrow(/maxMessageChars/);
  });
});

describe('sampler names', () => {
  it('are exactly the samplers gpu-runner implements', () => {
    expect([...SAMPLERS].sort()).toEqual([...SAMPLER_NAMES].sort());
    expectTypeOf<SamplerName>().toEqualTypeOf<ImplementedSampler>();
  });
});
