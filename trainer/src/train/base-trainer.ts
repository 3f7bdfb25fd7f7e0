/**
 * Training the shipped base model (Node only): the emoji32 U-Net and its text encoder, jointly,
 * from scratch, on the Noto emoji at 32×32 with classifier-free-guidance dropout. One
 * onnxruntime run of the autodiff graph per step gives the loss and every gradient; AdamW,
 * gradient clipping and an EMA of the weights run in JS. Every step's randomness derives from
 * (seed, step), so a resumed run continues exactly where a checkpoint left it. Progress goes to
 * `log`, and the run directory holds the latest checkpoint, a JSON record (settings, data
 * version, loss curve, wall time) and preview grids of held-out prompts.
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { appendMseLoss } from '../autodiff/loss';
import { buildGradientGraph, gradientName } from '../autodiff/gradient';
import { createNodeSession } from '@maskunet/gpu-runner/node';
import type { InferenceSession, TensorData } from '@maskunet/gpu-runner';
import { emojiCatalog, emojiDataVersion, loadEmojiTensor, type EmojiEntry } from '../data/emoji-catalog';
import { tensorToImage, tileImages, upscale } from '@maskunet/gpu-runner';
import { encodePng } from '@maskunet/gpu-runner';
import {
  EMOJI32_UNET,
  emoji32Package,
  emoji32TextEncoder,
  emojiPrompt,
  EMOJI32_GENERATION_DEFAULTS,
  EMOJI32_V1_RECIPE,
  EMOJI32_V2_RECIPE,
  emojiVocabulary,
  type BaseRecipe,
  type GenerationDefaults,
} from '../models/emoji32';
import { modelReadme } from './model-readme';
import { writeModel } from '@maskunet/gpu-runner';
import { fromGraphLayout, randomWeights, toGraphLayout, type GraphParameter } from '@maskunet/gpu-runner';
import type { WeightTensor } from '@maskunet/gpu-runner';
import { writeModelDir } from '@maskunet/gpu-runner/node';
import { loadModelDir } from '@maskunet/gpu-runner/node';
import { gaussianNoise, UniformStream, type SamplerName } from '@maskunet/gpu-runner';
import { createSchedule } from '@maskunet/gpu-runner';
import {
  addNoise,
  cappedVelocityWeights,
  minSnrWeights,
  sampleTrainingTimesteps,
  trainingTarget,
} from '@maskunet/gpu-runner';
import { buildTextEncoder } from '@maskunet/gpu-runner';
import { parseVocabulary, formatVocabulary, type Vocabulary } from '@maskunet/gpu-runner';
import { buildUNet } from '@maskunet/gpu-runner';
import { AdamW } from './adamw';
import { loadCheckpoint, saveCheckpoint } from './checkpoint';
import { clipGradNorm } from './clip';
import { composeTextToImage } from './compose';
import { EmaModel } from './ema';
import { TrainError } from './errors';
import { warmupCosineSchedule } from './schedule';

export interface BaseTrainOptions {
  /** Where checkpoints, the record and previews go. */
  readonly runDir: string;
  /** Prediction type, noise schedule and loss weighting (and the exported package's id). */
  readonly recipe: BaseRecipe;
  /** Total steps of the run (a resumed run continues up to this). */
  readonly steps: number;
  readonly batch: number;
  readonly peakLr: number;
  readonly warmupSteps: number;
  readonly seed: number;
  readonly emaDecay: number;
  /** Probability of training a sample with the empty prompt (for classifier-free guidance). */
  readonly cfgDropout: number;
  readonly maxGradNorm: number;
  /** AdamW decoupled weight decay, applied to every parameter but biases, norms and embeddings. */
  readonly weightDecay: number;
  /** The cosine schedule ends at this fraction of `peakLr`. */
  readonly minLrRatio: number;
  readonly checkpointEvery: number;
  /** Held-out loss, a preview grid and an EMA snapshot every this many steps. */
  readonly previewEvery: number;
  /** Fixed held-out batches averaged for the held-out loss. */
  readonly heldoutBatches: number;
  /** The preview grid: how many held-out prompts, drawn with which sampler settings. */
  readonly preview: {
    readonly count: number;
    readonly sampler: SamplerName;
    readonly steps: number;
    readonly guidance: number;
  };
  /** Steps averaged into one loss-curve point and progress line. */
  readonly logEvery: number;
  readonly threads: number;
  /** Stop after this many steps of this invocation (for bounded background sessions). */
  readonly maxStepsThisRun?: number;
  /** Use only the first N images of each split (smoke runs and tests); all when absent. */
  readonly maxImagesPerSplit?: number;
  readonly log: (line: string) => void;
}

