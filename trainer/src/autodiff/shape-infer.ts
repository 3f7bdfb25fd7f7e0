/**
 * Build-time shape inference for the forward graphs the gradient builder reads. It records for
 * every value its element type, its dims (numbers, symbolic monomials for the dynamic batch, or
 * unknown) and — for small int64 and scalar tensors — its element values, following shape
 * arithmetic (Shape → Gather/Slice → Concat → Reshape) so reshape targets built from `Shape`
 * still resolve. The gradient rules use this to decide statically which axes to un-broadcast,
 * which Slice pads and Concat split sizes to emit, and fall back to run-time Shape ops only where
 * a dim is genuinely unknown. Unknown ops give unknown outputs; nothing here throws.
 */
import { allNumeric, broadcastShapes, divDim, mulDim, productDims, symbolFromParam, type Dim } from './dims';
import {
  attrFloat,
  attrInt,
  attrInts,
  attrString,
  attrTensor,
  DataType,
  findAttr,
  tensorDims,
  tensorToNumbers,
  toNumber,
  type IntLike,
  type OnnxTypes as onnx,
} from '@maskunet/gpu-runner';

/** What is known about one value at build time. */
export interface ValueShape {
  readonly elemType: number | null;
  /** Dims, or null when even the rank is unknown. */
  readonly dims: readonly Dim[] | null;
  /** Element values (row-major) when the tensor is small and computable at build time. */
  readonly value?: readonly Dim[];
}

/** Tensors up to this many elements have their values tracked (shape vectors, scalars). */
export const MAX_TRACKED_ELEMENTS = 64;

const UNKNOWN: ValueShape = { elemType: null, dims: null };

/** Shape facts for every value of one graph. */
export class ShapeTable {
  private readonly table = new Map<string, ValueShape>();

  get(name: string): ValueShape {
    return this.table.get(name) ?? UNKNOWN;
  }

  set(name: string, shape: ValueShape): void {
    this.table.set(name, shape);
  }

  has(name: string): boolean {
    return this.table.has(name);
  }

  /** The rank, or undefined when unknown. */
  rank(name: string): number | undefined {
    return this.get(name).dims?.length;
  }

  /** Known numeric element values, or undefined. */
  numbers(name: string): number[] | undefined {
    const v = this.get(name).value;
    return v && v.every((x) => typeof x === 'number') ? (v as number[]) : undefined;
  }
}

/** Dims of a `ValueInfoProto`'s tensor type (null when it has no shape). */
export function dimsFromValueInfo(info: onnx.IValueInfoProto): Dim[] | null {
  const shape = info.type?.tensorType?.shape;
  if (!shape) return null;
  return (shape.dim ?? []).map((d) => {
    if (d.dimValue !== null && d.dimValue !== undefined) return toNumber(d.dimValue as IntLike);
    if (d.dimParam) return symbolFromParam(d.dimParam);
    return null;
  });
}

