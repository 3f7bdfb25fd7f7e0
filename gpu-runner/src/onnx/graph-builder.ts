/**
 * A small typed builder for ONNX graphs (IR 8, opset 17) that names things the way
 * `torch.onnx.export` does: nodes are named by their module scope and op type
 * (`/up_blocks.1/attentions.0/transformer_blocks.0/attn1/to_q/MatMul`, then `MatMul_1`, …
 * for repeats in one scope), node outputs `<node name>_output_<i>`. Scope names are
 * PyTorch module paths, so the layout resolver can recover a weight's module from the node
 * that consumes it. Only the ops in {@link OP_VOCABULARY} can be emitted: the reverse-mode
 * gradient builder supports exactly these, so a graph from here is always differentiable
 * by it. Constants (shapes, axes, epsilons) are initializers named after their node.
 */
import { ModelError } from './errors';
import {
  onnx,
  type AttributeProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './proto';
import { float32Tensor, int64Tensor } from './tensor';

/**
 * Every op a builder graph may use. Sin/Cos/Exp/Shape/Constant appear only on paths that
 * need no gradient (the timestep embedding).
 */
export const OP_VOCABULARY = [
  'Conv',
  'MatMul',
  'Gemm',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Sigmoid',
  'Softmax',
  'Tanh',
  'Erf',
  'ReduceMean',
  'Pow',
  'Sqrt',
  'Reshape',
  'Transpose',
  'Concat',
  'Slice',
  'Split',
  'Resize',
  'Gather',
  'Cast',
  'Where',
  'Unsqueeze',
  'Sin',
  'Cos',
  'Exp',
  'Shape',
  'Constant',
] as const;

export type OpType = (typeof OP_VOCABULARY)[number];

/** Opset of the default domain in every model this builder writes. */
export const OPSET_VERSION = 17;
/** IR version of every model this builder writes (the one onnxruntime 1.30 and onnx 1.10 share). */
export const IR_VERSION = 8;

/** A static size or a symbolic dimension name (`'batch'`). */
export type Dim = number | string;

/** Element types of graph inputs and outputs. */
export type ValueType = 'float32' | 'int64' | 'int32' | 'uint8' | 'bool';

const VALUE_TYPE_CODE: Readonly<Record<ValueType, number>> = {
  float32: 1,
  uint8: 2,
  int32: 6,
  int64: 7,
  bool: 9,
};

/**
 * An attribute value: an integer (INT), a string (STRING), an integer list (INTS), or a
 * wrapped float, float list or tensor. Floats are wrapped so `1` can never silently
 * become a FLOAT where an INT was meant.
 */
export type AttributeValue =
  | number
  | string
  | readonly number[]
  | { readonly float: number }
  | { readonly floats: readonly number[] }
  | { readonly tensor: TensorProto };

export type Attributes = Readonly<Record<string, AttributeValue>>;

/** A value operand: a value name, or a number that becomes a float32 scalar constant. */
export type Operand = string | number;

export interface ModelOptions {
  /** Default `maskunet-gpu-runner`. */
  readonly producerName?: string;
  readonly docString?: string;
  /** Written to `metadata_props`. */
  readonly metadata?: Readonly<Record<string, string>>;
}

const AttributeType = onnx.AttributeProto.AttributeType;

function isIntList(value: AttributeValue): value is readonly number[] {
  return Array.isArray(value);
}

function makeAttribute(name: string, value: AttributeValue): AttributeProto {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`attribute ${name}: ${value} is not an integer; wrap floats as {float}`);
    }
    return onnx.AttributeProto.create({ name, type: AttributeType.INT, i: value });
  }
  if (typeof value === 'string') {
    return onnx.AttributeProto.create({
      name,
      type: AttributeType.STRING,
      s: new TextEncoder().encode(value),
    });
  }
  if (isIntList(value)) {
    const ints = value;
    if (!ints.every((v) => Number.isSafeInteger(v))) {
      throw new RangeError(`attribute ${name}: [${ints.join(', ')}] are not all integers`);
    }
    return onnx.AttributeProto.create({ name, type: AttributeType.INTS, ints: [...ints] });
  }
  if ('float' in value)
    return onnx.AttributeProto.create({ name, type: AttributeType.FLOAT, f: value.float });
  if ('floats' in value) {
    return onnx.AttributeProto.create({ name, type: AttributeType.FLOATS, floats: [...value.floats] });
  }
  return onnx.AttributeProto.create({ name, type: AttributeType.TENSOR, t: value.tensor });
}

