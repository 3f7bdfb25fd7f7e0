/**
 * What a gradient rule sees while it writes the backward of one forward node: the node, the
 * incoming output gradients, which inputs want a gradient, the build-time shapes, and helpers
 * every rule shares — un-broadcasting a gradient to an input's shape (static `ReduceSum` axes
 * when the dims prove which axes were broadcast, a run-time axis computation only where a dim
 * is unknown), reshaping to an input's shape, reading constant inputs, and throwing an
 * `AutodiffError` that names the node.
 */
import { allNumeric, type Dim } from './dims';
import type { GraphEmitter } from './emitter';
import { AutodiffError, type AutodiffErrorCode } from './errors';
import { type OnnxTypes as onnx } from '@maskunet/gpu-runner';
import type { ShapeTable } from './shape-infer';

export class GradContext {
  constructor(
    readonly node: onnx.INodeProto,
    readonly em: GraphEmitter,
    readonly shapes: ShapeTable,
    /** Gradient value per output (undefined when that output does not reach the loss). */
    readonly gradOut: readonly (string | undefined)[],
    /** Per input: whether the caller wants its gradient. */
    readonly needs: readonly boolean[],
    readonly opset: number,
  ) {}

  get opType(): string {
    return this.node.opType ?? '';
  }

  /** The node's `i`-th input name ('' when absent). */
  input(i: number): string {
    return this.node.input?.[i] ?? '';
  }

  output(i: number): string {
    return this.node.output?.[i] ?? '';
  }

  /** The gradient of output `i`; rules of single-output ops are only called with it present. */
  grad(i = 0): string {
    const g = this.gradOut[i];
    if (g === undefined) this.fail('malformed_graph', `missing gradient of output ${i}`);
    return g;
  }

  need(i: number): boolean {
    return this.needs[i] === true;
  }

  /** A readable reference to the node for error messages. */
  describe(): string {
    const name = this.node.name ? `'${this.node.name}'` : '(unnamed)';
    return `${this.opType} node ${name} producing '${this.output(0)}'`;
  }

  fail(code: AutodiffErrorCode, message: string): never {
    throw new AutodiffError(code, `${this.describe()}: ${message}`);
  }

  /** Dims of `value`; throws `unknown_shape` when the rank is unknown. */
  dims(value: string): readonly Dim[] {
    const dims = this.shapes.get(value).dims;
    if (!dims) this.fail('unknown_shape', `the rank of '${value}' could not be inferred`);
    return dims;
  }

  rank(value: string): number {
    return this.dims(value).length;
  }

  /** Element values of a constant input (axes, starts, scales…); throws when computed at run time. */
  constantInput(i: number, what: string): number[] {
    const values = this.shapes.numbers(this.input(i));
    if (!values) this.fail('dynamic_attribute', `${what} (input ${i}) must be a build-time constant`);
    return values;
  }

  /** `Reshape(value, shape of target)`, with a static shape constant when every dim is known. */
  reshapeLike(value: string, target: string): string {
    const dims = this.shapes.get(target).dims;
    const shape = dims && allNumeric(dims) ? this.em.ints(dims) : this.em.shapeOf(target);
    return this.em.op('Reshape', [value, shape]);
  }

  /** Zeros shaped like a forward value. */
  zerosLike(value: string): string {
    const dims = this.shapes.get(value).dims;
    const shape = dims && allNumeric(dims) ? this.em.ints(dims) : this.em.shapeOf(value);
    return this.em.op('ConstantOfShape', [shape], {
      value: { tensor: { dataType: 1, dims: [1], floatData: [0] } },
    });
  }

  /**
   * Sums `grad` (shaped `gradDims`) over the axes along which `target` was broadcast, giving a
   * tensor of `target`'s shape. Leading axes are always summed statically; an inner axis is
   * summed when `target` has a 1 there and the gradient does not. Where `target`'s dim is
   * unknown (or a symbol that differs from the gradient's) the axes are computed at run time.
   */
  unbroadcast(grad: string, gradDims: readonly Dim[], target: string): string {
    const targetDims = this.dims(target);
    const lead = gradDims.length - targetDims.length;
    if (lead < 0) this.fail('unknown_shape', `gradient rank ${gradDims.length} < rank of '${target}'`);
    const leadAxes = [...Array(lead).keys()];
    const keepAxes: number[] = [];
    let dynamic = false;
    targetDims.forEach((d, i) => {
      const o = gradDims[lead + i] ?? null;
      if (d === 1) {
        if (o !== 1) keepAxes.push(lead + i);
      } else if (d === null || (typeof d === 'string' && o !== d)) {
        if (o !== 1) dynamic = true;
      }
    });
    if (dynamic) {
      const summed = lead > 0 ? this.reduceSum(grad, leadAxes, false) : grad;
      const differs = this.em.op('Not', [
        this.em.op('Equal', [this.em.shapeOf(target), this.em.shapeOf(summed)]),
      ]);
      const axes = this.em.op('Reshape', [this.em.op('NonZero', [differs]), this.em.ints([-1])]);
      return this.em.op('ReduceSum', [summed, axes], { keepdims: 1, noop_with_empty_axes: 1 });
    }
    if (keepAxes.length === 0) return lead > 0 ? this.reduceSum(grad, leadAxes, false) : grad;
    const reduced = this.reduceSum(grad, [...leadAxes, ...keepAxes], true);
    return lead > 0 ? this.em.op('Squeeze', [reduced, this.em.ints(leadAxes)]) : reduced;
  }

  /** `ReduceSum` over constant axes (opset ≥ 13 form: axes as an input). */
  reduceSum(value: string, axes: readonly number[], keepdims: boolean): string {
    return this.em.op('ReduceSum', [value, this.em.ints(axes)], { keepdims: keepdims ? 1 : 0 });
  }
}