function tensorShape(t: onnx.ITensorProto): ValueShape {
  const dims = tensorDims(t);
  const count = dims.reduce((a, b) => a * b, 1);
  const shape: ValueShape = { elemType: t.dataType ?? null, dims };
  return count <= MAX_TRACKED_ELEMENTS ? { ...shape, value: tensorToNumbers(t) } : shape;
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Infers shapes for `nodes` (topologically ordered) of `graph`. */
export function inferShapes(
  graph: onnx.IGraphProto,
  nodes: readonly onnx.INodeProto[],
  opset: number,
): ShapeTable {
  const table = new ShapeTable();
  for (const init of graph.initializer ?? []) table.set(init.name ?? '', tensorShape(init));
  for (const input of graph.input ?? []) {
    const name = input.name ?? '';
    if (table.has(name)) continue;
    table.set(name, { elemType: input.type?.tensorType?.elemType ?? null, dims: dimsFromValueInfo(input) });
  }
  const hints = new Map<string, onnx.IValueInfoProto>();
  for (const info of [...(graph.valueInfo ?? []), ...(graph.output ?? [])]) hints.set(info.name ?? '', info);

  for (const node of nodes) {
    const outs = inferNode(node, table, opset);
    (node.output ?? []).forEach((name, i) => {
      if (!name) return;
      let shape = outs[i] ?? UNKNOWN;
      const hint = hints.get(name);
      if (hint) {
        // A declared value_info fills in what inference could not (never overrides a known dim).
        const declared = dimsFromValueInfo(hint);
        const elemType = shape.elemType ?? hint.type?.tensorType?.elemType ?? null;
        let dims = shape.dims;
        if (!dims) dims = declared;
        else if (declared && declared.length === dims.length)
          dims = dims.map((d, j) => d ?? declared[j] ?? null);
        shape = { ...shape, elemType, dims };
      }
      table.set(name, shape);
    });
  }
  return table;
}

const SAME_SHAPE_OPS = new Set([
  'Identity',
  'Neg',
  'Sigmoid',
  'Tanh',
  'Erf',
  'Exp',
  'Log',
  'Sqrt',
  'Sin',
  'Cos',
  'Abs',
  'Relu',
  'Softmax',
  'LogSoftmax',
  'Floor',
  'Ceil',
  'Round',
  'Reciprocal',
  'LeakyRelu',
  'Gelu',
  'Dropout',
]);

const BINARY_OPS = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mod']);
const COMPARE_OPS = new Set([
  'Equal',
  'Less',
  'Greater',
  'LessOrEqual',
  'GreaterOrEqual',
  'And',
  'Or',
  'Xor',
]);

function inferNode(node: onnx.INodeProto, t: ShapeTable, opset: number): ValueShape[] {
  const inputs = node.input ?? [];
  const input = (i: number): ValueShape => {
    const name = inputs[i];
    return name ? t.get(name) : UNKNOWN;
  };
  const x = input(0);
  const op = node.opType ?? '';

  if (SAME_SHAPE_OPS.has(op)) return [{ elemType: x.elemType, dims: x.dims }];
  if (op === 'Not') return [{ elemType: DataType.BOOL, dims: x.dims }];

  if (BINARY_OPS.has(op) || COMPARE_OPS.has(op) || op === 'Where') {
    const shapes = inputs.map((_, i) => input(i));
    const dims = shapes.every((s) => s.dims) ? broadcastShapes(shapes.map((s) => s.dims ?? [])) : null;
    const elemType = COMPARE_OPS.has(op)
      ? DataType.BOOL
      : op === 'Where'
        ? (input(1).elemType ?? input(2).elemType)
        : x.elemType;
    const value = op === 'Where' || COMPARE_OPS.has(op) ? undefined : arithmeticValue(op, shapes);
    return [value ? { elemType, dims, value } : { elemType, dims }];
  }

  switch (op) {
    case 'Constant':
      return [constantShape(node)];
    case 'Cast': {
      const to = attrInt(node, 'to', DataType.FLOAT);
      const isInt = to !== DataType.FLOAT && to !== DataType.DOUBLE && to !== DataType.FLOAT16;
      const value = x.value?.map((v) => (isInt && typeof v === 'number' ? Math.trunc(v) : v));
      return [value ? { elemType: to, dims: x.dims, value } : { elemType: to, dims: x.dims }];
    }
    case 'Shape': {
      if (!x.dims) return [{ elemType: DataType.INT64, dims: [null] }];
      const rank = x.dims.length;
      const start = clampIndex(normAxis(attrInt(node, 'start', 0), rank), rank);
      const end = clampIndex(normAxis(attrInt(node, 'end', rank), rank), rank);
      const value = x.dims.slice(start, Math.max(start, end));
      return [{ elemType: DataType.INT64, dims: [value.length], value }];
    }
    case 'Size': {
      const value = x.dims ? productDims(x.dims) : null;
      return [{ elemType: DataType.INT64, dims: [], value: [value] }];
    }
    case 'ConstantOfShape': {
      const target = input(0).value;
      const tensor = attrTensor(node, 'value');
      const elemType = tensor?.dataType ?? DataType.FLOAT;
      if (!target)
        return [{ elemType, dims: input(0).dims?.[0] === undefined ? null : unknownDims(input(0)) }];
      const count = productDims(target);
      const fill = tensor ? (tensorToNumbers(tensor)[0] ?? 0) : 0;
      const shape: ValueShape = { elemType, dims: target };
      return [
        typeof count === 'number' && count <= MAX_TRACKED_ELEMENTS
          ? { ...shape, value: new Array<Dim>(count).fill(fill) }
          : shape,
      ];
    }
    case 'Reshape':
      return [{ elemType: x.elemType, dims: reshapeDims(x, input(1)), ...passValue(x) }];
    case 'Flatten': {
      if (!x.dims) return [{ elemType: x.elemType, dims: [null, null] }];
      const axis = normAxis(attrInt(node, 'axis', 1), x.dims.length);
      return [
        { elemType: x.elemType, dims: [productDims(x.dims.slice(0, axis)), productDims(x.dims.slice(axis))] },
      ];
    }
    case 'Unsqueeze': {
      const axes = opset >= 13 ? t.numbers(inputs[1] ?? '') : attrInts(node, 'axes');
      if (!x.dims || !axes) return [UNKNOWN_OF(x)];
      const rank = x.dims.length + axes.length;
      const set = new Set(axes.map((a) => normAxis(a, rank)));
      const dims: Dim[] = [];
      let j = 0;
      for (let i = 0; i < rank; i++) dims.push(set.has(i) ? 1 : (x.dims[j++] ?? null));
      return [{ elemType: x.elemType, dims, ...passValue(x) }];
    }
    case 'Squeeze': {
      if (!x.dims) return [UNKNOWN_OF(x)];
      const axesIn = opset >= 13 ? (inputs[1] ? t.numbers(inputs[1]) : []) : (attrInts(node, 'axes') ?? []);
      if (!axesIn) return [UNKNOWN_OF(x)];
      const rank = x.dims.length;
      const axes = new Set(axesIn.map((a) => normAxis(a, rank)));
      if (axes.size === 0) {
        if (!x.dims.every((d) => d !== null)) return [UNKNOWN_OF(x)];
        return [{ elemType: x.elemType, dims: x.dims.filter((d) => d !== 1), ...passValue(x) }];
      }
      return [{ elemType: x.elemType, dims: x.dims.filter((_, i) => !axes.has(i)), ...passValue(x) }];
    }
    case 'Transpose': {
      if (!x.dims) return [UNKNOWN_OF(x)];
      const rank = x.dims.length;
      const perm = attrInts(node, 'perm') ?? [...Array(rank).keys()].reverse();
      return [{ elemType: x.elemType, dims: perm.map((p) => x.dims?.[p] ?? null) }];
    }
    case 'Concat':
      return [
        concatShape(
          node,
          inputs.map((_, i) => input(i)),
        ),
      ];
    case 'Split':
      return splitShapes(node, x, inputs[1] ? t.numbers(inputs[1]) : undefined, opset);
    case 'Slice':
      return [
        sliceShape(
          x,
          inputs.slice(1).map((n) => (n ? t.numbers(n) : undefined)),
        ),
      ];
    case 'Gather':
      return [gatherShape(node, x, input(1))];
    case 'Expand': {
      const target = input(1).value;
      if (!x.dims || !target) return [UNKNOWN_OF(x)];
      return [{ elemType: x.elemType, dims: broadcastShapes([x.dims, target]) }];
    }
    case 'MatMul':
      return [matmulShape(x, input(1))];
    case 'Gemm': {
      const a = x.dims;
      const b = input(1).dims;
      const m = a ? (attrInt(node, 'transA', 0) ? a[1] : a[0]) : null;
      const n = b ? (attrInt(node, 'transB', 0) ? b[0] : b[1]) : null;
      return [{ elemType: x.elemType, dims: [m ?? null, n ?? null] }];
    }
    case 'Conv':
      return [convShape(node, x, input(1))];
    case 'ReduceMean':
    case 'ReduceSum':
    case 'ReduceMax':
    case 'ReduceMin':
    case 'ReduceProd':
    case 'ReduceL2':
    case 'ReduceSumSquare': {
      const axesFromInput = op === 'ReduceSum' ? opset >= 13 : opset >= 18;
      const axes = axesFromInput ? (inputs[1] ? t.numbers(inputs[1]) : []) : (attrInts(node, 'axes') ?? []);
      const keep = attrInt(node, 'keepdims', 1) !== 0;
      // A full reduction without keepdims is a scalar whatever the input's rank.
      if (axes?.length === 0 && !keep && attrInt(node, 'noop_with_empty_axes', 0) === 0) {
        return [{ elemType: x.elemType, dims: [] }];
      }
      if (!x.dims || !axes) return [UNKNOWN_OF(x)];
      return [{ elemType: x.elemType, dims: reducedDims(x.dims, axes, keep, node) }];
    }
    case 'ArgMax':
    case 'ArgMin': {
      if (!x.dims) return [{ elemType: DataType.INT64, dims: null }];
      const axis = attrInt(node, 'axis', 0);
      return [
        {
          elemType: DataType.INT64,
          dims: reducedDims(x.dims, [axis], attrInt(node, 'keepdims', 1) !== 0, node),
        },
      ];
    }
    case 'Resize':
      return [
        resizeShape(
          x,
          inputs[2] ? t.numbers(inputs[2]) : undefined,
          inputs[3] ? t.numbers(inputs[3]) : undefined,
        ),
      ];
    case 'Range':
      return [{ elemType: x.elemType, dims: [null] }];
    default:
      return (node.output ?? []).map(() => UNKNOWN);
  }
}

function UNKNOWN_OF(x: ValueShape): ValueShape {
  return { elemType: x.elemType, dims: null };
}

function unknownDims(shapeInput: ValueShape): Dim[] | null {
  const len = shapeInput.dims?.[0];
  return typeof len === 'number' ? new Array<Dim>(len).fill(null) : null;
}

function passValue(x: ValueShape): { value?: readonly Dim[] } {
  return x.value ? { value: x.value } : {};
}

function clampIndex(i: number, rank: number): number {
  return Math.min(Math.max(i, 0), rank);
}

function constantShape(node: onnx.INodeProto): ValueShape {
  const tensor = attrTensor(node, 'value');
  if (tensor) return tensorShape(tensor);
  if (findAttr(node, 'value_float'))
    return { elemType: DataType.FLOAT, dims: [], value: [attrFloat(node, 'value_float', 0)] };
  if (findAttr(node, 'value_int'))
    return { elemType: DataType.INT64, dims: [], value: [attrInt(node, 'value_int', 0)] };
  const ints = attrInts(node, 'value_ints');
  if (ints) return { elemType: DataType.INT64, dims: [ints.length], value: ints };
  const floats = findAttr(node, 'value_floats')?.floats;
  if (floats) return { elemType: DataType.FLOAT, dims: [floats.length], value: [...floats] };
  return UNKNOWN;
}

function arithmeticValue(op: string, shapes: readonly ValueShape[]): Dim[] | undefined {
  const [a, b] = shapes;
  if (shapes.length !== 2 || !a?.value || !b?.value) return undefined;
  const n = Math.max(a.value.length, b.value.length);
  if (a.value.length !== n && a.value.length !== 1) return undefined;
  if (b.value.length !== n && b.value.length !== 1) return undefined;
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const p = a.value[a.value.length === 1 ? 0 : i] ?? null;
    const q = b.value[b.value.length === 1 ? 0 : i] ?? null;
    if (op === 'Mul') out.push(mulDim(p, q));
    else if (op === 'Div') {
      out.push(
        typeof p === 'number' && typeof q === 'number'
          ? a.elemType === DataType.INT64
            ? Math.trunc(p / q)
            : p / q
          : divDim(p, q),
      );
    } else if (typeof p === 'number' && typeof q === 'number') {
      out.push(op === 'Add' ? p + q : op === 'Sub' ? p - q : op === 'Pow' ? p ** q : null);
    } else out.push(null);
  }
  return out;
}

