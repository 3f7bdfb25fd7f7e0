/**
 * Benchmark of the worker on the local stack (wrangler dev / workerd, fresh state directory):
 * bank upload (validate + store), full and single-section downloads, delta cold (diff in the
 * worker) and warm (cached in R2), and job dispatch end to end through the dispatcher with
 * RunnerClients running the model-free pattern handler — so the numbers are the serving
 * overhead, not image generation. Prints a table; `--json <file>` writes the numbers.
 *
 *   tsx bench/worker-dispatch.ts [--jobs 100] [--concurrency 8] [--runners 2] [--json out.json]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBank, type MaskLayout } from '@maskunet/mask-store';
import { createPatternHandler, RunnerClient } from '@maskunet/gpu-runner/service';
import type { CreateTenantResponse, Variant } from '@maskunet/contract';
import { freePort, startLocalWorker } from '@maskunet/cli/local';

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}

const JOBS = flag('jobs', 100);
const CONCURRENCY = flag('concurrency', 8);
const RUNNERS = flag('runners', 2);
const REPEATS = 5;

// 16 decoder-attention-like layers of 640×640: 6.5 M weights per bucket, 2 buckets.
const LAYOUT: MaskLayout = {
  layers: Array.from({ length: 16 }, (_, i) => ({
    name: `up_blocks.${1 + (i >> 3)}.attentions.${(i >> 2) & 1}.transformer_blocks.0.attn1.to_${'qkvo'[i & 3]}`,
    shape: [640, 640] as [number, number],
  })),
};

function masks(seed: number, keep: number): Uint8Array[][] {
  let state = seed >>> 0;
  const next = (): number => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return [0, 1].map(() =>
    LAYOUT.layers.map((l) => {
      const mask = new Uint8Array(l.shape[0] * l.shape[1]);
      for (let i = 0; i < mask.length; i++) mask[i] = next() < keep ? 1 : 0;
      return mask;
    }),
  );
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

function summary(values: number[]): { p50: number; p95: number; max: number; mean: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    max: sorted.at(-1) ?? NaN,
    mean: values.reduce((a, b) => a + b, 0) / values.length,
  };
}

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const value = await fn();
  return [performance.now() - start, value];
}

const stateDir = mkdtempSync(join(tmpdir(), 'maskunet-bench-'));
const worker = await startLocalWorker({ port: await freePort(), persistTo: stateDir, stdio: 'ignore' });
const clients: RunnerClient[] = [];
try {
  const api = (path: string, init: RequestInit & { token: string }): Promise<Response> => {
    const headers = new Headers(init.headers);
    headers.set('Authorization', `Bearer ${init.token}`);
    if (typeof init.body === 'string') headers.set('Content-Type', 'application/json');
    return fetch(`${worker.url}${path}`, { ...init, headers });
  };
  const admin = worker.adminKey;
  await api('/v1/models', {
    method: 'POST',
    token: admin,
    body: JSON.stringify({
      id: 'bench',
      layout: LAYOUT,
      config: { sampleSize: 64, bucketEdges: [0, 500, 1000] },
    }),
  });
  const tenant = (await (
    await api('/v1/tenants', {
      method: 'POST',
      token: admin,
      body: JSON.stringify({ name: 'bench', limits: { jobsPerMinute: 100_000 } }),
    })
  ).json()) as CreateTenantResponse;
  const key = tenant.apiKey;
  const variant = (
    (await (
      await api('/v1/variants', {
        method: 'POST',
        token: key,
        body: JSON.stringify({ model: 'bench', name: 'v' }),
      })
    ).json()) as Variant
  ).id;

  // ---- banks ----
  const [encodeMs, bankA] = await time(() =>
    encodeBank({ layout: LAYOUT, masks: masks(1, 0.9), modelId: 'bench' }),
  );
  const bankB = await encodeBank({ layout: LAYOUT, masks: masks(1, 0.89), modelId: 'bench' });
  const upload = (bytes: Uint8Array) =>
    api(`/v1/variants/${variant}/banks`, {
      method: 'POST',
      token: key,
      body: new Uint8Array(bytes),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
  const [uploadMs, first] = await time(() => upload(bankA.bytes));
  if (first.status !== 201) throw new Error(`upload: ${first.status} ${await first.text()}`);
  const [reuploadMs] = await time(async () => (await upload(bankA.bytes)).arrayBuffer());
  await (await upload(bankB.bytes)).arrayBuffer();

  const download: number[] = [];
  const section: number[] = [];
  const range = bankA.sectionRange(1, 5);
  for (let i = 0; i < REPEATS; i++) {
    download.push(
      (await time(async () => (await api(`/v1/banks/${bankA.id}`, { token: key })).arrayBuffer()))[0],
    );
    section.push(
      (
        await time(async () =>
          (
            await api(`/v1/banks/${bankA.id}`, {
              token: key,
              headers: { Range: `bytes=${range.start}-${range.end - 1}` },
            })
          ).arrayBuffer(),
        )
      )[0],
    );
  }
  const [deltaColdMs, deltaBytes] = await time(
    async () =>
      new Uint8Array(
        await (await api(`/v1/banks/${bankB.id}?from=${bankA.id}`, { token: key })).arrayBuffer(),
      ),
  );
  const deltaWarm: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    deltaWarm.push(
      (
        await time(async () =>
          (await api(`/v1/banks/${bankB.id}?from=${bankA.id}`, { token: key })).arrayBuffer(),
        )
      )[0],
    );
  }

  // ---- dispatch ----
  for (let r = 0; r < RUNNERS; r++) {
    const client = new RunnerClient({
      url: worker.url,
      token: worker.runnerToken,
      model: 'bench',
      backend: 'cpu',
      runnerId: `bench-${r}`,
      capacity: 2,
      handler: createPatternHandler({ size: 64 }),
    });
    client.start();
    clients.push(client);
  }
  await Promise.all(clients.map((c) => c.waitFor('open')));
  const latencies: number[] = [];
  const firstEvent: number[] = [];
  const queueMs: number[] = [];
  let next = 0;
  let failed = 0;
  const runOne = async (): Promise<void> => {
    const start = performance.now();
    const res = await api('/v1/generate', {
      method: 'POST',
      token: key,
      body: JSON.stringify({ model: 'bench', variant, prompt: `job ${next}`, steps: 10 }),
      headers: { Accept: 'text/event-stream' },
    });
    let text = '';
    let sawFirst = false;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      if (!sawFirst) {
        firstEvent.push(performance.now() - start);
        sawFirst = true;
      }
      text += Buffer.from(chunk).toString('utf8');
    }
    latencies.push(performance.now() - start);
    const done = /event: done\ndata: (.*)\n/.exec(text);
    if (done === null) failed += 1;
    else queueMs.push((JSON.parse(done[1]!) as { timings: { queueMs: number } }).timings.queueMs);
  };
  const [dispatchMs] = await time(() =>
    Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < JOBS) {
          next += 1;
          await runOne();
        }
      }),
    ),
  );

  const report = {
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
    command: `tsx bench/worker-dispatch.ts --jobs ${JOBS} --concurrency ${CONCURRENCY} --runners ${RUNNERS}`,
    bank: {
      layout: '16 layers × 640×640, 2 buckets, keep 0.9',
      bytes: bankA.bytes.length,
      encodeMsNode: encodeMs,
      uploadMs,
      reuploadIdempotentMs: reuploadMs,
      downloadMs: summary(download),
      sectionRangeMs: summary(section),
      sectionBytes: range.end - range.start,
      deltaBytes: deltaBytes.length,
      deltaColdMs,
      deltaWarmMs: summary(deltaWarm),
    },
    dispatch: {
      jobs: JOBS,
      failed,
      concurrency: CONCURRENCY,
      runners: RUNNERS,
      capacityPerRunner: 2,
      jobsPerSecond: (JOBS / dispatchMs) * 1000,
      endToEndMs: summary(latencies),
      firstEventMs: summary(firstEvent),
      queueMs: summary(queueMs),
    },
  };
  const ms = (v: number): string => `${v.toFixed(1)} ms`;
  const row = (name: string, s: { p50: number; p95: number; max: number }): string =>
    `${name.padEnd(34)} p50 ${ms(s.p50).padStart(10)}  p95 ${ms(s.p95).padStart(10)}  max ${ms(s.max).padStart(10)}`;
  console.log(`machine: ${report.machine.cpus} × ${report.machine.model}, Node ${report.machine.node}`);
  console.log(
    `bank ${report.bank.bytes} bytes (${report.bank.layout}); delta ${report.bank.deltaBytes} bytes`,
  );
  console.log(
    `${'upload (validate + R2 + D1)'.padEnd(34)} ${ms(uploadMs)}   idempotent re-upload ${ms(reuploadMs)}`,
  );
  console.log(row('full download', report.bank.downloadMs));
  console.log(row(`one section (${report.bank.sectionBytes} B, Range)`, report.bank.sectionRangeMs));
  console.log(`${'delta cold (diffBanks in worker)'.padEnd(34)} ${ms(deltaColdMs)}`);
  console.log(row('delta warm (cached in R2)', report.bank.deltaWarmMs));
  console.log(
    `dispatch: ${JOBS} jobs, ${CONCURRENCY} concurrent callers, ${RUNNERS} runners × 2 slots, ${failed} failed, ${report.dispatch.jobsPerSecond.toFixed(1)} jobs/s`,
  );
  console.log(row('generate end to end (SSE)', report.dispatch.endToEndMs));
  console.log(row('first SSE event', report.dispatch.firstEventMs));
  console.log(row('queueMs (dispatcher)', report.dispatch.queueMs));
  const jsonFlag = process.argv.indexOf('--json');
  if (jsonFlag > 0) writeFileSync(process.argv[jsonFlag + 1]!, JSON.stringify(report, null, 2) + '\n');
} finally {
  await Promise.all(clients.map((c) => c.stop()));
  await worker.stop();
  rmSync(stateDir, { recursive: true, force: true });
}
