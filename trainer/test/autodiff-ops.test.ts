// Per-op gradient checks: for every op the gradient builder supports, a one-op (or few-op) graph
// is differentiated, run in onnxruntime-node (float32) and compared with central finite
// differences of a float64 reference interpreter. The loss is Σ(out ⊙ R) for a fixed random R,
// so every output element contributes with a different weight.
//
// Tolerances: the error is max|g_ort − g_fd| / max|g_fd| over all coordinates (scale-relative).
// With ε = 1e-3 in float64 the finite difference is exact to ~ε²·|f‴|/6 and its rounding
// (~1e-16/ε) is negligible, so what is left is float32 rounding in the onnxruntime backward:
// measured worst 7e-7 over these cases. TOL = 2e-5 leaves ~30× headroom; a wrong rule (a
// missing un-broadcast sum, a transposed operand, a dropped contribution) gives errors of order
// 1. Ops whose derivative has large higher derivatives on these inputs (Div, Pow with negative
// or fractional exponents, where ε²·f‴ reaches 2e-6) get TOL_STEEP = 1e-4.
import { describe, expect, it } from 'vitest';
import { checkGradients, createRng, refTensor, ReferenceModel, type RefTensor } from '../src/autodiff';
import { ModelKit } from '../src/autodiff/model-kit';
import { type AttrValue } from '@maskunet/gpu-runner';

const TOL = 2e-5;
const TOL_STEEP = 1e-4;

type Feed = { dims: number[]; kind?: 'normal' | 'positive' | 'int'; values?: number[] };

interface Case {
  /** Declares inputs (all float unless `kind: 'int'`) and returns the output value to test. */
  build: (k: ModelKit) => string;
  inputs: Record<string, Feed>;
  /** Inputs to differentiate (default: every float input). */
  wrt?: string[];
  tol?: number;
  seed?: number;
}

function makeFeed(feed: Feed, rng: ReturnType<typeof createRng>): RefTensor {
  const count = feed.dims.reduce((a, b) => a * b, 1);
  if (feed.values) return refTensor(feed.dims, feed.values, feed.kind === 'int' ? 'int' : 'float');
  if (feed.kind === 'int')
    return refTensor(
      feed.dims,
      Array.from({ length: count }, () => rng.int(4)),
      'int',
    );
  const draw = feed.kind === 'positive' ? () => 0.5 + rng.uniform() * 1.5 : () => rng.normal();
  return refTensor(feed.dims, Array.from({ length: count }, draw));
}

async function runCase(c: Case): Promise<number> {
  const rng = createRng(c.seed ?? 7);
  const k = new ModelKit();
  const feeds: Record<string, RefTensor> = {};
  for (const [name, feed] of Object.entries(c.inputs)) {
    k.input(name, feed.dims, feed.kind === 'int' ? 7 : 1);
    feeds[name] = makeFeed(feed, rng);
  }
  const out = c.build(k);
  // Shape the cotangent R after the output, found by evaluating the forward in the reference.
  const outDims = new ReferenceModel(k.build()).run(feeds, [out])[0]?.dims ?? [];
  k.input('cotangent', outDims);
  feeds.cotangent = makeFeed({ dims: [...outDims] }, rng);
  k.op('ReduceSum', [k.op('Mul', [out, 'cotangent'])], { keepdims: 0 }, 'loss');
  k.output('loss');
  const wrt = c.wrt ?? Object.entries(c.inputs).flatMap(([name, f]) => (f.kind === 'int' ? [] : [name]));
  const result = await checkGradients(k.build(), { loss: 'loss', wrt, feeds });
  // The reference interpreter and onnxruntime must agree on the forward value itself.
  expect(Math.abs(result.lossOrt - result.lossReference)).toBeLessThan(
    1e-4 * Math.max(1, Math.abs(result.lossReference)),
  );
  const worst = Math.max(...result.inputs.map((r) => r.relativeError));
  if (process.env.AUTODIFF_REPORT) console.log(`worst relative error ${worst.toExponential(2)}`);
  for (const r of result.inputs) {
    expect(r.scale, `gradient of ${r.name} is identically zero: the check would be vacuous`).toBeGreaterThan(
      0,
    );
    expect(r.relativeError, `${r.name}: ${JSON.stringify(r)}`).toBeLessThan(c.tol ?? TOL);
  }
  return worst;
}

const unary = (op: string, kind: Feed['kind'] = 'normal', attrs: Record<string, AttrValue> = {}): Case => ({
  inputs: { x: { dims: [2, 3, 4], kind } },
  build: (k) => k.op(op, ['x'], attrs),
});