function reshapeDims(x: ValueShape, target: ValueShape): Dim[] | null {
  const spec = target.value;
  if (!spec) {
    const len = target.dims?.[0];
    return typeof len === 'number' ? new Array<Dim>(len).fill(null) : null;
  }
  const dims: Dim[] = spec.map((d, i) => (d === 0 ? (x.dims?.[i] ?? null) : d === -1 ? -1 : d));
  const inferred = dims.indexOf(-1);
  if (inferred >= 0) {
    const others = dims.filter((_, i) => i !== inferred);
    dims[inferred] = x.dims ? divDim(productDims(x.dims), productDims(others)) : null;
  }
  return dims;
}

function concatShape(node: onnx.INodeProto, shapes: readonly ValueShape[]): ValueShape {
  const first = shapes[0];
  if (!first?.dims || !shapes.every((s) => s.dims && s.dims.length === first.dims?.length)) {
    return UNKNOWN_OF(first ?? UNKNOWN);
  }
  const rank = first.dims.length;
  const axis = normAxis(attrInt(node, 'axis', 0), rank);
  const dims = first.dims.map((d, i) => {
    if (i !== axis) return shapes.map((s) => s.dims?.[i] ?? null).find((v) => v !== null) ?? d;
    let sum: Dim = 0;
    for (const s of shapes) {
      const v = s.dims?.[i] ?? null;
      sum = typeof sum === 'number' && typeof v === 'number' ? sum + v : null;
    }
    return sum;
  });
  const values = shapes.map((s) => s.value);
  const value =
    rank === 1 && values.every((v) => v !== undefined) ? values.flatMap((v) => v ?? []) : undefined;
  return value ? { elemType: first.elemType, dims, value } : { elemType: first.elemType, dims };
}

