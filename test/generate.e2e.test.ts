/**
 * The product end to end: a local worker (workerd with real D1/R2/Durable Objects), a real
 * runner *process* (`maskunet runner`, onnxruntime-node CPU) serving the emoji32 architecture,
 * two tenants with their own variants. Images generated through the public API differ between
 * the variants and are byte-identical to a direct local run with the same seed and bank.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MaskBank } from '@maskunet/mask-store';
import { encodeBank, parseLayoutJson } from '@maskunet/mask-store';
import { SeededRandom, encodePng, tensorToImage } from '@maskunet/gpu-runner';
import { loadModelDir } from '@maskunet/gpu-runner/node';
import { writeEmoji32RandomModel } from '@maskunet/trainer';
import { startLocalWorker, type LocalWorker } from '@maskunet/cli/local';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MaskUnetClient } from '@maskunet/client';
import { freePort } from './helpers';

const root = join(import.meta.dirname, '..');
let dir = '';
let worker: LocalWorker;
let runner: ChildProcess;
const tenants: { client: MaskUnetClient; variant: string; bank: MaskBank }[] = [];
let modelId = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'maskunet-generate-e2e-'));
  const modelDir = join(dir, 'model');
  const config = await writeEmoji32RandomModel(modelDir, 5);
  modelId = config.id;
  const layout = parseLayoutJson(readFileSync(join(modelDir, 'layout.json'), 'utf8'));
  worker = await startLocalWorker({ port: await freePort(), persistTo: join(dir, 'state'), stdio: 'ignore' });
  const admin = new MaskUnetClient({ baseUrl: worker.url, apiKey: worker.adminKey });
  await admin.registerModel({
    id: modelId,
    layout,
    config: { sampleSize: 32, bucketEdges: config.defaults.bucketEdges },
  });
  for (const [k, p] of [0.066, 0.3].entries()) {
    const created = await admin.createTenant(`tenant-${k}`);
    const client = new MaskUnetClient({ baseUrl: worker.url, apiKey: created.apiKey });
    const variant = await client.createVariant(modelId, `v${k}`);
    const random = new SeededRandom(11 + k, 'e2e-bank');
    const bank = await encodeBank({
      layout,
      masks: [0, 1, 2, 3].map(() =>
        layout.layers.map((l) =>
          Uint8Array.from({ length: l.shape[0] * l.shape[1] }, () => (random.uniform() < p ? 0 : 1)),
        ),
      ),
      bucketEdges: config.defaults.bucketEdges,
      modelId,
    });
    await client.uploadBank(variant.id, bank.bytes);
    tenants.push({ client, variant: variant.id, bank });
  }
  runner = spawn(
    process.execPath,
    [
      join(root, 'cli', 'bin', 'maskunet.js'),
      'runner',
      '--worker',
      worker.url,
      '--model',
      modelDir,
      '--threads',
      '1',
    ],
    {
      // The token travels in the environment, not argv (where ps would show it).
      env: { ...process.env, RUNNER_TOKEN: worker.runnerToken },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('runner did not connect within 120 s')), 120_000);
    runner.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('serving')) {
        clearTimeout(timer);
        resolve();
      }
    });
    runner.once('exit', (code) => reject(new Error(`runner exited with ${code}`)));
  });
}, 240_000);

afterAll(async () => {
  if (runner !== undefined && runner.exitCode === null) {
    const exited = new Promise((resolve) => runner.once('exit', resolve));
    runner.kill('SIGTERM');
    await exited;
  }
  await worker?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('generate through the worker and a runner process', () => {
  it('gives each variant its own image, identical to a direct local run', async () => {
    const request = {
      model: modelId,
      prompt: 'grinning face',
      seed: 1234,
      steps: 4,
      guidance: 3,
      sampler: 'dpmpp2m' as const,
    };
    const pngs: Uint8Array[] = [];
    for (const tenant of tenants) {
      const progress: number[] = [];
      const { png } = await tenant.client.generate({ ...request, variant: tenant.variant }, (event) => {
        if (event.event === 'progress') progress.push(event.data.step);
      });
      expect(progress.at(-1)).toBe(4);
      pngs.push(png);
    }
    expect(pngs[0]).not.toEqual(pngs[1]);

    const { pipeline } = await loadModelDir(join(dir, 'model'), 'cpu', { threads: 1 });
    try {
      for (const [k, tenant] of tenants.entries()) {
        const local = await pipeline.generate(
          [{ prompt: request.prompt, seed: request.seed, bank: tenant.bank }],
          {
            steps: request.steps,
            guidance: request.guidance,
            sampler: request.sampler,
          },
        );
        // Same code, same backend, same seed and bank: the bytes must match exactly.
        expect(encodePng(tensorToImage(local.images, 32, 32))).toEqual(pngs[k]);
      }
    } finally {
      await pipeline.release();
    }
  }, 180_000);
});
