// Whole-graph behaviour of buildGradientGraph: a symbolic batch (one training graph serves every
// batch size), the run-time fallbacks used when a dim is not known at build time, stop-gradients,
// accumulation over several consumers, zero gradients for parameters the loss ignores, the MSE
// loss helper, the lean-graph guarantees (no transpose of Kᵀ, no backward for id paths), and
// every typed refusal. Gradient tolerances are those of autodiff-ops.test.ts (2e-5
// scale-relative against float64 finite differences) for the same reasons.
import { describe, expect, it } from 'vitest';
import {
  appendMseLoss,
  buildGradientGraph,
  checkGradients,
  createRng,
  gradientName,
  isAutodiffError,
  modelSession,
  refTensor,
  type AutodiffErrorCode,
  type RefTensor,
} from '../src/autodiff';
import { ModelKit } from '../src/autodiff/model-kit';
import { toNumber, type IntLike, type OnnxTypes as onnx } from '@maskunet/gpu-runner';

const TOL = 2e-5;

function random(dims: number[], seed: number, positive = false): RefTensor {
  const rng = createRng(seed);
  const count = dims.reduce((a, b) => a * b, 1);
  return refTensor(
    dims,
    Array.from({ length: count }, () => (positive ? 0.5 + rng.uniform() : rng.normal())),
  );
}

function opCount(model: onnx.IModelProto, opType: string): number {
  return (model.graph?.node ?? []).filter((n) => n.opType === opType).length;
}

async function expectGradients(
  model: onnx.IModelProto,
  wrt: string[],
  feeds: Record<string, RefTensor>,
  tol = TOL,
): Promise<onnx.IModelProto> {
  const result = await checkGradients(model, { loss: 'loss', wrt, feeds });
  for (const r of result.inputs) {
    expect(r.scale, `${r.name} has a zero gradient`).toBeGreaterThan(0);
    expect(r.relativeError, `${r.name}: ${JSON.stringify(r)}`).toBeLessThan(tol);
  }
  expect(Math.abs(result.lossOrt - result.lossReference)).toBeLessThan(
    1e-4 * Math.max(1, Math.abs(result.lossReference)),
  );
  return result.trainingModel;
}

/** Σ(out ⊙ R) with R a graph input named `cotangent`. */
function projectLoss(k: ModelKit, out: string, dims: (number | string | null)[]): void {
  k.input('cotangent', dims);
  k.op('ReduceSum', [k.op('Mul', [out, 'cotangent'])], { keepdims: 0 }, 'loss');
  k.output('loss');
}

describe('symbolic batch and unknown dims', () => {
  function convNet(batch: string, spatial: (number | null)[]): onnx.IModelProto {
    const k = new ModelKit();
    k.input('x', [batch, 2, ...spatial]);
    k.input('w', [3, 2, 3, 3]);
    k.input('b', [3]);
    k.input('scale', [1, 3, 1, 1]);
    const y = k.op('Conv', ['x', 'w', 'b'], { pads: [1, 1, 1, 1], strides: [2, 2] });
    const z = k.op('Mul', [y, 'scale']);
    const flat = k.op('Reshape', [z, k.ints([0, -1])]);
    projectLoss(k, flat, [batch, null]);
    return k.build();
  }
  const params = { w: random([3, 2, 3, 3], 2), b: random([3], 3), scale: random([1, 3, 1, 1], 4) };

  it('one graph with a symbolic batch gives correct gradients at batch 1 and 3', async () => {
    const model = convNet('N', [6, 5]);
    for (const batch of [1, 3]) {
      await expectGradients(model, ['x', 'w', 'b', 'scale'], {
        ...params,
        x: random([batch, 2, 6, 5], 5 + batch),
        cotangent: random([batch, 3 * 3 * 3], 9),
      });
    }
  });

  it('unknown spatial dims take the run-time paths (ConvTranspose cut to shape, sliced weight gradient)', async () => {
    const model = convNet('N', [null, null]);
    const train = await expectGradients(model, ['x', 'w', 'b', 'scale'], {
      ...params,
      x: random([2, 2, 6, 5], 6),
      cotangent: random([2, 27], 9),
    });
    // The stride-2 remainder is unknown at build time: the input gradient is cut to x's shape.
    expect(opCount(train, 'ConvTranspose')).toBe(1);
    expect(opCount(train, 'Slice')).toBeGreaterThanOrEqual(2);
  });

  it('unknown dims un-broadcast, average, slice and split at run time', async () => {
    const k = new ModelKit();
    k.input('a', ['N', 4]);
    k.input('b', [null, null]); // fed [1, 4]: broadcast over the batch, unknowable at build time
    const s = k.op('Add', ['a', 'b']);
    const m = k.op('ReduceMean', [s], { axes: [0], keepdims: 1 });
    const c = k.op('Concat', [s, m], { axis: 0 });
    const cut = k.op('Slice', [c, k.ints([1]), k.ints([2 ** 62]), k.ints([0])]);
    projectLoss(k, cut, [null, 4]);
    await expectGradients(k.build(), ['a', 'b'], {
      a: random([3, 4], 1),
      b: random([1, 4], 2),
      cotangent: random([3, 4], 3),
    });
  });
});

