// The base-model trainer end to end on a few images and steps: an interrupted and resumed run
// lands on exactly the weights, moments and EMA of an uninterrupted one; a checkpoint refuses
// to resume under another seed and is left as it was; the exported package loads and generates.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelDir } from '@maskunet/gpu-runner/node';
import { loadCheckpoint } from '../src/train/checkpoint';
import {
  DEFAULT_BASE_TRAINING,
  exportBaseRun,
  trainBase,
  type BaseTrainOptions,
} from '../src/train/base-trainer';
import { EMOJI32_V1_RECIPE } from '../src/models/emoji32';

const quiet = () => undefined;

/** Bitwise equality of two float arrays (vitest's deep equality is element by element: minutes here). */
function same(a: Float32Array | undefined, b: Float32Array | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

function options(runDir: string, extra: Partial<BaseTrainOptions> = {}): BaseTrainOptions {
  return {
    ...DEFAULT_BASE_TRAINING,
    runDir,
    steps: 4,
    batch: 2,
    warmupSteps: 1,
    checkpointEvery: 2,
    previewEvery: 1000,
    maxImagesPerSplit: 8,
    log: quiet,
    ...extra,
  };
}

describe('trainBase', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'train-base-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('resumes an interrupted run onto the uninterrupted one, records each invocation, refuses another seed, and exports a working package', async () => {
    const whole = join(root, 'whole');
    const split = join(root, 'split');
    await trainBase(options(whole), 'whole');
    const first = await trainBase(options(split, { maxStepsThisRun: 2 }), 'first half');
    expect(first.step).toBe(2);
    const halfway = await loadCheckpoint(join(split, 'checkpoint.safetensors'));
    const resumed = await trainBase(options(split), 'second half');
    expect(resumed.step).toBe(4);
    expect(resumed.invocations?.map((i) => [i.command, i.fromStep, i.totalSteps])).toEqual([
      ['first half', 0, 4],
      ['second half', 2, 4],
    ]);

    const a = await loadCheckpoint(join(whole, 'checkpoint.safetensors'));
    const b = await loadCheckpoint(join(split, 'checkpoint.safetensors'));
    expect(b.step).toBe(4);
    expect([...b.params.keys()]).toEqual([...a.params.keys()]);
    for (const [name, data] of a.params) expect(same(b.params.get(name), data), name).toBe(true);
    expect(Object.keys(b.optimizer.tensors)).toEqual(Object.keys(a.optimizer.tensors));
    for (const [name, data] of Object.entries(a.optimizer.tensors))
      expect(same(b.optimizer.tensors[name], data), name).toBe(true);
    for (const [name, data] of Object.entries(a.ema.tensors))
      expect(same(b.ema.tensors[name], data), name).toBe(true);
    expect(b.optimizer.scalars).toEqual(a.optimizer.scalars);
    // Steps 3 and 4 moved the weights (the comparison above is not between untouched copies).
    const name = [...a.params.keys()][0]!;
    expect(same(halfway.params.get(name), a.params.get(name))).toBe(false);

    const out = join(root, 'package');
    await exportBaseRun(whole, out, quiet);
    const training = JSON.parse(await readFile(join(out, 'training.json'), 'utf8')) as { step: number };
    expect(training.step).toBe(4);
    // The only held-out evaluation (the last step) is the best so far: kept, and exportable.
    expect((await loadCheckpoint(join(whole, 'best.safetensors'))).step).toBe(4);
    await exportBaseRun(whole, join(root, 'best-package'), quiet, { checkpoint: 'best' });
    const best = JSON.parse(await readFile(join(root, 'best-package', 'model.json'), 'utf8')) as {
      provenance: { step: number };
    };
    expect(best.provenance.step).toBe(4);
    const readme = await readFile(join(out, 'README.md'), 'utf8');
    expect(readme).toContain('| `whole` | 0 | 4 |');
    expect(readme).toContain('Steps: 4,');
    const { pipeline } = await loadModelDir(out, 'cpu', { threads: 1 });
    try {
      const result = await pipeline.generate([{ prompt: 'grinning face', seed: 1, bank: null }], {
        steps: 2,
        sampler: 'ddim',
        guidance: 2,
      });
      expect(result.images.length).toBe(3 * 32 * 32);
      expect(result.images.every(Number.isFinite)).toBe(true);
    } finally {
      await pipeline.release();
    }

    // A checkpoint resumes only under the seed (and networks) it was trained with; a refusal changes nothing.
    const before = await readFile(join(whole, 'checkpoint.safetensors'));
    await expect(trainBase(options(whole, { steps: 6, seed: 7 }), 'seed 7')).rejects.toMatchObject({
      name: 'TrainError',
      code: 'not_resumable',
      message: expect.stringMatching(
        /cannot resume: the checkpoint was trained with seed 1234, this run asks for 7/,
      ),
    });
    await expect(
      trainBase(options(whole, { steps: 6, recipe: EMOJI32_V1_RECIPE }), 'recipe v1'),
    ).rejects.toMatchObject({
      code: 'not_resumable',
      message: expect.stringMatching(/recipe v2, this run asks for v1/),
    });
    expect((await readFile(join(whole, 'checkpoint.safetensors'))).equals(before)).toBe(true);
  }, 300_000);
});
