/**
 * A float64 reference interpreter for the forward ops the gradient builder supports. Gradient
 * checks run central finite differences on it: in float64 the difference quotient's rounding
 * error (~1e-16/ε) is negligible, so what remains to compare against onnxruntime's float32
 * backward is the O(ε²) truncation error alone. It is written for clarity and tiny tensors,
 * not speed, and follows the ONNX opset-17 semantics of each op (shared index arithmetic with
 * the gradient rules where a rule depends on it, e.g. nearest Resize).
 */
import { AutodiffError } from './errors';
import { topologicalOrder } from './gradient';
import {
  attrFloat,
  attrInt,
  attrInts,
  attrString,
  attrTensor,
  DataType,
  defaultOpset,
  findAttr,
  isFloatType,
  tensorDims,
  tensorToNumbers,
  type OnnxTypes as onnx,
} from '@maskunet/gpu-runner';
import { nearestSourceIndex } from './resize-nearest';
import { sliceLength } from './shape-infer';

/** A tensor of the reference interpreter; integers and booleans are held as float64 too. */
export interface RefTensor {
  readonly dims: readonly number[];
  readonly data: Float64Array;
  readonly kind: 'float' | 'int' | 'bool';
}

export function refTensor(
  dims: readonly number[],
  data: ArrayLike<number>,
  kind: RefTensor['kind'] = 'float',
): RefTensor {
  return { dims: [...dims], data: Float64Array.from(data), kind };
}

function sizeOf(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function stridesOf(dims: readonly number[]): number[] {
  const strides = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) strides[i] = (strides[i + 1] ?? 1) * (dims[i + 1] ?? 1);
  return strides;
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function kindOf(elemType: number): RefTensor['kind'] {
  if (isFloatType(elemType)) return 'float';
  return elemType === DataType.BOOL ? 'bool' : 'int';
}

/** Calls `visit(outIndex, inIndices)` for every element of the broadcast of `shapes`. */
function broadcastMap(shapes: readonly (readonly number[])[]): { dims: number[]; maps: Int32Array[] } {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[i - (rank - s.length)] ?? 1;
      if (v !== 1) {
        if (d !== 1 && d !== v) throw new RangeError(`shapes ${JSON.stringify(shapes)} do not broadcast`);
        d = v;
      }
    }
    dims.push(d);
  }
  const total = sizeOf(dims);
  const maps = shapes.map((s) => {
    const padded = [...new Array<number>(rank - s.length).fill(1), ...s];
    const strides = stridesOf(padded).map((st, i) => (padded[i] === 1 ? 0 : st));
    const map = new Int32Array(total);
    const idx = new Array<number>(rank).fill(0);
    for (let o = 0; o < total; o++) {
      let off = 0;
      for (let k = 0; k < rank; k++) off += (idx[k] ?? 0) * (strides[k] ?? 0);
      map[o] = off;
      for (let k = rank - 1; k >= 0; k--) {
        idx[k] = (idx[k] ?? 0) + 1;
        if ((idx[k] ?? 0) < (dims[k] ?? 1)) break;
        idx[k] = 0;
      }
    }
    return map;
  });
  return { dims, maps };
}

function elementwise(
  inputs: readonly RefTensor[],
  f: (...v: number[]) => number,
  kind: RefTensor['kind'],
): RefTensor {
  const { dims, maps } = broadcastMap(inputs.map((t) => t.dims));
  const out = new Float64Array(sizeOf(dims));
  const args = new Array<number>(inputs.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    for (let k = 0; k < inputs.length; k++) args[k] = inputs[k]?.data[maps[k]?.[o] ?? 0] ?? 0;
    out[o] = f(...args);
  }
  return { dims, data: out, kind };
}

function unaryMap(x: RefTensor, f: (v: number) => number): RefTensor {
  return { dims: x.dims, data: x.data.map(f), kind: x.kind };
}

