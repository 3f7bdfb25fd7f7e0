// A miniature U-Net, built by hand from the same op vocabulary as the real one: conv_in, a
// sinusoidal timestep embedding (Sin/Cos on a stop-gradient path) through Gemm + SiLU, a class
// embedding (Gather), GroupNorm written as Reshape/ReduceMean/Sub/Mul/Sqrt/Div, a stride-2
// conv, a transformer block (LayerNorm, 2-head attention with Softmax, GEGLU feed-forward with
// Erf), nearest ×2 upsampling, a skip Concat and conv_out, with a per-sample-weighted MSE.
// Gradients of every parameter tensor are checked at a few random coordinates against float64
// finite differences, and a few optimiser steps on the training graph must lower the loss.
//
// Tolerance 1e-4 (scale-relative), with ε = 2e-4: the loss is a deep composition, so with the
// per-op ε = 1e-3 the finite difference's own ε²·f‴ truncation (up to 6e-5 here) would dominate;
// at 2e-4 it shrinks 25× while float64 rounding stays ~1e-12. What remains is float32 rounding
// through ~150 backward ops, two normalisations included: measured worst 9e-6, so 1e-4 leaves
// ~10× headroom. A wrong rule anywhere on the path gives errors of order 1.
import { describe, expect, it } from 'vitest';
import {
  appendMseLoss,
  buildGradientGraph,
  checkGradients,
  createRng,
  gradientName,
  modelSession,
  refTensor,
  type RefTensor,
} from '../src/autodiff';
import type { TensorData } from '@maskunet/gpu-runner';
import { ModelKit } from '../src/autodiff/model-kit';
import { AdamW } from '../src/train';

const TOL = 1e-4;
const EPS = 2e-4;

interface Net {
  model: ReturnType<ModelKit['build']>;
  params: Record<string, number[]>;
}