describe('graph structure', () => {
  it('reads K for Q·Kᵀ instead of transposing Kᵀ back, and shares one transpose of Q', async () => {
    const k = new ModelKit();
    k.input('q', ['N', 2, 3, 4]);
    k.input('kk', ['N', 2, 3, 4]);
    k.input('v', ['N', 2, 3, 4]);
    const kt = k.op('Transpose', ['kk'], { perm: [0, 1, 3, 2] });
    const scores = k.op('Softmax', [k.op('MatMul', ['q', kt])], { axis: -1 });
    const out = k.op('MatMul', [scores, 'v']);
    projectLoss(k, out, ['N', 2, 3, 4]);
    const model = k.build();
    const train = await expectGradients(model, ['q', 'kk', 'v'], {
      q: random([2, 2, 3, 4], 1),
      kk: random([2, 2, 3, 4], 2),
      v: random([2, 2, 3, 4], 3),
      cotangent: random([2, 2, 3, 4], 4),
    });
    const transposedInputs = (train.graph?.node ?? [])
      .filter((n) => n.opType === 'Transpose')
      .map((n) => n.input?.[0]);
    // Kᵀ is never transposed back (the rule reads kk); the rest are unavoidable operand transposes.
    expect(transposedInputs).not.toContain(kt);
    expect(new Set(transposedInputs).size).toBe(transposedInputs.length);
  });

  it('sums a value used by three consumers once, and keeps only what the outputs need', async () => {
    const k = new ModelKit();
    k.input('x', [2, 3]);
    const a = k.op('Sigmoid', ['x']);
    const b = k.op('Tanh', ['x']);
    const c = k.op('Mul', ['x', k.scalar(3)]);
    k.output(k.op('Exp', ['x'])); // a side output nobody asked to keep
    projectLoss(k, k.op('Add', [k.op('Add', [a, b]), c]), [2, 3]);
    const train = await expectGradients(k.build(), ['x'], {
      x: random([2, 3], 1),
      cotangent: random([2, 3], 2),
    });
    expect(opCount(train, 'Sum')).toBe(1);
    expect(opCount(train, 'Exp')).toBe(0);
    expect((train.graph?.output ?? []).map((o) => o.name)).toEqual(['loss', gradientName('x')]);
  });

  it('emits no backward for integer and shape paths (ids, timesteps, Shape-built reshape targets)', () => {
    const k = new ModelKit();
    k.input('x', ['N', 4]);
    k.input('ids', ['N'], 7);
    k.input('table', [5, 4]);
    const t = k.op('Cast', ['ids'], { to: 1 });
    const freq = k.op('Sin', [k.op('Mul', [t, k.scalar(0.3)])]);
    const emb = k.op('Gather', ['table', 'ids']);
    const target = k.op('Concat', [k.op('Shape', ['x']), k.ints([1])], { axis: 0 });
    const h = k.op('Reshape', [k.op('Add', ['x', emb]), target]);
    const y = k.op('Mul', [h, k.op('Unsqueeze', [k.op('Unsqueeze', [freq, k.ints([1])]), k.ints([2])])]);
    k.op('ReduceSum', [y], { keepdims: 0 }, 'loss');
    k.output('loss');
    const train = buildGradientGraph(k.build(), { loss: 'loss', wrt: ['x', 'table'] });
    const backwardOps = (train.graph?.node ?? [])
      .filter((n) => n.name?.startsWith('grad/'))
      .map((n) => n.opType);
    expect(backwardOps).not.toContain('Cos'); // the timestep path needs no gradient
    expect(backwardOps).toContain('ScatterND');
  });

  it('stops gradients at listed values (a straight-through estimator for binary masks)', async () => {
    // mask = hard + (s − sg(s)) equals the hard 0/1 mask forward, but passes ∂/∂s = 1 backward.
    const k = new ModelKit();
    k.input('w', [4]);
    k.input('scores', [4]);
    const hard = k.op('Cast', [k.op('Greater', ['scores', k.scalar(0)])], { to: 1 });
    const frozen = k.op('Identity', ['scores']);
    const mask = k.op('Add', [hard, k.op('Sub', ['scores', frozen])]);
    k.op('ReduceSum', [k.op('Mul', ['w', mask])], { keepdims: 0 }, 'loss');
    const train = buildGradientGraph(k.build(), {
      loss: 'loss',
      wrt: ['w', 'scores'],
      stopGradients: [frozen],
    });
    const session = await modelSession(train);
    try {
      const out = await session.run({
        w: { type: 'float32', dims: [4], data: new Float32Array([1, 2, 3, 4]) },
        scores: { type: 'float32', dims: [4], data: new Float32Array([0.5, -1, 2, -0.25]) },
      });
      expect([...(out.loss?.data ?? [])]).toEqual([1 + 3]); // the hard mask [1, 0, 1, 0]
      expect([...(out[gradientName('scores')]?.data ?? [])]).toEqual([1, 2, 3, 4]); // ∂/∂mask = w
      expect([...(out[gradientName('w')]?.data ?? [])]).toEqual([1, 0, 1, 0]);
    } finally {
      await session.release();
    }
  });

  it('gives a parameter the loss does not use a zero gradient of its shape', async () => {
    const k = new ModelKit();
    k.input('x', ['N', 3]);
    k.input('unused', [2, 2]);
    k.op('ReduceSum', [k.op('Mul', ['x', 'x'])], { keepdims: 0 }, 'loss');
    k.output('loss');
    const train = buildGradientGraph(k.build(), { loss: 'loss', wrt: ['x', 'unused'] });
    const session = await modelSession(train);
    try {
      const out = await session.run({
        x: { type: 'float32', dims: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
        unused: { type: 'float32', dims: [2, 2], data: new Float32Array(4) },
      });
      expect(out[gradientName('unused')]?.dims).toEqual([2, 2]);
      expect([...(out[gradientName('unused')]?.data ?? [])]).toEqual([0, 0, 0, 0]);
      expect([...(out[gradientName('x')]?.data ?? [])]).toEqual([2, 4, 6, 8, 10, 12]);
    } finally {
      await session.release();
    }
  });

  it('exposes keepOutputs next to the loss', async () => {
    const k = new ModelKit();
    k.input('x', [2]);
    const y = k.op('Mul', ['x', k.scalar(2)]);
    k.op('ReduceSum', [y], { keepdims: 0 }, 'loss');
    const train = buildGradientGraph(k.build(), { loss: 'loss', wrt: ['x'], keepOutputs: [y] });
    const session = await modelSession(train);
    try {
      const out = await session.run({ x: { type: 'float32', dims: [2], data: new Float32Array([1, 3]) } });
      expect([...(out[y]?.data ?? [])]).toEqual([2, 6]);
      expect([...(out[gradientName('x')]?.data ?? [])]).toEqual([2, 2]);
    } finally {
      await session.release();
    }
  });
});

describe('MSE loss helper', () => {
  function predictor(): onnx.IModelProto {
    const k = new ModelKit();
    k.input('x', ['N', 2, 3]);
    k.input('w', [3, 3]);
    k.output(k.op('MatMul', ['x', 'w'], {}, 'pred'));
    return k.build();
  }
  const x = random([2, 2, 3], 1);
  const w = random([3, 3], 2);
  const target = random([2, 2, 3], 3);

  function manualLoss(weights?: number[]): number {
    let total = 0;
    for (let n = 0; n < 2; n++) {
      let sample = 0;
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < 3; j++) {
          let p = 0;
          for (let q = 0; q < 3; q++) p += (x.data[n * 6 + i * 3 + q] ?? 0) * (w.data[q * 3 + j] ?? 0);
          sample += (p - (target.data[n * 6 + i * 3 + j] ?? 0)) ** 2;
        }
      }
      total += (sample / 6) * (weights?.[n] ?? 1);
    }
    return total / 2;
  }

  it('appends mean((out − target)²) with a target input shaped like the output', async () => {
    const model = appendMseLoss(predictor(), { output: 'pred' });
    const targetInput = model.graph?.input?.find((i) => i.name === 'target');
    expect(
      targetInput?.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || toNumber(d.dimValue as IntLike)),
    ).toEqual(['N', 2, 3]);
    const result = await checkGradients(model, { loss: 'loss', wrt: ['w'], feeds: { x, w, target } });
    // manualLoss uses the unrounded float64 inputs; the checked graphs see them rounded to float32.
    expect(result.lossReference).toBeCloseTo(manualLoss(), 6);
    expect(result.inputs[0]?.relativeError).toBeLessThan(TOL);
  });

  it('weights each sample’s mean by its weight', async () => {
    const model = appendMseLoss(predictor(), { output: 'pred', sampleWeights: 'snr_weight' });
    const weights = refTensor([2], [0.25, 2]);
    const result = await checkGradients(model, {
      loss: 'loss',
      wrt: ['w', 'x'],
      feeds: { x, w, target, snr_weight: weights },
    });
    expect(result.lossReference).toBeCloseTo(manualLoss([0.25, 2]), 6);
    expect(result.lossOrt).toBeCloseTo(manualLoss([0.25, 2]), 5);
    for (const r of result.inputs) expect(r.relativeError).toBeLessThan(TOL);
  });
});

