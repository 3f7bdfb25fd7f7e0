// The onnxruntime-node WebGPU backend computes the masked U-Net like the CPU backend. On a
// CPU-only machine this needs a software Vulkan (Mesa ≥ 25 lavapipe, installed by .ci/run); it
// is a correctness check only — lavapipe is far slower than the CPU provider. Without an
// adapter the test is skipped, unless MASKUNET_REQUIRE_WEBGPU=1 (CI) makes that a failure.
import { describe, expect, it } from 'vitest';
import {
  BackendError,
  SeededRandom,
  TINY_UNET_CONFIG,
  UNET_IO,
  buildUNet,
  maskFeeds,
  prepareMasks,
  randomUNetWeights,
  resolveMaskLayout,
  rewriteForMasks,
  writeModel,
  type Feeds,
  type InferenceSession,
  type TensorData,
} from '../src/index';
import { createNodeSession } from '../src/node';

const config = TINY_UNET_CONFIG;

describe('node-webgpu backend', () => {
  it('matches node-cpu on a masked forward with per-sample masks', async (context) => {
    const base = buildUNet(config, { weights: randomUNetWeights(config, 4) }).model;
    const layout = resolveMaskLayout(base);
    const { model, inputs } = rewriteForMasks(base, layout.layers);
    const bytes = writeModel(model);
    let gpu: InferenceSession;
    try {
      gpu = await createNodeSession(bytes, 'webgpu');
    } catch (error) {
      if (
        error instanceof BackendError &&
        error.code === 'backend_unavailable' &&
        process.env.MASKUNET_REQUIRE_WEBGPU !== '1'
      ) {
        context.skip(`no WebGPU adapter: ${error.message}`);
      }
      throw error;
    }
    const cpu = await createNodeSession(bytes, 'cpu', { threads: 1 });
    try {
      expect(gpu.backend).toBe('node-webgpu');
      const random = new SeededRandom(3, 'webgpu');
      const normal = (n: number) => Float32Array.from({ length: n }, () => random.normal());
      const size = config.sample_size;
      const masks = [0.2, 0.6].map((p) =>
        prepareMasks(
          inputs,
          layout.layers.map((l) =>
            Uint8Array.from({ length: l.shape[0] * l.shape[1] }, () => (random.uniform() < p ? 0 : 1)),
          ),
        ),
      );
      const feeds: Record<string, TensorData> = {
        [UNET_IO.sample]: {
          type: 'float32',
          data: normal(2 * config.in_channels * size * size),
          dims: [2, config.in_channels, size, size],
        },
        [UNET_IO.timestep]: { type: 'float32', data: Float32Array.of(10, 700), dims: [2] },
        [UNET_IO.encoderHiddenStates]: {
          type: 'float32',
          data: normal(2 * 5 * config.cross_attention_dim),
          dims: [2, 5, config.cross_attention_dim],
        },
      };
      for (const [name, t] of maskFeeds(inputs, masks)) feeds[name] = { type: 'uint8', ...t };
      const run = async (session: InferenceSession, f: Feeds) =>
        (await session.run(f))[UNET_IO.output]!.data as Float32Array;
      const [a, b] = [await run(cpu, feeds), await run(gpu, feeds)];
      let max = 0;
      for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
      // Different kernels (and fused multiply-adds) on the two providers: float32 rounding
      // through ~700 nodes stays far below 1e-3 on outputs of order 1.
      expect(max).toBeLessThan(1e-3);
    } finally {
      await Promise.all([gpu.release(), cpu.release()]);
    }
  }, 120_000);
});
