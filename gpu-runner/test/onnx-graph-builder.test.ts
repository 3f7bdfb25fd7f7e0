// The graph builder: torch-export naming, the op vocabulary, and the numerics of its layers
// (Linear, GroupNorm, LayerNorm) against plain-JS references run through onnxruntime-node.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import {
  GraphBuilder,
  OP_VOCABULARY,
  ParameterStore,
  SeededRandom,
  groupNorm,
  layerNorm,
  linear,
  modelGraph,
  writeModel,
  type EmissionStyle,
  type NetContext,
  type WeightTensor,
} from '../src/index';

function randomArray(length: number, seed: number, scale = 1, offset = 0): Float32Array {
  const random = new SeededRandom(seed, 'test-data');
  return Float32Array.from({ length }, () => offset + scale * random.normal());
}

/** Builds a one-layer graph with `body`, runs it on `x`, returns the output. */
async function runLayer(
  weights: Map<string, WeightTensor>,
  style: EmissionStyle,
  x: { data: Float32Array; dims: number[] },
  outDims: (number | string)[],
  body: (ctx: NetContext, input: string) => string,
): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const b = new GraphBuilder();
  const ctx: NetContext = { b, params: new ParameterStore(b, 'initializers', weights), style };
  const input = b.input('x', 'float32', ['batch', ...x.dims.slice(1)]);
  b.output(body(ctx, input), 'y', 'float32', outDims);
  const session = await ort.InferenceSession.create(writeModel(b.toModel()));
  try {
    const result = await session.run({ x: new ort.Tensor('float32', x.data, x.dims) });
    const y = result.y!;
    return { data: y.data as Float32Array, dims: y.dims };
  } finally {
    await session.release();
  }
}

describe('naming', () => {
  it('names nodes by module scope and op, numbering repeats like torch.onnx.export', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', ['batch', 4]);
    const y = b.scope('up_blocks.1', () =>
      b.scope('attentions.0', () => {
        const first = b.mul(x, x);
        const second = b.mul(first, 2);
        return b.sigmoid(second);
      }),
    );
    const z = b.add(y, x);
    b.output(z, 'z', 'float32', ['batch', 4]);
    const graph = modelGraph(b.toModel());
    expect(graph.node.map((n) => n.name)).toEqual([
      '/up_blocks.1/attentions.0/Mul',
      '/up_blocks.1/attentions.0/Mul_1',
      '/up_blocks.1/attentions.0/Sigmoid',
      '/Add',
    ]);
    expect(graph.node[1]!.input).toEqual([
      '/up_blocks.1/attentions.0/Mul_output_0',
      '/up_blocks.1/attentions.0/Mul_1_const_1',
    ]);
    expect(graph.node[3]!.output).toEqual(['z']);
    expect(b.modulePath).toBe('');
  });

  it('refuses undefined inputs, reused names and scope names with slashes', () => {
    const b = new GraphBuilder();
    b.input('x', 'float32', [1]);
    expect(() => b.add('x', 'nope')).toThrow(/not defined/);
    expect(() => b.input('x', 'float32', [1])).toThrow(/already used/);
    expect(() => b.scope('a/b', () => 0)).toThrow(RangeError);
    expect(() => b.toModel()).toThrow(/no output/);
  });

  it('hands out fresh anonymous initializer names', () => {
    const b = new GraphBuilder('g', 7);
    expect([b.anonymousName('onnx::MatMul_'), b.anonymousName('onnx::MatMul_')]).toEqual([
      'onnx::MatMul_7',
      'onnx::MatMul_8',
    ]);
  });

  it('keeps to the op vocabulary of the gradient builder', () => {
    expect(OP_VOCABULARY).not.toContain('LayerNormalization');
    expect(OP_VOCABULARY).not.toContain('GroupNormalization');
    expect(new Set(OP_VOCABULARY).size).toBe(OP_VOCABULARY.length);
  });
});

describe('Linear', () => {
  // Float32 dot products of 5 terms with O(1) values: rounding stays below 1e-6, so 1e-5
  // absolute is tight enough to catch a transposition (errors of order 1).
  const tolerance = 1e-5;
  const inFeatures = 5;
  const outFeatures = 3;
  const w = randomArray(outFeatures * inFeatures, 1);
  const bias = randomArray(outFeatures, 2);
  const weights = new Map<string, WeightTensor>([
    ['proj.weight', { shape: [outFeatures, inFeatures], data: w }],
    ['proj.bias', { shape: [outFeatures], data: bias }],
  ]);

  /** x·Wᵀ + b over the last axis, W in PyTorch [out, in] layout. */
  function reference(x: Float32Array, rows: number): Float32Array {
    const out = new Float32Array(rows * outFeatures);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < outFeatures; o++) {
        let sum = bias[o]!;
        for (let i = 0; i < inFeatures; i++) sum += x[r * inFeatures + i]! * w[o * inFeatures + i]!;
        out[r * outFeatures + o] = sum;
      }
    }
    return out;
  }

  it('MatMul with the transposed weight equals x·Wᵀ + b on 3-D input (both styles)', async () => {
    const x = randomArray(2 * 4 * inFeatures, 3);
    const expected = reference(x, 8);
    for (const style of ['named', 'pytorch-export'] as const) {
      const y = await runLayer(
        weights,
        style,
        { data: x, dims: [2, 4, inFeatures] },
        ['batch', 4, outFeatures],
        (ctx, input) => linear(ctx, input, 'proj', inFeatures, outFeatures, { bias: true, rank: 3 }),
      );
      expect(y.dims).toEqual([2, 4, outFeatures]);
      y.data.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(tolerance));
    }
  });

  it('Gemm with transB=1 (export style, 2-D input) equals x·Wᵀ + b', async () => {
    const x = randomArray(2 * inFeatures, 4);
    const expected = reference(x, 2);
    const y = await runLayer(
      weights,
      'pytorch-export',
      { data: x, dims: [2, inFeatures] },
      ['batch', outFeatures],
      (ctx, input) => linear(ctx, input, 'proj', inFeatures, outFeatures, { bias: true, rank: 2 }),
    );
    y.data.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(tolerance));
  });
});