function miniUnet(seed: number): Net {
  const rng = createRng(seed);
  const k = new ModelKit();
  const params: Record<string, number[]> = {};
  const param = (name: string, dims: number[], scale: number, offset = 0): string => {
    k.input(name, dims);
    const count = dims.reduce((a, b) => a * b, 1);
    params[name] = Array.from({ length: count }, () => offset + scale * rng.normal());
    return name;
  };
  const C = 4;
  k.input('sample', ['N', 2, 8, 8]);
  k.input('timestep', ['N'], 7);
  k.input('class_id', ['N'], 7);

  const silu = (v: string): string => k.op('Mul', [v, k.op('Sigmoid', [v])]);
  const groupNorm = (v: string, prefix: string): string => {
    const grouped = k.op('Reshape', [v, k.ints([0, 2, -1])]);
    const mean = k.op('ReduceMean', [grouped], { axes: [2], keepdims: 1 });
    const d = k.op('Sub', [grouped, mean]);
    const variance = k.op('ReduceMean', [k.op('Mul', [d, d])], { axes: [2], keepdims: 1 });
    const normed = k.op('Div', [d, k.op('Sqrt', [k.op('Add', [variance, k.scalar(1e-5)])])]);
    const back = k.op('Reshape', [normed, k.op('Shape', [v])]);
    return k.op('Add', [
      k.op('Mul', [back, param(`${prefix}.gamma`, [C, 1, 1], 0.1, 1)]),
      param(`${prefix}.beta`, [C, 1, 1], 0.1),
    ]);
  };
  const layerNorm = (v: string, prefix: string): string => {
    const mean = k.op('ReduceMean', [v], { axes: [-1], keepdims: 1 });
    const d = k.op('Sub', [v, mean]);
    const variance = k.op('ReduceMean', [k.op('Pow', [d, k.scalar(2)])], { axes: [-1], keepdims: 1 });
    const normed = k.op('Div', [d, k.op('Sqrt', [k.op('Add', [variance, k.scalar(1e-5)])])]);
    return k.op('Add', [
      k.op('Mul', [normed, param(`${prefix}.gamma`, [C], 0.1, 1)]),
      param(`${prefix}.beta`, [C], 0.1),
    ]);
  };
  const linear = (v: string, name: string, inDim: number, outDim: number): string =>
    k.op('Add', [
      k.op('MatMul', [v, param(`${name}.w`, [inDim, outDim], 0.5)]),
      param(`${name}.b`, [outDim], 0.1),
    ]);

  const h0 = k.op('Conv', ['sample', param('conv_in.w', [C, 2, 3, 3], 0.3), param('conv_in.b', [C], 0.1)], {
    pads: [1, 1, 1, 1],
  });
  // Timestep embedding: no parameter reaches it before the Gemm, so Sin/Cos need no gradient.
  const t = k.op('Mul', [
    k.op('Unsqueeze', [k.op('Cast', ['timestep'], { to: 1 }), k.ints([1])]),
    k.weight('freqs', [2], [1, 0.1]),
  ]);
  const sinusoid = k.op('Concat', [k.op('Sin', [t]), k.op('Cos', [t])], { axis: 1 });
  const temb = silu(
    k.op('Gemm', [sinusoid, param('time.w', [C, 4], 0.5), param('time.b', [C], 0.1)], { transB: 1 }),
  );
  const cemb = k.op('Gather', [param('class_embedding', [3, C], 0.5), 'class_id']);
  const cond = k.op('Unsqueeze', [k.op('Add', [temb, cemb]), k.ints([2, 3])]);
  const h1 = silu(groupNorm(k.op('Add', [h0, cond]), 'norm1'));
  const down = k.op('Conv', [h1, param('down.w', [C, C, 3, 3], 0.3), param('down.b', [C], 0.1)], {
    pads: [1, 1, 1, 1],
    strides: [2, 2],
  });

  const tokens = k.op('Transpose', [k.op('Reshape', [down, k.ints([0, C, 16])])], { perm: [0, 2, 1] });
  const normed = layerNorm(tokens, 'attn.norm');
  const heads = (v: string): string =>
    k.op('Transpose', [k.op('Reshape', [v, k.ints([0, -1, 2, 2])])], { perm: [0, 2, 1, 3] });
  const q = heads(k.op('MatMul', [normed, param('attn.to_q', [C, C], 0.5)]));
  const kk = heads(k.op('MatMul', [normed, param('attn.to_k', [C, C], 0.5)]));
  const v = heads(k.op('MatMul', [normed, param('attn.to_v', [C, C], 0.5)]));
  const scores = k.op('Mul', [
    k.op('MatMul', [q, k.op('Transpose', [kk], { perm: [0, 1, 3, 2] })]),
    k.scalar(1 / Math.SQRT2),
  ]);
  const attended = k.op('MatMul', [k.op('Softmax', [scores], { axis: -1 }), v]);
  const merged = k.op('Reshape', [k.op('Transpose', [attended], { perm: [0, 2, 1, 3] }), k.ints([0, -1, C])]);
  const afterAttn = k.op('Add', [tokens, linear(merged, 'attn.to_out', C, C)]);
  const [gateIn, gate] = k.opMulti(
    'Split',
    [linear(layerNorm(afterAttn, 'ff.norm'), 'ff.proj', C, 2 * C)],
    2,
    { axis: -1 },
  );
  const gelu = k.op('Mul', [
    k.op('Mul', [gate ?? '', k.scalar(0.5)]),
    k.op('Add', [k.op('Erf', [k.op('Mul', [gate ?? '', k.scalar(Math.SQRT1_2)])]), k.scalar(1)]),
  ]);
  const afterFf = k.op('Add', [afterAttn, linear(k.op('Mul', [gateIn ?? '', gelu]), 'ff.out', C, C)]);
  const image = k.op('Reshape', [k.op('Transpose', [afterFf], { perm: [0, 2, 1] }), k.ints([0, C, 4, 4])]);

  const up = k.op('Resize', [image, '', k.weight('up_scales', [4], [1, 1, 2, 2])], { mode: 'nearest' });
  const skip = k.op('Concat', [up, h0], { axis: 1 });
  k.output(
    k.op(
      'Conv',
      [silu(skip), param('conv_out.w', [2, 2 * C, 3, 3], 0.2), param('conv_out.b', [2], 0.1)],
      { pads: [1, 1, 1, 1] },
      'noise_pred',
    ),
  );
  return { model: appendMseLoss(k.build(), { output: 'noise_pred', sampleWeights: 'loss_weight' }), params };
}

