/**
 * The trainer's loss, appended to a forward model as ONNX nodes so one session computes
 * prediction, loss and (after `buildGradientGraph`) gradients: mean squared error between a
 * model output and a new `target` input, optionally weighted per sample the way diffusers'
 * SNR-weighted training does it (mean over each sample's elements, times its weight, mean over
 * the batch). The target input copies the output's declared or inferred shape, symbolic batch
 * included.
 */
import { type Dim } from './dims';
import { AutodiffError } from './errors';
import { topologicalOrder } from './gradient';
import {
  DataType,
  defaultOpset,
  float32Tensor,
  int64Tensor,
  type OnnxTypes as onnx,
} from '@maskunet/gpu-runner';
import { dimsFromValueInfo, inferShapes } from './shape-infer';

export interface MseLossOptions {
  /** The forward value compared with the target (e.g. the U-Net's noise prediction). */
  readonly output: string;
  /** Name of the new target input (default `"target"`), same shape as `output`. */
  readonly target?: string;
  /**
   * Name of a new per-sample weight input, shape `[batch]`. When given the loss is
   * `mean_n(w_n · mean_i((out − target)²_{n,i}))`; otherwise `mean((out − target)²)`.
   */
  readonly sampleWeights?: string;
  /** Name of the scalar loss value and output (default `"loss"`). */
  readonly loss?: string;
}

/**
 * Returns a copy of `model` with the MSE loss appended and added as an output.
 * @throws AutodiffError `bad_argument` (unknown output, names already taken, output rank
 *   unknown when per-sample weights need it).
 */
export function appendMseLoss(model: onnx.IModelProto, options: MseLossOptions): onnx.IModelProto {
  const graph = model.graph;
  if (!graph) throw new AutodiffError('malformed_graph', 'the model has no graph');
  const target = options.target ?? 'target';
  const loss = options.loss ?? 'loss';
  const opset = defaultOpset(model);
  const nodes = topologicalOrder(graph);
  const names = new Set<string>([
    ...(graph.input ?? []).map((v) => v.name ?? ''),
    ...(graph.initializer ?? []).map((t) => t.name ?? ''),
    ...nodes.flatMap((n) => n.output ?? []),
  ]);
  if (!names.has(options.output))
    throw new AutodiffError('bad_argument', `'${options.output}' is not a value of the graph`);
  const fresh = [target, loss, ...(options.sampleWeights ? [options.sampleWeights] : [])];
  for (const name of fresh) {
    if (names.has(name))
      throw new AutodiffError('bad_argument', `name '${name}' is already used in the graph`);
  }

  const declared = (graph.output ?? []).find((o) => o.name === options.output);
  const dims: readonly Dim[] | null =
    (declared && dimsFromValueInfo(declared)) ?? inferShapes(graph, nodes, opset).get(options.output).dims;
  const prefix = `${loss}/`;
  const n = (suffix: string): string => `${prefix}${suffix}`;
  const initializers: onnx.ITensorProto[] = [float32Tensor(n('two'), [], [2])];
  const extraNodes: onnx.INodeProto[] = [
    { opType: 'Sub', name: n('Sub'), input: [options.output, target], output: [n('diff')] },
    { opType: 'Pow', name: n('Pow'), input: [n('diff'), n('two')], output: [n('squared')] },
  ];
  const reduceMean = (
    name: string,
    input: string,
    axes: number[] | null,
    output: string,
  ): onnx.INodeProto => {
    // ReduceMean takes axes as an attribute up to opset 17 and as an input from 18.
    if (axes === null)
      return { opType: 'ReduceMean', name, input: [input], output: [output], attribute: [keepdims0] };
    if (opset >= 18) {
      initializers.push(int64Tensor(`${name}/axes`, [axes.length], axes));
      return {
        opType: 'ReduceMean',
        name,
        input: [input, `${name}/axes`],
        output: [output],
        attribute: [keepdims0],
      };
    }
    return {
      opType: 'ReduceMean',
      name,
      input: [input],
      output: [output],
      attribute: [keepdims0, { name: 'axes', type: 7, ints: axes }],
    };
  };
  const inputs: onnx.IValueInfoProto[] = [...(graph.input ?? []), tensorInput(target, dims)];
  if (options.sampleWeights) {
    if (!dims || dims.length < 1) {
      throw new AutodiffError(
        'bad_argument',
        `the rank of '${options.output}' is unknown; per-sample weights need it`,
      );
    }
    const sampleAxes = Array.from({ length: dims.length - 1 }, (_, i) => i + 1);
    extraNodes.push(
      sampleAxes.length > 0
        ? reduceMean(n('PerSample'), n('squared'), sampleAxes, n('per_sample'))
        : { opType: 'Identity', name: n('PerSample'), input: [n('squared')], output: [n('per_sample')] },
      {
        opType: 'Mul',
        name: n('Weight'),
        input: [n('per_sample'), options.sampleWeights],
        output: [n('weighted')],
      },
      reduceMean(n('Mean'), n('weighted'), null, loss),
    );
    inputs.push(tensorInput(options.sampleWeights, [dims[0] ?? null]));
  } else {
    extraNodes.push(reduceMean(n('Mean'), n('squared'), null, loss));
  }
  return {
    ...model,
    graph: {
      ...graph,
      input: inputs,
      initializer: [...(graph.initializer ?? []), ...initializers],
      node: [...(graph.node ?? []), ...extraNodes],
      output: [
        ...(graph.output ?? []),
        { name: loss, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [] } } } },
      ],
    },
  };
}

const keepdims0: onnx.IAttributeProto = { name: 'keepdims', type: 2, i: 0 };

function tensorInput(name: string, dims: readonly Dim[] | null): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DataType.FLOAT,
        ...(dims
          ? {
              shape: {
                dim: dims.map((d) =>
                  typeof d === 'number' ? { dimValue: d } : d === null ? {} : { dimParam: d },
                ),
              },
            }
          : {}),
      },
    },
  };
}
