// The diffusers-named U-Net: it runs in onnxruntime-node CPU on a batch of 2, both emission
// styles and parameter placements compute the same function, seeded weights are
// deterministic, and the parameter table matches diffusers' SD 1.5 U-Net.
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  OP_VOCABULARY,
  SD15_UNET_CONFIG,
  SeededRandom,
  TINY_UNET_CONFIG,
  UNET_IO,
  buildUNet,
  isModelError,
  modelGraph,
  randomUNetWeights,
  toGraphLayout,
  unetParameters,
  writeModel,
  type BuiltNetwork,
  type UNetConfig,
} from '../src/index';

const BATCH = 2;
const SEQUENCE = 5;
const config = TINY_UNET_CONFIG;

function feeds(): Record<string, ort.Tensor> {
  const random = new SeededRandom(42, 'unet-inputs');
  const normal = (n: number): Float32Array => Float32Array.from({ length: n }, () => random.normal());
  const size = config.sample_size;
  return {
    [UNET_IO.sample]: new ort.Tensor('float32', normal(BATCH * config.in_channels * size * size), [
      BATCH,
      config.in_channels,
      size,
      size,
    ]),
    [UNET_IO.timestep]: new ort.Tensor('float32', new Float32Array([999, 17]), [BATCH]),
    [UNET_IO.encoderHiddenStates]: new ort.Tensor(
      'float32',
      normal(BATCH * SEQUENCE * config.cross_attention_dim),
      [BATCH, SEQUENCE, config.cross_attention_dim],
    ),
  };
}

async function run(built: BuiltNetwork, extra: Record<string, ort.Tensor> = {}): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(writeModel(built.model), { intraOpNumThreads: 2 });
  try {
    const result = await session.run({ ...feeds(), ...extra });
    return result[UNET_IO.output]!;
  } finally {
    await session.release();
  }
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe('tiny U-Net in onnxruntime-node (CPU)', () => {
  const weights = randomUNetWeights(config, 1);
  let named: Float32Array;

  beforeAll(async () => {
    const output = await run(buildUNet(config, { weights }));
    expect(output.dims).toEqual([BATCH, config.out_channels, config.sample_size, config.sample_size]);
    named = output.data as Float32Array;
  });

  it('gives a finite, non-constant [2, 4, 8, 8] output whose two samples differ', () => {
    expect(named.every(Number.isFinite)).toBe(true);
    const half = named.length / 2;
    expect(maxAbsDifference(named.subarray(0, half), named.subarray(half))).toBeGreaterThan(1e-3);
    const mean = named.reduce((a, v) => a + v, 0) / named.length;
    const variance = named.reduce((a, v) => a + (v - mean) ** 2, 0) / named.length;
    expect(variance).toBeGreaterThan(1e-4);
  });

  it('computes the same function in the pytorch-export style', async () => {
    // The two graphs differ only in Gemm vs MatMul+Add for the time-embedding Linears and in
    // initializer names; float32 reassociation in a fused Gemm could move outputs by a few
    // ulps through ~30 layers, far below 1e-5 for outputs of magnitude ~1.
    const exported = await run(buildUNet(config, { weights, style: 'pytorch-export' }));
    expect(maxAbsDifference(named, exported.data as Float32Array)).toBeLessThan(1e-5);
  });

  it('computes the same function with parameters fed as graph inputs', async () => {
    const built = buildUNet(config, { parameters: 'inputs', style: 'pytorch-export' });
    const extra: Record<string, ort.Tensor> = {};
    for (const parameter of built.parameters) {
      const weight = weights.get(parameter.name)!;
      extra[parameter.graphName] = new ort.Tensor('float32', toGraphLayout(parameter, weight.data), [
        ...parameter.graphShape,
      ]);
    }
    const output = await run(built, extra);
    // Same graph and the same float32 values, only fed instead of baked in: identical up to
    // constant folding, so the same 1e-5 bound as above.
    expect(maxAbsDifference(named, output.data as Float32Array)).toBeLessThan(1e-5);
  });
});