describe('pointwise ops', () => {
  const cases: Record<string, Case> = {
    'Add, both operands broadcast ([2,1,4] + [3,1])': {
      inputs: { a: { dims: [2, 1, 4] }, b: { dims: [3, 1] } },
      build: (k) => k.op('Add', ['a', 'b']),
    },
    'Add, same shape': {
      inputs: { a: { dims: [2, 3] }, b: { dims: [2, 3] } },
      build: (k) => k.op('Add', ['a', 'b']),
    },
    'Sub, trailing-axis broadcast ([2,3] − [3])': {
      inputs: { a: { dims: [2, 3] }, b: { dims: [3] } },
      build: (k) => k.op('Sub', ['a', 'b']),
    },
    'Mul, broadcast ([2,3,4] · [1,3,1])': {
      inputs: { a: { dims: [2, 3, 4] }, b: { dims: [1, 3, 1] } },
      build: (k) => k.op('Mul', ['a', 'b']),
    },
    'Mul of a value by itself (two contributions)': {
      inputs: { a: { dims: [2, 3] } },
      build: (k) => k.op('Mul', ['a', 'a']),
    },
    'Div, broadcast divisor ([2,3] / [2,1])': {
      inputs: { a: { dims: [2, 3] }, b: { dims: [2, 1], kind: 'positive' } },
      build: (k) => k.op('Div', ['a', 'b']),
      tol: TOL_STEEP,
    },
    'Div by a scalar constant': {
      inputs: { a: { dims: [2, 3] } },
      build: (k) => k.op('Div', ['a', k.scalar(3)]),
    },
    Neg: unary('Neg'),
    Sigmoid: unary('Sigmoid'),
    Tanh: unary('Tanh'),
    Erf: unary('Erf'),
    Exp: unary('Exp'),
    Log: unary('Log', 'positive'),
    Sqrt: unary('Sqrt', 'positive'),
    Sin: unary('Sin'),
    Cos: unary('Cos'),
    Identity: unary('Identity'),
    'Softmax axis=-1': unary('Softmax', 'normal', { axis: -1 }),
    'Softmax axis=1': unary('Softmax', 'normal', { axis: 1 }),
    'Pow, exponent 2': { inputs: { x: { dims: [2, 3] } }, build: (k) => k.op('Pow', ['x', k.scalar(2)]) },
    'Pow, exponent 3': { inputs: { x: { dims: [2, 3] } }, build: (k) => k.op('Pow', ['x', k.scalar(3)]) },
    'Pow, exponent 0.5': {
      inputs: { x: { dims: [2, 3], kind: 'positive' } },
      build: (k) => k.op('Pow', ['x', k.scalar(0.5)]),
    },
    'Pow, exponent −1.5': {
      inputs: { x: { dims: [2, 3], kind: 'positive' } },
      build: (k) => k.op('Pow', ['x', k.scalar(-1.5)]),
      tol: TOL_STEEP,
    },
    'Pow, exponent is a differentiable input': {
      inputs: { x: { dims: [2, 3], kind: 'positive' }, e: { dims: [1], kind: 'positive' } },
      build: (k) => k.op('Pow', ['x', 'e']),
      tol: TOL_STEEP,
    },
    'Sum of three, broadcast': {
      inputs: { a: { dims: [2, 3] }, b: { dims: [3] }, c: { dims: [2, 1] } },
      build: (k) => k.op('Sum', ['a', 'b', 'c']),
    },
    'Where: condition from a comparison is a stop-gradient; branches broadcast': {
      inputs: { x: { dims: [2, 3] }, a: { dims: [2, 3] }, b: { dims: [3] } },
      wrt: ['a', 'b'],
      build: (k) => k.op('Where', [k.op('Greater', ['x', k.scalar(0)]), 'a', 'b']),
    },
    'Cast float→float passes the gradient': {
      inputs: { x: { dims: [2, 3] } },
      build: (k) => k.op('Mul', [k.op('Cast', ['x'], { to: 1 }), 'x']),
    },
    'Cast to int64 is a stop-gradient (only the direct path counts)': {
      inputs: { x: { dims: [2, 3], values: [0.3, 1.7, -2.2, 2.6, -0.4, 1.1] } },
      build: (k) =>
        k.op('Add', [k.op('Cast', [k.op('Cast', ['x'], { to: 7 })], { to: 1 }), k.op('Mul', ['x', 'x'])]),
    },
    Expand: {
      inputs: { x: { dims: [3, 1] } },
      build: (k) => k.op('Expand', ['x', k.ints([2, 3, 4])]),
    },
  };
  for (const [name, c] of Object.entries(cases)) it(name, async () => void (await runCase(c)));
});

