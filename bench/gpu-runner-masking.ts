/**
 * Benchmark of masked inference on the shipped architecture (a program, not a test):
 * `npx tsx bench/gpu-runner-masking.ts [--backend cpu|webgpu] [--model DIR] [--runs N] [--quick]`.
 *
 * 1. U-Net step time unmasked (the original graph) vs masked (the rewritten graph fed one
 *    shared bank mask) at batch 1 and 8, same backend, interleaved runs, medians.
 * 2. A batch of 8 samples with 8 different banks (per-sample masks, batched MatMul) vs 8
 *    samples of one bank (shared masks): throughput ratio.
 * 3. Cold switch: an uncached bank (bytes in memory) → open + decode one bucket + prepare
 *    masks + first step, vs one warm step.
 * Prints a table; writes docs/results/gpu-runner-masking-<backend>.json and .md. Predictions
 * are recorded beside the measurements.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeBank, MaskBank, type MaskLayout } from '@maskunet/mask-store';
import {
  SeededRandom,
  UNET_IO,
  maskFeeds,
  prepareMasks,
  readModel,
  resolveMaskLayout,
  rewriteForMasks,
  writeModel,
  type Feeds,
  type InferenceSession,
  type MaskInput,
  type PreparedMasks,
  type TensorData,
} from '@maskunet/gpu-runner';
import { createNodeSession } from '@maskunet/gpu-runner/node';
import { writeEmoji32RandomModel } from '@maskunet/trainer';
import { benchCommit, benchMachine } from './run-context';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = args.includes('--quick');
const backend = (flag('backend') ?? 'cpu') as 'cpu' | 'webgpu';
const runs = Number(flag('runs') ?? (quick ? 5 : 30));
const log = (line: string) => process.stderr.write(`${line}\n`);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  let modelDir = flag('model');
  let temp: string | null = null;
  if (modelDir === undefined) {
    temp = mkdtempSync(path.join(os.tmpdir(), 'bench-masking-'));
    modelDir = path.join(temp, 'model');
    log('writing a random-weight emoji32 model (same graph as the trained one)');
    await writeEmoji32RandomModel(modelDir, 0);
  }
  const config = JSON.parse(readFileSync(path.join(modelDir, 'model.json'), 'utf8')) as {
    unet: { in_channels: number; sample_size: number; cross_attention_dim: number };
  };
  const base = readModel(new Uint8Array(readFileSync(path.join(modelDir, 'unet.onnx'))));
  const layout = resolveMaskLayout(base);
  const { model: masked, inputs } = rewriteForMasks(base, layout.layers);
  const threads = os.cpus().length;
  const baseSession = await createNodeSession(writeModel(base), backend, { threads });
  const maskedSession = await createNodeSession(writeModel(masked), backend, { threads });
  const random = new SeededRandom(1, 'bench');
  const { in_channels: channels, sample_size: size, cross_attention_dim: width } = config.unet;
  const feedsFor = (batch: number): Feeds => ({
    [UNET_IO.sample]: {
      type: 'float32',
      data: Float32Array.from({ length: batch * channels * size * size }, () => random.normal()),
      dims: [batch, channels, size, size],
    },
    [UNET_IO.timestep]: { type: 'float32', data: new Float32Array(batch).fill(500), dims: [batch] },
    [UNET_IO.encoderHiddenStates]: {
      type: 'float32',
      data: Float32Array.from({ length: batch * 16 * width }, () => random.normal()),
      dims: [batch, 16, width],
    },
  });
  const maskLayout: MaskLayout = { layers: layout.layers.map((l) => ({ name: l.name, shape: l.shape })) };
  const makeBank = (seed: number) => {
    const r = new SeededRandom(seed, 'bank');
    return encodeBank({
      layout: maskLayout,
      masks: [0, 1, 2, 3].map(() =>
        maskLayout.layers.map((l) =>
          Uint8Array.from({ length: l.shape[0] * l.shape[1] }, () => (r.uniform() < 0.066 ? 0 : 1)),
        ),
      ),
    });
  };
  const banks: MaskBank[] = [];
  for (let k = 0; k < 8; k++) banks.push(await makeBank(100 + k));
  const prepared = banks.map((b) => prepareMasks(inputs, b.decodeBucket(2)));
  const withMasks = (feeds: Feeds, perSample: PreparedMasks[], maskInputs: readonly MaskInput[]): Feeds => {
    const out: Record<string, TensorData> = { ...feeds };
    for (const [name, t] of maskFeeds(maskInputs, perSample)) out[name] = { type: 'uint8', ...t };
    return out;
  };
  const time = async (session: InferenceSession, build: () => Feeds): Promise<number> => {
    const feeds = build();
    const start = performance.now();
    await session.run(feeds);
    return performance.now() - start;
  };

  const rows: Record<string, number | string>[] = [];
  const result: Record<string, unknown> = {};
  for (const batch of [1, 8]) {
    log(`batch ${batch}: unmasked vs masked`);
    const feeds = feedsFor(batch);
    const shared = Array.from({ length: batch }, () => prepared[0]!);
    for (let w = 0; w < 3; w++) {
      await time(baseSession, () => feeds);
      await time(maskedSession, () => withMasks(feeds, shared, inputs));
    }
    const unmaskedTimes: number[] = [];
    const maskedTimes: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < runs; r++) {
      const u = await time(baseSession, () => feeds);
      // Mask feeds are built inside the timed call's preparation, as the pipeline does per step.
      const start = performance.now();
      await maskedSession.run(withMasks(feeds, shared, inputs));
      const m = performance.now() - start;
      unmaskedTimes.push(u);
      maskedTimes.push(m);
      ratios.push(m / u);
    }
    rows.push({ case: `batch ${batch}: unmasked`, 'median ms': median(unmaskedTimes).toFixed(2), ratio: '' });
    rows.push({
      case: `batch ${batch}: masked (one bank)`,
      'median ms': median(maskedTimes).toFixed(2),
      ratio: `${median(ratios).toFixed(3)}× unmasked`,
    });
    result[`batch${batch}`] = {
      unmaskedMs: median(unmaskedTimes),
      maskedMs: median(maskedTimes),
      maskedOverUnmasked: median(ratios),
      unmaskedTimes,
      maskedTimes,
    };
  }

  log('batch 8: 8 banks vs one bank');
  {
    const feeds = feedsFor(8);
    const homogeneous = Array.from({ length: 8 }, () => prepared[0]!);
    for (let w = 0; w < 3; w++) await time(maskedSession, () => withMasks(feeds, prepared, inputs));
    const hetero: number[] = [];
    const homo: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < runs; r++) {
      let start = performance.now();
      await maskedSession.run(withMasks(feeds, homogeneous, inputs));
      const ho = performance.now() - start;
      start = performance.now();
      await maskedSession.run(withMasks(feeds, prepared, inputs));
      const he = performance.now() - start;
      homo.push(ho);
      hetero.push(he);
      ratios.push(ho / he);
    }
    rows.push({
      case: 'batch 8: 8 different banks',
      'median ms': median(hetero).toFixed(2),
      ratio: `${median(ratios).toFixed(3)}× homogeneous throughput`,
    });
    result.heterogeneous = {
      homogeneousMs: median(homo),
      heterogeneousMs: median(hetero),
      throughputRatio: median(ratios),
    };
  }

  log('cold switch');
  {
    const feeds = feedsFor(1);
    const cold: number[] = [];
    const warm: number[] = [];
    for (let r = 0; r < Math.min(runs, 15); r++) {
      const fresh = await makeBank(1000 + r);
      const bytes = fresh.bytes;
      let start = performance.now();
      const bank = await MaskBank.open(bytes);
      const masks = prepareMasks(inputs, bank.decodeBucket(bank.bucketForTimestep(500)));
      await maskedSession.run(withMasks(feeds, [masks], inputs));
      cold.push(performance.now() - start);
      start = performance.now();
      await maskedSession.run(withMasks(feeds, [masks], inputs));
      warm.push(performance.now() - start);
    }
    const switchMs = median(cold) - median(warm);
    rows.push({
      case: 'cold bank → first step (batch 1)',
      'median ms': median(cold).toFixed(2),
      ratio: `switch cost ${switchMs.toFixed(2)} ms = ${(switchMs / median(warm)).toFixed(2)} steps`,
    });
    result.coldSwitch = {
      coldFirstStepMs: median(cold),
      warmStepMs: median(warm),
      switchMs,
      switchInSteps: switchMs / median(warm),
      bankBytes: banks[0]!.bytes.length,
    };
  }
  await baseSession.release();
  await maskedSession.release();
  if (temp !== null) rmSync(temp, { recursive: true, force: true });

  const header = ['case', 'median ms', 'ratio'];
  const widths = header.map((h) => Math.max(h.length, ...rows.map((r) => String(r[h]).length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const table = [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(header.map((h) => String(r[h])))),
  ].join('\n');
  console.log(table);
  const b1 = result.batch1 as { maskedOverUnmasked: number };
  const b8 = result.batch8 as { maskedOverUnmasked: number };
  const het = result.heterogeneous as { throughputRatio: number };
  const cs = result.coldSwitch as { switchInSteps: number };
  const targets = [
    [
      'masked ≤ 1.05× unmasked, batch 1',
      b1.maskedOverUnmasked <= 1.05,
      `${b1.maskedOverUnmasked.toFixed(3)}×`,
    ],
    [
      'masked ≤ 1.05× unmasked, batch 8',
      b8.maskedOverUnmasked <= 1.05,
      `${b8.maskedOverUnmasked.toFixed(3)}×`,
    ],
    [
      'heterogeneous ≥ 0.8× homogeneous throughput',
      het.throughputRatio >= 0.8,
      `${het.throughputRatio.toFixed(3)}×`,
    ],
    ['cold switch ≤ one step', cs.switchInSteps <= 1, `${cs.switchInSteps.toFixed(2)} steps`],
  ] as const;
  const commit = benchCommit();
  const machine = benchMachine();
  const md = [
    `# Masked inference benchmark (${backend})`,
    '',
    `Generated by \`npx tsx bench/gpu-runner-masking.ts${args.length ? ' ' + args.join(' ') : ''}\` on ${new Date().toISOString()}, commit ${commit}.`,
    `Machine: ${machine.cpu}, ${machine.cores} cores (shared; load ${machine.load.map((l) => l.toFixed(2)).join(' ')}), Node ${machine.node}, onnxruntime-node \`${backend}\`. Absolute times count only from a GPU; on this CPU box compare the ratios.`,
    `Model: emoji32 architecture (${layout.layers.length} masked layers, ${maskLayout.layers.reduce((n, l) => n + l.shape[0] * l.shape[1], 0)} masked weights), ${runs} interleaved runs per case; banks of 4 buckets at 6.6% zeros.`,
    '',
    table,
    '',
    '| target | measured | verdict |',
    '|---|---:|---:|',
    ...targets.map(([what, ok, value]) => `| ${what} | ${value} | ${ok ? 'PASS' : 'FAIL'} |`),
    '',
    'Predictions (written before the first run): masking adds one Cast + Mul over 344 k weights per step against ~10⁸ conv MACs, so ≤ 1.02×; per-sample masks turn 32 MatMuls into batched ones and copy 8 × 344 KB of masks per step, so heterogeneous throughput ≥ 0.9×; decoding one bucket of a 344 k-weight bank takes ~1 ms, far below a step.',
  ].join('\n');
  const outDir = quick
    ? mkdtempSync(path.join(os.tmpdir(), 'bench-out-'))
    : path.join(import.meta.dirname, '..', 'docs', 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    path.join(outDir, `gpu-runner-masking-${backend}.json`),
    JSON.stringify(
      {
        command: `npx tsx bench/gpu-runner-masking.ts ${args.join(' ')}`.trim(),
        commit,
        machine,
        date: new Date().toISOString(),
        runs,
        result,
        targets: targets.map(([what, ok, value]) => ({ what, ok, value })),
      },
      null,
      2,
    ) + '\n',
  );
  writeFileSync(path.join(outDir, `gpu-runner-masking-${backend}.md`), md + '\n');
  log(`wrote ${outDir}`);
}

await main();
