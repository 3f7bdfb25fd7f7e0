/**
 * Serving benchmark on the real local stack (a program, not a test):
 * `npx tsx bench/worker-serving.ts [--jobs N] [--downloads N]`.
 *
 * Starts the embedded default in a temporary state directory on a free port (workerd with
 * local D1/R2/Durable Objects, the emoji32 package, two demo tenants, one CPU runner with the
 * real ONNX handler), then measures
 *   1. bank downloads through the API: whole bank, one section by Range, and a 304 revalidation
 *      — latency percentiles and throughput;
 *   2. generate end to end over SSE, sequentially, split into the worker's queue time, the
 *      runner's bank fetch, the sampler steps and PNG encoding (timings the runner reports), and
 *      the rest (HTTP, SSE, result storage).
 * Writes docs/results/worker-serving.json and .md. Downloads are compared with the admin-only
 * `/v1/banks/:id/raw` route, a bare R2 pass-through on the same worker.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MaskBank } from '@maskunet/mask-store';
import { freePort, startLocalStack } from '@maskunet/cli/local';
import { MaskUnetClient } from '@maskunet/client';
import { benchCommit, benchMachine } from './run-context';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const jobs = flag('jobs', 10);
const downloads = flag('downloads', 50);
const log = (line: string) => process.stderr.write(`${line}\n`);
const pct = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};

const root = path.join(import.meta.dirname, '..');
const state = mkdtempSync(path.join(os.tmpdir(), 'bench-serving-'));
const stack = await startLocalStack({ root, port: await freePort(), persistTo: state, log });
try {
  const tenant = stack.tenants[0]!;
  const client = new MaskUnetClient({ baseUrl: stack.url, apiKey: tenant.apiKey });
  const bankBytes = await client.downloadBank(tenant.bankId);
  const bank = await MaskBank.open(bankBytes);
  const section = bank.sectionRange(0, 0);
  const admin = new MaskUnetClient({ baseUrl: stack.url, apiKey: stack.adminKey });
  const timed = async (
    init: RequestInit,
    raw = false,
  ): Promise<{ ms: number; bytes: number; status: number }> => {
    const start = performance.now();
    const response = raw
      ? await admin.request(`/v1/banks/${tenant.bankId}/raw`, init)
      : await client.request(`/v1/banks/${tenant.bankId}`, init);
    const bytes = (await response.arrayBuffer()).byteLength;
    return { ms: performance.now() - start, bytes, status: response.status };
  };
  const cases = {
    'bare R2 pass-through (admin /raw)': () => timed({}, true),
    whole: () => timed({}),
    section: () => timed({ headers: { range: `bytes=${section.start}-${section.end - 1}` } }),
    revalidate: () => timed({ headers: { 'if-none-match': `"${tenant.bankId}"` } }),
  };
  const download: Record<string, unknown> = {};
  const rows: string[] = [];
  for (const [name, run] of Object.entries(cases)) {
    log(`downloads: ${name}`);
    await run();
    const samples = [];
    for (let k = 0; k < downloads; k++) samples.push(await run());
    const ms = samples.map((s) => s.ms);
    const totalBytes = samples.reduce((n, s) => n + s.bytes, 0);
    const totalMs = ms.reduce((a, b) => a + b, 0);
    download[name] = {
      status: samples[0]!.status,
      bytes: samples[0]!.bytes,
      p50: pct(ms, 0.5),
      p90: pct(ms, 0.9),
      p99: pct(ms, 0.99),
      mbPerSecond: totalBytes / 1e6 / (totalMs / 1000),
    };
    rows.push(
      `| ${name} | ${samples[0]!.status} | ${samples[0]!.bytes} | ${pct(ms, 0.5).toFixed(1)} | ${pct(ms, 0.9).toFixed(1)} | ${pct(ms, 0.99).toFixed(1)} | ${(totalBytes / 1e6 / (totalMs / 1000)).toFixed(1)} |`,
    );
  }

  log('generate');
  const generate: Record<string, number>[] = [];
  for (let k = 0; k < jobs; k++) {
    const t = stack.tenants[k % stack.tenants.length]!;
    const c = new MaskUnetClient({ baseUrl: stack.url, apiKey: t.apiKey });
    const start = performance.now();
    const { done } = await c.generate({
      model: stack.model.id,
      variant: t.variantId,
      prompt: 'grinning face',
      seed: k,
    });
    const total = performance.now() - start;
    const { queueMs = 0, bankFetchMs, stepsMs, encodeMs } = done.timings;
    generate.push({
      total,
      queueMs,
      bankFetchMs,
      stepsMs,
      encodeMs,
      other: total - queueMs - bankFetchMs - stepsMs - encodeMs,
    });
  }
  const rawP50 = (download['bare R2 pass-through (admin /raw)'] as { p50: number }).p50;
  const wholeP50 = (download.whole as { p50: number }).p50;
  const rawRate = (download['bare R2 pass-through (admin /raw)'] as { mbPerSecond: number }).mbPerSecond;
  const wholeRate = (download.whole as { mbPerSecond: number }).mbPerSecond;
  const keys = ['total', 'queueMs', 'bankFetchMs', 'stepsMs', 'encodeMs', 'other'];
  const median = (key: string) =>
    pct(
      generate.map((g) => g[key]!),
      0.5,
    );
  const genRows = keys.map(
    (k) =>
      `| ${k} | ${median(k).toFixed(1)} | ${pct(
        generate.map((g) => g[k]!),
        0.9,
      ).toFixed(1)} | ${((median(k) / median('total')) * 100).toFixed(0)}% |`,
  );

  const commit = benchCommit();
  const machine = benchMachine();
  const md = [
    '# Worker serving benchmark (local stack)',
    '',
    `Generated by \`npx tsx bench/worker-serving.ts${args.length ? ' ' + args.join(' ') : ''}\` on ${new Date().toISOString()}, commit ${commit}; ${machine.cpu}, ${machine.cores} cores shared (load ${machine.load.map((l) => l.toFixed(2)).join(' ')}), wrangler dev (workerd) with local D1/R2/DO, one CPU runner (onnxruntime-node), model ${stack.model.id}, default generation settings (${stack.model.defaults.steps} steps ${stack.model.defaults.sampler}, guidance ${stack.model.defaults.guidance}).`,
    '',
    `## Bank downloads (${bankBytes.length} B bank, ${downloads} sequential requests each)`,
    '',
    '| case | status | bytes | p50 ms | p90 ms | p99 ms | MB/s |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Serving route vs bare R2 pass-through: p50 latency ${(wholeP50 / rawP50).toFixed(2)}×, throughput ${(wholeRate / rawRate).toFixed(2)}× (the serving route adds a D1 visibility lookup, ETag/caching and range handling).`,
    '',
    `## Generate end to end (${jobs} sequential jobs, SSE)`,
    '',
    '| part | median ms | p90 ms | share of median total |',
    '|---|---:|---:|---:|',
    ...genRows,
    '',
    "queue = submission → dispatch (dispatcher); bank fetch, steps and encode are the runner's own timings; other = HTTP, SSE, result upload to R2 and image bookkeeping. Bank fetch is ~0 after the first job of a variant (the runner caches banks by id).",
  ].join('\n');
  console.log(md);
  const outDir = path.join(root, 'docs', 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    path.join(outDir, 'worker-serving.json'),
    JSON.stringify(
      {
        command: `npx tsx bench/worker-serving.ts ${args.join(' ')}`.trim(),
        commit,
        machine,
        date: new Date().toISOString(),
        bankBytes: bankBytes.length,
        download,
        generate,
      },
      null,
      2,
    ) + '\n',
  );
  writeFileSync(path.join(outDir, 'worker-serving.md'), md + '\n');
} finally {
  await stack.stop();
  rmSync(state, { recursive: true, force: true });
}