describe('building', () => {
  it('is deterministic in the seed and sensitive to it', () => {
    const a = writeModel(buildUNet(config, { weights: randomUNetWeights(config, 7) }).model);
    const b = writeModel(buildUNet(config, { weights: randomUNetWeights(config, 7) }).model);
    const c = writeModel(buildUNet(config, { weights: randomUNetWeights(config, 8) }).model);
    // Buffer.equals, because a deep equality over 3 MB of bytes is element-by-element slow.
    expect(Buffer.from(b).equals(a)).toBe(true);
    expect(Buffer.from(c).equals(a)).toBe(false);
    expect(c.length).toBe(a.length);
  });

  it('uses only the gradient builder op vocabulary and diffusers I/O names', () => {
    const built = buildUNet(config, { parameters: 'inputs' });
    const graph = modelGraph(built.model);
    const allowed = new Set<string>(OP_VOCABULARY);
    expect(graph.node.filter((n) => !allowed.has(n.opType ?? ''))).toEqual([]);
    expect(graph.input.slice(0, 3).map((i) => i.name)).toEqual([
      'sample',
      'timestep',
      'encoder_hidden_states',
    ]);
    expect(graph.output.map((o) => o.name)).toEqual(['out_sample']);
    expect(graph.node.map((n) => n.name)).toContain(
      '/up_blocks.1/attentions.0/transformer_blocks.0/attn1/to_q/MatMul',
    );
  });

  it('names Linear weights by parameter name (named) or onnx::MatMul_<n> (pytorch-export)', () => {
    const q = 'up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight';
    const named = buildUNet(config, { parameters: 'inputs' }).parameters.find((p) => p.name === q)!;
    expect(named).toMatchObject({ graphName: q, shape: [32, 32], graphShape: [32, 32], transposed: true });
    const exported = buildUNet(config, { parameters: 'inputs', style: 'pytorch-export' }).parameters;
    expect(exported.find((p) => p.name === q)!.graphName).toMatch(/^onnx::MatMul_\d+$/);
    const temb = exported.find((p) => p.name === 'time_embedding.linear_1.weight')!;
    expect(temb).toMatchObject({
      graphName: 'time_embedding.linear_1.weight',
      shape: [128, 32],
      transposed: false,
    });
  });

  it('lists the SD 1.5 U-Net parameters as diffusers does (686 tensors, 859,520,964 weights)', () => {
    const parameters = unetParameters(SD15_UNET_CONFIG);
    expect(parameters).toHaveLength(686);
    expect(parameters.reduce((sum, p) => sum + p.shape.reduce((a, d) => a * d, 1), 0)).toBe(859_520_964);
    const names = new Set(parameters.map((p) => p.name));
    for (const name of [
      'conv_in.weight',
      'time_embedding.linear_2.bias',
      'down_blocks.0.attentions.1.transformer_blocks.0.attn2.to_k.weight',
      'down_blocks.2.downsamplers.0.conv.weight',
      'mid_block.attentions.0.proj_in.weight',
      'up_blocks.1.resnets.2.conv_shortcut.weight',
      'up_blocks.3.attentions.2.transformer_blocks.0.ff.net.0.proj.weight',
      'up_blocks.2.upsamplers.0.conv.bias',
      'conv_norm_out.weight',
      'conv_out.bias',
    ]) {
      expect(names).toContain(name);
    }
    const toK = parameters.find(
      (p) => p.name === 'up_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight',
    );
    expect(toK?.shape).toEqual([1280, 768]);
  });

  it('rejects inconsistent configs and missing or misshapen weights with typed errors', () => {
    const bad = (patch: Partial<UNetConfig>): unknown => {
      try {
        buildUNet({ ...config, ...patch }, { parameters: 'inputs' });
      } catch (error) {
        return error;
      }
      return undefined;
    };
    expect(isModelError(bad({ norm_num_groups: 5 }), 'bad_config')).toBe(true);
    expect(isModelError(bad({ attention_head_dim: 3 }), 'bad_config')).toBe(true);
    expect(isModelError(bad({ sample_size: 7 }), 'bad_config')).toBe(true);
    expect(isModelError(bad({ up_block_types: ['UpBlock2D'] }), 'bad_config')).toBe(true);
    const weights = randomUNetWeights(config, 1);
    weights.delete('conv_out.bias');
    expect(() => buildUNet(config, { weights })).toThrow(/missing_weight: no weight conv_out.bias/);
    weights.set('conv_out.bias', { shape: [3], data: new Float32Array(3) });
    expect(() => buildUNet(config, { weights })).toThrow(/bad_weight_shape/);
    expect(() => buildUNet(config)).toThrow(TypeError);
  });

  it('accepts 1×1-conv proj_in/proj_out weights and reports unused checkpoint keys', () => {
    const weights = randomUNetWeights(config, 1);
    const key = 'up_blocks.1.attentions.0.proj_in.weight';
    const linearWeight = weights.get(key)!;
    weights.set(key, { shape: [...linearWeight.shape, 1, 1], data: linearWeight.data });
    weights.set('extra.weight', { shape: [1], data: new Float32Array(1) });
    const built = buildUNet(config, { weights });
    expect(built.unusedWeights).toEqual(['extra.weight']);
  });
});