function splitShapes(
  node: onnx.INodeProto,
  x: ValueShape,
  split: number[] | undefined,
  opset: number,
): ValueShape[] {
  const count = (node.output ?? []).length;
  if (!x.dims) return new Array<ValueShape>(count).fill(UNKNOWN_OF(x));
  const rank = x.dims.length;
  const axis = normAxis(attrInt(node, 'axis', 0), rank);
  const sizes = split ?? (opset < 13 ? attrInts(node, 'split') : undefined);
  const total = x.dims[axis] ?? null;
  return Array.from({ length: count }, (_, i) => {
    let size: Dim = null;
    if (sizes) size = sizes[i] ?? null;
    else if (typeof total === 'number') size = total % count === 0 ? total / count : null;
    else size = divDim(total, count);
    const dims = x.dims?.map((d, j) => (j === axis ? size : d)) ?? null;
    return { elemType: x.elemType, dims };
  });
}

/** Slice element count on one axis, per the ONNX clamping rules. */
export function sliceLength(
  dim: number,
  start: number,
  end: number,
  step: number,
): { begin: number; length: number } {
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = Math.min(Math.max(s, 0), dim);
    e = Math.min(Math.max(e, 0), dim);
  } else {
    s = Math.min(Math.max(s, 0), dim - 1);
    e = Math.min(Math.max(e, -1), dim - 1);
  }
  return { begin: s, length: Math.max(0, Math.ceil((e - s) / step)) };
}

