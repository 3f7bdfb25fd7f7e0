/**
 * The dispatcher end to end inside workerd: fake runners on real WebSockets through the
 * worker's connect route, jobs submitted through POST /v1/generate, D1 and R2 checked
 * afterwards. Each test uses its own model, so each meets a fresh dispatcher object.
 * Test limits (vitest.config.ts): QUEUE_LIMIT 3, JOB_TIMEOUT_MS 4000,
 * RUNNER_HEARTBEAT_TIMEOUT_MS 1500, SSE_KEEPALIVE_MS 250, MAX_ATTEMPTS 3 (default).
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import type { GenerateAccepted, Job } from '@maskunet/contract';
import { RUNNER_CLOSE_CODES } from '@maskunet/contract';
import { EventReader, FakeRunner, dispatcherSummary, tinyPng, waitForRunners } from './fake-runner';
import {
  RUNNER_TOKEN,
  bytesOf,
  call,
  createTenant,
  createVariant,
  errorCode,
  json,
  makeBank,
  registerModel,
  uploadBank,
  type TestTenant,
} from './helpers';

interface Setup {
  model: string;
  tenant: TestTenant;
  variant: string;
  bankId: string;
}

async function setup(seed = 1): Promise<Setup> {
  const model = (await registerModel()).id;
  const tenant = await createTenant();
  const variant = await createVariant(tenant, model);
  const bank = await makeBank({ seed });
  expect((await uploadBank(tenant, variant, bank.bytes)).status).toBe(201);
  return { model, tenant, variant, bankId: bank.id };
}

function generate(s: Setup, options: { stream?: boolean; variant?: string | null; prompt?: string } = {}) {
  return call('POST', '/v1/generate', {
    token: s.tenant.apiKey,
    json: {
      model: s.model,
      ...(options.variant === null ? {} : { variant: options.variant ?? s.variant }),
      prompt: options.prompt ?? 'a red fox',
      seed: 42,
      steps: 3,
    },
    headers: options.stream === true ? { Accept: 'text/event-stream' } : {},
  });
}

async function submit(s: Setup, options: { variant?: string | null } = {}): Promise<string> {
  const res = await generate(s, options);
  expect(res.status).toBe(202);
  return (await json<GenerateAccepted>(res)).jobId;
}

async function job(s: Setup, jobId: string): Promise<Job> {
  return json<Job>(await call('GET', `/v1/jobs/${jobId}`, { token: s.tenant.apiKey }));
}

function waitForStatus(s: Setup, jobId: string, status: Job['status'], timeoutMs = 8000): Promise<Job> {
  return vi.waitFor(
    async () => {
      const current = await job(s, jobId);
      if (current.status !== status) throw new Error(`job ${jobId} is ${current.status}, expected ${status}`);
      return current;
    },
    { timeout: timeoutMs, interval: 25 },
  );
}

describe('runner connections', () => {
  it('needs the runner token, a known model and a WebSocket upgrade', async () => {
    const model = (await registerModel()).id;
    const tenant = await createTenant();
    const path = `/v1/runners/connect?model=${model}`;
    const upgrade = { Upgrade: 'websocket' };
    expect((await call('GET', path, { headers: upgrade })).status).toBe(401);
    expect((await call('GET', path, { token: tenant.apiKey, headers: upgrade })).status).toBe(403);
    const unknown = await call('GET', '/v1/runners/connect?model=nope', {
      token: RUNNER_TOKEN,
      headers: upgrade,
    });
    expect(unknown.status).toBe(404);
    expect((await call('GET', '/v1/runners/connect', { token: RUNNER_TOKEN, headers: upgrade })).status).toBe(
      400,
    );
    const plain = await call('GET', path, { token: RUNNER_TOKEN });
    expect(plain.status).toBe(426);
    expect(await errorCode(plain)).toBe('upgrade_required');
  });

  it('appears in the model summary after hello and disappears when it closes', async () => {
    const model = (await registerModel()).id;
    const gpu = await FakeRunner.connect(model, { runnerId: 'gpu-1', backend: 'webgpu', capacity: 2 });
    const cpu = await FakeRunner.connect(model, { runnerId: 'cpu-1', backend: 'cpu' });
    await waitForRunners(model, 2);
    const summary = await json<{ runners: { count: number; backends: string[] } }>(
      await call('GET', `/v1/models/${model}`, { token: RUNNER_TOKEN }),
    );
    expect(summary.runners).toEqual({ count: 2, backends: ['cpu', 'webgpu'] });
    gpu.close();
    await waitForRunners(model, 1);
    cpu.close();
    await waitForRunners(model, 0);
  });

  it.each([
    [
      'a first message other than hello',
      { type: 'failed', jobId: 'job_x', attempt: 1, code: 'x', message: 'x', retryable: false },
      RUNNER_CLOSE_CODES.protocolError,
    ],
    ['malformed JSON', '{"type":', RUNNER_CLOSE_CODES.protocolError],
    [
      'another protocol version',
      { type: 'hello', runnerId: 'r', model: 'MODEL', backend: 'cpu', capacity: 1, banks: [], protocol: 2 },
      RUNNER_CLOSE_CODES.unsupportedProtocol,
    ],
    [
      'hello for another model',
      { type: 'hello', runnerId: 'r', model: 'other', backend: 'cpu', capacity: 1, banks: [], protocol: 1 },
      RUNNER_CLOSE_CODES.wrongModel,
    ],
    [
      'a hello with a bad capacity',
      { type: 'hello', runnerId: 'r', model: 'MODEL', backend: 'cpu', capacity: 0, banks: [], protocol: 1 },
      RUNNER_CLOSE_CODES.protocolError,
    ],
  ] as const)('closes the socket on %s', async (_what, message, code) => {
    const model = (await registerModel()).id;
    const runner = await FakeRunner.connect(model, { runnerId: 'r', hello: false });
    if (typeof message === 'string') runner.socket.send(message);
    else
      runner.send(
        JSON.parse(JSON.stringify(message).replace('"MODEL"', JSON.stringify(model))) as Record<
          string,
          unknown
        >,
      );
    expect((await runner.waitClosed()).code).toBe(code);
    await waitForRunners(model, 0);
  });
});

describe('generating', () => {
  it('streams queued, started, progress and done over SSE; stores the PNG in R2 and the job in D1', async () => {
    const s = await setup();
    const runner = await FakeRunner.connect(s.model, { runnerId: 'r1', backend: 'webgpu' });
    await waitForRunners(s.model, 1);
    const res = await generate(s, { stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    const jobId = res.headers.get('x-job-id')!;
    const events = new EventReader(res);
    expect(await events.next()).toEqual({ event: 'queued', data: { jobId, position: 0, attempt: 1 } });
    expect(await events.next()).toEqual({
      event: 'started',
      data: { jobId, runnerId: 'r1', backend: 'webgpu', attempt: 1 },
    });

    const sent = await runner.next('job');
    expect(sent).toMatchObject({
      jobId,
      attempt: 1,
      model: s.model,
      variant: s.variant,
      bankId: s.bankId,
      prompt: 'a red fox',
      seed: 42,
      steps: 3,
      guidance: 7.5,
      sampler: 'ddim',
    });
    expect(sent.deadlineMs).toBeGreaterThan(0);
    expect(sent.deadlineMs).toBeLessThanOrEqual(4000);
    // The runner fetches the bank with its token, as the real runner client does.
    const bank = await call('GET', `/v1/banks/${sent.bankId!}`, { token: RUNNER_TOKEN });
    expect(bank.status).toBe(200);
    await bank.arrayBuffer();

    for (let step = 1; step <= 3; step++) {
      runner.progress(sent, step);
      expect(await events.next()).toEqual({
        event: 'progress',
        data: { jobId, step, total: 3, timestep: 1000 - step * 10 },
      });
    }
    // A step that is not ahead of the last one (a duplicate, or a frame that arrives late)
    // is not passed on: callers see progress only move forward.
    runner.progress(sent, 2);
    runner.result(sent, 7);
    const done = await events.next();
    expect(done?.event).toBe('done');
    expect(done?.data).toMatchObject({
      jobId,
      imageUrl: `/v1/jobs/${jobId}/image`,
      timings: { bankFetchMs: 1, stepsMs: 2, encodeMs: 3 },
    });
    expect(await events.next()).toBeNull();

    const record = await job(s, jobId);
    expect(record).toMatchObject({
      status: 'done',
      attempt: 1,
      runnerId: 'r1',
      backend: 'webgpu',
      error: null,
    });
    expect(record.timings?.queueMs).toBeGreaterThanOrEqual(0);
    const image = await call('GET', `/v1/jobs/${jobId}/image`, { token: s.tenant.apiKey });
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/png');
    expect(await bytesOf(image)).toEqual(tinyPng(7));
    expect(await env.BANKS.head(`results/${jobId}.png`)).not.toBeNull();
    runner.close();
  });

  it('answers 202 without an event stream; the job can be polled and runs on the base model without a variant', async () => {
    const s = await setup();
    const runner = await FakeRunner.connect(s.model, { runnerId: 'r1' });
    await waitForRunners(s.model, 1);
    const res = await generate(s, { variant: null });
    expect(res.status).toBe(202);
    const accepted = await json<GenerateAccepted>(res);
    expect(res.headers.get('location')).toBe(`/v1/jobs/${accepted.jobId}`);
    expect(accepted).toMatchObject({ status: 'queued', position: 0 });
    const sent = await runner.next('job');
    expect(sent).toMatchObject({ jobId: accepted.jobId, variant: null, bankId: null });
    expect((await waitForStatus(s, accepted.jobId, 'running')).runnerId).toBe('r1');
    const early = await call('GET', `/v1/jobs/${accepted.jobId}/image`, { token: s.tenant.apiKey });
    expect(early.status).toBe(409);
    expect(await errorCode(early)).toBe('job_not_done');
    runner.result(sent, 1);
    await waitForStatus(s, accepted.jobId, 'done');
    runner.close();
  });

  it('routes by bank affinity first, then by load', async () => {
    const s = await setup();
    // A second variant of the same model, with another bank.
    const variantB = await createVariant(s.tenant, s.model);
    const bankB = await makeBank({ seed: 3 });
    expect((await uploadBank(s.tenant, variantB, bankB.bytes)).status).toBe(201);

    // "a-…" sorts first, so without affinity the tie-break would pick it.
    const plain = await FakeRunner.connect(s.model, { runnerId: 'a-plain', capacity: 1 });
    const holder = await FakeRunner.connect(s.model, {
      runnerId: 'z-holder',
      capacity: 1,
      banks: [s.bankId],
    });
    await waitForRunners(s.model, 2);

    await submit(s);
    const toHolder = await holder.next('job');
    expect(toHolder.bankId).toBe(s.bankId);
    expect(await plain.quiet('job', 150)).toBe(true);

    // The holder is full now: the next job of its bank goes to the other runner.
    await submit(s);
    const overflow = await plain.next('job');
    expect(overflow.bankId).toBe(s.bankId);

    holder.result(toHolder, 1);
    plain.result(overflow, 2);
    // Both idle; a job for bank B goes to the runner that announced B in its heartbeat.
    plain.heartbeat([bankB.id]);
    holder.heartbeat([s.bankId]);
    await vi.waitFor(
      async () => {
        const { runners } = await dispatcherSummary(s.model);
        expect(runners.map(({ runnerId, running, banks }) => ({ runnerId, running, banks }))).toEqual(
          expect.arrayContaining([
            { runnerId: 'a-plain', running: 0, banks: [bankB.id] },
            { runnerId: 'z-holder', running: 0, banks: [s.bankId] },
          ]),
        );
      },
      { timeout: 5000, interval: 10 },
    );
    await submit(s, { variant: variantB });
    expect((await plain.next('job')).bankId).toBe(bankB.id);
    expect(await holder.quiet('job', 150)).toBe(true);
    plain.close();
    holder.close();
  });

  it('re-queues the jobs of a runner that disconnects, as a new attempt, to another runner', async () => {
    const s = await setup();
    const first = await FakeRunner.connect(s.model, { runnerId: 'first' });
    await waitForRunners(s.model, 1);
    const res = await generate(s, { stream: true });
    const events = new EventReader(res);
    const attempt1 = await first.next('job');
    expect(attempt1.attempt).toBe(1);
    first.close();
    await waitForRunners(s.model, 0);
    expect(await waitForStatus(s, attempt1.jobId, 'queued')).toMatchObject({ attempt: 1, runnerId: null });
    const second = await FakeRunner.connect(s.model, { runnerId: 'second' });
    const attempt2 = await second.next('job');
    expect(attempt2).toMatchObject({ jobId: attempt1.jobId, attempt: 2 });
    second.result(attempt2, 2);
    const all = await events.drain();
    expect(all.map((e) => e.event)).toEqual(['queued', 'started', 'queued', 'started', 'done']);
    expect(all[2]?.data).toMatchObject({ attempt: 2 });
    expect(all[3]?.data).toMatchObject({ runnerId: 'second', attempt: 2 });
    expect(await job(s, attempt1.jobId)).toMatchObject({ status: 'done', attempt: 2, runnerId: 'second' });
    second.close();
  });

  it('drops a runner that misses heartbeats and re-queues its job', async () => {
    const s = await setup();
    const silent = await FakeRunner.connect(s.model, { runnerId: 'silent' });
    const alive = await FakeRunner.connect(s.model, { runnerId: 'zz-alive' });
    await waitForRunners(s.model, 2);
    const jobId = await submit(s);
    const taken = await silent.next('job');
    expect(taken.jobId).toBe(jobId);
    // Keep the other runner alive past the 1.5 s heartbeat timeout; the silent one stays silent.
    const beat = setInterval(() => alive.heartbeat(), 300);
    try {
      expect((await silent.waitClosed(4000)).code).toBe(RUNNER_CLOSE_CODES.heartbeatTimeout);
      const retried = await alive.next('job', 3000);
      expect(retried).toMatchObject({ jobId, attempt: 2 });
      alive.result(retried, 3);
      await waitForStatus(s, jobId, 'done');
    } finally {
      clearInterval(beat);
      alive.close();
    }
  });

  it('ignores late and duplicate results of superseded attempts: one result reaches the caller', async () => {
    const s = await setup();
    const runner = await FakeRunner.connect(s.model, { runnerId: 'r1' });
    await waitForRunners(s.model, 1);
    const res = await generate(s, { stream: true });
    const events = new EventReader(res);
    const attempt1 = await runner.next('job');
    runner.fail(attempt1, 'out_of_memory', true);
    const attempt2 = await runner.next('job');
    expect(attempt2.attempt).toBe(2);
    // A late result and late progress of attempt 1 are ignored: the job keeps running.
    runner.result(attempt1, 1, 1);
    runner.progress(attempt1, 2, 1);
    runner.progress(attempt2, 1);
    expect((await events.next())?.event).toBe('queued');
    expect((await events.next())?.event).toBe('started');
    expect((await events.next())?.event).toBe('queued');
    expect(await events.next()).toMatchObject({ event: 'started', data: { attempt: 2 } });
    expect(await events.next()).toMatchObject({ event: 'progress', data: { step: 1 } });
    expect((await job(s, attempt1.jobId)).status).toBe('running');
    runner.result(attempt2, 2);
    expect(await events.next()).toMatchObject({ event: 'done' });
    // Duplicates of the finished attempt, and the stale attempt again, change nothing.
    runner.result(attempt2, 3);
    runner.result(attempt2, 4, 2);
    runner.result(attempt1, 5, 1);
    expect(await events.next()).toBeNull();
    await runner.flush();
    const image = await call('GET', `/v1/jobs/${attempt1.jobId}/image`, { token: s.tenant.apiKey });
    expect(await bytesOf(image)).toEqual(tinyPng(2));
    expect(await job(s, attempt1.jobId)).toMatchObject({ status: 'done', attempt: 2 });
    runner.close();
  });

  it('fails a job after MAX_ATTEMPTS lost runners, and at once on a non-retryable failure', async () => {
    const s = await setup();
    const res = await generate(s, { stream: true });
    const events = new EventReader(res);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const runner = await FakeRunner.connect(s.model, { runnerId: `r${attempt}` });
      expect((await runner.next('job')).attempt).toBe(attempt);
      runner.close();
      await waitForRunners(s.model, 0);
    }
    const all = await events.drain();
    expect(all.at(-1)).toMatchObject({ event: 'error', data: { code: 'runner_lost' } });
    const jobId = all[0]!.data.jobId;
    expect(await job(s, jobId)).toMatchObject({
      status: 'failed',
      attempt: 3,
      error: { code: 'runner_lost' },
    });

    const runner = await FakeRunner.connect(s.model, { runnerId: 'strict' });
    const second = await submit(s);
    const sent = await runner.next('job');
    runner.fail(sent, 'bank_unusable', false);
    expect(await waitForStatus(s, second, 'failed')).toMatchObject({
      attempt: 1,
      error: { code: 'bank_unusable', message: 'bank_unusable on purpose' },
    });
    runner.close();
  });

  it('refuses a result that is not a PNG', async () => {
    const s = await setup();
    const runner = await FakeRunner.connect(s.model, { runnerId: 'r1' });
    const jobId = await submit(s);
    const sent = await runner.next('job');
    runner.send({
      type: 'result',
      jobId,
      attempt: sent.attempt,
      pngBase64: btoa('GIF89a'),
      timings: { bankFetchMs: 0, stepsMs: 0, encodeMs: 0 },
      backend: 'test',
    });
    expect((await waitForStatus(s, jobId, 'failed')).error?.code).toBe('bad_result');
    expect(await env.BANKS.head(`results/${jobId}.png`)).toBeNull();
    runner.close();
  });
});

describe('cancel, timeout, queue limits', () => {
  it('keeps a waiting stream open with SSE comments (SSE_KEEPALIVE_MS) that carry no event', async () => {
    const s = await setup();
    const res = await generate(s, { stream: true });
    expect(res.status).toBe(200);
    const jobId = res.headers.get('x-job-id')!;
    const events = new EventReader(res);
    expect(await events.next()).toMatchObject({ event: 'queued' });
    // No runner: nothing but keep-alives until the job is cancelled (test interval 250 ms).
    await events.keepAlives(2);
    const cancelled = await call('POST', `/v1/jobs/${jobId}/cancel`, { token: s.tenant.apiKey });
    expect(cancelled.status).toBe(200);
    expect((await events.drain()).map((e) => e.event)).toEqual(['queued', 'error']);
    expect(events.comments).toBeGreaterThanOrEqual(2);
  });

  it('cancels a queued job; a second cancel is 409', async () => {
    const s = await setup();
    const res = await generate(s, { stream: true });
    const jobId = res.headers.get('x-job-id')!;
    const events = new EventReader(res);
    const cancelled = await call('POST', `/v1/jobs/${jobId}/cancel`, { token: s.tenant.apiKey });
    expect(cancelled.status).toBe(200);
    expect(await json<Job>(cancelled)).toMatchObject({ status: 'cancelled', error: { code: 'cancelled' } });
    expect((await events.drain()).map((e) => e.event)).toEqual(['queued', 'error']);
    const again = await call('POST', `/v1/jobs/${jobId}/cancel`, { token: s.tenant.apiKey });
    expect(again.status).toBe(409);
    expect(await errorCode(again)).toBe('job_finished');
    // A runner that connects later gets nothing.
    const runner = await FakeRunner.connect(s.model, { runnerId: 'late' });
    expect(await runner.quiet('job', 200)).toBe(true);
    runner.close();
  });

  it('cancels a running job: the runner is told, and its late result is ignored', async () => {
    const s = await setup();
    const runner = await FakeRunner.connect(s.model, { runnerId: 'r1' });
    const jobId = await submit(s);
    const sent = await runner.next('job');
    const res = await call('POST', `/v1/jobs/${jobId}/cancel`, { token: s.tenant.apiKey });
    expect(res.status).toBe(200);
    expect(await runner.next('cancel')).toEqual({ type: 'cancel', jobId });
    runner.result(sent, 9);
    await runner.flush();
    expect((await job(s, jobId)).status).toBe('cancelled');
    expect((await call('GET', `/v1/jobs/${jobId}/image`, { token: s.tenant.apiKey })).status).toBe(409);
    expect(await env.BANKS.head(`results/${jobId}.png`)).toBeNull();
    // The slot is free again.
    const next = await submit(s);
    expect((await runner.next('job')).jobId).toBe(next);
    runner.close();
  });

  it('fails a job that outlives JOB_TIMEOUT_MS and tells its runner to stop', async () => {
    const s = await setup();
    const runner = await FakeRunner.connect(s.model, { runnerId: 'slow' });
    const res = await generate(s, { stream: true });
    const events = new EventReader(res);
    const sent = await runner.next('job');
    const beat = setInterval(() => runner.heartbeat(), 300);
    try {
      expect(await runner.next('cancel', 6000)).toEqual({ type: 'cancel', jobId: sent.jobId });
      const all = await events.drain();
      expect(all.at(-1)).toMatchObject({ event: 'error', data: { code: 'timeout' } });
      expect(await job(s, sent.jobId)).toMatchObject({ status: 'failed', error: { code: 'timeout' } });
    } finally {
      clearInterval(beat);
      runner.close();
    }
  });

  it('refuses jobs beyond QUEUE_LIMIT with 503 queue_full and records nothing for them', async () => {
    const s = await setup();
    const accepted: string[] = [];
    for (let i = 0; i < 3; i++) accepted.push(await submit(s));
    const res = await generate(s);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(await errorCode(res)).toBe('queue_full');
    const rows = await env.DB.prepare(`SELECT id FROM jobs WHERE tenant_id = ?`)
      .bind(s.tenant.id)
      .all<{ id: string }>();
    expect(rows.results.map((r) => r.id).sort()).toEqual([...accepted].sort());
    for (const jobId of accepted) {
      expect((await call('POST', `/v1/jobs/${jobId}/cancel`, { token: s.tenant.apiKey })).status).toBe(200);
    }
  });
});

describe('generate: validation, tenancy and rate limits', () => {
  it('validates the request', async () => {
    const s = await setup();
    const bad: Record<string, unknown>[] = [
      { model: s.model },
      { model: s.model, prompt: '' },
      { model: s.model, prompt: 'x'.repeat(201) },
      { model: s.model, prompt: 'x', steps: 0 },
      { model: s.model, prompt: 'x', steps: 151 },
      { model: s.model, prompt: 'x', seed: -1 },
      { model: s.model, prompt: 'x', guidance: 31 },
      { model: s.model, prompt: 'x', sampler: 'euler' },
    ];
    for (const body of bad) {
      const res = await call('POST', '/v1/generate', { token: s.tenant.apiKey, json: body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(await errorCode(res)).toBe('invalid_request');
    }
    const noModel = await call('POST', '/v1/generate', {
      token: s.tenant.apiKey,
      json: { model: 'nope', prompt: 'x' },
    });
    expect(noModel.status).toBe(404);
    const empty = await createVariant(s.tenant, s.model);
    const emptyRes = await generate(s, { variant: empty });
    expect(emptyRes.status).toBe(409);
    expect(await errorCode(emptyRes)).toBe('variant_empty');
    const otherModel = await setup(5);
    const mismatch = await call('POST', '/v1/generate', {
      token: s.tenant.apiKey,
      json: { model: otherModel.model, variant: s.variant, prompt: 'x' },
    });
    expect(mismatch.status).toBe(400);
    expect((await call('POST', '/v1/generate', { json: { model: s.model, prompt: 'x' } })).status).toBe(401);
  });

  it("hides other tenants' jobs (404)", async () => {
    const s = await setup();
    const jobId = await submit(s);
    const stranger = await createTenant();
    for (const [method, path] of [
      ['GET', `/v1/jobs/${jobId}`],
      ['GET', `/v1/jobs/${jobId}/image`],
      ['POST', `/v1/jobs/${jobId}/cancel`],
    ] as const) {
      const res = await call(method, path, { token: stranger.apiKey });
      expect(res.status, path).toBe(404);
      expect(await errorCode(res)).toBe('job_not_found');
    }
    expect((await call('POST', `/v1/jobs/${jobId}/cancel`, { token: s.tenant.apiKey })).status).toBe(200);
  });

  it('rate-limits jobs per tenant per minute with 429 and Retry-After', async () => {
    const model = (await registerModel()).id;
    const limited = await createTenant({ jobsPerMinute: 2 });
    const s: Setup = { model, tenant: limited, variant: '', bankId: '' };
    const first = await submit(s, { variant: null });
    const second = await submit(s, { variant: null });
    const third = await generate(s, { variant: null });
    expect(third.status).toBe(429);
    const retryAfter = Number(third.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await errorCode(third)).toBe('rate_limited');
    // Another tenant is not affected.
    const other = await createTenant({ jobsPerMinute: 2 });
    const otherId = await submit({ ...s, tenant: other }, { variant: null });
    for (const [tenant, jobId] of [
      [limited, first],
      [limited, second],
      [other, otherId],
    ] as const) {
      await call('POST', `/v1/jobs/${jobId}/cancel`, { token: tenant.apiKey });
    }
  });
});
