// The mask layout resolver: the paper's rule on both emission styles of the tiny U-Net, on the
// SD 1.5 structure (checked against the weight count mask-store documents), on Gemm and
// unscoped exports, and its typed refusals.
import { layoutHash, layoutSize, sameLayout } from '@maskunet/mask-store';
import { describe, expect, it } from 'vitest';

import {
  GraphBuilder,
  SD15_UNET_CONFIG,
  TINY_TEXT_ENCODER_CONFIG,
  TINY_UNET_CONFIG,
  buildTextEncoder,
  buildUNet,
  float32Tensor,
  isMaskedModulePath,
  isModelError,
  modelGraph,
  modulePathOfNode,
  randomUNetWeights,
  readModel,
  resolveMaskLayout,
  writeModel,
  type ModelProto,
} from '../src/index';

const config = TINY_UNET_CONFIG;

function expectModelError(run: () => unknown, code: string): void {
  try {
    run();
  } catch (error) {
    expect(isModelError(error) ? error.code : error).toBe(code);
    return;
  }
  expect.unreachable(`expected ModelError ${code}`);
}

describe('resolveMaskLayout on the tiny U-Net', () => {
  const weights = randomUNetWeights(config, 1);
  // Through bytes, so the resolver sees decoded protos as it would from a file.
  const named = resolveMaskLayout(readModel(writeModel(buildUNet(config, { weights }).model)));
  const exported = resolveMaskLayout(
    readModel(writeModel(buildUNet(config, { weights, style: 'pytorch-export' }).model)),
  );

  it('finds exactly the decoder attention projections, in graph order', () => {
    const expected: string[] = [];
    for (const attention of [0, 1]) {
      for (const attn of ['attn1', 'attn2']) {
        for (const projection of ['to_q', 'to_k', 'to_v', 'to_out.0']) {
          expected.push(`up_blocks.1.attentions.${attention}.transformer_blocks.0.${attn}.${projection}`);
        }
      }
    }
    expect(named.layers.map((l) => l.name)).toEqual(expected);
    expect(named.layers.every((l) => l.transposed && l.opType === 'MatMul')).toBe(true);
  });

  it('gives [out, in] shapes with in = cross_attention_dim for cross-attention keys and values', () => {
    for (const layer of named.layers) {
      const cross = /attn2\.to_[kv]$/.test(layer.name);
      expect(layer.shape).toEqual([32, cross ? config.cross_attention_dim : 32]);
    }
    expect(layoutSize(named)).toBe(2 * (6 * 32 * 32 + 2 * 32 * 48));
  });

  it('gives the same layout for both styles, with different initializer names', async () => {
    expect(sameLayout(named, exported)).toBe(true);
    expect(await layoutHash(exported)).toBe(await layoutHash(named));
    expect(named.layers[0]!.initializer).toBe(
      'up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight',
    );
    expect(exported.layers[0]!.initializer).toMatch(/^onnx::MatMul_\d+$/);
    expect(exported.layers[0]!.node).toBe('/up_blocks.1/attentions.0/transformer_blocks.0/attn1/to_q/MatMul');
    expect(exported.layers.every((l) => l.transposed)).toBe(true);
  });

  it('reads weights given as graph inputs only when asked', () => {
    const model = buildUNet(config, { parameters: 'inputs' }).model;
    expectModelError(() => resolveMaskLayout(model), 'no_masked_layers');
    expect(sameLayout(resolveMaskLayout(model, { weightsFromInputs: true }), named)).toBe(true);
  });
});

it('resolves the SD 1.5 decoder: 72 layers, 49,029,120 weights', () => {
  const model = buildUNet(SD15_UNET_CONFIG, { parameters: 'inputs', style: 'pytorch-export' }).model;
  const layout = resolveMaskLayout(model, { weightsFromInputs: true });
  expect(layout.layers).toHaveLength(72);
  expect(layoutSize(layout)).toBe(49_029_120);
  expect(layout.layers.at(-1)?.name).toBe('up_blocks.3.attentions.2.transformer_blocks.0.attn2.to_out.0');
});

/** A model of Linear-like nodes: each entry is [node name, op, weight name, weight dims, transB]. */
function linearModel(entries: [string, 'MatMul' | 'Gemm', string, number[], number?][]): ModelProto {
  const b = new GraphBuilder();
  const x = b.input('x', 'float32', ['batch', 8]);
  entries.forEach(([, op, weight, dims, transB], i) => {
    if (!b.has(weight))
      b.initializer(float32Tensor(weight, dims, new Float32Array(dims.reduce((a, d) => a * d, 1))));
    const [output] = b.node(op, [x, weight], op === 'Gemm' ? { transB: transB ?? 0 } : {});
    b.output(output!, `y${i}`, 'float32', ['batch', 8]);
  });
  const model = b.toModel();
  // Give each node the name an exporter would have; the builder's own names encode only its scope.
  modelGraph(model).node.forEach((node, i) => {
    node.name = entries[i]![0];
  });
  return model;
}