function sliceShape(x: ValueShape, params: readonly (number[] | undefined)[]): ValueShape {
  const [starts, ends, axesIn, stepsIn] = params;
  if (!x.dims || !starts || !ends) return UNKNOWN_OF(x);
  const rank = x.dims.length;
  const axes = (axesIn ?? starts.map((_, i) => i)).map((a) => normAxis(a, rank));
  const steps = stepsIn ?? starts.map(() => 1);
  const dims = [...x.dims];
  let value = x.value ? [...x.value] : undefined;
  axes.forEach((axis, i) => {
    const d = dims[axis] ?? null;
    const start = starts[i] ?? 0;
    const end = ends[i] ?? 0;
    const step = steps[i] ?? 1;
    if (typeof d === 'number') {
      const { begin, length } = sliceLength(d, start, end, step);
      dims[axis] = length;
      if (value && rank === 1) value = Array.from({ length }, (_, k) => value?.[begin + k * step] ?? null);
    } else {
      dims[axis] = start === 0 && step === 1 && end >= 2 ** 31 - 1 ? d : null;
      value = undefined;
    }
  });
  return value ? { elemType: x.elemType, dims, value } : { elemType: x.elemType, dims };
}

function gatherShape(node: onnx.INodeProto, data: ValueShape, indices: ValueShape): ValueShape {
  if (!data.dims || !indices.dims) return UNKNOWN_OF(data);
  const axis = normAxis(attrInt(node, 'axis', 0), data.dims.length);
  const dims = [...data.dims.slice(0, axis), ...indices.dims, ...data.dims.slice(axis + 1)];
  if (data.dims.length === 1 && data.value && indices.value) {
    const len = data.value.length;
    const value = indices.value.map((i) =>
      typeof i === 'number' ? (data.value?.[i < 0 ? i + len : i] ?? null) : null,
    );
    return { elemType: data.elemType, dims, value };
  }
  return { elemType: data.elemType, dims };
}