/** erf in float64: e^{-x²}·2/√π·Σ 2ⁿx^{2n+1}/(2n+1)!! — all terms positive, no cancellation. */
export function erf(x: number): number {
  if (x === 0) return 0;
  const ax = Math.abs(x);
  if (ax > 6) return Math.sign(x);
  let term = ax;
  let sum = ax;
  for (let n = 1; n < 200; n++) {
    term *= (2 * ax * ax) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum;
}

/** Transposes by `perm` (out axis i = in axis perm[i]). */
function transposeRef(x: RefTensor, perm: readonly number[]): RefTensor {
  const dims = perm.map((p) => x.dims[p] ?? 1);
  const inStrides = stridesOf(x.dims);
  const strides = perm.map((p) => inStrides[p] ?? 0);
  const out = new Float64Array(x.data.length);
  const idx = new Array<number>(dims.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let off = 0;
    for (let k = 0; k < dims.length; k++) off += (idx[k] ?? 0) * (strides[k] ?? 0);
    out[o] = x.data[off] ?? 0;
    for (let k = dims.length - 1; k >= 0; k--) {
      idx[k] = (idx[k] ?? 0) + 1;
      if ((idx[k] ?? 0) < (dims[k] ?? 1)) break;
      idx[k] = 0;
    }
  }
  return { dims, data: out, kind: x.kind };
}

/** Copies the box `starts + [0, lengths)` with steps out of `x`. */
function sliceBox(
  x: RefTensor,
  starts: readonly number[],
  lengths: readonly number[],
  steps: readonly number[],
): RefTensor {
  const strides = stridesOf(x.dims);
  const out = new Float64Array(sizeOf(lengths));
  const idx = new Array<number>(lengths.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let off = 0;
    for (let k = 0; k < lengths.length; k++)
      off += ((starts[k] ?? 0) + (idx[k] ?? 0) * (steps[k] ?? 1)) * (strides[k] ?? 0);
    out[o] = x.data[off] ?? 0;
    for (let k = lengths.length - 1; k >= 0; k--) {
      idx[k] = (idx[k] ?? 0) + 1;
      if ((idx[k] ?? 0) < (lengths[k] ?? 1)) break;
      idx[k] = 0;
    }
  }
  return { dims: [...lengths], data: out, kind: x.kind };
}

function matmulRef(a: RefTensor, b: RefTensor): RefTensor {
  const aDims = a.dims.length === 1 ? [1, ...a.dims] : [...a.dims];
  const bDims = b.dims.length === 1 ? [...b.dims, 1] : [...b.dims];
  const [m, k] = [aDims[aDims.length - 2] ?? 1, aDims[aDims.length - 1] ?? 1];
  const n = bDims[bDims.length - 1] ?? 1;
  if ((bDims[bDims.length - 2] ?? 1) !== k) throw new RangeError('MatMul inner dims differ');
  const { dims: batch, maps } = broadcastMap([aDims.slice(0, -2), bDims.slice(0, -2)]);
  const count = sizeOf(batch);
  const out = new Float64Array(count * m * n);
  for (let p = 0; p < count; p++) {
    const ao = (maps[0]?.[p] ?? 0) * m * k;
    const bo = (maps[1]?.[p] ?? 0) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) s += (a.data[ao + i * k + q] ?? 0) * (b.data[bo + q * n + j] ?? 0);
        out[p * m * n + i * n + j] = s;
      }
    }
  }
  const dims = [...batch];
  if (a.dims.length > 1) dims.push(m);
  if (b.dims.length > 1) dims.push(n);
  return { dims, data: out, kind: 'float' };
}

function convRef(node: onnx.INodeProto, x: RefTensor, w: RefTensor, bias: RefTensor | undefined): RefTensor {
  if (x.dims.length !== 4) throw new RangeError('reference Conv supports 2-D convolutions only');
  const [n, ci, h, wd] = x.dims as [number, number, number, number];
  const [co, cig, kh, kw] = w.dims as [number, number, number, number];
  const group = attrInt(node, 'group', 1);
  const [sh, sw] = attrInts(node, 'strides') ?? [1, 1];
  const [dh, dw] = attrInts(node, 'dilations') ?? [1, 1];
  const [pt, pl, pb, pr] = attrInts(node, 'pads') ?? [0, 0, 0, 0];
  const strideH = sh ?? 1;
  const strideW = sw ?? 1;
  const dilH = dh ?? 1;
  const dilW = dw ?? 1;
  const padT = pt ?? 0;
  const padL = pl ?? 0;
  const ho = Math.floor((h + padT + (pb ?? 0) - (dilH * (kh - 1) + 1)) / strideH) + 1;
  const wo = Math.floor((wd + padL + (pr ?? 0) - (dilW * (kw - 1) + 1)) / strideW) + 1;
  const out = new Float64Array(n * co * ho * wo);
  const coPerGroup = co / group;
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < co; o++) {
      const g = Math.floor(o / coPerGroup);
      for (let y = 0; y < ho; y++) {
        for (let xx = 0; xx < wo; xx++) {
          let s = bias ? (bias.data[o] ?? 0) : 0;
          for (let c = 0; c < cig; c++) {
            const cIn = g * cig + c;
            for (let ky = 0; ky < kh; ky++) {
              const iy = y * strideH + ky * dilH - padT;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = xx * strideW + kx * dilW - padL;
                if (ix < 0 || ix >= wd) continue;
                s +=
                  (x.data[((b * ci + cIn) * h + iy) * wd + ix] ?? 0) *
                  (w.data[((o * cig + c) * kh + ky) * kw + kx] ?? 0);
              }
            }
          }
          out[((b * co + o) * ho + y) * wo + xx] = s;
        }
      }
    }
  }
  return { dims: [n, co, ho, wo], data: out, kind: 'float' };
}