describe('norm decompositions', () => {
  // References are computed in float64. The graph computes in float32: means and variances of
  // at most 18 O(1) values carry a relative error of a few 1e-7, so normalised outputs (|y| ≲ 4)
  // stay within ~1e-6 of the reference. 1e-5 leaves margin for summation order yet fails for a
  // wrong group split, an unbiased variance (a factor 18/17) or a misplaced γ/β by orders of magnitude.
  const tolerance = 1e-5;

  it('GroupNorm matches torch.nn.GroupNorm semantics', async () => {
    const [batch, channels, height, width, groups, eps] = [2, 8, 3, 3, 4, 1e-5];
    const x = randomArray(batch * channels * height * width, 5, 2, 0.5);
    const gamma = randomArray(channels, 6, 0.5, 1);
    const beta = randomArray(channels, 7, 0.5);
    const weights = new Map<string, WeightTensor>([
      ['norm.weight', { shape: [channels], data: gamma }],
      ['norm.bias', { shape: [channels], data: beta }],
    ]);
    const y = await runLayer(
      weights,
      'named',
      { data: x, dims: [batch, channels, height, width] },
      ['batch', channels, height, width],
      (ctx, input) => groupNorm(ctx, input, 'norm', { groups, channels, height, width, eps }),
    );
    const perGroup = (channels / groups) * height * width;
    for (let n = 0; n < batch; n++) {
      for (let g = 0; g < groups; g++) {
        const start = (n * groups + g) * perGroup;
        const values = Array.from(x.subarray(start, start + perGroup));
        const mean = values.reduce((a, v) => a + v, 0) / perGroup;
        const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / perGroup;
        values.forEach((v, k) => {
          const channel = g * (channels / groups) + Math.floor(k / (height * width));
          const expected = ((v - mean) / Math.sqrt(variance + eps)) * gamma[channel]! + beta[channel]!;
          expect(Math.abs(y.data[start + k]! - expected)).toBeLessThan(tolerance);
        });
      }
    }
  });

  it('LayerNorm over the last axis matches torch.nn.LayerNorm semantics', async () => {
    const [rows, dim, eps] = [6, 12, 1e-5];
    const x = randomArray(rows * dim, 8, 3, -1);
    const gamma = randomArray(dim, 9, 0.5, 1);
    const beta = randomArray(dim, 10, 0.5);
    const weights = new Map<string, WeightTensor>([
      ['ln.weight', { shape: [dim], data: gamma }],
      ['ln.bias', { shape: [dim], data: beta }],
    ]);
    const y = await runLayer(
      weights,
      'named',
      { data: x, dims: [2, 3, dim] },
      ['batch', 3, dim],
      (ctx, input) => layerNorm(ctx, input, 'ln', dim, eps),
    );
    for (let r = 0; r < rows; r++) {
      const values = Array.from(x.subarray(r * dim, (r + 1) * dim));
      const mean = values.reduce((a, v) => a + v, 0) / dim;
      const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / dim;
      values.forEach((v, k) => {
        const expected = ((v - mean) / Math.sqrt(variance + eps)) * gamma[k]! + beta[k]!;
        expect(Math.abs(y.data[r * dim + k]! - expected)).toBeLessThan(tolerance);
      });
    }
  });

  it('emits GroupNorm in exactly the decomposed form the gradient builder expects', () => {
    const b = new GraphBuilder();
    const ctx: NetContext = { b, params: new ParameterStore(b, 'inputs', undefined), style: 'named' };
    const x = b.input('x', 'float32', ['batch', 8, 2, 2]);
    b.output(
      groupNorm(ctx, x, 'norm', { groups: 4, channels: 8, height: 2, width: 2, eps: 1e-5 }),
      'y',
      'float32',
      ['batch', 8, 2, 2],
    );
    const graph = modelGraph(b.toModel());
    expect(graph.node.map((n) => n.opType)).toEqual([
      'Reshape',
      'ReduceMean',
      'Sub',
      'Mul',
      'ReduceMean',
      'Add',
      'Sqrt',
      'Div',
      'Reshape',
      'Mul',
      'Add',
    ]);
    const params = ctx.params.parameters.map((p) => [p.name, p.shape, p.graphShape]);
    expect(params).toEqual([
      ['norm.weight', [8], [8, 1, 1]],
      ['norm.bias', [8], [8, 1, 1]],
    ]);
  });
});
