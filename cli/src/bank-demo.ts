/**
 * `npm start` until the worker lands: a local walk through the mask store with the real CLI.
 * It writes an SD1.5-shaped layout, two tenants' masks (time-wise, 4 buckets), packs them into
 * banks, inspects one, and ships a delta from one version to the next — printing what a user
 * would see. Everything runs in a temp directory and is removed afterwards.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatLayoutJson, masksToSafetensors, type MaskLayout } from '@maskunet/mask-store';
import { main } from './commands/main';

function sd15Layout(): MaskLayout {
  const layers: { name: string; shape: [number, number] }[] = [];
  for (const [block, width] of [
    [1, 1280],
    [2, 640],
    [3, 320],
  ] as const) {
    for (let attention = 0; attention < 3; attention++) {
      for (const attn of ['attn1', 'attn2']) {
        for (const proj of ['to_q', 'to_k', 'to_v', 'to_out.0']) {
          const inDim = attn === 'attn2' && (proj === 'to_k' || proj === 'to_v') ? 768 : width;
          layers.push({
            name: `up_blocks.${block}.attentions.${attention}.transformer_blocks.0.${attn}.${proj}`,
            shape: [width, inDim],
          });
        }
      }
    }
  }
  return { layers };
}

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => (state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32;
}

async function run(...argv: string[]): Promise<void> {
  console.log(`\n$ maskunet ${argv.map((a) => a.replace(/^\/tmp\/[^/]+\//, '')).join(' ')}`);
  const code = await main(argv);
  if (code !== 0) throw new Error(`maskunet exited with ${code}`);
}

const dir = await mkdtemp(join(tmpdir(), 'maskunet-demo-'));
try {
  const layout = sd15Layout();
  await writeFile(join(dir, 'layout.json'), formatLayoutJson(layout));
  const random = seeded(42);
  // Tenant masks: ~6.6% zeros (the paper's learned masks are this sparse), drifting a little
  // from one timestep bucket to the next as time-wise masks do.
  let previous = layout.layers.map((l) =>
    Uint8Array.from({ length: l.shape[0] * l.shape[1] }, () => (random() < 0.066 ? 0 : 1)),
  );
  const bucket0 = previous;
  const files: string[] = [];
  for (let bucket = 0; bucket < 4; bucket++) {
    if (bucket > 0) {
      previous = previous.map((m) => {
        const next = m.slice();
        for (let k = 0; k < m.length * 0.005; k++)
          next[Math.floor(random() * m.length)] = random() < 0.066 ? 0 : 1;
        return next;
      });
    }
    const file = join(dir, `tenant-a.bucket${bucket}.safetensors`);
    await writeFile(file, masksToSafetensors(layout, previous));
    files.push(file);
  }
  console.log(
    `MaskUNet mask store demo — SD1.5 decoder attention layout: ${layout.layers.length} layers, 49,029,120 weights per bucket`,
  );
  await run(
    'bank',
    'pack',
    '--layout',
    join(dir, 'layout.json'),
    ...files.flatMap((f) => ['--masks', f]),
    '--bucket-edges',
    '0,250,500,750,1000',
    '--model-id',
    'sd15',
    '--meta',
    'tenant=a',
    '--out',
    join(dir, 'a-v1.mkb'),
  );
  const rawBytes = (await Promise.all(files.map((f) => stat(f)))).reduce((a, s) => a + s.size, 0);
  const bankBytes = (await stat(join(dir, 'a-v1.mkb'))).size;
  console.log(
    `  4 buckets as U8 safetensors: ${(rawBytes / 1e6).toFixed(1)} MB → bank ${(bankBytes / 1e6).toFixed(2)} MB (${(rawBytes / bankBytes).toFixed(0)}× smaller; fp16 weights of these layers: ${((49_029_120 * 2) / 1e6).toFixed(0)} MB)`,
  );

  // Version 2 changes 1% of bucket 0's positions; the client fetches only a delta.
  const v2 = bucket0.map((m) => {
    const next = m.slice();
    for (let k = 0; k < m.length * 0.01; k++) {
      const i = Math.floor(random() * m.length);
      next[i] = next[i]! ^ 1;
    }
    return next;
  });
  await writeFile(join(dir, 'v2.safetensors'), masksToSafetensors(layout, v2));
  await run(
    'bank',
    'pack',
    '--layout',
    join(dir, 'layout.json'),
    '--masks',
    files[0]!,
    '--model-id',
    'sd15',
    '--out',
    join(dir, 'one-v1.mkb'),
  );
  await run(
    'bank',
    'pack',
    '--layout',
    join(dir, 'layout.json'),
    '--masks',
    join(dir, 'v2.safetensors'),
    '--model-id',
    'sd15',
    '--out',
    join(dir, 'one-v2.mkb'),
  );
  await run(
    'bank',
    'diff',
    join(dir, 'one-v1.mkb'),
    join(dir, 'one-v2.mkb'),
    '--out',
    join(dir, 'v1-to-v2.delta'),
  );
  await run(
    'bank',
    'patch',
    join(dir, 'one-v1.mkb'),
    join(dir, 'v1-to-v2.delta'),
    '--out',
    join(dir, 'patched.mkb'),
  );
  await run('bank', 'inspect', join(dir, 'a-v1.mkb'));
} finally {
  await rm(dir, { recursive: true, force: true });
}