function reduceRef(
  x: RefTensor,
  axesIn: readonly number[],
  keep: boolean,
  noop: boolean,
  mean: boolean,
): RefTensor {
  const rank = x.dims.length;
  if (axesIn.length === 0 && noop) return x;
  const axes = new Set(axesIn.length === 0 ? [...Array(rank).keys()] : axesIn.map((a) => normAxis(a, rank)));
  const keptDims = x.dims.map((d, i) => (axes.has(i) ? 1 : d));
  const out = new Float64Array(sizeOf(keptDims));
  const outStrides = stridesOf(keptDims);
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < x.data.length; i++) {
    let off = 0;
    for (let k = 0; k < rank; k++) if (!axes.has(k)) off += (idx[k] ?? 0) * (outStrides[k] ?? 0);
    out[off] = (out[off] ?? 0) + (x.data[i] ?? 0);
    for (let k = rank - 1; k >= 0; k--) {
      idx[k] = (idx[k] ?? 0) + 1;
      if ((idx[k] ?? 0) < (x.dims[k] ?? 1)) break;
      idx[k] = 0;
    }
  }
  if (mean) {
    const count = x.data.length / Math.max(1, out.length);
    for (let i = 0; i < out.length; i++) out[i] = (out[i] ?? 0) / count;
  }
  const dims = keep ? keptDims : x.dims.filter((_, i) => !axes.has(i));
  return { dims, data: out, kind: x.kind };
}

function gatherRef(data: RefTensor, indices: RefTensor, axisIn: number): RefTensor {
  const axis = normAxis(axisIn, data.dims.length);
  const outer = sizeOf(data.dims.slice(0, axis));
  const inner = sizeOf(data.dims.slice(axis + 1));
  const len = data.dims[axis] ?? 1;
  const out = new Float64Array(outer * indices.data.length * inner);
  let o = 0;
  for (let p = 0; p < outer; p++) {
    for (const raw of indices.data) {
      const i = raw < 0 ? raw + len : raw;
      for (let q = 0; q < inner; q++) out[o++] = data.data[(p * len + i) * inner + q] ?? 0;
    }
  }
  return {
    dims: [...data.dims.slice(0, axis), ...indices.dims, ...data.dims.slice(axis + 1)],
    data: out,
    kind: data.kind,
  };
}

function resizeRef(
  node: onnx.INodeProto,
  x: RefTensor,
  scalesIn: RefTensor | undefined,
  sizesIn: RefTensor | undefined,
): RefTensor {
  if (attrString(node, 'mode', 'nearest') !== 'nearest')
    throw new RangeError('reference Resize supports nearest only');
  const ctm = attrString(node, 'coordinate_transformation_mode', 'half_pixel');
  const nearest = attrString(node, 'nearest_mode', 'round_prefer_floor');
  const rank = x.dims.length;
  const sizes = sizesIn && sizesIn.data.length > 0 ? [...sizesIn.data] : undefined;
  const scales = sizes
    ? sizes.map((s, i) => s / (x.dims[i] ?? 1))
    : [...(scalesIn?.data ?? new Float64Array(rank).fill(1))];
  const dims = sizes ?? x.dims.map((d, i) => Math.floor(d * (scales[i] ?? 1)));
  const inStrides = stridesOf(x.dims);
  const source = dims.map((len, axis) =>
    Array.from({ length: len }, (_, o) =>
      nearestSourceIndex(o, scales[axis] ?? 1, x.dims[axis] ?? 1, len, ctm, nearest),
    ),
  );
  const out = new Float64Array(sizeOf(dims));
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let off = 0;
    for (let k = 0; k < rank; k++) off += (source[k]?.[idx[k] ?? 0] ?? 0) * (inStrides[k] ?? 0);
    out[o] = x.data[off] ?? 0;
    for (let k = rank - 1; k >= 0; k--) {
      idx[k] = (idx[k] ?? 0) + 1;
      if ((idx[k] ?? 0) < (dims[k] ?? 1)) break;
      idx[k] = 0;
    }
  }
  return { dims, data: out, kind: x.kind };
}