export const DEFAULT_BASE_TRAINING: Omit<BaseTrainOptions, 'runDir' | 'log'> = Object.freeze({
  recipe: EMOJI32_V2_RECIPE,
  steps: 5000,
  batch: 64,
  peakLr: 5e-4,
  warmupSteps: 200,
  seed: 1234,
  emaDecay: 0.999,
  cfgDropout: 0.1,
  maxGradNorm: 1,
  weightDecay: 0.01,
  minLrRatio: 0.1,
  checkpointEvery: 50,
  previewEvery: 500,
  heldoutBatches: 4,
  preview: Object.freeze({ count: 16, sampler: 'dpmpp2m', steps: 20, guidance: 3 }),
  logEvery: 10,
  threads: 2,
});

/** The stride between steps' seeds: a prime, so (seed, step) pairs of nearby runs never collide. */
const STEP_SEED_STRIDE = 100_003;

/** Held-out batches are numbered from here, far from any training step (their seeds differ). */
const HELDOUT_STEP_BASE = 1_000_000;

export interface LossPoint {
  readonly step: number;
  readonly loss: number;
  readonly gradNorm: number;
  readonly lr: number;
  readonly secondsPerStep: number;
}

/** One start or resume of a run: what was typed and where it picked up. */
export interface Invocation {
  readonly command: string;
  readonly fromStep: number;
  /** Total steps that invocation aimed for (the cosine schedule's length from then on). */
  readonly totalSteps: number;
  readonly startedAt: string;
}

