/**
 * Sampler comparison on a trained base model (a program, not a test):
 * `npx tsx bench/base-samplers.ts [--model models/emoji32-base] [--baseline <model dir>]
 *   [--count 64] [--threads N] [--out docs/results/base-samplers]`.
 *
 * Generates the same held-out prompts (the emoji's name; seeds 0…count-1) with each sampler
 * configuration and reports, side by side in one run: seconds per image (median over batches of
 * 16), and two pixel-space proxies of "looks like the prompted emoji" — for each image, the
 * nearest of all 3,786 real Noto emoji at 32×32 (L2): how often that is the prompted emoji
 * itself (never seen in training: these prompts are held out), how often it shares the prompted
 * emoji's subcategory — plus the mean L2 distance to the prompted emoji. The proxies are crude
 * (a yellow disk is near every yellow face) and are read beside the grid image, not instead of
 * it. `--baseline` runs one configuration on another model (e.g. random weights) for the
 * chance level. Writes `<out>.json`, `<out>.md` and `<out>.png` (a row of 16 per configuration,
 * the real held-out emoji last).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodePng, tensorToImage, tileImages, upscale, type SamplerName } from '@maskunet/gpu-runner';
import { loadModelDir } from '@maskunet/gpu-runner/node';
import { emojiCatalog, loadEmojiTensor, type EmojiEntry } from '@maskunet/trainer';
import { benchCommit, benchMachine } from './run-context';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const modelDir = flag('model', 'models/emoji32-base');
const baselineDir = flag('baseline', '');
const count = Number(flag('count', '64'));
const threads = Number(flag('threads', String(os.cpus().length)));
const out = flag('out', 'docs/results/base-samplers');
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Config {
  readonly sampler: SamplerName;
  readonly steps: number;
  readonly guidance: number;
}
const configs: Config[] = [
  { sampler: 'dpmpp2m', steps: 20, guidance: 3 },
  { sampler: 'ddim', steps: 20, guidance: 3 },
  { sampler: 'ddim', steps: 50, guidance: 3 },
  { sampler: 'ddpm', steps: 50, guidance: 3 },
  { sampler: 'ddpm', steps: 100, guidance: 3 },
  { sampler: 'dpmpp2m', steps: 20, guidance: 1.5 },
  { sampler: 'dpmpp2m', steps: 20, guidance: 6 },
];
const label = (c: Config) => `${c.sampler} ${c.steps} steps, guidance ${c.guidance}`;

const catalog = emojiCatalog({ style: 'google' });
log(`loading ${catalog.length} reference images`);
const references = await Promise.all(catalog.map((e) => loadEmojiTensor(e, 'google')));
const indexOf = new Map(catalog.map((e, i) => [e.id, i]));
const heldout = catalog.filter((e) => e.split === 'heldout');
const stride = Math.max(1, Math.floor(heldout.length / count));
const picks: EmojiEntry[] = heldout.filter((_, i) => i % stride === 0).slice(0, count);
const size = 3 * 32 * 32;

function distance(a: Float32Array, offset: number, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const d = a[offset + i]! - b[i]!;
    sum += d * d;
  }
  return Math.sqrt(sum);
}

interface Row {
  readonly model: string;
  readonly config: Config;
  readonly secondsPerImage: number;
  readonly nearestIsPrompted: number;
  readonly nearestSameSubcategory: number;
  readonly meanDistanceToPrompted: number;
}

async function evaluate(dir: string, config: Config): Promise<{ row: Row; images: Float32Array }> {
  const { pipeline } = await loadModelDir(dir, 'cpu', { threads });
  const images = new Float32Array(picks.length * size);
  const times: number[] = [];
  try {
    for (let start = 0; start < picks.length; start += 16) {
      const batch = picks.slice(start, start + 16);
      const began = performance.now();
      const result = await pipeline.generate(
        batch.map((p, i) => ({ prompt: p.name, seed: start + i, bank: null })),
        config,
      );
      times.push((performance.now() - began) / 1000 / batch.length);
      images.set(result.images, start * size);
      log(`  ${dir} · ${label(config)}: ${Math.min(start + 16, picks.length)}/${picks.length}`);
    }
  } finally {
    await pipeline.release();
  }
  let own = 0;
  let sameSub = 0;
  let toPrompted = 0;
  const x = images.map((v) => Math.max(-1, Math.min(1, v)));
  picks.forEach((entry, k) => {
    let best = -1;
    let bestDistance = Infinity;
    references.forEach((ref, r) => {
      const d = distance(x, k * size, ref);
      if (d < bestDistance) [best, bestDistance] = [r, d];
    });
    if (catalog[best]!.id === entry.id) own++;
    if (catalog[best]!.subcategory === entry.subcategory) sameSub++;
    toPrompted += distance(x, k * size, references[indexOf.get(entry.id)!]!);
  });
  const row: Row = {
    model: dir,
    config,
    secondsPerImage: median(times),
    nearestIsPrompted: own / picks.length,
    nearestSameSubcategory: sameSub / picks.length,
    meanDistanceToPrompted: toPrompted / picks.length,
  };
  return { row, images };
}

const rows: Row[] = [];
const grid: ReturnType<typeof tensorToImage>[] = [];
const shown = Math.min(16, picks.length);
for (const config of configs) {
  const { row, images } = await evaluate(modelDir, config);
  rows.push(row);
  for (let i = 0; i < shown; i++) grid.push(upscale(tensorToImage(images, 32, 32, i * size), 2));
}
if (baselineDir !== '') rows.push((await evaluate(baselineDir, configs[0]!)).row);
for (let i = 0; i < shown; i++)
  grid.push(upscale(tensorToImage(references[indexOf.get(picks[i]!.id)!]!, 32, 32), 2));

const subcategoryChance =
  picks.reduce((n, p) => n + catalog.filter((e) => e.subcategory === p.subcategory).length, 0) /
  picks.length /
  catalog.length;
const percent = (x: number) => `${(100 * x).toFixed(1)}%`;
const table = [
  '| model | sampler | s / image | nearest = prompted | nearest same subcategory | mean L2 to prompted |',
  '|---|---|---:|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.model} | ${label(r.config)} | ${r.secondsPerImage.toFixed(3)} | ${percent(r.nearestIsPrompted)} | ${percent(r.nearestSameSubcategory)} | ${r.meanDistanceToPrompted.toFixed(2)} |`,
  ),
].join('\n');
const { cpu, cores, load } = benchMachine();
const machine = `${cpu} × ${cores}, load ${load.map((l) => l.toFixed(2)).join(' ')}`;
const commit = benchCommit().slice(0, 7);
const command = `npx tsx bench/base-samplers.ts ${args.join(' ')}`.trim();
console.log(table);
console.log(
  `\n${picks.length} held-out prompts; a random pick of the same subcategory would be ${percent(subcategoryChance)}`,
);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(`${out}.png`, encodePng(tileImages(grid, 16)));
writeFileSync(
  `${out}.json`,
  JSON.stringify(
    { command, commit, machine, prompts: picks.map((p) => p.name), subcategoryChance, rows },
    null,
    1,
  ) + '\n',
);
writeFileSync(
  `${out}.md`,
  [
    `# Samplers on the base model`,
    '',
    `Command: \`${command}\` (commit ${commit}; ${machine}). Written by the command; prose below`,
    'the table is added by hand when the results are read.',
    '',
    table,
    '',
    `${picks.length} held-out prompts (every ${stride}th held-out emoji, its name as the prompt, seed = its index).`,
    `A uniformly random real emoji shares the prompted subcategory ${percent(subcategoryChance)} of the time.`,
    `\`${path.basename(out)}.png\`: one row of the first ${shown} per configuration in table order (the baseline is not drawn), the real held-out emoji last.`,
    '',
  ].join('\n'),
);