function concatRef(inputs: readonly RefTensor[], axisIn: number): RefTensor {
  const first = inputs[0];
  if (!first) throw new RangeError('Concat of nothing');
  const axis = normAxis(axisIn, first.dims.length);
  const outer = sizeOf(first.dims.slice(0, axis));
  const dims = [...first.dims];
  dims[axis] = inputs.reduce((s, t) => s + (t.dims[axis] ?? 0), 0);
  const out = new Float64Array(sizeOf(dims));
  let o = 0;
  for (let p = 0; p < outer; p++) {
    for (const t of inputs) {
      const chunk = sizeOf(t.dims.slice(axis));
      for (let q = 0; q < chunk; q++) out[o++] = t.data[p * chunk + q] ?? 0;
    }
  }
  return { dims, data: out, kind: first.kind };
}

function reshapeTarget(x: RefTensor, spec: readonly number[]): number[] {
  const dims = spec.map((d, i) => (d === 0 ? (x.dims[i] ?? 1) : d));
  const inferred = dims.indexOf(-1);
  if (inferred >= 0) dims[inferred] = x.data.length / sizeOf(dims.filter((_, i) => i !== inferred));
  return dims;
}

type Env = Map<string, RefTensor>;

function evalNode(node: onnx.INodeProto, env: Env, opset: number): RefTensor[] {
  const inputs = (node.input ?? []).map((name) => (name ? env.get(name) : undefined));
  const get = (i: number): RefTensor => {
    const t = inputs[i];
    if (!t) throw new AutodiffError('malformed_graph', `reference: ${node.opType} input ${i} missing`);
    return t;
  };
  const ints = (i: number): number[] => (inputs[i] ? [...get(i).data] : []);
  const op = node.opType ?? '';
  const x = (): RefTensor => get(0);
  switch (op) {
    case 'Identity':
      return [x()];
    case 'Neg':
      return [unaryMap(x(), (v) => -v)];
    case 'Sigmoid':
      return [unaryMap(x(), (v) => 1 / (1 + Math.exp(-v)))];
    case 'Tanh':
      return [unaryMap(x(), Math.tanh)];
    case 'Erf':
      return [unaryMap(x(), erf)];
    case 'Exp':
      return [unaryMap(x(), Math.exp)];
    case 'Log':
      return [unaryMap(x(), Math.log)];
    case 'Sqrt':
      return [unaryMap(x(), Math.sqrt)];
    case 'Sin':
      return [unaryMap(x(), Math.sin)];
    case 'Cos':
      return [unaryMap(x(), Math.cos)];
    case 'Not':
      return [unaryMap(x(), (v) => (v ? 0 : 1))];
    case 'Add':
      return [elementwise([get(0), get(1)], (a, b) => a + b, x().kind)];
    case 'Sub':
      return [elementwise([get(0), get(1)], (a, b) => a - b, x().kind)];
    case 'Mul':
      return [elementwise([get(0), get(1)], (a, b) => a * b, x().kind)];
    case 'Div':
      return [
        elementwise([get(0), get(1)], (a, b) => (x().kind === 'int' ? Math.trunc(a / b) : a / b), x().kind),
      ];
    case 'Pow':
      return [elementwise([get(0), get(1)], (a, b) => a ** b, x().kind)];
    case 'Sum':
      return [
        elementwise(
          inputs.map((_, i) => get(i)),
          (...v) => v.reduce((s, t) => s + t, 0),
          x().kind,
        ),
      ];
    case 'Equal':
      return [elementwise([get(0), get(1)], (a, b) => (a === b ? 1 : 0), 'bool')];
    case 'Less':
      return [elementwise([get(0), get(1)], (a, b) => (a < b ? 1 : 0), 'bool')];
    case 'Greater':
      return [elementwise([get(0), get(1)], (a, b) => (a > b ? 1 : 0), 'bool')];
    case 'Where':
      return [elementwise([get(0), get(1), get(2)], (c, a, b) => (c ? a : b), get(1).kind)];
    case 'Cast': {
      const kind = kindOf(attrInt(node, 'to', DataType.FLOAT));
      const f =
        kind === 'float' ? (v: number) => v : kind === 'bool' ? (v: number) => (v ? 1 : 0) : Math.trunc;
      return [{ dims: x().dims, data: x().data.map(f), kind }];
    }
    case 'Softmax': {
      const t = x();
      const axis = normAxis(attrInt(node, 'axis', -1), t.dims.length);
      const inner = sizeOf(t.dims.slice(axis + 1));
      const len = t.dims[axis] ?? 1;
      const outer = sizeOf(t.dims.slice(0, axis));
      const out = new Float64Array(t.data.length);
      for (let p = 0; p < outer; p++) {
        for (let q = 0; q < inner; q++) {
          let max = -Infinity;
          for (let i = 0; i < len; i++) max = Math.max(max, t.data[(p * len + i) * inner + q] ?? 0);
          let sum = 0;
          for (let i = 0; i < len; i++) sum += Math.exp((t.data[(p * len + i) * inner + q] ?? 0) - max);
          for (let i = 0; i < len; i++) {
            const at = (p * len + i) * inner + q;
            out[at] = Math.exp((t.data[at] ?? 0) - max) / sum;
          }
        }
      }
      return [{ dims: t.dims, data: out, kind: 'float' }];
    }
    case 'MatMul':
      return [matmulRef(get(0), get(1))];
    case 'Gemm': {
      const a0 = attrInt(node, 'transA', 0) ? transposeRef(get(0), [1, 0]) : get(0);
      const b0 = attrInt(node, 'transB', 0) ? transposeRef(get(1), [1, 0]) : get(1);
      const prod = matmulRef(a0, b0);
      const alpha = attrFloat(node, 'alpha', 1);
      const beta = attrFloat(node, 'beta', 1);
      const scaled = unaryMap(prod, (v) => v * alpha);
      return [inputs[2] ? elementwise([scaled, get(2)], (p, c) => p + beta * c, 'float') : scaled];
    }
    case 'Conv':
      return [convRef(node, get(0), get(1), inputs[2])];
    case 'ReduceMean':
    case 'ReduceSum': {
      const fromInput = op === 'ReduceSum' ? opset >= 13 : opset >= 18;
      const axes = fromInput ? ints(1) : (attrInts(node, 'axes') ?? []);
      const keep = attrInt(node, 'keepdims', 1) !== 0;
      const noop = attrInt(node, 'noop_with_empty_axes', 0) !== 0;
      return [reduceRef(x(), axes, keep, noop, op === 'ReduceMean')];
    }
    case 'Reshape':
      return [{ ...x(), dims: reshapeTarget(x(), ints(1)) }];
    case 'Flatten': {
      const axis = normAxis(attrInt(node, 'axis', 1), x().dims.length);
      return [{ ...x(), dims: [sizeOf(x().dims.slice(0, axis)), sizeOf(x().dims.slice(axis))] }];
    }
    case 'Unsqueeze': {
      const axesIn = opset >= 13 ? ints(1) : (attrInts(node, 'axes') ?? []);
      const rank = x().dims.length + axesIn.length;
      const axes = new Set(axesIn.map((a) => normAxis(a, rank)));
      const dims: number[] = [];
      let j = 0;
      for (let i = 0; i < rank; i++) dims.push(axes.has(i) ? 1 : (x().dims[j++] ?? 1));
      return [{ ...x(), dims }];
    }
    case 'Squeeze': {
      const axesIn = opset >= 13 ? ints(1) : (attrInts(node, 'axes') ?? []);
      const rank = x().dims.length;
      const axes = new Set(axesIn.map((a) => normAxis(a, rank)));
      const dims = x().dims.filter((d, i) => (axes.size === 0 ? d !== 1 : !axes.has(i)));
      return [{ ...x(), dims }];
    }
    case 'Transpose':
      return [transposeRef(x(), attrInts(node, 'perm') ?? [...Array(x().dims.length).keys()].reverse())];
    case 'Concat':
      return [
        concatRef(
          inputs.map((_, i) => get(i)),
          attrInt(node, 'axis', 0),
        ),
      ];
    case 'Split': {
      const t = x();
      const axis = normAxis(attrInt(node, 'axis', 0), t.dims.length);
      const count = (node.output ?? []).length;
      const total = t.dims[axis] ?? 1;
      const sizes = inputs[1] ? ints(1) : new Array<number>(count).fill(total / count);
      let begin = 0;
      return sizes.map((len) => {
        const starts = t.dims.map((_, i) => (i === axis ? begin : 0));
        const lengths = t.dims.map((d, i) => (i === axis ? len : d));
        begin += len;
        return sliceBox(
          t,
          starts,
          lengths,
          t.dims.map(() => 1),
        );
      });
    }
    case 'Slice': {
      const t = x();
      const rank = t.dims.length;
      const startsIn = ints(1);
      const endsIn = ints(2);
      const axes = inputs[3] ? ints(3).map((a) => normAxis(a, rank)) : startsIn.map((_, i) => i);
      const stepsIn = inputs[4] ? ints(4) : startsIn.map(() => 1);
      const starts = t.dims.map(() => 0);
      const lengths = [...t.dims];
      const steps = t.dims.map(() => 1);
      axes.forEach((axis, i) => {
        const step = stepsIn[i] ?? 1;
        const { begin, length } = sliceLength(t.dims[axis] ?? 1, startsIn[i] ?? 0, endsIn[i] ?? 0, step);
        starts[axis] = begin;
        lengths[axis] = length;
        steps[axis] = step;
      });
      return [sliceBox(t, starts, lengths, steps)];
    }
    case 'Expand': {
      const target = ints(1);
      return [
        elementwise(
          [x(), { dims: target, data: new Float64Array(sizeOf(target)), kind: 'float' }],
          (a) => a,
          x().kind,
        ),
      ];
    }
    case 'Gather':
      return [gatherRef(get(0), get(1), attrInt(node, 'axis', 0))];
    case 'Resize':
      return [resizeRef(node, x(), inputs[2], inputs[3])];
    case 'Shape':
      return [refTensor([x().dims.length], x().dims, 'int')];
    case 'Size':
      return [refTensor([], [x().data.length], 'int')];
    case 'Constant': {
      const t = attrTensor(node, 'value');
      if (t) return [refTensor(tensorDims(t), tensorToNumbers(t), kindOf(t.dataType ?? DataType.FLOAT))];
      if (findAttr(node, 'value_float')) return [refTensor([], [attrFloat(node, 'value_float', 0)])];
      if (findAttr(node, 'value_int')) return [refTensor([], [attrInt(node, 'value_int', 0)], 'int')];
      const values = attrInts(node, 'value_ints');
      if (values) return [refTensor([values.length], values, 'int')];
      throw new AutodiffError('unsupported_attribute', 'reference: Constant form not supported');
    }
    case 'ConstantOfShape': {
      const dims = [...x().data];
      const t = attrTensor(node, 'value');
      const fill = t ? (tensorToNumbers(t)[0] ?? 0) : 0;
      return [
        refTensor(dims, new Float64Array(sizeOf(dims)).fill(fill), kindOf(t?.dataType ?? DataType.FLOAT)),
      ];
    }
    default:
      throw new AutodiffError('unsupported_op', `reference interpreter has no ${op}`);
  }
}