export interface TrainingRecord {
  /** The latest invocation's command. */
  command: string;
  /** Every start and resume, oldest first (runs recorded before this field start with one entry). */
  invocations?: Invocation[];
  /** The latest invocation's settings. */
  settings: Record<string, unknown>;
  data: Record<string, unknown>;
  parameters: { unet: number; textEncoder: number };
  step: number;
  wallSeconds: number;
  lossCurve: LossPoint[];
  heldoutLoss: { step: number; loss: number }[];
  /** The lowest held-out loss so far; `best.safetensors` holds that step's checkpoint. */
  best?: { step: number; loss: number };
  previews: string[];
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Everything the loop needs besides the session: networks, parameters, data. */
interface Setup {
  readonly vocabulary: Vocabulary;
  readonly unetParams: readonly GraphParameter[];
  readonly textParams: readonly GraphParameter[];
  readonly train: { entry: EmojiEntry; pixels: Float32Array }[];
  readonly heldout: { entry: EmojiEntry; pixels: Float32Array }[];
  readonly gradModel: Uint8Array;
}

/** Name of the per-sample loss-weight input of the training graph (absent for uniform weighting). */
const LOSS_WEIGHT_INPUT = 'loss_weight';

/** The recipe a checkpoint was trained with: runs saved before recipes existed are v1's. */
function savedRecipe(settings: Readonly<Record<string, unknown>>): BaseRecipe {
  return (settings.recipe as BaseRecipe | undefined) ?? EMOJI32_V1_RECIPE;
}

async function setup(options: BaseTrainOptions): Promise<Setup> {
  const catalog = emojiCatalog({ style: 'google' });
  const vocabPath = join(options.runDir, 'vocab.json');
  // The vocabulary is fixed at the start of a run; a resume reads it back rather than
  // rebuilding it (a package update could otherwise renumber tokens under trained weights).
  const vocabulary = (await exists(vocabPath))
    ? parseVocabulary(await readFile(vocabPath, 'utf8'))
    : emojiVocabulary(catalog);
  if (!(await exists(vocabPath))) await writeFile(vocabPath, formatVocabulary(vocabulary));
  const textConfig = emoji32TextEncoder(vocabulary.size);
  const text = buildTextEncoder(textConfig, { parameters: 'inputs' });
  const unet = buildUNet(EMOJI32_UNET, { parameters: 'inputs' });
  const forward = appendMseLoss(composeTextToImage(text.model, unet.model), {
    output: 'out_sample',
    target: 'target',
    ...(options.recipe.lossWeighting.kind === 'uniform' ? {} : { sampleWeights: LOSS_WEIGHT_INPUT }),
  });
  const wrt = [...text.parameters, ...unet.parameters].map((p) => p.graphName);
  const gradModel = writeModel(buildGradientGraph(forward, { loss: 'loss', wrt }));

  const load = async (entries: EmojiEntry[], label: string) => {
    const out: { entry: EmojiEntry; pixels: Float32Array }[] = [];
    for (const entry of entries) {
      out.push({ entry, pixels: await loadEmojiTensor(entry, 'google') });
      if (out.length % 500 === 0) options.log(`loading ${label} images ${out.length}/${entries.length}`);
    }
    return out;
  };
  const split = (name: EmojiEntry['split']) =>
    catalog.filter((e) => e.split === name).slice(0, options.maxImagesPerSplit ?? Infinity);
  const train = await load(split('train'), 'train');
  const heldout = await load(split('heldout'), 'held-out');
  return { vocabulary, unetParams: unet.parameters, textParams: text.parameters, train, heldout, gradModel };
}

function initialParams(setup: Setup, seed: number): Map<string, Float32Array> {
  const params = new Map<string, Float32Array>();
  for (const [list, seedOffset] of [
    [setup.textParams, 1],
    [setup.unetParams, 0],
  ] as const) {
    const weights = randomWeights(list, seed + seedOffset);
    for (const p of list) params.set(p.graphName, toGraphLayout(p, weights.get(p.name)!.data));
  }
  return params;
}

/** PyTorch-layout weights of one network from graph-layout parameters. */
function weightMap(
  list: readonly GraphParameter[],
  params: ReadonlyMap<string, Float32Array>,
): Map<string, WeightTensor> {
  return new Map(
    list.map((p) => [p.name, { shape: [...p.shape], data: fromGraphLayout(p, params.get(p.graphName)!) }]),
  );
}

interface Batch {
  readonly feeds: Record<string, TensorData>;
}

/** The batch of `step`: indices, prompts (with dropout), timesteps and noise, all from (seed, step). */
function makeBatch(
  setup: Setup,
  options: BaseTrainOptions,
  step: number,
  data: { entry: EmojiEntry; pixels: Float32Array }[],
  training: boolean,
): Batch {
  const recipe = options.recipe;
  const schedule = createSchedule({
    betaSchedule: recipe.betaSchedule,
    rescaleBetasZeroSnr: recipe.rescaleBetasZeroSnr,
  });
  const size = 3 * 32 * 32;
  const batch = options.batch;
  const stepSeed = (options.seed * STEP_SEED_STRIDE + step) >>> 0;
  const uniform = new UniformStream(stepSeed, 7);
  const random = () => uniform.nextUint32() / 2 ** 32;
  const x0 = new Float32Array(batch * size);
  const prompts: string[] = [];
  for (let i = 0; i < batch; i++) {
    const item = training
      ? data[Math.floor(random() * data.length)]!
      : data[(step * batch + i) % data.length]!;
    x0.set(item.pixels, i * size);
    const dropped = training && random() < options.cfgDropout;
    prompts.push(dropped ? '' : emojiPrompt(item.entry, training ? random : undefined));
  }
  const timesteps = sampleTrainingTimesteps(schedule, batch, stepSeed, { stream: 3 });
  const noise = gaussianNoise(batch * size, stepSeed, 5);
  const noisy = addNoise(schedule, x0, noise, timesteps);
  const target = trainingTarget(recipe.predictionType, schedule, x0, noise, timesteps);
  const weighting = recipe.lossWeighting;
  const weights =
    weighting.kind === 'uniform'
      ? null
      : weighting.kind === 'min-snr'
        ? minSnrWeights(schedule, timesteps, weighting.gamma, recipe.predictionType)
        : cappedVelocityWeights(schedule, timesteps, weighting.gamma);
  return {
    feeds: {
      ...(weights === null
        ? {}
        : { [LOSS_WEIGHT_INPUT]: { type: 'float32', data: Float32Array.from(weights), dims: [batch] } }),
      input_ids: {
        type: 'int64',
        data: setup.vocabulary.encodeBatch(prompts),
        dims: [batch, setup.vocabulary.maxLength],
      },
      sample: { type: 'float32', data: noisy, dims: [batch, 3, 32, 32] },
      timestep: { type: 'float32', data: Float32Array.from(timesteps), dims: [batch] },
      target: { type: 'float32', data: target, dims: [batch, 3, 32, 32] },
    },
  };
}

function paramFeeds(
  params: ReadonlyMap<string, Float32Array>,
  list: readonly GraphParameter[],
): Record<string, TensorData> {
  const feeds: Record<string, TensorData> = {};
  for (const p of list)
    feeds[p.graphName] = { type: 'float32', data: params.get(p.graphName)!, dims: p.graphShape };
  return feeds;
}

/** Mean loss and gradient norm over the steps since the last loss-curve point. */
class LossWindow {
  private loss = 0;
  private gradNorm = 0;
  private count = 0;
  private started = performance.now();

