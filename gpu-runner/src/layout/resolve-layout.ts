/**
 * Finds the masked layers of an SD-style ONNX U-Net by the paper's rule: every Linear weight
 * (an initializer feeding MatMul as input B, or Gemm as input B) inside `up_blocks` whose
 * module path has none of the components `time_emb_proj`, `ff`, `conv_shortcut`, `proj_in`,
 * `proj_out`. The module path comes from the consuming node's torch-export name
 * (`/up_blocks.1/attentions.0/transformer_blocks.0/attn1/to_q/MatMul` →
 * `up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q`), because exporters store Linear
 * weights under anonymous names (`onnx::MatMul_123`); a dotted parameter name
 * (`….to_q.weight`) is the fallback. Components are matched whole, so `ff` does not exclude a
 * module merely containing those letters. Works on this package's models and real exports.
 */
import { validateLayout, type MaskLayer, type MaskLayout, type MaskLimits } from '@maskunet/mask-store';

import { ModelError } from '../onnx/errors';
import { modelGraph } from '../onnx/model-io';
import type { ModelProto, NodeProto, ValueInfoProto } from '../onnx/proto';
import { int64ToNumber } from '../onnx/proto';
import { tensorDims } from '../onnx/tensor';

/** Module-path components that exclude a Linear from masking (the paper's list). */
export const EXCLUDED_COMPONENTS: readonly string[] = Object.freeze([
  'time_emb_proj',
  'ff',
  'conv_shortcut',
  'proj_in',
  'proj_out',
]);

export interface ResolvedMaskLayer extends MaskLayer {
  /** The initializer (or graph input) holding the weight. */
  readonly initializer: string;
  /** True when the graph stores the weight `[in, out]`, so a mask must be transposed to apply. */
  readonly transposed: boolean;
  /** Name of the node consuming the weight. */
  readonly node: string;
  readonly opType: 'MatMul' | 'Gemm';
}

/** A mask layout (usable wherever mask-store takes a `MaskLayout`) with the graph details. */
export interface ResolvedMaskLayout extends MaskLayout {
  readonly layers: readonly ResolvedMaskLayer[];
}

export interface ResolveLayoutOptions {
  /**
   * Also treat float graph inputs with a static 2-D shape as weights (a model built with
   * parameters as graph inputs, for training). Default false.
   */
  readonly weightsFromInputs?: boolean;
  /** Limits passed to mask-store's layout validation. */
  readonly limits?: Partial<MaskLimits>;
}

/**
 * The module path of the Linear a node belongs to: its name's scope segments joined by dots
 * (`/a.1/b/MatMul` → `a.1.b`), or undefined when the name has no scope.
 */
export function modulePathOfNode(nodeName: string): string | undefined {
  if (!nodeName.startsWith('/')) return undefined;
  const segments = nodeName.slice(1).split('/');
  segments.pop();
  return segments.length === 0 || segments.some((s) => s.length === 0) ? undefined : segments.join('.');
}

/** `a.b.weight` → `a.b`; undefined for anything not shaped like a dotted parameter name. */
export function modulePathOfParameter(name: string): string | undefined {
  const match = /^([A-Za-z_][\w]*(?:\.[\w]+)*)\.weight$/.exec(name);
  return match?.[1];
}

/** True when the paper's rule masks the Linear at `path`. */
export function isMaskedModulePath(path: string): boolean {
  const components = path.split('.');
  return components.includes('up_blocks') && !components.some((c) => EXCLUDED_COMPONENTS.includes(c));
}

function attributeInt(node: NodeProto, name: string, fallback: number): number {
  const attribute = (node.attribute ?? []).find((a) => a.name === name);
  return attribute === undefined ? fallback : int64ToNumber(attribute.i);
}

function staticDims(info: ValueInfoProto): number[] | undefined {
  const tensorType = info.type?.tensorType;
  // FLOAT (1) or FLOAT16 (10); a trainer's weight inputs are one of these.
  if (tensorType?.elemType !== 1 && tensorType?.elemType !== 10) return undefined;
  const dims = tensorType.shape?.dim ?? [];
  const out: number[] = [];
  for (const dim of dims) {
    if (dim.dimValue === null || dim.dimValue === undefined || (dim.dimParam ?? '') !== '') return undefined;
    out.push(int64ToNumber(dim.dimValue));
  }
  return out;
}

/**
 * Resolves the masked layers of `model` in graph order.
 * @throws ModelError `no_masked_layers` when none match; `duplicate_layer` when two weights
 *   resolve to one module path; `shared_weight` when a masked weight feeds several nodes;
 *   `bad_weight_shape` for a masked weight that is not 2-D; `malformed_model` without a graph.
 * @throws MaskFormatError `bad_layout` / `limit_exceeded` when names or sizes break
 *   mask-store's layout rules.
 */
export function resolveMaskLayout(model: ModelProto, options: ResolveLayoutOptions = {}): ResolvedMaskLayout {
  const graph = modelGraph(model);
  const weightDims = new Map<string, number[]>();
  for (const tensor of graph.initializer) weightDims.set(tensor.name ?? '', tensorDims(tensor));
  if (options.weightsFromInputs === true) {
    for (const input of graph.input) {
      const name = input.name ?? '';
      const dims = staticDims(input);
      if (dims !== undefined && !weightDims.has(name)) weightDims.set(name, dims);
    }
  }
  const consumers = new Map<string, number>();
  for (const node of graph.node) {
    for (const input of new Set(node.input ?? [])) consumers.set(input, (consumers.get(input) ?? 0) + 1);
  }

  const layers: ResolvedMaskLayer[] = [];
  const byPath = new Map<string, string>();
  for (const node of graph.node) {
    const opType = node.opType;
    if (opType !== 'MatMul' && opType !== 'Gemm') continue;
    if ((node.domain ?? '') !== '' && node.domain !== 'ai.onnx') continue;
    const nodeName = node.name ?? '';
    const weight = node.input?.[1];
    if (weight === undefined || weight === '') continue;
    const dims = weightDims.get(weight);
    if (dims === undefined) continue;
    const path = modulePathOfNode(nodeName) ?? modulePathOfParameter(weight);
    if (path === undefined || !isMaskedModulePath(path)) continue;
    if (dims.length !== 2) {
      throw new ModelError(
        'bad_weight_shape',
        `weight ${weight} of ${path} has shape [${dims.join(', ')}], not 2-D`,
      );
    }
    if ((consumers.get(weight) ?? 0) > 1) {
      throw new ModelError(
        'shared_weight',
        `weight ${weight} of ${path} feeds ${consumers.get(weight)} nodes`,
      );
    }
    const previous = byPath.get(path);
    if (previous !== undefined) {
      throw new ModelError('duplicate_layer', `weights ${previous} and ${weight} both resolve to ${path}`);
    }
    byPath.set(path, weight);
    // MatMul computes x·B, so B is [in, out]; Gemm with transB=1 holds PyTorch's [out, in].
    const transposed = opType === 'MatMul' || attributeInt(node, 'transB', 0) === 0;
    const [rows, cols] = dims as [number, number];
    layers.push(
      Object.freeze({
        name: path,
        shape: Object.freeze(transposed ? ([cols, rows] as const) : ([rows, cols] as const)),
        initializer: weight,
        transposed,
        node: nodeName,
        opType,
      }),
    );
  }
  if (layers.length === 0) {
    throw new ModelError(
      'no_masked_layers',
      'no MatMul/Gemm weight inside up_blocks matches the masking rule (are node names module-scoped?)',
    );
  }
  validateLayout({ layers }, options.limits);
  return Object.freeze({ layers: Object.freeze(layers) });
}