/** A model prepared for repeated float64 evaluation (topological order and constants cached). */
export class ReferenceModel {
  private readonly nodes: onnx.INodeProto[];
  private readonly constants: Env = new Map();
  private readonly opset: number;

  constructor(model: onnx.IModelProto) {
    const graph = model.graph;
    if (!graph) throw new AutodiffError('malformed_graph', 'the model has no graph');
    this.nodes = topologicalOrder(graph);
    this.opset = defaultOpset(model);
    for (const t of graph.initializer ?? []) {
      this.constants.set(
        t.name ?? '',
        refTensor(tensorDims(t), tensorToNumbers(t), kindOf(t.dataType ?? DataType.FLOAT)),
      );
    }
  }

  /** Evaluates the graph on `feeds` and returns the requested values. */
  run(feeds: Readonly<Record<string, RefTensor>>, outputs: readonly string[]): RefTensor[] {
    const env: Env = new Map(this.constants);
    for (const [name, t] of Object.entries(feeds)) env.set(name, t);
    for (const node of this.nodes) {
      const results = evalNode(node, env, this.opset);
      (node.output ?? []).forEach((name, i) => {
        const r = results[i];
        if (name && r) env.set(name, r);
      });
    }
    return outputs.map((name) => {
      const t = env.get(name);
      if (!t) throw new AutodiffError('bad_argument', `reference: no value '${name}'`);
      return t;
    });
  }
}
