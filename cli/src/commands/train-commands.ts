/**
 * `maskunet train base` and `maskunet train export`: the base model's training run (resumable,
 * with progress lines, checkpoints, previews and a JSON record) and the export of its EMA
 * weights as the shipped model package.
 */
import {
  BASE_RECIPES,
  DEFAULT_BASE_TRAINING,
  EMOJI32_GENERATION_DEFAULTS,
  exportBaseRun,
  trainBase,
} from '@maskunet/trainer';
import { integer, number, parse, required, samplerOf } from './args';
import type { Print } from './bank-commands';
import { CliError } from './cli-error';

export async function trainBaseCommand(args: string[], print: Print): Promise<void> {
  const { values } = parse(
    args,
    {
      run: { type: 'string' },
      recipe: { type: 'string' },
      steps: { type: 'string' },
      batch: { type: 'string' },
      lr: { type: 'string' },
      warmup: { type: 'string' },
      seed: { type: 'string' },
      threads: { type: 'string' },
      'checkpoint-every': { type: 'string' },
      'preview-every': { type: 'string' },
      'max-steps-this-run': { type: 'string' },
      'max-images': { type: 'string' },
    },
    0,
  );
  const d = DEFAULT_BASE_TRAINING;
  const maxThisRun = values['max-steps-this-run'];
  const maxImages = values['max-images'];
  const recipe = values.recipe === undefined ? d.recipe : BASE_RECIPES[values.recipe];
  if (recipe === undefined)
    throw new CliError('usage', `--recipe is one of ${Object.keys(BASE_RECIPES).join(', ')}`);
  const record = await trainBase(
    {
      ...d,
      runDir: required(values.run, 'run'),
      recipe,
      steps: integer(values.steps, 'steps', d.steps),
      batch: integer(values.batch, 'batch', d.batch),
      peakLr: number(values.lr, 'lr', d.peakLr),
      warmupSteps: integer(values.warmup, 'warmup', d.warmupSteps),
      seed: integer(values.seed, 'seed', d.seed),
      checkpointEvery: integer(values['checkpoint-every'], 'checkpoint-every', d.checkpointEvery),
      previewEvery: integer(values['preview-every'], 'preview-every', d.previewEvery),
      threads: integer(values.threads, 'threads', d.threads),
      ...(maxThisRun === undefined ? {} : { maxStepsThisRun: integer(maxThisRun, 'max-steps-this-run') }),
      ...(maxImages === undefined ? {} : { maxImagesPerSplit: integer(maxImages, 'max-images') }),
      log: (line) => print(`[train] ${line}`),
    },
    `maskunet train base ${args.join(' ')}`,
  );
  print(`done: step ${record.step}, ${(record.wallSeconds / 3600).toFixed(2)} h of steps`);
}

export async function trainExportCommand(args: string[], print: Print): Promise<void> {
  const { values } = parse(
    args,
    {
      run: { type: 'string' },
      out: { type: 'string' },
      steps: { type: 'string' },
      sampler: { type: 'string' },
      guidance: { type: 'string' },
      checkpoint: { type: 'string' },
    },
    0,
  );
  const d = EMOJI32_GENERATION_DEFAULTS;
  const named = values.checkpoint ?? 'latest';
  const checkpoint =
    named === 'latest' || named === 'best' ? named : /^[0-9]+$/.test(named) ? Number(named) : null;
  if (checkpoint === null) throw new CliError('usage', '--checkpoint is latest, best or a snapshot step');
  await exportBaseRun(required(values.run, 'run'), required(values.out, 'out'), print, {
    generation: {
      steps: integer(values.steps, 'steps', d.steps),
      sampler: samplerOf(values.sampler, d.sampler),
      guidance: number(values.guidance, 'guidance', d.guidance),
    },
    command: `maskunet train export ${args.join(' ')}`,
    checkpoint,
  });
}
