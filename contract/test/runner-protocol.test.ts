/**
 * The runner protocol's frames, parsed the way both ends parse them on arrival: every message
 * type round-trips, every refusal says which field and why (it becomes the dispatcher's 4002
 * close reason or the runner's log line), the frame bound is checked before JSON.parse, and
 * zod runs without generated code (Workers forbid `new Function`).
 */
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  MAX_ANNOUNCED_BANKS,
  parseDispatcherMessage,
  parseRunnerMessage,
  RUNNER_PROTOCOL_VERSION,
  type DispatcherToRunner,
  type RunnerToDispatcher,
} from '@maskunet/contract';

const BANK = '0123456789abcdef'.repeat(4);
const MAX = 10_000;

const runnerMessages: RunnerToDispatcher[] = [
  {
    type: 'hello',
    runnerId: 'gpu-1.local:0',
    model: 'emoji32',
    backend: 'webgpu',
    capacity: 4,
    banks: [BANK],
    protocol: RUNNER_PROTOCOL_VERSION,
  },
  { type: 'heartbeat', load: 0.5, banks: [] },
  { type: 'progress', jobId: 'job_1', attempt: 1, step: 3, total: 25, timestep: 881.5 },
  {
    type: 'result',
    jobId: 'job_1',
    attempt: 2,
    pngBase64: 'iVBORw0KGgo=',
    timings: { bankFetchMs: 0, stepsMs: 12.5, encodeMs: 1 },
    backend: 'node-cpu',
  },
  { type: 'failed', jobId: 'job_1', attempt: 1, code: 'out_of_memory', message: 'OOM', retryable: true },
];

const dispatcherMessages: DispatcherToRunner[] = [
  {
    type: 'job',
    jobId: 'job_1',
    attempt: 1,
    model: 'emoji32',
    variant: 'var_1',
    bankId: BANK,
    prompt: 'a cat',
    seed: 0xffffffff,
    steps: 25,
    guidance: 7.5,
    sampler: 'ddim',
    deadlineMs: 119_000,
  },
  { type: 'cancel', jobId: 'job_1' },
];

function runnerRefusal(message: unknown): string | null {
  const parsed = parseRunnerMessage(JSON.stringify(message), MAX);
  return parsed.ok ? null : parsed.reason;
}

