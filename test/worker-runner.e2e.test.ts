/**
 * End to end across packages, on the real local stack: the worker under `wrangler dev`
 * (workerd, where eval/new Function are blocked as in production, so mask-store's msgpack
 * code runs its fallback path), started by worker/scripts/dev.ts with a throwaway state
 * directory, and gpu-runner's RunnerClient over a real `ws` WebSocket with the pattern
 * handler. Covers: bank upload and delta download under wrangler dev, generation with SSE
 * progress and a PNG that decodes, the runner's bank cache, cancellation reaching the
 * handler, and reconnecting after the worker restarts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode } from 'fast-png';
import { encodeBank, MaskBank, patchBank, type MaskLayout } from '@maskunet/mask-store';
import { createPatternHandler, RunnerClient, type JobHandler } from '@maskunet/gpu-runner/service';
import type {
  CreateTenantResponse,
  GenerateEvents,
  Job,
  UploadBankResponse,
  Variant,
} from '@maskunet/contract';
import { startLocalWorker, type LocalWorker } from '@maskunet/cli/local';
import { freePort } from './helpers';

const LAYOUT: MaskLayout = {
  layers: [
    { name: 'up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q', shape: [16, 32] },
    { name: 'up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_v', shape: [16, 32] },
  ],
};

function masks(seed: number, keep: number): Uint8Array[][] {
  let state = seed;
  const next = (): number => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return [0, 1].map(() =>
    LAYOUT.layers.map((l) =>
      Uint8Array.from({ length: l.shape[0] * l.shape[1] }, () => (next() < keep ? 1 : 0)),
    ),
  );
}

type Event = { [E in keyof GenerateEvents]: { event: E; data: GenerateEvents[E] } }[keyof GenerateEvents];

async function readEvents(
  res: Response,
  onEvent: (event: Event) => void = () => undefined,
): Promise<Event[]> {
  const events: Event[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const name = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (name === undefined || data === undefined) continue;
      const event = { event: name, data: JSON.parse(data) as unknown } as Event;
      events.push(event);
      onEvent(event);
    }
  }
  return events;
}

let port: number;
let stateDir: string;
let worker: LocalWorker;
let tenantKey: string;
let model: string;
let variant: string;
let bank: MaskBank;
const aborted: string[] = [];
let client: RunnerClient;

async function api(path: string, init: RequestInit & { token?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${init.token ?? tenantKey}`);
  if (typeof init.body === 'string') headers.set('Content-Type', 'application/json');
  return fetch(`${worker.url}${path}`, { ...init, headers });
}

beforeAll(async () => {
  port = await freePort();
  stateDir = mkdtempSync(join(tmpdir(), 'maskunet-e2e-'));
  worker = await startLocalWorker({
    port,
    persistTo: stateDir,
    stdio: 'ignore',
    vars: { JOB_TIMEOUT_MS: '30000', RUNNER_HEARTBEAT_TIMEOUT_MS: '5000' },
  });
  model = `e2e-${port}`;
  const registered = await api('/v1/models', {
    method: 'POST',
    token: worker.adminKey,
    body: JSON.stringify({
      id: model,
      layout: LAYOUT,
      config: { sampleSize: 16, bucketEdges: [0, 500, 1000] },
    }),
  });
  expect(registered.status).toBe(201);
  const tenant = await api('/v1/tenants', {
    method: 'POST',
    token: worker.adminKey,
    body: JSON.stringify({ name: 'e2e' }),
  });
  tenantKey = ((await tenant.json()) as CreateTenantResponse).apiKey;
  const created = await api('/v1/variants', { method: 'POST', body: JSON.stringify({ model, name: 'fox' }) });
  variant = ((await created.json()) as Variant).id;
  bank = await encodeBank({ layout: LAYOUT, masks: masks(7, 0.9), modelId: model });

  const pattern = createPatternHandler({ size: 16, stepDelayMs: 20 });
  const handler: JobHandler = async (job, context) => {
    context.signal.addEventListener('abort', () => aborted.push(job.jobId), { once: true });
    return pattern(job, context);
  };
  client = new RunnerClient({
    url: worker.url,
    token: worker.runnerToken,
    model,
    backend: 'cpu',
    runnerId: 'e2e-runner',
    handler,
    heartbeatIntervalMs: 1000,
    reconnect: { initialDelayMs: 200, maxDelayMs: 1000 },
  });
  client.start();
  await client.waitFor('open');
}, 120_000);

afterAll(async () => {
  await client?.stop();
  await worker?.stop();
  rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

describe('worker under wrangler dev + runner client', () => {
  it('validates and stores a bank, and serves a delta that patches exactly (msgpack without eval)', async () => {
    const upload = await api(`/v1/variants/${variant}/banks`, {
      method: 'POST',
      body: new Uint8Array(bank.bytes),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expect(upload.status).toBe(201);
    expect(((await upload.json()) as UploadBankResponse).bankId).toBe(bank.id);

    const newer = await encodeBank({ layout: LAYOUT, masks: masks(7, 0.88), modelId: model });
    const second = await api(`/v1/variants/${variant}/banks`, {
      method: 'POST',
      body: new Uint8Array(newer.bytes),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expect(second.status).toBe(201);
    const delta = await api(`/v1/banks/${newer.id}?from=${bank.id}`);
    expect(delta.status).toBe(200);
    const patched = await patchBank(bank, await MaskBank.open(new Uint8Array(await delta.arrayBuffer())));
    expect(patched.id).toBe(newer.id);
    // Back to the first bank, which the remaining tests generate with.
    const back = await api(`/v1/variants/${variant}/banks`, {
      method: 'POST',
      body: new Uint8Array(bank.bytes),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expect(back.status).toBe(201);
  });

  it('generates with SSE progress; the PNG decodes and matches the handler', async () => {
    const res = await api('/v1/generate', {
      method: 'POST',
      body: JSON.stringify({ model, variant, prompt: 'a fox', seed: 3, steps: 4 }),
      headers: { Accept: 'text/event-stream' },
    });
    expect(res.status).toBe(200);
    const events = await readEvents(res);
    expect(events.map((e) => e.event)).toEqual([
      'queued',
      'started',
      'progress',
      'progress',
      'progress',
      'progress',
      'done',
    ]);
    expect(events[1]?.data).toMatchObject({ runnerId: 'e2e-runner', backend: 'cpu' });
    const done = events.at(-1)!;
    if (done.event !== 'done') throw new Error('no done event');
    expect(done.data.timings.stepsMs).toBeGreaterThan(0);

    const image = await api(done.data.imageUrl);
    expect(image.headers.get('content-type')).toBe('image/png');
    const png = new Uint8Array(await image.arrayBuffer());
    const decoded = decode(png);
    expect([decoded.width, decoded.height, decoded.channels]).toEqual([16, 16, 3]);
    // The pattern handler is deterministic in (seed, prompt, bank): run it here and compare.
    const expected = await createPatternHandler({ size: 16 })(
      {
        type: 'job',
        jobId: done.data.jobId,
        attempt: 1,
        model,
        variant,
        bankId: bank.id,
        prompt: 'a fox',
        seed: 3,
        steps: 4,
        guidance: 7.5,
        sampler: 'ddim',
        deadlineMs: 1000,
      },
      {
        signal: new AbortController().signal,
        onProgress: () => undefined,
        fetchBank: () => Promise.resolve(bank.bytes),
      },
    );
    expect(png).toEqual(expected.png);
    expect(client.cachedBanks()).toContain(bank.id);
    const job = (await (await api(`/v1/jobs/${done.data.jobId}`)).json()) as Job;
    expect(job).toMatchObject({ status: 'done', runnerId: 'e2e-runner', backend: 'cpu', bankId: bank.id });
  });

  it('cancels a running job: the handler sees its signal abort', async () => {
    const res = await api('/v1/generate', {
      method: 'POST',
      body: JSON.stringify({ model, variant, prompt: 'slow', steps: 150 }),
      headers: { Accept: 'text/event-stream' },
    });
    const jobId = res.headers.get('x-job-id')!;
    const cancels: Promise<Response>[] = [];
    const events = await readEvents(res, (event) => {
      if (event.event === 'progress' && cancels.length === 0) {
        cancels.push(api(`/v1/jobs/${jobId}/cancel`, { method: 'POST' }));
      }
    });
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { code: 'cancelled' } });
    expect((await Promise.all(cancels)).map((r) => r.status)).toEqual([200]);
    await expect.poll(() => aborted.includes(jobId), { timeout: 5000 }).toBe(true);
  });

  it('reconnects after the worker restarts and serves jobs again', async () => {
    await worker.stop();
    await expect.poll(() => client.state !== 'open', { timeout: 10_000 }).toBe(true);
    worker = await startLocalWorker({ port, persistTo: stateDir, stdio: 'ignore' });
    await client.waitFor('open', 30_000);
    const res = await api('/v1/generate', {
      method: 'POST',
      body: JSON.stringify({ model, variant, prompt: 'again', steps: 2 }),
      headers: { Accept: 'text/event-stream' },
    });
    const events = await readEvents(res);
    expect(events.at(-1)?.event).toBe('done');
  }, 90_000);
});
