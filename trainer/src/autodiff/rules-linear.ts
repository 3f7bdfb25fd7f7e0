/**
 * Gradient rules of the contractions: MatMul (2-D and batched N-D with broadcasting), Gemm and
 * Conv. MatMul's weight gradient for the common `[B, L, in] × [in, out]` case is one `Gemm`
 * with `transA` over the flattened batch instead of a batched product followed by a sum over
 * the batch. Conv's input gradient is a Conv of the output gradient with the transposed,
 * flipped kernel (stride 1) or a ConvTranspose with the forward's strides and pads (strided);
 * the weight gradient is a sum over kernel offsets of batched MatMuls between the output
 * gradient and strided windows of the padded input; the bias gradient is a sum.
 */
import { allNumeric, type Dim } from './dims';
import type { GradContext } from './grad-context';
import { attrFloat, attrInt, attrInts, attrString, type AttrValue } from '@maskunet/gpu-runner';
import type { GradRule } from './rules';

function swapLastTwo(rank: number): number[] {
  const perm = [...Array(rank).keys()];
  perm[rank - 1] = rank - 2;
  perm[rank - 2] = rank - 1;
  return perm;
}

function matmulBackward(ctx: GradContext): (string | undefined)[] {
  const { em } = ctx;
  const [a, b, g] = [ctx.input(0), ctx.input(1), ctx.grad()];
  const aDims = ctx.dims(a);
  const bDims = ctx.dims(b);
  const yDims = ctx.dims(ctx.output(0));
  if (aDims.length < 2 || bDims.length < 2) ctx.fail('unsupported_attribute', 'MatMul with a 1-D operand');
  const batch = yDims.slice(0, -2);
  const tail = (dims: readonly Dim[]): Dim[] => [
    dims[dims.length - 2] ?? null,
    dims[dims.length - 1] ?? null,
  ];

  let da: string | undefined;
  if (ctx.need(0)) {
    const raw = em.op('MatMul', [g, em.transpose(b, swapLastTwo(bDims.length))]);
    da = ctx.unbroadcast(raw, [...batch, ...tail(aDims)], a);
  }
  let db: string | undefined;
  if (ctx.need(1)) {
    const k = aDims[aDims.length - 1] ?? null;
    const n = bDims[bDims.length - 1] ?? null;
    if (bDims.length === 2 && aDims.length > 2 && typeof k === 'number' && typeof n === 'number') {
      // Weight shared over the batch: one GEMM over the flattened rows, no [B, in, out] temporary.
      const a2 = em.op('Reshape', [a, em.ints([-1, k])]);
      const g2 = em.op('Reshape', [g, em.ints([-1, n])]);
      db = em.op('Gemm', [a2, g2], { transA: 1 });
    } else {
      const raw = em.op('MatMul', [em.transpose(a, swapLastTwo(aDims.length)), g]);
      db = ctx.unbroadcast(raw, [...batch, ...tail(bDims)], b);
    }
  }
  return [da, db];
}

function gemmBackward(ctx: GradContext): (string | undefined)[] {
  const { em } = ctx;
  const [a, b, g] = [ctx.input(0), ctx.input(1), ctx.grad()];
  const transA = attrInt(ctx.node, 'transA', 0) !== 0;
  const transB = attrInt(ctx.node, 'transB', 0) !== 0;
  const alpha = attrFloat(ctx.node, 'alpha', 1);
  const beta = attrFloat(ctx.node, 'beta', 1);
  const scale: Record<string, AttrValue> = alpha === 1 ? {} : { alpha: { float: alpha } };
  // Y = α·A'·B' + β·C with A' = op(A), B' = op(B); every case is one Gemm with transpose flags.
  let da: string | undefined;
  if (ctx.need(0)) {
    da = transA
      ? em.op('Gemm', [b, g], { ...scale, transA: transB ? 1 : 0, transB: 1 }) // (α·G·B'ᵀ)ᵀ = α·B'·Gᵀ
      : em.op('Gemm', [g, b], { ...scale, transB: transB ? 0 : 1 }); // α·G·B'ᵀ
  }
  let db: string | undefined;
  if (ctx.need(1)) {
    db = transB
      ? em.op('Gemm', [g, a], { ...scale, transA: 1, transB: transA ? 1 : 0 }) // (α·A'ᵀ·G)ᵀ = α·Gᵀ·A'
      : em.op('Gemm', [a, g], { ...scale, transA: transA ? 0 : 1 }); // α·A'ᵀ·G
  }
  let dc: string | undefined;
  if (ctx.need(2) && ctx.input(2)) {
    const out = ctx.dims(ctx.output(0));
    dc = ctx.unbroadcast(g, out, ctx.input(2));
    if (beta !== 1) dc = em.op('Mul', [dc, em.scalar(beta)]);
  }
  return [da, db, dc];
}