describe('resolveMaskLayout on hand-made exports', () => {
  it('honours Gemm transB and falls back to dotted initializer names for unscoped nodes', () => {
    const layout = resolveMaskLayout(
      linearModel([
        ['/up_blocks.0/attentions.0/transformer_blocks.0/attn1/to_q/Gemm', 'Gemm', 'onnx::Gemm_1', [6, 8], 1],
        ['/up_blocks.0/attentions.0/transformer_blocks.0/attn1/to_k/Gemm', 'Gemm', 'onnx::Gemm_2', [8, 6], 0],
        ['MatMul_17', 'MatMul', 'up_blocks.0.attentions.0.transformer_blocks.0.attn1.to_v.weight', [8, 6]],
        ['MatMul_18', 'MatMul', 'onnx::MatMul_19', [8, 6]],
        [
          '/up_blocks.0/resnets.0/time_emb_proj/Gemm',
          'Gemm',
          'up_blocks.0.resnets.0.time_emb_proj.weight',
          [6, 8],
          1,
        ],
        ['/up_blocks.0/attentions.0/proj_in/MatMul', 'MatMul', 'onnx::MatMul_20', [8, 6]],
        [
          '/up_blocks.0/attentions.0/transformer_blocks.0/ff/net.2/MatMul',
          'MatMul',
          'onnx::MatMul_21',
          [8, 6],
        ],
        [
          '/down_blocks.0/attentions.0/transformer_blocks.0/attn1/to_q/MatMul',
          'MatMul',
          'onnx::MatMul_22',
          [8, 6],
        ],
      ]),
    );
    expect(layout.layers.map((l) => [l.name, l.shape, l.transposed, l.initializer])).toEqual([
      ['up_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q', [6, 8], false, 'onnx::Gemm_1'],
      ['up_blocks.0.attentions.0.transformer_blocks.0.attn1.to_k', [6, 8], true, 'onnx::Gemm_2'],
      [
        'up_blocks.0.attentions.0.transformer_blocks.0.attn1.to_v',
        [6, 8],
        true,
        'up_blocks.0.attentions.0.transformer_blocks.0.attn1.to_v.weight',
      ],
    ]);
  });

  it('refuses shared weights, duplicate module paths and non-2-D weights', () => {
    const path = '/up_blocks.0/attentions.0/transformer_blocks.0/attn1';
    expectModelError(
      () =>
        resolveMaskLayout(
          linearModel([
            [`${path}/to_q/MatMul`, 'MatMul', 'w', [8, 8]],
            [`${path}/to_k/MatMul`, 'MatMul', 'w', [8, 8]],
          ]),
        ),
      'shared_weight',
    );
    expectModelError(
      () =>
        resolveMaskLayout(
          linearModel([
            [`${path}/to_q/MatMul`, 'MatMul', 'w1', [8, 8]],
            [`${path}/to_q/MatMul_1`, 'MatMul', 'w2', [8, 8]],
          ]),
        ),
      'duplicate_layer',
    );
    expectModelError(
      () => resolveMaskLayout(linearModel([[`${path}/to_q/MatMul`, 'MatMul', 'w', [1, 8, 8]]])),
      'bad_weight_shape',
    );
  });

  it('refuses a model without masked layers', () => {
    expectModelError(
      () => resolveMaskLayout(buildTextEncoder(TINY_TEXT_ENCODER_CONFIG, { parameters: 'inputs' }).model),
      'no_masked_layers',
    );
    expectModelError(
      () =>
        resolveMaskLayout(linearModel([['/down_blocks.0/attentions.0/to_q/MatMul', 'MatMul', 'w', [8, 8]]])),
      'no_masked_layers',
    );
  });
});

describe('module paths', () => {
  it('come from scoped node names and match components whole', () => {
    expect(modulePathOfNode('/up_blocks.1/attentions.0/transformer_blocks.0/attn1/to_q/MatMul')).toBe(
      'up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q',
    );
    expect(modulePathOfNode('MatMul_3')).toBeUndefined();
    expect(modulePathOfNode('/MatMul')).toBeUndefined();
    expect(isMaskedModulePath('up_blocks.1.attentions.0.transformer_blocks.0.attn2.to_out.0')).toBe(true);
    expect(isMaskedModulePath('up_blocks.1.attentions.0.transformer_blocks.0.ff.net.2')).toBe(false);
    expect(isMaskedModulePath('up_blocks.1.attentions.0.transformer_blocks.0.attn1.diff_q')).toBe(true);
    expect(isMaskedModulePath('mid_block.attentions.0.transformer_blocks.0.attn1.to_q')).toBe(false);
  });
});
