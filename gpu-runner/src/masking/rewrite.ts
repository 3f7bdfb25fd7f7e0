/**
 * The mask rewrite pass: for each masked Linear weight W, add a uint8 graph input
 * `mask:<module path>` and route the weight through `Mul(W, Cast(mask))` before its consumer.
 * The mask input is declared without a shape, so one session serves both forms:
 *   - a shared mask in W's stored orientation (`[in, out]` for a transposed MatMul weight,
 *     `[out, in]` for Gemm with transB), or
 *   - per-sample masks `[B, …]` with the same trailing dims, which broadcast through `Mul`
 *     into a batched MatMul (`[B, L, in] × [B, in, out]`), so one call serves samples of
 *     different variants.
 * Feeding a tensor under an initializer's name is silently ignored by onnxruntime-node
 * (PLATFORM-NOTES.md), which is why masks are real graph inputs and the graph is rewritten.
 */
import { ModelError } from '../onnx/errors';
import { modelGraph } from '../onnx/model-io';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { onnx, type GraphProto, type ModelProto } from '../onnx/proto';
import { tensorDims } from '../onnx/tensor';

/** One masked weight as the layout resolver reports it. */
export interface MaskTarget {
  /** Module path, the layout's layer name. */
  readonly name: string;
  /** Name of the weight initializer. */
  readonly initializer: string;
  /** `[out, in]` in PyTorch order. */
  readonly shape: readonly [number, number];
  /** True when the initializer is stored `[in, out]` (the usual MatMul export). */
  readonly transposed: boolean;
}

/** What the rewritten graph expects for one masked layer. */
export interface MaskInput {
  readonly layer: string;
  /** Graph input name: `mask:<module path>`. */
  readonly input: string;
  /** The weight's stored dims, i.e. the trailing dims of the mask to feed. */
  readonly storedShape: readonly [number, number];
  /** Whether the mask must be transposed from the bank's `[out, in]` before feeding. */
  readonly transposed: boolean;
  /** False for Gemm consumers: only a shared (2-D) mask can be fed. */
  readonly perSample: boolean;
}

export const MASK_INPUT_PREFIX = 'mask:';

/**
 * Returns a rewritten copy of `model` (the input is not modified) and the mask inputs, in
 * the order of `targets`.
 * @throws ModelError `missing_weight` when an initializer is absent, `shared_weight` when it
 *   feeds more than one node, `bad_weight_shape` when its dims disagree with the target.
 */
export function rewriteForMasks(
  model: ModelProto,
  targets: readonly MaskTarget[],
): { model: ModelProto; inputs: MaskInput[] } {
  const copy = onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish());
  const graph: GraphProto = modelGraph(copy);
  const initializers = new Map(graph.initializer.map((t) => [t.name ?? '', t]));
  const consumers = new Map<string, OnnxTypes.INodeProto[]>();
  for (const node of graph.node) {
    for (const input of node.input ?? []) {
      if (!initializers.has(input)) continue;
      const list = consumers.get(input) ?? [];
      list.push(node);
      consumers.set(input, list);
    }
  }
  const inputs: MaskInput[] = [];
  const added: OnnxTypes.INodeProto[] = [];
  for (const target of targets) {
    const weight = initializers.get(target.initializer);
    if (weight === undefined)
      throw new ModelError('missing_weight', `no initializer ${target.initializer} for ${target.name}`);
    const users = consumers.get(target.initializer) ?? [];
    if (users.length !== 1) {
      throw new ModelError(
        'shared_weight',
        `${target.initializer} feeds ${users.length} nodes; a masked weight must feed one`,
      );
    }
    const user = users[0]!;
    const dims = tensorDims(weight);
    const [out, inDim] = target.shape;
    const stored: [number, number] = target.transposed ? [inDim, out] : [out, inDim];
    if (dims.length !== 2 || dims[0] !== stored[0] || dims[1] !== stored[1]) {
      throw new ModelError(
        'bad_weight_shape',
        `${target.initializer} has dims [${dims.join(', ')}], expected [${stored.join(', ')}]`,
      );
    }
    const input = MASK_INPUT_PREFIX + target.name;
    const scope = (user.name ?? '').replace(/\/[^/]*$/, '') || `/${target.name.replaceAll('.', '/')}`;
    const cast = `${input}/cast`;
    const masked = `${target.initializer}/masked`;
    graph.input.push(
      onnx.ValueInfoProto.create({
        name: input,
        type: { tensorType: { elemType: onnx.TensorProto.DataType.UINT8 } },
      }),
    );
    added.push(
      onnx.NodeProto.create({
        name: `${scope}/MaskCast`,
        opType: 'Cast',
        input: [input],
        output: [cast],
        attribute: [
          onnx.AttributeProto.create({
            name: 'to',
            type: onnx.AttributeProto.AttributeType.INT,
            i: weight.dataType ?? onnx.TensorProto.DataType.FLOAT,
          }),
        ],
      }),
      onnx.NodeProto.create({
        name: `${scope}/MaskMul`,
        opType: 'Mul',
        input: [target.initializer, cast],
        output: [masked],
      }),
    );
    user.input = (user.input ?? []).map((name) => (name === target.initializer ? masked : name));
    inputs.push({
      layer: target.name,
      input,
      storedShape: stored,
      transposed: target.transposed,
      perSample: user.opType === 'MatMul',
    });
  }
  // Mask nodes read only graph inputs and initializers, so putting them first keeps the
  // node list topologically sorted.
  graph.node.unshift(...added);
  return { model: copy, inputs };
}