function convBackward(ctx: GradContext): (string | undefined)[] {
  const [x, w, g] = [ctx.input(0), ctx.input(1), ctx.grad()];
  const xDims = ctx.dims(x);
  const wDims = ctx.dims(w);
  const spatial = xDims.length - 2;
  if (spatial < 1) ctx.fail('unknown_shape', 'Conv input must have spatial axes');
  if (attrInt(ctx.node, 'group', 1) !== 1) ctx.fail('unsupported_attribute', 'Conv group ≠ 1');
  const dilations = attrInts(ctx.node, 'dilations') ?? [];
  if (dilations.some((d) => d !== 1)) ctx.fail('unsupported_attribute', 'Conv dilations ≠ 1');
  const autoPad = attrString(ctx.node, 'auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID')
    ctx.fail('unsupported_attribute', `Conv auto_pad=${autoPad}`);
  const kernel = wDims.slice(2);
  if (!allNumeric(kernel)) ctx.fail('unknown_shape', 'Conv kernel dims must be known');
  const geometry: ConvGeometry = {
    spatial,
    kernel,
    strides: attrInts(ctx.node, 'strides') ?? new Array<number>(spatial).fill(1),
    pads:
      autoPad === 'VALID'
        ? new Array<number>(2 * spatial).fill(0)
        : (attrInts(ctx.node, 'pads') ?? new Array<number>(2 * spatial).fill(0)),
  };
  const dx = ctx.need(0) ? convInputGradient(ctx, geometry) : undefined;
  const dw = ctx.need(1) ? convWeightGradient(ctx, geometry) : undefined;
  const spatialAxes = Array.from({ length: spatial }, (_, i) => i + 2);
  const db = ctx.need(2) && ctx.input(2) ? ctx.reduceSum(g, [0, ...spatialAxes], false) : undefined;
  return [dx, dw, db];
}

interface ConvGeometry {
  readonly spatial: number;
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  /** ONNX order: all begins, then all ends. */
  readonly pads: readonly number[];
}

/**
 * dX. Stride 1: a plain Conv of the gradient with the kernel transposed (in ↔ out channels)
 * and flipped, padded k−1−p — onnxruntime's Conv kernels are several times faster than its
 * ConvTranspose on CPU. Strided: ConvTranspose with the forward's kernel, strides and pads, and
 * `output_padding` restoring the rows the forward floored away; cheaper than convolving a
 * zero-dilated gradient.
 */
function convInputGradient(ctx: GradContext, geo: ConvGeometry): string {
  const { em } = ctx;
  const [x, w, g] = [ctx.input(0), ctx.input(1), ctx.grad()];
  const { spatial, kernel, strides, pads } = geo;
  const spatialAxes = Array.from({ length: spatial }, (_, i) => i + 2);
  const unitStride = strides.every((s) => s === 1);
  if (unitStride && pads.every((p, i) => p <= (kernel[i % spatial] ?? 1) - 1)) {
    // Flipping every spatial axis reverses the flattened kernel index: one small MatMul with
    // the anti-identity, several times faster in onnxruntime than a Slice with negative steps.
    const volume = kernel.reduce((a, b) => a * b, 1);
    const swapped = em.transpose(w, [1, 0, ...spatialAxes]);
    const antiIdentity = em.floats(
      [volume, volume],
      Array.from({ length: volume * volume }, (_, i) =>
        Math.floor(i / volume) + (i % volume) === volume - 1 ? 1 : 0,
      ),
    );
    const flat = em.op('MatMul', [em.op('Reshape', [swapped, em.ints([-1, volume])]), antiIdentity]);
    const flipped = em.op('Reshape', [
      flat,
      staticOrRuntimeShape(
        ctx,
        swapped,
        [1, 0, ...spatialAxes].map((a) => ctx.dims(w)[a] ?? null),
      ),
    ]);
    return em.op('Conv', [g, flipped], { pads: pads.map((p, i) => (kernel[i % spatial] ?? 1) - 1 - p) });
  }
  const xDims = ctx.dims(x);
  // Rows the forward conv floored away at the bottom/right: (in + pads − k) mod stride.
  const remainders = kernel.map((k, i) => {
    const s = strides[i] ?? 1;
    const d = xDims[i + 2] ?? null;
    if (s === 1) return 0;
    return typeof d === 'number' ? (d + (pads[i] ?? 0) + (pads[i + spatial] ?? 0) - k) % s : null;
  });
  // With an unknown remainder, produce the largest possible size and cut to x's shape.
  const outputPadding = remainders.map((r, i) => r ?? (strides[i] ?? 1) - 1);
  let dx = em.op('ConvTranspose', [g, w], {
    strides,
    pads,
    kernel_shape: kernel,
    ...(outputPadding.some((p) => p !== 0) ? { output_padding: outputPadding } : {}),
  });
  if (remainders.some((r) => r === null)) {
    const ends = em.op('Slice', [em.shapeOf(x), em.ints([2]), em.ints([2 + spatial])]);
    dx = em.op('Slice', [dx, em.ints(new Array<number>(spatial).fill(0)), ends, em.ints(spatialAxes)]);
  }
  return dx;
}