/** A ValueInfoProto for a tensor of `type` and `dims` (strings are symbolic dims). */
export function tensorValueInfo(name: string, type: ValueType, dims: readonly Dim[]): ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: VALUE_TYPE_CODE[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

const SCOPE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/;

export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly scopes: string[] = [];
  /** Every value name in the graph: inputs, initializers and node outputs. */
  private readonly values = new Set<string>();
  private readonly nodeNames = new Set<string>();
  /** Next repeat suffix per `<scope>/<op>` base name. */
  private readonly repeats = new Map<string, number>();
  private nextAnonymousId: number;

  /**
   * @param graphName the GraphProto name (torch exports use `main_graph`).
   * @param firstAnonymousId first number handed out by {@link anonymousName}.
   */
  constructor(
    readonly graphName = 'main_graph',
    firstAnonymousId = 1000,
  ) {
    this.nextAnonymousId = firstAnonymousId;
  }

  /** Runs `body` inside module scope `name` (one path segment such as `up_blocks.1`). */
  scope<T>(name: string, body: () => T): T {
    if (!SCOPE_NAME.test(name))
      throw new RangeError(`scope name ${JSON.stringify(name)} is not a module name`);
    this.scopes.push(name);
    try {
      return body();
    } finally {
      this.scopes.pop();
    }
  }

  /** The current scope as a node-name prefix, `/up_blocks.1/attentions.0` (empty at the root). */
  get scopePath(): string {
    return this.scopes.map((s) => `/${s}`).join('');
  }

  /** The current scope as a PyTorch module path, `up_blocks.1.attentions.0`. */
  get modulePath(): string {
    return this.scopes.join('.');
  }

  /** Number of nodes emitted so far. */
  get nodeCount(): number {
    return this.nodes.length;
  }

  /** True when `name` is already a value of the graph. */
  has(name: string): boolean {
    return this.values.has(name);
  }

  private claim(name: string): string {
    if (this.values.has(name)) throw new RangeError(`value name ${name} is already used`);
    this.values.add(name);
    return name;
  }

  /** Declares a graph input. */
  input(name: string, type: ValueType, dims: readonly Dim[]): string {
    this.inputs.push(tensorValueInfo(this.claim(name), type, dims));
    return name;
  }

  /**
   * Declares `value` (a node output) as a graph output named `name`, renaming it in the
   * graph when the names differ (the op vocabulary has no Identity to alias it).
   */
  output(value: string, name: string, type: ValueType, dims: readonly Dim[]): string {
    if (value !== name) {
      const producer = this.nodes.find((n) => (n.output ?? []).includes(value));
      if (producer === undefined) throw new RangeError(`output ${name}: ${value} is not a node output`);
      this.claim(name);
      this.values.delete(value);
      for (const node of this.nodes) {
        node.input = (node.input ?? []).map((v) => (v === value ? name : v));
        node.output = (node.output ?? []).map((v) => (v === value ? name : v));
      }
    }
    this.outputs.push(tensorValueInfo(name, type, dims));
    return name;
  }

  /** Adds an initializer under its own (non-empty) name. */
  initializer(tensor: TensorProto): string {
    const name = tensor.name ?? '';
    if (name === '') throw new RangeError('an initializer needs a name');
    this.claim(name);
    this.initializers.push(tensor);
    return name;
  }

  /** A fresh name `<prefix><n>`, as torch.onnx names anonymous initializers (`onnx::MatMul_1234`). */
  anonymousName(prefix: string): string {
    let name = `${prefix}${this.nextAnonymousId++}`;
    while (this.values.has(name)) name = `${prefix}${this.nextAnonymousId++}`;
    return name;
  }

  private reserveNodeName(opType: OpType): string {
    const base = `${this.scopePath}/${opType}`;
    let name = base;
    let repeat = this.repeats.get(base) ?? 0;
    while (this.nodeNames.has(name)) name = `${base}_${++repeat}`;
    this.repeats.set(base, repeat);
    this.nodeNames.add(name);
    return name;
  }

  private emit(
    name: string,
    opType: OpType,
    inputs: readonly string[],
    attributes: Attributes,
    outputCount: number,
  ): string[] {
    for (const input of inputs) {
      if (input !== '' && !this.values.has(input))
        throw new RangeError(`${name}: input ${input} is not defined`);
    }
    const outputs = Array.from({ length: outputCount }, (_, i) => this.claim(`${name}_output_${i}`));
    this.nodes.push(
      onnx.NodeProto.create({
        name,
        opType,
        input: [...inputs],
        output: outputs,
        attribute: Object.entries(attributes).map(([key, value]) => makeAttribute(key, value)),
      }),
    );
    return outputs;
  }

  /** Emits one node in the current scope and returns its output names. */
  node(opType: OpType, inputs: readonly string[], attributes: Attributes = {}, outputCount = 1): string[] {
    return this.emit(this.reserveNodeName(opType), opType, inputs, attributes, outputCount);
  }

  private single(opType: OpType, inputs: readonly Operand[], attributes: Attributes = {}): string {
    const name = this.reserveNodeName(opType);
    const names = inputs.map((operand, i) =>
      typeof operand === 'number'
        ? this.initializer(float32Tensor(`${name}_const_${i}`, [], [operand]))
        : operand,
    );
    return this.emit(name, opType, names, attributes, 1)[0]!;
  }

  private withInt64(
    opType: OpType,
    inputs: readonly string[],
    constants: readonly (readonly number[])[],
    attributes: Attributes = {},
    outputCount = 1,
  ): string[] {
    const name = this.reserveNodeName(opType);
    const names = constants.map((values, i) =>
      this.initializer(int64Tensor(`${name}_const_${i}`, [values.length], values)),
    );
    return this.emit(name, opType, [...inputs, ...names], attributes, outputCount);
  }

  /** A float32 constant initializer named in the current scope. */
  constFloat(label: string, dims: readonly number[], values: Float32Array | readonly number[]): string {
    return this.initializer(float32Tensor(`${this.scopePath}/${label}`, dims, values));
  }

  add(a: Operand, b: Operand): string {
    return this.single('Add', [a, b]);
  }
  sub(a: Operand, b: Operand): string {
    return this.single('Sub', [a, b]);
  }
  mul(a: Operand, b: Operand): string {
    return this.single('Mul', [a, b]);
  }
  div(a: Operand, b: Operand): string {
    return this.single('Div', [a, b]);
  }
  pow(a: Operand, b: Operand): string {
    return this.single('Pow', [a, b]);
  }
  matMul(a: string, b: string): string {
    return this.single('MatMul', [a, b]);
  }
  /** `A·B + C` with `transB` (PyTorch's Linear on 2-D inputs exports as Gemm with transB=1). */
  gemm(a: string, b: string, c: string | undefined, transB: boolean): string {
    return this.single('Gemm', c === undefined ? [a, b] : [a, b, c], { transB: transB ? 1 : 0 });
  }
  /** 2-D convolution with square kernel, equal padding on all sides. */
  conv(
    x: string,
    weight: string,
    bias: string | undefined,
    options: { readonly kernel: number; readonly stride?: number; readonly pad?: number },
  ): string {
    const stride = options.stride ?? 1;
    const pad = options.pad ?? 0;
    return this.single('Conv', bias === undefined ? [x, weight] : [x, weight, bias], {
      dilations: [1, 1],
      group: 1,
      kernel_shape: [options.kernel, options.kernel],
      pads: [pad, pad, pad, pad],
      strides: [stride, stride],
    });
  }
  sigmoid(x: string): string {
    return this.single('Sigmoid', [x]);
  }
  tanh(x: string): string {
    return this.single('Tanh', [x]);
  }
  erf(x: string): string {
    return this.single('Erf', [x]);
  }
  sqrt(x: string): string {
    return this.single('Sqrt', [x]);
  }
  exp(x: string): string {
    return this.single('Exp', [x]);
  }
  sin(x: string): string {
    return this.single('Sin', [x]);
  }
  cos(x: string): string {
    return this.single('Cos', [x]);
  }
  softmax(x: string, axis = -1): string {
    return this.single('Softmax', [x], { axis });
  }
  /** ReduceMean in its opset-17 form, axes as an attribute. */
  reduceMean(x: string, axes: readonly number[], keepdims = true): string {
    return this.single('ReduceMean', [x], { axes, keepdims: keepdims ? 1 : 0 });
  }
  /** Reshape to `shape` (0 copies the input's dim, -1 is inferred). */
  reshape(x: string, shape: readonly number[]): string {
    return this.withInt64('Reshape', [x], [shape])[0]!;
  }
  transpose(x: string, perm: readonly number[]): string {
    return this.single('Transpose', [x], { perm });
  }
  concat(values: readonly string[], axis: number): string {
    return this.single('Concat', values, { axis });
  }
  slice(x: string, starts: readonly number[], ends: readonly number[], axes: readonly number[]): string {
    return this.withInt64('Slice', [x], [starts, ends, axes])[0]!;
  }
  /** Splits along `axis` into pieces of the given sizes. */
  split(x: string, axis: number, sizes: readonly number[]): string[] {
    return this.withInt64('Split', [x], [sizes], { axis }, sizes.length);
  }
  /** Nearest-neighbour resize by integer `scales`, as torch exports `F.interpolate(mode='nearest')`. */
  resizeNearest(x: string, scales: readonly number[]): string {
    if (!scales.every((s) => Number.isInteger(s) && s >= 1)) {
      throw new RangeError(`scales must be positive integers, got [${scales.join(', ')}]`);
    }
    const name = this.reserveNodeName('Resize');
    const scalesName = this.initializer(float32Tensor(`${name}_scales`, [scales.length], scales));
    return this.emit(
      name,
      'Resize',
      [x, '', scalesName],
      { coordinate_transformation_mode: 'asymmetric', mode: 'nearest', nearest_mode: 'floor' },
      1,
    )[0]!;
  }
  gather(data: string, indices: string, axis = 0): string {
    return this.single('Gather', [data, indices], { axis });
  }
  cast(x: string, to: ValueType): string {
    return this.single('Cast', [x], { to: VALUE_TYPE_CODE[to] });
  }
  where(condition: string, x: string, y: string): string {
    return this.single('Where', [condition, x, y]);
  }
  unsqueeze(x: string, axes: readonly number[]): string {
    return this.withInt64('Unsqueeze', [x], [axes])[0]!;
  }
  shape(x: string): string {
    return this.single('Shape', [x]);
  }
  /** A Constant node holding `tensor` (its name is ignored; the output is named by the node). */
  constant(tensor: TensorProto): string {
    return this.single('Constant', [], { value: { tensor } });
  }

  /**
   * The finished model: IR 8, opset 17, inputs, outputs, initializers and nodes in
   * emission order (which is topological, since every input must exist before use).
   * @throws ModelError `malformed_model` when the graph has no output.
   */
  toModel(options: ModelOptions = {}): ModelProto {
    if (this.outputs.length === 0) throw new ModelError('malformed_model', 'the graph has no output');
    return onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET_VERSION }],
      producerName: options.producerName ?? 'maskunet-gpu-runner',
      docString: options.docString ?? '',
      metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: onnx.GraphProto.create({
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      }),
    });
  }
}
