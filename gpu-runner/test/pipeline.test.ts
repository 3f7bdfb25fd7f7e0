// Text-to-image on a tiny random model package written to disk and loaded back: seeded
// determinism, per-variant masks change the image, a batch mixing variants equals the
// separate runs (the property the runner's heterogeneous batching relies on), and the
// per-step bucket choice follows each sample's timestep.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBank, type MaskBank } from '@maskunet/mask-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TINY_TEXT_ENCODER_CONFIG,
  TINY_UNET_CONFIG,
  buildVocabulary,
  randomTextEncoderWeights,
  randomUNetWeights,
  type TextToImage,
} from '../src/index';
import { loadModelDir, writeModelDir } from '../src/node';

let dir = '';
let pipeline: TextToImage;
let banks: MaskBank[] = [];
const unetConfig = { ...TINY_UNET_CONFIG, in_channels: 3, out_channels: 3 };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'maskunet-pipeline-'));
  const vocabulary = buildVocabulary(['red apple', 'green tree', 'blue whale', 'smiling face'], {
    maxLength: 16,
  });
  const textEncoder = { ...TINY_TEXT_ENCODER_CONFIG, vocab_size: vocabulary.size };
  const config = await writeModelDir(
    dir,
    {
      id: 'tiny-test',
      unet: unetConfig,
      textEncoder,
      scheduler: { betaSchedule: 'squaredcos_cap_v2', numTrainTimesteps: 1000, predictionType: 'epsilon' },
      pixelSpace: true,
      defaults: { steps: 4, sampler: 'ddim', guidance: 2, bucketEdges: [0, 500, 1000] },
    },
    { unet: randomUNetWeights(unetConfig, 1), textEncoder: randomTextEncoderWeights(textEncoder, 2) },
    vocabulary,
  );
  const loaded = await loadModelDir(dir, 'cpu', { threads: 1 });
  pipeline = loaded.pipeline;
  expect(config.layoutHash).toMatch(/^[0-9a-f]{64}$/);
  let state = 9;
  const random = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
  banks = await Promise.all(
    [0.3, 0.6].map((p) =>
      encodeBank({
        layout: loaded.layout,
        masks: [0, 1].map(() =>
          loaded.layout.layers.map((l) =>
            Uint8Array.from({ length: l.shape[0] * l.shape[1] }, () => (random() < p ? 0 : 1)),
          ),
        ),
        bucketEdges: [0, 500, 1000],
        modelId: 'tiny-test',
      }),
    ),
  );
});
afterAll(async () => {
  await pipeline?.release();
  await rm(dir, { recursive: true, force: true });
});

function maxAbs(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe('TextToImage', () => {
  it('is deterministic for a seed and reports the backend that ran', async () => {
    const request = { prompt: 'red apple', seed: 5, bank: null };
    const a = await pipeline.generate([request]);
    const b = await pipeline.generate([request]);
    expect(a.backend).toBe('node-cpu');
    expect(a.images).toEqual(b.images);
    expect(a.images.length).toBe(3 * 8 * 8);
  });

  it('gives different images for different variants of the same prompt and seed', async () => {
    const [base, v1, v2] = await Promise.all(
      [null, banks[0]!, banks[1]!].map((bank) =>
        pipeline.generate([{ prompt: 'green tree', seed: 1, bank }]),
      ),
    );
    expect(maxAbs(base!.images, v1!.images)).toBeGreaterThan(1e-3);
    expect(maxAbs(v1!.images, v2!.images)).toBeGreaterThan(1e-3);
  });

  it('serves a batch of mixed variants exactly like separate runs', async () => {
    const requests = [
      { prompt: 'blue whale', seed: 3, bank: banks[0]! },
      { prompt: 'smiling face', seed: 4, bank: banks[1]! },
      { prompt: 'red apple', seed: 5, bank: null },
    ];
    const batched = await pipeline.generate(requests);
    const per = batched.images.length / 3;
    for (let i = 0; i < 3; i++) {
      const alone = await pipeline.generate([requests[i]!]);
      // Batched and single GEMMs may sum in a different order; float32 rounding only.
      expect(maxAbs(batched.images.subarray(i * per, (i + 1) * per), alone.images)).toBeLessThan(1e-4);
    }
    expect(pipeline.cache.stats().hits).toBeGreaterThan(0);
  });

  it('uses each bucket of a bank at the timesteps it covers', async () => {
    const seen: number[] = [];
    const bank = banks[0]!;
    await pipeline.generate([{ prompt: 'red apple', seed: 2, bank }], {
      steps: 4,
      onStep: (p) => {
        seen.push(bank.bucketForTimestep(p.timestep));
      },
    });
    expect(new Set(seen)).toEqual(new Set([0, 1]));
    expect(pipeline.cache.stats().entries).toBeGreaterThanOrEqual(2);
  });

  it('refuses a bank of another layout', async () => {
    const other = await encodeBank({
      layout: { layers: [{ name: 'x.to_q', shape: [2, 2] }] },
      masks: [[Uint8Array.of(1, 0, 1, 1)]],
    });
    await expect(pipeline.generate([{ prompt: 'red apple', seed: 1, bank: other }])).rejects.toMatchObject({
      code: 'bad_config',
    });
  });
});