function batchFeeds(batch: number, seed: number): Record<string, RefTensor> {
  const rng = createRng(seed);
  const normal = (dims: number[]): RefTensor =>
    refTensor(
      dims,
      Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal()),
    );
  return {
    sample: normal([batch, 2, 8, 8]),
    target: normal([batch, 2, 8, 8]),
    timestep: refTensor(
      [batch],
      Array.from({ length: batch }, () => rng.int(1000)),
      'int',
    ),
    class_id: refTensor(
      [batch],
      Array.from({ length: batch }, (_, i) => i % 2),
      'int',
    ),
    loss_weight: refTensor(
      [batch],
      Array.from({ length: batch }, () => 0.5 + rng.uniform()),
    ),
  };
}

describe('mini U-Net', () => {
  const net = miniUnet(11);
  const names = Object.keys(net.params);

  it('has gradients matching float64 finite differences for every parameter tensor', async () => {
    const feeds = batchFeeds(3, 5);
    for (const [name, values] of Object.entries(net.params)) {
      feeds[name] = refTensor(
        net.model.graph?.input
          ?.find((i) => i.name === name)
          ?.type?.tensorType?.shape?.dim?.map((d) => Number(d.dimValue)) ?? [],
        values,
      );
    }
    const result = await checkGradients(net.model, {
      loss: 'loss',
      wrt: names,
      feeds,
      maxProbes: 3,
      seed: 3,
      eps: EPS,
    });
    expect(Math.abs(result.lossOrt - result.lossReference)).toBeLessThan(1e-5 * result.lossReference);
    const worst = Math.max(...result.inputs.map((r) => r.relativeError));
    if (process.env.AUTODIFF_REPORT) {
      console.log(`mini U-Net worst relative error ${worst.toExponential(2)}`);
    }
    for (const r of result.inputs) {
      expect(r.scale, `${r.name} has zero gradient at its probes`).toBeGreaterThan(0);
      expect(r.relativeError, `${r.name}: ${JSON.stringify(r)}`).toBeLessThan(TOL);
    }
  });

  it('trains: a few AdamW steps on one batch lower the loss', async () => {
    const train = buildGradientGraph(net.model, { loss: 'loss', wrt: names });
    const session = await modelSession(train);
    try {
      const params = new Map(Object.entries(net.params).map(([n, v]) => [n, Float32Array.from(v)]));
      const dims = new Map(
        (net.model.graph?.input ?? []).map((i) => [
          i.name ?? '',
          i.type?.tensorType?.shape?.dim?.map((d) => Number(d.dimValue)) ?? [],
        ]),
      );
      const batch = batchFeeds(4, 8);
      const feeds: Record<string, TensorData> = {};
      for (const [name, t] of Object.entries(batch)) {
        feeds[name] =
          t.kind === 'int'
            ? { type: 'int64', dims: t.dims, data: BigInt64Array.from(t.data, (v) => BigInt(v)) }
            : { type: 'float32', dims: t.dims, data: Float32Array.from(t.data) };
      }
      const optimizer = new AdamW(params, { lr: 1e-2 });
      const losses: number[] = [];
      for (let step = 0; step < 8; step++) {
        for (const [name, p] of params)
          feeds[name] = { type: 'float32', dims: dims.get(name) ?? [], data: p };
        const out = await session.run(feeds);
        losses.push(Number(out.loss?.data[0]));
        const grads = new Map(names.map((n) => [n, out[gradientName(n)]?.data as Float32Array]));
        optimizer.step(grads);
      }
      expect(losses[losses.length - 1]).toBeLessThan((losses[0] ?? 0) * 0.9);
    } finally {
      await session.release();
    }
  });
});