/**
 * dW[co, ci, κ] = Σ_{n, y} g[n, co, y] · xpad[n, ci, y·s + κ], one kernel offset κ at a time:
 * the strided window of the padded input at κ is a Slice, and its product with the gradient a
 * batched MatMul `[N, Co, P] × [N, P, Ci]` summed over N (a GEMV with ones). Per offset this needs one
 * input-sized temporary (no k²-times im2col buffer), and onnxruntime runs the GEMMs 2–4× faster
 * than the equivalent batch↔channel-swapped Conv, whose kernel is the whole gradient image.
 */
function convWeightGradient(ctx: GradContext, geo: ConvGeometry): string {
  const { em } = ctx;
  const [x, w, g] = [ctx.input(0), ctx.input(1), ctx.grad()];
  const { spatial, kernel, strides, pads } = geo;
  const spatialAxes = Array.from({ length: spatial }, (_, i) => i + 2);
  const flat = (v: string): string => em.op('Reshape', [v, em.ints([0, 0, -1])]);
  const padded = pads.some((p) => p !== 0)
    ? em.op('Pad', [x, em.ints([0, 0, ...pads.slice(0, spatial), 0, 0, ...pads.slice(spatial)])], {
        mode: 'constant',
      })
    : x;
  const gFlat = flat(g);
  const yDims = ctx.dims(ctx.output(0)).slice(2);
  // Window i covers offset + [0, (out−1)·s + 1); from the run-time shape when out is unknown.
  const windowSpan = allNumeric(yDims)
    ? null
    : em.op('Mul', [em.op('Slice', [em.shapeOf(g), em.ints([2]), em.ints([2 + spatial])]), em.ints(strides)]);
  const batch = ctx.dims(x)[0] ?? null;
  const batchOnes =
    typeof batch === 'number'
      ? em.filled([1, batch], 1)
      : em.op(
          'ConstantOfShape',
          [
            em.op('Concat', [em.ints([1]), em.op('Slice', [em.shapeOf(x), em.ints([0]), em.ints([1])])], {
              axis: 0,
            }),
          ],
          { value: { tensor: { dataType: 1, dims: [1], floatData: [1] } } },
        );
  const offsets = kernelOffsets(kernel);
  const perOffset = offsets.map((offset) => {
    const trivial =
      offset.every((o) => o === 0) &&
      strides.every((s) => s === 1) &&
      padded === x &&
      kernel.every((k) => k === 1);
    let window = x;
    if (!trivial) {
      const ends = windowSpan
        ? em.op('Add', [windowSpan, em.ints(offset.map((o, i) => o + 1 - (strides[i] ?? 1)))])
        : em.ints(offset.map((o, i) => o + ((yDims[i] as number) - 1) * (strides[i] ?? 1) + 1));
      window = em.op('Slice', [padded, em.ints(offset), ends, em.ints(spatialAxes), em.ints(strides)]);
    }
    // Sum over the batch as a GEMV with a ones row: onnxruntime's leading-axis ReduceSum is
    // markedly slower than MLAS on the same [N, Co·Ci] data.
    const product = em.op('MatMul', [gFlat, em.transpose(flat(window), [0, 2, 1])]);
    return em.op('MatMul', [batchOnes, em.op('Reshape', [product, em.ints([0, -1])])]);
  });
  // [1, Co·Ci] per offset → [K, Co·Ci] → [Co·Ci, K] → [Co, Ci, k…].
  const stacked = perOffset.length === 1 ? (perOffset[0] ?? '') : em.op('Concat', perOffset, { axis: 0 });
  return em.op('Reshape', [em.transpose(stacked, [1, 0]), staticOrRuntimeShape(ctx, w, ctx.dims(w))]);
}

/** A shape input for Reshape: a constant when `dims` are all known, else `Shape(value)`. */
function staticOrRuntimeShape(ctx: GradContext, value: string, dims: readonly Dim[]): string {
  return allNumeric(dims) ? ctx.em.ints(dims) : ctx.em.shapeOf(value);
}

/** Every kernel offset, row-major (the order of the weight's trailing axes). */
function kernelOffsets(kernel: readonly number[]): number[][] {
  let offsets: number[][] = [[]];
  for (const k of kernel) offsets = offsets.flatMap((o) => Array.from({ length: k }, (_, i) => [...o, i]));
  return offsets;
}

export const LINEAR_RULES: Record<string, GradRule> = {
  MatMul: { differentiableInputs: () => [0, 1], backward: matmulBackward },
  Gemm: { differentiableInputs: () => [0, 1, 2], backward: gemmBackward },
  Conv: { differentiableInputs: () => [0, 1, 2], backward: convBackward },
};