describe('typed refusals', () => {
  function expectCode(fn: () => unknown, code: AutodiffErrorCode, mentions: string[] = []): void {
    let caught: unknown;
    try {
      fn();
    } catch (error) {
      caught = error;
    }
    expect(isAutodiffError(caught, code), String(caught)).toBe(true);
    for (const m of mentions) expect(String(caught)).toContain(m);
  }

  function withOp(opType: string, attrs = {}): onnx.IModelProto {
    const k = new ModelKit();
    k.input('x', [2, 4, 3, 3]);
    k.input('w', [4, 2, 3, 3]);
    const y = opType === 'Conv' ? k.op('Conv', ['x', 'w'], attrs) : k.op(opType, ['x'], attrs, 'mystery_out');
    k.op('ReduceSum', [y], { keepdims: 0 }, 'loss');
    return k.build();
  }

  it('names the op and node of an unsupported op on a differentiable path', () => {
    expectCode(() => buildGradientGraph(withOp('Relu'), { loss: 'loss', wrt: ['x'] }), 'unsupported_op', [
      'Relu',
      'mystery_out',
    ]);
  });

  it('accepts an unsupported op that no parameter reaches', () => {
    const k = new ModelKit();
    k.input('x', [3]);
    k.input('ids', [3], 7);
    const gate = k.op('Cast', [k.op('ArgMax', ['ids'], { keepdims: 1 })], { to: 1 });
    k.op('ReduceSum', [k.op('Mul', ['x', k.op('Relu', [gate])])], { keepdims: 0 }, 'loss');
    expect(() => buildGradientGraph(k.build(), { loss: 'loss', wrt: ['x'] })).not.toThrow();
  });

  it('refuses grouped convolutions', () => {
    expectCode(
      () => buildGradientGraph(withOp('Conv', { group: 2 }), { loss: 'loss', wrt: ['w'] }),
      'unsupported_attribute',
      ['group'],
    );
  });

  it('refuses Slice starts computed at run time', () => {
    const k = new ModelKit();
    k.input('x', [4]);
    k.input('start', [1], 7);
    k.op('ReduceSum', [k.op('Slice', ['x', 'start', k.ints([4])])], { keepdims: 0 }, 'loss');
    expectCode(() => buildGradientGraph(k.build(), { loss: 'loss', wrt: ['x'] }), 'dynamic_attribute', [
      'starts',
    ]);
  });

  it('refuses a non-scalar loss, unknown names, initializers as parameters, and old opsets', () => {
    const k = new ModelKit();
    k.input('x', [2, 3]);
    k.weight('baked', [3], [1, 2, 3]);
    k.op('Mul', ['x', 'baked'], {}, 'per_element');
    k.op('ReduceSum', ['per_element'], { keepdims: 0 }, 'loss');
    const model = k.build();
    expectCode(() => buildGradientGraph(model, { loss: 'per_element', wrt: ['x'] }), 'bad_loss', [
      'single element',
    ]);
    expectCode(() => buildGradientGraph(model, { loss: 'nope', wrt: ['x'] }), 'bad_loss');
    expectCode(() => buildGradientGraph(model, { loss: 'loss', wrt: ['baked'] }), 'bad_argument', [
      'initializer',
    ]);
    expectCode(() => buildGradientGraph(model, { loss: 'loss', wrt: ['y'] }), 'bad_argument');
    expectCode(
      () => buildGradientGraph(model, { loss: 'loss', wrt: ['x'], keepOutputs: ['zz'] }),
      'bad_argument',
    );
    const old = { ...model, opsetImport: [{ domain: '', version: 11 }] };
    expectCode(() => buildGradientGraph(old, { loss: 'loss', wrt: ['x'] }), 'unsupported_opset');
  });
});