describe('contractions', () => {
  const cases: Record<string, Case> = {
    'MatMul 2-D': {
      inputs: { a: { dims: [3, 4] }, b: { dims: [4, 5] } },
      build: (k) => k.op('MatMul', ['a', 'b']),
    },
    'MatMul batched [B,H,L,D]×[B,H,D,L] (attention scores)': {
      inputs: { q: { dims: [2, 2, 3, 4] }, kt: { dims: [2, 2, 4, 3] } },
      build: (k) => k.op('MatMul', ['q', 'kt']),
    },
    'MatMul Q·Kᵀ with Kᵀ from a Transpose (gradient reads K directly)': {
      inputs: { q: { dims: [2, 2, 3, 4] }, kk: { dims: [2, 2, 3, 4] } },
      build: (k) => k.op('MatMul', ['q', k.op('Transpose', ['kk'], { perm: [0, 1, 3, 2] })]),
    },
    'MatMul weight [in,out] broadcast against [B,L,in]': {
      inputs: { x: { dims: [2, 3, 4] }, w: { dims: [4, 5] } },
      build: (k) => k.op('MatMul', ['x', 'w']),
    },
    'MatMul with broadcast batch dims ([2,1,3,4]×[3,4,2])': {
      inputs: { a: { dims: [2, 1, 3, 4] }, b: { dims: [3, 4, 2] } },
      build: (k) => k.op('MatMul', ['a', 'b']),
    },
    'Gemm plain with bias [N]': {
      inputs: { a: { dims: [3, 4] }, b: { dims: [4, 5] }, c: { dims: [5] } },
      build: (k) => k.op('Gemm', ['a', 'b', 'c']),
    },
    'Gemm transA, alpha 0.5, beta 2, bias [M,N]': {
      inputs: { a: { dims: [4, 3] }, b: { dims: [4, 5] }, c: { dims: [3, 5] } },
      build: (k) => k.op('Gemm', ['a', 'b', 'c'], { transA: 1, alpha: { float: 0.5 }, beta: { float: 2 } }),
    },
    'Gemm transB (Linear layout), bias [1,N]': {
      inputs: { a: { dims: [3, 4] }, b: { dims: [5, 4] }, c: { dims: [1, 5] } },
      build: (k) => k.op('Gemm', ['a', 'b', 'c'], { transB: 1 }),
    },
    'Gemm transB, alpha 0.7, beta 0.3, bias [N]': {
      inputs: { a: { dims: [3, 4] }, b: { dims: [5, 4] }, c: { dims: [5] } },
      build: (k) => k.op('Gemm', ['a', 'b', 'c'], { transB: 1, alpha: { float: 0.7 }, beta: { float: 0.3 } }),
    },
    'Gemm transA and transB, no bias': {
      inputs: { a: { dims: [4, 3] }, b: { dims: [5, 4] } },
      build: (k) => k.op('Gemm', ['a', 'b'], { transA: 1, transB: 1, alpha: { float: 1.5 } }),
    },
    'Conv 3×3 stride 1 pad 1 with bias': {
      inputs: { x: { dims: [2, 2, 5, 5] }, w: { dims: [3, 2, 3, 3] }, b: { dims: [3] } },
      build: (k) => k.op('Conv', ['x', 'w', 'b'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
    },
    'Conv 3×3 stride 2 pad 1, odd remainder on H (6×5 input), no bias': {
      inputs: { x: { dims: [2, 2, 6, 5] }, w: { dims: [3, 2, 3, 3] } },
      build: (k) => k.op('Conv', ['x', 'w'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] }),
    },
    'Conv stride 2 with asymmetric pads [0,1,1,0]': {
      inputs: { x: { dims: [1, 2, 7, 6] }, w: { dims: [2, 2, 3, 3] }, b: { dims: [2] } },
      build: (k) => k.op('Conv', ['x', 'w', 'b'], { pads: [0, 1, 1, 0], strides: [2, 2] }),
    },
    'Conv 3×3 stride 1 with asymmetric pads [0,1,2,0]': {
      inputs: { x: { dims: [1, 2, 5, 4] }, w: { dims: [2, 2, 3, 3] } },
      build: (k) => k.op('Conv', ['x', 'w'], { pads: [0, 1, 2, 0] }),
    },
    'Conv 1×1 padded by 1 (pads beyond k−1: ConvTranspose path)': {
      inputs: { x: { dims: [1, 2, 3, 3] }, w: { dims: [3, 2, 1, 1] } },
      build: (k) => k.op('Conv', ['x', 'w'], { pads: [1, 1, 1, 1] }),
    },
    'Conv 1×1': {
      inputs: { x: { dims: [2, 3, 4, 4] }, w: { dims: [2, 3, 1, 1] }, b: { dims: [2] } },
      build: (k) => k.op('Conv', ['x', 'w', 'b']),
    },
  };
  for (const [name, c] of Object.entries(cases)) it(name, async () => void (await runCase(c)));
});

describe('reductions and data movement', () => {
  const cases: Record<string, Case> = {
    'ReduceMean axes=[2] keepdims=1': unary('ReduceMean', 'normal', { axes: [2], keepdims: 1 }),
    'ReduceMean axes=[1,-1] keepdims=0': unary('ReduceMean', 'normal', { axes: [1, -1], keepdims: 0 }),
    'ReduceMean over all axes': unary('ReduceMean', 'normal', { keepdims: 0 }),
    'ReduceSum axes input [0,2] keepdims=0': {
      inputs: { x: { dims: [2, 3, 4] } },
      build: (k) => k.op('ReduceSum', ['x', k.ints([0, 2])], { keepdims: 0 }),
    },
    'Reshape with 0 and −1': {
      inputs: { x: { dims: [2, 3, 4] } },
      build: (k) => k.op('Reshape', ['x', k.ints([0, -1, 2])]),
    },
    'Flatten axis=2': unary('Flatten', 'normal', { axis: 2 }),
    'Unsqueeze then Squeeze': {
      inputs: { x: { dims: [2, 3] } },
      build: (k) =>
        k.op('Mul', [
          k.op('Unsqueeze', ['x', k.ints([1])]),
          k.op('Squeeze', [k.op('Unsqueeze', ['x', k.ints([-1])]), k.ints([-1])]),
        ]),
    },
    'Transpose perm [0,2,1,3]': {
      inputs: { x: { dims: [2, 3, 4, 2] } },
      build: (k) => k.op('Transpose', ['x'], { perm: [0, 2, 1, 3] }),
    },
    'Concat axis=1 of three (one not differentiated)': {
      inputs: { a: { dims: [2, 1, 3] }, b: { dims: [2, 2, 3] }, c: { dims: [2, 3, 3] } },
      wrt: ['a', 'c'],
      build: (k) => k.op('Concat', ['a', 'b', 'c'], { axis: 1 }),
    },
    'Slice with negative start and INT_MAX end on two axes': {
      inputs: { x: { dims: [3, 5, 4] } },
      build: (k) => k.op('Slice', ['x', k.ints([1, -3]), k.ints([2 ** 62, 3]), k.ints([0, 2])]),
    },
    'Slice channel chunk (attention qkv style) without axes input': {
      inputs: { x: { dims: [2, 6] } },
      build: (k) => k.op('Slice', ['x', k.ints([0, 2]), k.ints([2, 4])]),
    },
    'Split into [1,2,3] with one output unused': {
      inputs: { x: { dims: [2, 6] } },
      build: (k) => {
        const [p, , r] = k.opMulti('Split', ['x', k.ints([1, 2, 3])], 3, { axis: 1 });
        return k.op('Concat', [r ?? '', p ?? ''], { axis: 1 });
      },
    },
    'Split equal halves (GEGLU style), both used': {
      inputs: { x: { dims: [2, 3, 4] } },
      build: (k) => {
        const [a, b] = k.opMulti('Split', ['x'], 2, { axis: -1 });
        return k.op('Mul', [a ?? '', k.op('Sigmoid', [b ?? ''])]);
      },
    },
    'Resize nearest ×2 (half_pixel, round_prefer_floor)': {
      inputs: { x: { dims: [1, 2, 3, 3] } },
      build: (k) => k.op('Resize', ['x', '', k.weight('scales', [4], [1, 1, 2, 2])], { mode: 'nearest' }),
    },
    'Resize nearest ×2 (asymmetric, floor: the PyTorch export)': {
      inputs: { x: { dims: [2, 1, 2, 3] } },
      build: (k) =>
        k.op('Resize', ['x', '', k.weight('scales', [4], [1, 1, 2, 2])], {
          mode: 'nearest',
          coordinate_transformation_mode: 'asymmetric',
          nearest_mode: 'floor',
        }),
    },
    'Resize nearest ×3 on H, ×1 on W': {
      inputs: { x: { dims: [1, 1, 2, 3] } },
      build: (k) => k.op('Resize', ['x', '', k.weight('scales', [4], [1, 1, 3, 1])], { mode: 'nearest' }),
    },
    'Gather embedding rows with repeated and negative ids': {
      inputs: { table: { dims: [5, 3] }, ids: { dims: [2, 3], kind: 'int', values: [1, 4, 1, 0, -1, 1] } },
      build: (k) => k.op('Gather', ['table', 'ids'], { axis: 0 }),
    },
    'Gather axis=1 with repeats': {
      inputs: { x: { dims: [2, 4, 3] }, ids: { dims: [3], kind: 'int', values: [2, 0, 2] } },
      build: (k) => k.op('Gather', ['x', 'ids'], { axis: 1 }),
    },
    'Gather a scalar index on axis 0': {
      inputs: { x: { dims: [4, 3] } },
      build: (k) => k.op('Gather', ['x', k.intTensor([], [2])], { axis: 0 }),
    },
  };
  for (const [name, c] of Object.entries(cases)) it(name, async () => void (await runCase(c)));
});