describe('runner → dispatcher', () => {
  it.each(runnerMessages.map((m) => [m.type, m] as const))('round-trips %s', (_type, message) => {
    expect(parseRunnerMessage(JSON.stringify(message), MAX)).toEqual({ ok: true, message });
  });

  it('refuses frames that are not messages, before looking at fields', () => {
    expect(parseRunnerMessage('x'.repeat(MAX + 1), MAX)).toEqual({
      ok: false,
      reason: `message longer than ${MAX} characters`,
    });
    expect(parseRunnerMessage('{"type":', MAX)).toEqual({ ok: false, reason: 'message is not JSON' });
    expect(parseRunnerMessage('[1]', MAX)).toEqual({ ok: false, reason: 'message is not an object' });
    expect(parseRunnerMessage('{"type":"job"}', MAX)).toEqual({
      ok: false,
      reason: 'unknown message type "job"',
    });
    expect(parseRunnerMessage('{}', MAX)).toEqual({ ok: false, reason: 'unknown message type undefined' });
  });

  it.each([
    [{ capacity: 0 }, 'hello.capacity must be an integer in [1, 64]'],
    [{ capacity: 65 }, 'hello.capacity must be an integer in [1, 64]'],
    [{ runnerId: 'has space' }, 'hello.runnerId must be a runner id (1–128 chars of [A-Za-z0-9._:-])'],
    [{ backend: 'CPU' }, 'hello.backend must be a backend name (1–64 chars of [a-z0-9_-])'],
    [{ banks: ['nothex'] }, 'hello.banks[0] must be a bank id (64 lower-case hex digits)'],
    [{ model: 'm'.repeat(65) }, 'hello.model must be a string of at most 64 characters'],
    [{ protocol: '1' }, 'hello.protocol must be a finite number'],
  ])('refuses hello with %j: "%s"', (change, reason) => {
    expect(runnerRefusal({ ...runnerMessages[0], ...change })).toBe(reason);
  });

  it('refuses a hello announcing more than MAX_ANNOUNCED_BANKS banks', () => {
    const banks = Array.from({ length: MAX_ANNOUNCED_BANKS + 1 }, () => BANK);
    expect(parseRunnerMessage(JSON.stringify({ ...runnerMessages[0], banks }), 1 << 20)).toEqual({
      ok: false,
      reason: 'hello.banks must hold at most 4096 bank ids',
    });
  });

  it('lets any protocol number through, so the dispatcher can answer 4003 instead of 4002', () => {
    expect(runnerRefusal({ ...runnerMessages[0], protocol: 2 })).toBeNull();
  });

  it('refuses the fields of progress, result and failed messages', () => {
    const [, heartbeat, progress, result, failed] = runnerMessages;
    expect(runnerRefusal({ ...heartbeat, load: 1.5 })).toBe('heartbeat.load must be a number in [0, 1]');
    expect(runnerRefusal({ ...progress, step: 26 })).toBe('progress.step must not exceed total');
    expect(runnerRefusal({ ...progress, attempt: 0 })).toBe(
      'progress.attempt must be an integer in [1, 1000]',
    );
    expect(runnerRefusal({ ...progress, jobId: 'j'.repeat(65) })).toBe(
      'progress.jobId must be a string of at most 64 characters',
    );
    expect(runnerRefusal({ ...result, timings: { bankFetchMs: 0, stepsMs: -1, encodeMs: 0 } })).toBe(
      'result.timings.stepsMs must be a finite number ≥ 0',
    );
    expect(runnerRefusal({ ...result, timings: null })).toBe('result.timings must be an object');
    expect(runnerRefusal({ ...result, pngBase64: 7 })).toBe('result.pngBase64 must be a string');
    expect(runnerRefusal({ ...failed, code: 'Out Of Memory' })).toBe(
      'failed.code must be a failure code (1–64 chars of [a-z0-9_])',
    );
    expect(runnerRefusal({ ...failed, retryable: 'yes' })).toBe('failed.retryable must be true or false');
  });

  it('drops fields the protocol does not have', () => {
    const parsed = parseRunnerMessage(JSON.stringify({ ...runnerMessages[1], extra: 1 }), MAX);
    expect(parsed).toEqual({ ok: true, message: runnerMessages[1] });
  });
});

describe('dispatcher → runner', () => {
  it.each(dispatcherMessages.map((m) => [m.type, m] as const))('round-trips %s', (_type, message) => {
    expect(parseDispatcherMessage(JSON.stringify(message))).toEqual({ ok: true, message });
  });

  it('round-trips a job for the bare base model (no variant, no bank)', () => {
    const bare = { ...dispatcherMessages[0], variant: null, bankId: null };
    expect(parseDispatcherMessage(JSON.stringify(bare))).toEqual({ ok: true, message: bare });
  });

  it('refuses what a runner cannot run, naming the field', () => {
    const [jobMessage] = dispatcherMessages;
    const refuse = (message: unknown): string | null => {
      const parsed = parseDispatcherMessage(JSON.stringify(message));
      return parsed.ok ? null : parsed.reason;
    };
    expect(refuse({ ...jobMessage, sampler: 'euler' })).toBe(
      'job.sampler must be one of ddim, dpmpp2m, ddpm',
    );
    expect(refuse({ ...jobMessage, seed: -1 })).toBe('job.seed must be an integer in [0, 4294967295]');
    expect(refuse({ ...jobMessage, bankId: 'x' })).toBe(
      'job.bankId must be a bank id (64 lower-case hex digits)',
    );
    expect(refuse({ type: 'cancel' })).toBe('cancel.jobId must be a string');
    expect(refuse({ type: 'hello' })).toBe('unknown message type "hello"');
    expect(parseDispatcherMessage('{"type":"cancel","jobId":"j"}', 10)).toEqual({
      ok: false,
      reason: 'message longer than 10 characters',
    });
  });
});

describe('zod configuration', () => {
  it('runs jitless: no generated code, as Workers and `wrangler dev` require', () => {
    expect(z.config().jitless).toBe(true);
  });
});
