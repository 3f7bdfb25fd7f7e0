// The mask rewrite on real onnxruntime sessions: a masked forward equals an unmasked run of
// the same graph with those weights zeroed, all-ones masks equal the base, a batch mixing
// masks equals the separate runs, and it works on PyTorch-style anonymous transposed weights.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SeededRandom,
  TINY_UNET_CONFIG,
  UNET_IO,
  buildUNet,
  float32,
  maskFeeds,
  modelGraph,
  onesMasks,
  prepareMasks,
  randomUNetWeights,
  readModel,
  resolveMaskLayout,
  rewriteForMasks,
  tensorToFloat32,
  float32Tensor,
  writeModel,
  type Feeds,
  type InferenceSession,
  type ModelProto,
  type PreparedMasks,
} from '../src/index';
import { createNodeSession } from '../src/node';

const config = TINY_UNET_CONFIG;
const size = config.sample_size;
const sequence = 5;

function inputs(batch: number, seed: number): Feeds {
  const random = new SeededRandom(seed, 'inputs');
  const normal = (n: number) => Float32Array.from({ length: n }, () => random.normal());
  return {
    [UNET_IO.sample]: float32(normal(batch * config.in_channels * size * size), [
      batch,
      config.in_channels,
      size,
      size,
    ]),
    [UNET_IO.timestep]: float32(
      Float32Array.from({ length: batch }, (_, i) => 50 + 300 * i),
      [batch],
    ),
    [UNET_IO.encoderHiddenStates]: float32(normal(batch * sequence * config.cross_attention_dim), [
      batch,
      sequence,
      config.cross_attention_dim,
    ]),
  };
}

/** Picks sample `index` out of batched feeds. */
function slice(feeds: Feeds, index: number): Feeds {
  const out: Record<string, Feeds[string]> = {};
  for (const [name, tensor] of Object.entries(feeds)) {
    const per = tensor.data.length / tensor.dims[0]!;
    out[name] = float32((tensor.data as Float32Array).slice(index * per, (index + 1) * per), [
      1,
      ...tensor.dims.slice(1),
    ]);
  }
  return out;
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function randomLayerMasks(
  shapes: readonly (readonly [number, number])[],
  p: number,
  seed: number,
): Uint8Array[] {
  const random = new SeededRandom(seed, 'masks');
  return shapes.map(([o, i]) => Uint8Array.from({ length: o * i }, () => (random.uniform() < p ? 0 : 1)));
}

/** Zeroes `base`'s masked weights where the bank-order masks are 0 (in stored orientation). */
function zeroWeights(
  model: ModelProto,
  layout: ReturnType<typeof resolveMaskLayout>,
  masks: Uint8Array[],
): ModelProto {
  const copy = readModel(writeModel(model));
  const graph = modelGraph(copy);
  layout.layers.forEach((layer, l) => {
    const index = graph.initializer.findIndex((t) => t.name === layer.initializer);
    const weight = tensorToFloat32(graph.initializer[index]!);
    const [out, inDim] = layer.shape;
    for (let o = 0; o < out; o++) {
      for (let i = 0; i < inDim; i++) {
        if (masks[l]![o * inDim + i] === 0) weight[layer.transposed ? i * out + o : o * inDim + i] = 0;
      }
    }
    graph.initializer[index] = float32Tensor(
      layer.initializer,
      layer.transposed ? [inDim, out] : [out, inDim],
      weight,
    );
  });
  return copy;
}

describe.each(['named', 'pytorch-export'] as const)('masked inference (%s style)', (style) => {
  const weights = randomUNetWeights(config, 7);
  const base = readModel(writeModel(buildUNet(config, { style, weights }).model));
  const layout = resolveMaskLayout(base);
  const { model: masked, inputs: maskInputs } = rewriteForMasks(base, layout.layers);
  const sessions: InferenceSession[] = [];
  let baseSession: InferenceSession;
  let maskedSession: InferenceSession;

  beforeAll(async () => {
    baseSession = await createNodeSession(writeModel(base), 'cpu', { threads: 1 });
    maskedSession = await createNodeSession(writeModel(masked), 'cpu', { threads: 1 });
    sessions.push(baseSession, maskedSession);
  });
  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.release()));
  });

  async function runMasked(feeds: Feeds, perSample: PreparedMasks[]): Promise<Float32Array> {
    const maskTensors: Record<string, Feeds[string]> = {};
    for (const [name, tensor] of maskFeeds(maskInputs, perSample))
      maskTensors[name] = { type: 'uint8', data: tensor.data, dims: tensor.dims };
    const result = await maskedSession.run({ ...feeds, ...maskTensors });
    return result[UNET_IO.output]!.data as Float32Array;
  }

  it('adds one uint8 mask input per masked layer, in layout order', () => {
    expect(maskInputs.map((m) => m.layer)).toEqual(layout.layers.map((l) => l.name));
    expect(maskInputs.every((m) => m.transposed && m.perSample)).toBe(true);
    expect(maskedSession.inputNames).toEqual(expect.arrayContaining(maskInputs.map((m) => m.input)));
  });

  it('with all-ones masks equals the base model', async () => {
    const feeds = inputs(2, 1);
    const expected = (await baseSession.run(feeds))[UNET_IO.output]!.data as Float32Array;
    const ones = onesMasks(maskInputs);
    // Multiplying by 1.0 is exact, so any difference is a bug.
    expect(maxAbs(await runMasked(feeds, [ones, ones]), expected)).toBe(0);
  });

  it('equals the unmasked graph with the masked weights zeroed', async () => {
    const masks = randomLayerMasks(
      layout.layers.map((l) => l.shape),
      0.3,
      3,
    );
    const zeroed = await createNodeSession(writeModel(zeroWeights(base, layout, masks)), 'cpu', {
      threads: 1,
    });
    sessions.push(zeroed);
    const feeds = inputs(2, 2);
    const expected = (await zeroed.run(feeds))[UNET_IO.output]!.data as Float32Array;
    const prepared = prepareMasks(maskInputs, masks);
    const actual = await runMasked(feeds, [prepared, prepared]);
    // W⊙M is the same float product either way; only kernel summation order may differ.
    expect(maxAbs(actual, expected)).toBeLessThan(1e-5);
    const unmasked = (await baseSession.run(feeds))[UNET_IO.output]!.data as Float32Array;
    expect(maxAbs(actual, unmasked)).toBeGreaterThan(1e-3);
  });

  it('serves a batch of different masks like separate runs', async () => {
    const feeds = inputs(3, 4);
    const variants = [0.1, 0.5, 0.9].map((p, k) =>
      prepareMasks(
        maskInputs,
        randomLayerMasks(
          layout.layers.map((l) => l.shape),
          p,
          10 + k,
        ),
      ),
    );
    const batched = await runMasked(feeds, variants);
    const per = batched.length / 3;
    for (let k = 0; k < 3; k++) {
      const alone = await runMasked(slice(feeds, k), [variants[k]!]);
      // Batched vs single GEMMs may sum in another order: float32 rounding only.
      expect(maxAbs(batched.subarray(k * per, (k + 1) * per), alone)).toBeLessThan(1e-5);
    }
  });
});
