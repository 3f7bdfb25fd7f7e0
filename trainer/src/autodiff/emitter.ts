/**
 * Appends nodes and constant initializers to a graph under construction. Names are fresh
 * against every name already in the graph, constants are deduplicated by value (one `axes =
 * [0, 2, 3]` initializer however many rules ask for it), and run-time `Shape` nodes and
 * transposes are cached per value, so the backward pass never computes the same helper twice.
 * Transposes also cancel: transposing the output of a Transpose by the inverse permutation
 * returns the original value instead of emitting a node, which is how `MatMul(Q, Kᵀ)`'s
 * gradient reads `K` directly.
 */
import {
  float32Tensor,
  int64Tensor,
  makeAttribute,
  type AttrValue,
  type OnnxTypes as onnx,
} from '@maskunet/gpu-runner';

/** Where a value was produced by a Transpose: its input and permutation. */
interface TransposeOrigin {
  readonly input: string;
  readonly perm: readonly number[];
}

export class GraphEmitter {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private readonly used: Set<string>;
  private readonly constants = new Map<string, string>();
  private readonly shapes = new Map<string, string>();
  private readonly transposes = new Map<string, string>();
  private readonly transposeOrigin = new Map<string, TransposeOrigin>();
  private counter = 0;

  /**
   * @param usedNames every value and node name already in the graph (extended as names are made)
   * @param prefix prefix of generated names, so gradient values are recognisable in a profile
   */
  constructor(
    usedNames: Iterable<string>,
    private readonly prefix: string,
  ) {
    this.used = new Set(usedNames);
  }

  /** Records a forward Transpose so that transposing its output back can reuse its input. */
  noteTranspose(output: string, input: string, perm: readonly number[]): void {
    this.transposeOrigin.set(output, { input, perm });
  }

  /** Reserves `name` exactly (for graph outputs); false if it is taken. */
  reserve(name: string): boolean {
    if (this.used.has(name)) return false;
    this.used.add(name);
    return true;
  }

  /** A new unique value name derived from `hint`. */
  fresh(hint: string): string {
    for (;;) {
      const name = `${this.prefix}${hint}_${this.counter++}`;
      if (!this.used.has(name)) {
        this.used.add(name);
        return name;
      }
    }
  }

  /** Emits one node with a single output and returns the output's name. */
  op(
    opType: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    output?: string,
  ): string {
    const out = output ?? this.fresh(opType);
    this.emit(opType, inputs, [out], attrs);
    return out;
  }

  /** Emits one node with `count` outputs. */
  opMulti(
    opType: string,
    inputs: readonly string[],
    count: number,
    attrs: Record<string, AttrValue> = {},
  ): string[] {
    const outs = Array.from({ length: count }, () => this.fresh(opType));
    this.emit(opType, inputs, outs, attrs);
    return outs;
  }

  private emit(
    opType: string,
    inputs: readonly string[],
    outputs: string[],
    attrs: Record<string, AttrValue>,
  ): void {
    this.nodes.push({
      opType,
      name: this.fresh(`${opType}_node`),
      input: [...inputs],
      output: outputs,
      attribute: Object.entries(attrs).map(([name, value]) => makeAttribute(name, value)),
    });
  }

  /** A float32 scalar constant. */
  scalar(value: number): string {
    return this.constant(`f:${value}`, (name) => float32Tensor(name, [], [value]));
  }

  /** A float32 constant of the given dims, every element `value`. */
  filled(dims: readonly number[], value: number): string {
    const count = dims.reduce((a, b) => a * b, 1);
    return this.constant(`F:${dims.join(',')}:${value}`, (name) =>
      float32Tensor(name, dims, new Array<number>(count).fill(value)),
    );
  }

  /** A float32 constant tensor. */
  floats(dims: readonly number[], values: readonly number[]): string {
    return this.constant(`T:${dims.join(',')}:${values.join(',')}`, (name) =>
      float32Tensor(name, dims, values),
    );
  }

  /** A 1-D int64 constant (axes, pads, shapes). */
  ints(values: readonly number[]): string {
    return this.constant(`i:${values.join(',')}`, (name) => int64Tensor(name, [values.length], values));
  }

  private constant(key: string, make: (name: string) => onnx.ITensorProto): string {
    const existing = this.constants.get(key);
    if (existing) return existing;
    const name = this.fresh('const');
    this.initializers.push(make(name));
    this.constants.set(key, name);
    return name;
  }

  /** The run-time shape of `value`, one `Shape` node per value. */
  shapeOf(value: string): string {
    let name = this.shapes.get(value);
    if (!name) {
      name = this.op('Shape', [value]);
      this.shapes.set(value, name);
    }
    return name;
  }

  /** `Transpose(value, perm)`, cancelling against a recorded transpose and cached per value. */
  transpose(value: string, perm: readonly number[]): string {
    if (perm.every((p, i) => p === i)) return value;
    const origin = this.transposeOrigin.get(value);
    if (origin) {
      // Transpose(Transpose(u, p), q) = Transpose(u, p∘q): out[i] = u[p[q[i]]].
      const composed = perm.map((q) => origin.perm[q] ?? -1);
      if (composed.every((p, i) => p === i)) return origin.input;
    }
    const key = `${value}|${perm.join(',')}`;
    let out = this.transposes.get(key);
    if (!out) {
      out = this.op('Transpose', [value], { perm });
      this.transposes.set(key, out);
      this.transposeOrigin.set(out, { input: value, perm });
    }
    return out;
  }
}