function matmulShape(a: ValueShape, b: ValueShape): ValueShape {
  if (!a.dims || !b.dims) return UNKNOWN_OF(a);
  const ad = a.dims.length === 1 ? [1, ...a.dims] : a.dims;
  const bd = b.dims.length === 1 ? [...b.dims, 1] : b.dims;
  const batch = broadcastShapes([ad.slice(0, -2), bd.slice(0, -2)]);
  const dims: Dim[] = [...batch];
  if (a.dims.length > 1) dims.push(ad[ad.length - 2] ?? null);
  if (b.dims.length > 1) dims.push(bd[bd.length - 1] ?? null);
  return { elemType: a.elemType, dims };
}

function convShape(node: onnx.INodeProto, x: ValueShape, w: ValueShape): ValueShape {
  if (!x.dims) return UNKNOWN_OF(x);
  const spatial = x.dims.length - 2;
  const kernel = attrInts(node, 'kernel_shape') ?? w.dims?.slice(2) ?? new Array<Dim>(spatial).fill(null);
  const strides = attrInts(node, 'strides') ?? new Array<number>(spatial).fill(1);
  const dilations = attrInts(node, 'dilations') ?? new Array<number>(spatial).fill(1);
  const pads = attrInts(node, 'pads') ?? new Array<number>(2 * spatial).fill(0);
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const dims: Dim[] = [x.dims[0] ?? null, w.dims?.[0] ?? null];
  for (let i = 0; i < spatial; i++) {
    const d = x.dims[i + 2] ?? null;
    const k = kernel[i] ?? null;
    const s = strides[i] ?? 1;
    if (typeof d !== 'number' || typeof k !== 'number') {
      dims.push(null);
      continue;
    }
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      dims.push(Math.ceil(d / s));
      continue;
    }
    const padded = autoPad === 'VALID' ? d : d + (pads[i] ?? 0) + (pads[i + spatial] ?? 0);
    const effective = (k - 1) * (dilations[i] ?? 1) + 1;
    dims.push(Math.floor((padded - effective) / s) + 1);
  }
  return { elemType: x.elemType, dims };
}

function reducedDims(
  dims: readonly Dim[],
  axesIn: readonly number[],
  keep: boolean,
  node: onnx.INodeProto,
): Dim[] {
  const rank = dims.length;
  const noop = attrInt(node, 'noop_with_empty_axes', 0) !== 0;
  if (axesIn.length === 0 && noop) return [...dims];
  const axes = new Set(axesIn.length === 0 ? [...Array(rank).keys()] : axesIn.map((a) => normAxis(a, rank)));
  const out: Dim[] = [];
  dims.forEach((d, i) => {
    if (!axes.has(i)) out.push(d);
    else if (keep) out.push(1);
  });
  return out;
}

function resizeShape(x: ValueShape, scales: number[] | undefined, sizes: number[] | undefined): ValueShape {
  if (!x.dims) return UNKNOWN_OF(x);
  if (sizes && sizes.length === x.dims.length) return { elemType: x.elemType, dims: sizes };
  if (!scales || scales.length !== x.dims.length)
    return { elemType: x.elemType, dims: x.dims.map(() => null) };
  const dims = x.dims.map((d, i) => {
    const s = scales[i] ?? 1;
    if (s === 1) return d;
    if (typeof d === 'number') return Math.floor(d * s);
    return Number.isInteger(s) ? mulDim(d, s) : null;
  });
  return { elemType: x.elemType, dims };
}

/** True when every dim of the value is a known number. */
export function isStatic(shape: ValueShape): shape is ValueShape & { dims: number[] } {
  return shape.dims !== null && allNumeric(shape.dims);
}
