/**
 * Parameters of the networks this package builds: their PyTorch names, shapes and roles,
 * how each is laid out in the graph (a Linear weight consumed by MatMul is stored transposed
 * `[in, out]`, a GroupNorm scale as `[C, 1, 1]`), whether it is an initializer or a graph
 * input the trainer feeds each step, and PyTorch-default random initialisation for tests.
 * {@link ParameterStore} is what network builders call to place a parameter in a graph; the
 * list it records is the contract between a built model and whoever supplies its weights.
 */
import { ModelError } from './errors';
import type { GraphBuilder } from './graph-builder';
import type { EmissionStyle } from './nn';
import type { ModelProto } from './proto';
import { SeededRandom } from './seeded-random';
import { elementCount, float32Tensor } from './tensor';
import type { WeightMap, WeightTensor } from './weight-map';

/** What a parameter is, which decides its default initialisation. */
export type ParameterRole =
  'linear.weight' | 'linear.bias' | 'conv.weight' | 'conv.bias' | 'norm.weight' | 'norm.bias' | 'embedding';

export interface ParameterSpec {
  /** PyTorch parameter name, `down_blocks.0.resnets.0.conv1.weight`. */
  readonly name: string;
  /** PyTorch shape: Linear `[out, in]`, Conv `[out, in, kh, kw]`, norms and biases `[C]`. */
  readonly shape: readonly number[];
  readonly role: ParameterRole;
  /** Fan-in of the layer owning the parameter (PyTorch's init bound is 1/√fanIn). */
  readonly fanIn: number;
}

export interface GraphParameter extends ParameterSpec {
  /** Name of the initializer or graph input holding it (`onnx::MatMul_1012` in export style). */
  readonly graphName: string;
  /** Shape in the graph: `[in, out]` for a transposed Linear weight, `[C, 1, 1]` for a GroupNorm scale. */
  readonly graphShape: readonly number[];
  /** True when the graph holds the transpose of the PyTorch `[out, in]` matrix. */
  readonly transposed: boolean;
}

/** Where parameters go: baked in as initializers, or graph inputs fed on every run. */
export type ParameterPlacement = 'initializers' | 'inputs';

/**
 * PyTorch's default initial value: Linear and Conv weights and biases U(−1/√fanIn, 1/√fanIn)
 * (kaiming_uniform with a=√5), norm scales 1, norm shifts 0, embeddings N(0, 1).
 */
export function initialValue(spec: ParameterSpec, seed: number): Float32Array {
  const data = new Float32Array(elementCount(spec.shape));
  const random = new SeededRandom(seed, spec.name);
  switch (spec.role) {
    case 'norm.weight':
      return data.fill(1);
    case 'norm.bias':
      return data;
    case 'embedding':
      for (let i = 0; i < data.length; i++) data[i] = random.normal();
      return data;
    default: {
      const bound = 1 / Math.sqrt(spec.fanIn);
      for (let i = 0; i < data.length; i++) data[i] = (2 * random.uniform() - 1) * bound;
      return data;
    }
  }
}

/** Deterministic weights for `specs`: the same seed and name always give the same values. */
export function randomWeights(specs: readonly ParameterSpec[], seed: number): Map<string, WeightTensor> {
  return new Map(
    specs.map((spec) => [spec.name, { shape: [...spec.shape], data: initialValue(spec, seed) }]),
  );
}

function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  }
  return out;
}

/** PyTorch-layout values of `parameter` rearranged as the graph stores them (a copy). */
export function toGraphLayout(parameter: GraphParameter, data: Float32Array): Float32Array {
  if (data.length !== elementCount(parameter.shape)) {
    throw new RangeError(
      `data for ${parameter.name} holds ${data.length} values, shape needs ${elementCount(parameter.shape)}`,
    );
  }
  if (!parameter.transposed) return data.slice();
  const [rows, cols] = parameter.shape as [number, number];
  return transpose2d(data, rows, cols);
}

/** Graph-layout values of `parameter` back in PyTorch layout (a copy). */
export function fromGraphLayout(parameter: GraphParameter, data: Float32Array): Float32Array {
  if (data.length !== elementCount(parameter.shape)) {
    throw new RangeError(
      `data for ${parameter.name} holds ${data.length} values, shape needs ${elementCount(parameter.shape)}`,
    );
  }
  if (!parameter.transposed) return data.slice();
  const [rows, cols] = parameter.shape as [number, number];
  return transpose2d(data, cols, rows);
}