  add(loss: number, gradNorm: number): void {
    this.loss += loss;
    this.gradNorm += gradNorm;
    this.count++;
  }

  /** The window's point, and a fresh window from now. */
  close(step: number, lr: number): LossPoint {
    const count = Math.max(1, this.count);
    const point = {
      step,
      loss: this.loss / count,
      gradNorm: this.gradNorm / count,
      lr,
      secondsPerStep: (performance.now() - this.started) / 1000 / count,
    };
    this.loss = 0;
    this.gradNorm = 0;
    this.count = 0;
    this.started = performance.now();
    return point;
  }
}

/** Held-out loss at fixed batches under `weights` (EMA): the number to compare across steps. */
async function heldoutLoss(
  session: InferenceSession,
  setup: Setup,
  options: BaseTrainOptions,
  weights: ReadonlyMap<string, Float32Array>,
): Promise<number> {
  const all = [...setup.textParams, ...setup.unetParams];
  let total = 0;
  for (let k = 0; k < options.heldoutBatches; k++) {
    const batch = makeBatch(setup, options, HELDOUT_STEP_BASE + k, setup.heldout, false);
    const result = await session.run({ ...batch.feeds, ...paramFeeds(weights, all) });
    total += (result.loss!.data as Float32Array)[0]! / options.heldoutBatches;
  }
  return total;
}

/** Writes the model package of the given weights (EMA for shipping and previews). */
export async function exportBaseModel(
  dir: string,
  setup: Pick<Setup, 'vocabulary' | 'unetParams' | 'textParams'>,
  params: ReadonlyMap<string, Float32Array>,
  provenance: Record<string, unknown>,
  generation: GenerationDefaults | undefined,
  recipe: BaseRecipe,
): Promise<void> {
  await writeModelDir(
    dir,
    emoji32Package(setup.vocabulary, provenance, generation, recipe),
    { unet: weightMap(setup.unetParams, params), textEncoder: weightMap(setup.textParams, params) },
    setup.vocabulary,
  );
}

async function preview(
  setup: Setup,
  options: BaseTrainOptions,
  params: ReadonlyMap<string, Float32Array>,
  step: number,
): Promise<string> {
  const dir = join(options.runDir, 'preview-model');
  await exportBaseModel(dir, setup, params, { preview: true, step }, undefined, options.recipe);
  const { pipeline } = await loadModelDir(dir, 'cpu', { threads: options.threads });
  try {
    const count = options.preview.count;
    const picks = setup.heldout
      .filter((_, i) => i % Math.ceil(setup.heldout.length / count) === 0)
      .slice(0, count);
    const result = await pipeline.generate(
      picks.map((p, i) => ({ prompt: p.entry.name, seed: i, bank: null })),
      { steps: options.preview.steps, sampler: options.preview.sampler, guidance: options.preview.guidance },
    );
    const images = picks.map((_, i) => upscale(tensorToImage(result.images, 32, 32, i * 3 * 32 * 32), 2));
    const references = picks.map((p) => upscale(tensorToImage(p.pixels, 32, 32), 2));
    const file = `previews/step-${String(step).padStart(6, '0')}.png`;
    await mkdir(join(options.runDir, 'previews'), { recursive: true });
    await writeFile(join(options.runDir, file), encodePng(tileImages([...images, ...references], 8)));
    await writeFile(join(options.runDir, `${file}.txt`), picks.map((p) => p.entry.name).join('\n') + '\n');
    return file;
  } finally {
    await pipeline.release();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A record's invocations; a record written before they were kept reads as one, its last command. */
function recordedInvocations(record: TrainingRecord): Invocation[] {
  return (
    record.invocations ?? [
      {
        command: record.command,
        fromStep: 0,
        totalSteps: Number(record.settings.steps),
        startedAt: 'unrecorded',
      },
    ]
  );
}

/**
 * A checkpoint resumes only under the networks and seed it was trained with; the schedule
 * (steps), batch size and cadence may change between invocations and are recorded.
 */
function checkResumable(saved: Readonly<Record<string, unknown>>, now: Record<string, unknown>): void {
  const savedRecipeName = savedRecipe(saved).name;
  const recipeName = (now.recipe as BaseRecipe).name;
  if (JSON.stringify(savedRecipe(saved)) !== JSON.stringify(now.recipe))
    throw new TrainError(
      'not_resumable',
      `cannot resume: the checkpoint was trained with recipe ${savedRecipeName}, this run asks for ${recipeName}`,
    );
  for (const key of ['unet', 'textEncoder', 'seed', 'maxImagesPerSplit'] as const) {
    const a = JSON.stringify(saved[key] ?? null);
    const b = JSON.stringify(now[key] ?? null);
    if (a !== b)
      throw new TrainError(
        'not_resumable',
        `cannot resume: the checkpoint was trained with ${key} ${a}, this run asks for ${b}`,
      );
  }
}

/** Runs (or resumes) base-model training up to `options.steps`. */
export async function trainBase(options: BaseTrainOptions, command: string): Promise<TrainingRecord> {
  await mkdir(options.runDir, { recursive: true });
  const log = options.log;
  const s = await setup(options);
  const params = initialParams(s, options.seed);
  const all = [...s.textParams, ...s.unetParams];
  const count = (list: readonly GraphParameter[]) =>
    list.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  const settings = {
    ...options,
    log: undefined,
    maxStepsThisRun: undefined,
    unet: EMOJI32_UNET,
    textEncoder: emoji32TextEncoder(s.vocabulary.size),
  };
  const schedule = warmupCosineSchedule({
    peakLr: options.peakLr,
    warmupSteps: options.warmupSteps,
    totalSteps: options.steps,
    minLrRatio: options.minLrRatio,
  });
  const optimizer = new AdamW(params, {
    lr: schedule,
    weightDecay: options.weightDecay,
    decays: (name) => !/(bias|norm|embedding)/.test(name),
  });
  const ema = new EmaModel(params, { decay: options.emaDecay });
  const checkpointPath = join(options.runDir, 'checkpoint.safetensors');
  const recordPath = join(options.runDir, 'record.json');
  let record: TrainingRecord = {
    command,
    settings,
    data: {
      ...emojiDataVersion(),
      style: 'google',
      size: 32,
      train: s.train.length,
      heldout: s.heldout.length,
    },
    parameters: { unet: count(s.unetParams), textEncoder: count(s.textParams) },
    step: 0,
    wallSeconds: 0,
    lossCurve: [],
    heldoutLoss: [],
    previews: [],
  };
  let step = 0;
  if (await exists(checkpointPath)) {
    const checkpoint = await loadCheckpoint(checkpointPath);
    checkResumable(checkpoint.settings, settings);
    for (const [name, data] of checkpoint.params) params.get(name)?.set(data);
    optimizer.loadState(checkpoint.optimizer);
    ema.loadState(checkpoint.ema);
    step = checkpoint.step;
    if (await exists(recordPath)) {
      const previous = JSON.parse(await readFile(recordPath, 'utf8')) as TrainingRecord;
      record = { ...previous, command, settings, invocations: recordedInvocations(previous) };
    }
    log(`resumed from step ${step}`);
  }
  const invocations = record.invocations ?? [];
  const last = invocations.at(-1);
  if (last !== undefined && last.totalSteps !== options.steps)
    log(`total steps changed from ${last.totalSteps} to ${options.steps}: the cosine schedule follows`);
  record.invocations = [
    ...invocations,
    { command, fromStep: step, totalSteps: options.steps, startedAt: new Date().toISOString() },
  ];
  log(
    `parameters: U-Net ${record.parameters.unet.toLocaleString()}, text encoder ${record.parameters.textEncoder.toLocaleString()}; ${s.train.length} training images`,
  );

  const session: InferenceSession = await createNodeSession(s.gradModel, 'cpu', { threads: options.threads });
  const save = async (path = checkpointPath): Promise<void> => {
    await saveCheckpoint(path, {
      step,
      params,
      optimizer: optimizer.state(),
      ema: ema.state(),
      settings,
    });
    await writeFile(recordPath, JSON.stringify(record, null, 1) + '\n');
  };
  const emaParams = (): Map<string, Float32Array> => {
    const copy = new Map([...params].map(([k, v]) => [k, v.slice()]));
    ema.copyTo(copy);
    return copy;
  };
  try {
    const startStep = step;
    const stopAt = Math.min(
      options.steps,
      options.maxStepsThisRun === undefined ? Infinity : startStep + options.maxStepsThisRun,
    );
    const window = new LossWindow();
    while (step < stopAt) {
      const started = performance.now();
      const { feeds } = makeBatch(s, options, step, s.train, true);
      const out = await session.run({ ...feeds, ...paramFeeds(params, all) });
      const grads = new Map(
        all.map((p) => [p.graphName, out[gradientName(p.graphName)]!.data as Float32Array]),
      );
      const loss = (out.loss!.data as Float32Array)[0]!;
      if (!Number.isFinite(loss))
        throw new TrainError(
          'diverged',
          `loss is ${loss} at step ${step}; stopping before the weights are damaged`,
        );
      const clip = clipGradNorm(grads, options.maxGradNorm);
      const lr = optimizer.step(grads);
      ema.step(params);
      step++;
      record.wallSeconds += (performance.now() - started) / 1000;
      window.add(loss, clip.totalNorm);
      if (step % options.logEvery === 0 || step === stopAt) {
        const point = window.close(step, lr);
        record.lossCurve.push(point);
        const eta = ((options.steps - step) * point.secondsPerStep) / 3600;
        log(
          `step ${step}/${options.steps}  loss ${point.loss.toFixed(4)}  |g| ${point.gradNorm.toFixed(3)}  lr ${lr.toExponential(2)}  ${point.secondsPerStep.toFixed(2)} s/step  ETA ${eta.toFixed(2)} h`,
        );
      }
      record.step = step;
      if (step % options.checkpointEvery === 0 || step === stopAt) await save();
      if (step % options.previewEvery === 0 || step === options.steps) {
        // Held-out loss at fixed batches (EMA weights): the number to compare across runs.
        const weights = emaParams();
        const heldout = await heldoutLoss(session, s, options, weights);
        record.heldoutLoss.push({ step, loss: heldout });
        const file = await preview(s, options, weights, step);
        record.previews.push(file);
        log(`step ${step}: held-out loss (EMA) ${heldout.toFixed(4)}, preview ${file}`);
        // Every evaluated step is kept, so the evaluation harness can choose among them.
        await mkdir(join(options.runDir, 'snapshots'), { recursive: true });
        await saveCheckpoint(join(options.runDir, 'snapshots', `${snapshotName(step)}.safetensors`), {
          step,
          params: weights,
          optimizer: { tensors: {}, scalars: {} },
          ema: { tensors: {}, scalars: {} },
          settings,
          kind: 'ema-snapshot',
        });
        if (record.best === undefined || heldout < record.best.loss) {
          record.best = { step, loss: heldout };
          await save(join(options.runDir, 'best.safetensors'));
          log(`step ${step}: best held-out loss so far, kept as best.safetensors`);
        }
        await save();
      }
    }
    return record;
  } finally {
    await session.release();
  }
}

/** File stem of the snapshot kept at `step` (`snapshots/step-004500.safetensors`). */
export function snapshotName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

export interface ExportOptions {
  /** Sampler defaults written into `model.json` (emoji32's built-in ones when absent). */
  readonly generation?: GenerationDefaults;
  /** The export command line, recorded in the package's README. */
  readonly command?: string;
  /**
   * `latest` (default): the run's last checkpoint; `best`: the one with the lowest held-out loss;
   * a step number: the snapshot kept at that step (`snapshots/step-NNNNNN.safetensors`).
   */
  readonly checkpoint?: 'latest' | 'best' | number;
}

/**
 * Writes the shipped model package (EMA weights) from a run's checkpoint, with the run's
 * record as `training.json` and a README that states how the package was made.
 */
export async function exportBaseRun(
  runDir: string,
  outDir: string,
  log: (line: string) => void,
  options: ExportOptions = {},
): Promise<void> {
  const generation = options.generation;
  const file =
    options.checkpoint === 'best'
      ? 'best.safetensors'
      : typeof options.checkpoint === 'number'
        ? join('snapshots', `${snapshotName(options.checkpoint)}.safetensors`)
        : 'checkpoint.safetensors';
  if (!(await exists(join(runDir, file))))
    throw new TrainError('no_checkpoint', `${join(runDir, file)} does not exist`);
  const checkpoint = await loadCheckpoint(join(runDir, file));
  const recipe = savedRecipe(checkpoint.settings);
  const vocabulary = parseVocabulary(await readFile(join(runDir, 'vocab.json'), 'utf8'));
  const text = buildTextEncoder(emoji32TextEncoder(vocabulary.size), { parameters: 'inputs' });
  const unet = buildUNet(EMOJI32_UNET, { parameters: 'inputs' });
  const params = new Map(checkpoint.params);
  if (checkpoint.kind !== 'ema-snapshot') {
    const ema = new EmaModel(params);
    ema.loadState(checkpoint.ema);
    ema.copyTo(params);
  }
  const record = JSON.parse(await readFile(join(runDir, 'record.json'), 'utf8')) as TrainingRecord;
  await exportBaseModel(
    outDir,
    { vocabulary, unetParams: unet.parameters, textParams: text.parameters },
    params,
    {
      trainingRecord: 'training.json',
      step: checkpoint.step,
      weights: 'EMA',
      recipe: recipe.name,
    },
    generation,
    recipe,
  );
  await writeFile(join(outDir, 'training.json'), JSON.stringify(record, null, 1) + '\n');
  await writeFile(
    join(outDir, 'README.md'),
    modelReadme(
      { ...record, invocations: recordedInvocations(record) },
      checkpoint.step,
      generation ?? EMOJI32_GENERATION_DEFAULTS,
      recipe,
      options.command,
    ),
  );
  log(`exported step ${checkpoint.step} (EMA weights) to ${outDir}`);
}
