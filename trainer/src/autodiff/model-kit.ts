/**
 * A deliberately small forward-model builder for the autodiff package's own tests, gradient
 * checks and benchmark: declare inputs (dims may be symbolic), add nodes and constants, mark
 * outputs, get a `ModelProto`. It is not the U-Net graph builder (that lives in `onnx/` and
 * names nodes like torch.onnx.export); it exists so autodiff can be exercised on hand-made
 * graphs without depending on it.
 */
import { GraphEmitter } from './emitter';
import {
  DataType,
  float32Tensor,
  int64Tensor,
  type AttrValue,
  type OnnxTypes as onnx,
} from '@maskunet/gpu-runner';

/** A dim of a declared input: a size, a symbolic name, or null for an undeclared dim. */
export type KitDim = number | string | null;

export class ModelKit {
  private readonly em: GraphEmitter;
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: string[] = [];
  private readonly named: onnx.ITensorProto[] = [];

  constructor(
    private readonly opset = 17,
    private readonly name = 'model',
  ) {
    this.em = new GraphEmitter([], '');
  }

  /** Declares a graph input. */
  input(name: string, dims: readonly KitDim[], elemType: number = DataType.FLOAT): string {
    if (!this.em.reserve(name)) throw new TypeError(`name '${name}' is already used`);
    this.inputs.push({
      name,
      type: {
        tensorType: {
          elemType,
          shape: {
            dim: dims.map((d) =>
              typeof d === 'number' ? { dimValue: d } : d === null ? {} : { dimParam: d },
            ),
          },
        },
      },
    });
    return name;
  }

  /** A named float32 initializer (a constant baked into the model). */
  weight(name: string, dims: readonly number[], values: ArrayLike<number>): string {
    if (!this.em.reserve(name)) throw new TypeError(`name '${name}' is already used`);
    this.named.push(float32Tensor(name, dims, values));
    return name;
  }

  /** A float32 scalar constant. */
  scalar(value: number): string {
    return this.em.scalar(value);
  }

  /** A 1-D int64 constant. */
  ints(values: readonly number[]): string {
    return this.em.ints(values);
  }

  /** An int64 constant of any shape (e.g. Gather indices). */
  intTensor(dims: readonly number[], values: readonly number[]): string {
    const name = this.em.fresh('ints');
    this.named.push(int64Tensor(name, dims, values));
    return name;
  }

  /** Adds a node with one output (named `output` if given). */
  op(
    opType: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    output?: string,
  ): string {
    if (output !== undefined && !this.em.reserve(output))
      throw new TypeError(`name '${output}' is already used`);
    return this.em.op(opType, inputs, attrs, output);
  }

  /** Adds a node with several outputs. */
  opMulti(
    opType: string,
    inputs: readonly string[],
    count: number,
    attrs: Record<string, AttrValue> = {},
  ): string[] {
    return this.em.opMulti(opType, inputs, count, attrs);
  }

  /** Marks a value as a graph output. */
  output(name: string): string {
    this.outputs.push(name);
    return name;
  }

  build(): onnx.IModelProto {
    return {
      irVersion: 8,
      opsetImport: [{ domain: '', version: this.opset }],
      producerName: 'maskunet-autodiff-kit',
      graph: {
        name: this.name,
        input: this.inputs,
        initializer: [...this.named, ...this.em.initializers],
        node: this.em.nodes,
        output: this.outputs.map((name) => ({ name, type: { tensorType: { elemType: DataType.FLOAT } } })),
      },
    };
  }
}