/** Shapes equal once trailing 1s are dropped: a 1×1 Conv `[o, i, 1, 1]` serves a Linear `[o, i]`. */
function compatibleShapes(a: readonly number[], b: readonly number[]): boolean {
  const trim = (s: readonly number[]): number[] => {
    const out = [...s];
    while (out.length > 0 && out[out.length - 1] === 1) out.pop();
    return out;
  };
  const x = trim(a);
  const y = trim(b);
  return x.length === y.length && x.every((d, i) => d === y[i]);
}

export interface PlaceOptions {
  /** Store the transpose of a 2-D parameter. */
  readonly transposed?: boolean;
  /** Graph shape when it only adds unit axes (`[C, 1, 1]`); defaults to the PyTorch shape. */
  readonly graphShape?: readonly number[];
  /** Graph name; defaults to the PyTorch name. */
  readonly graphName?: string;
}

/** Places parameters into a graph being built and records where each went. */
export class ParameterStore {
  private readonly placed: GraphParameter[] = [];
  private readonly used = new Set<string>();

  constructor(
    private readonly builder: GraphBuilder,
    private readonly placement: ParameterPlacement,
    private readonly weights: WeightMap | undefined,
  ) {
    if (placement === 'initializers' && weights === undefined) {
      throw new TypeError('weights are required when parameters are placed as initializers');
    }
  }

  /** Parameters in the order the graph first uses them. */
  get parameters(): readonly GraphParameter[] {
    return this.placed;
  }

  /** Names in the weight map that no parameter used (keys of a larger checkpoint). */
  unusedWeights(): string[] {
    return [...(this.weights?.keys() ?? [])].filter((name) => !this.used.has(name));
  }

  /**
   * Puts `spec` into the graph and returns the value name to consume.
   * @throws ModelError `missing_weight` / `bad_weight_shape` when the weight map lacks the
   *   parameter or holds it with another shape.
   */
  place(spec: ParameterSpec, options: PlaceOptions = {}): string {
    if (this.used.has(spec.name)) throw new RangeError(`parameter ${spec.name} is placed twice`);
    const transposed = options.transposed ?? false;
    if (transposed && spec.shape.length !== 2) throw new RangeError(`parameter ${spec.name} is not 2-D`);
    const graphShape =
      options.graphShape ?? (transposed ? [spec.shape[1]!, spec.shape[0]!] : [...spec.shape]);
    if (elementCount(graphShape) !== elementCount(spec.shape)) {
      throw new RangeError(`graph shape [${graphShape.join(', ')}] does not fit ${spec.name}`);
    }
    const parameter: GraphParameter = {
      ...spec,
      graphName: options.graphName ?? spec.name,
      graphShape,
      transposed,
    };
    if (this.placement === 'inputs') {
      this.builder.input(parameter.graphName, 'float32', graphShape);
    } else {
      const weight = this.weights?.get(spec.name);
      if (weight === undefined) throw new ModelError('missing_weight', `no weight ${spec.name}`);
      if (!compatibleShapes(weight.shape, spec.shape) || weight.data.length !== elementCount(spec.shape)) {
        throw new ModelError(
          'bad_weight_shape',
          `weight ${spec.name} has shape [${weight.shape.join(', ')}], expected [${spec.shape.join(', ')}]`,
        );
      }
      // float32Tensor copies, so an untransposed weight goes in without an extra copy.
      const data = transposed ? toGraphLayout(parameter, weight.data) : weight.data;
      this.builder.initializer(float32Tensor(parameter.graphName, graphShape, data));
    }
    this.used.add(spec.name);
    this.placed.push(parameter);
    return parameter.graphName;
  }
}

export interface NetworkBuildOptions {
  /** Linear-weight naming and op choice; default `named`. */
  readonly style?: EmissionStyle;
  /** Default `initializers`; `inputs` makes every parameter a float32 graph input in graph layout. */
  readonly parameters?: ParameterPlacement;
  /** PyTorch-layout weights by parameter name; required for `initializers`. */
  readonly weights?: WeightMap;
}

export interface BuiltNetwork {
  readonly model: ModelProto;
  /** Every parameter in first-use order, with its graph name, graph shape and transposition. */
  readonly parameters: readonly GraphParameter[];
  /** Weight-map keys the network did not use (empty for a matching checkpoint). */
  readonly unusedWeights: readonly string[];
}
