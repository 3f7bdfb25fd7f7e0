/**
 * Reverse-mode differentiation of an ONNX graph into an ONNX graph. `buildGradientGraph` keeps
 * the forward nodes, walks them in reverse topological order from a scalar loss, and appends the
 * backward of every node that lies between a `wrt` input and the loss, written in standard
 * opset ops so onnxruntime-node (which registers no gradient kernels) runs forward and backward
 * as one session. Contributions to a value used by several consumers are summed; values that
 * do not depend on a parameter (ids, timesteps, shapes, masks) get no backward at all. The
 * result's outputs are the loss, any `keepOutputs`, and `grad:<name>` per `wrt` input; nodes
 * and initializers no output needs are dropped.
 */
import { allNumeric, productDims, type Dim } from './dims';
import { GraphEmitter } from './emitter';
import { AutodiffError } from './errors';
import { GradContext } from './grad-context';
import {
  attrInts,
  defaultOpset,
  isFloatType,
  toNumber,
  type IntLike,
  type OnnxTypes as onnx,
} from '@maskunet/gpu-runner';
import { GRADIENT_RULES, NON_DIFFERENTIABLE_OPS } from './rules';
import { inferShapes, type ShapeTable } from './shape-infer';

/** Default-domain opsets the rules are written for (ScatterND reduction needs 16 for Gather). */
export const MIN_OPSET = 13;
export const MAX_OPSET = 17;

export interface GradientGraphOptions {
  /** Name of the scalar loss value. */
  readonly loss: string;
  /** Graph inputs to differentiate with respect to (parameters are fed as inputs). */
  readonly wrt: readonly string[];
  /** Further forward values to expose as outputs (e.g. the prediction, for logging). */
  readonly keepOutputs?: readonly string[];
  /**
   * Values treated as constants: no gradient flows back through them. ONNX has no
   * stop-gradient op, so this is how a straight-through estimator is written
   * (`hard + (soft − Identity(soft))` with the Identity's output listed here).
   */
  readonly stopGradients?: readonly string[];
  /** Prefix of generated value names (default `"grad/"`). */
  readonly namePrefix?: string;
}

/** The output name carrying the gradient of graph input `name`. */
export function gradientName(name: string): string {
  return `grad:${name}`;
}

/**
 * Builds the training graph: forward, loss, and `grad:<name>` for every `wrt` input. A `wrt`
 * input the loss does not depend on gets a zero gradient of its shape.
 * @throws AutodiffError `unsupported_op` (an op on a differentiable path has no rule),
 *   `unsupported_attribute`, `unsupported_opset`, `unknown_shape`, `dynamic_attribute`,
 *   `bad_loss` (missing, non-float or not a single element), `bad_argument` (a `wrt` name that is
 *   not a graph input, is an initializer, or is not float; an unknown `keepOutputs` name; a
 *   `grad:` name already taken), `malformed_graph` (cycle or undefined value).
 */
export function buildGradientGraph(model: onnx.IModelProto, options: GradientGraphOptions): onnx.IModelProto {
  const graph = model.graph;
  if (!graph) throw new AutodiffError('malformed_graph', 'the model has no graph');
  const opset = defaultOpset(model);
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new AutodiffError(
      'unsupported_opset',
      `default-domain opset ${opset} is outside ${MIN_OPSET}–${MAX_OPSET}`,
    );
  }
  const nodes = topologicalOrder(graph);
  const shapes = inferShapes(graph, nodes, opset);
  const produced = new Set<string>([
    ...(graph.input ?? []).map((v) => v.name ?? ''),
    ...(graph.initializer ?? []).map((t) => t.name ?? ''),
    ...nodes.flatMap((n) => n.output ?? []),
  ]);
  validateArguments(graph, options, shapes, produced);

  const wrt = new Set(options.wrt);
  const requiresGrad = propagateRequiresGrad(nodes, wrt, shapes, new Set(options.stopGradients ?? []));

  const usedNames = new Set<string>([...produced, ...nodes.map((n) => n.name ?? '')]);
  const em = new GraphEmitter(usedNames, options.namePrefix ?? 'grad/');
  for (const node of nodes) {
    if (node.opType !== 'Transpose') continue;
    const [input, output] = [node.input?.[0], node.output?.[0]];
    const rank = input ? shapes.rank(input) : undefined;
    const perm =
      attrInts(node, 'perm') ?? (rank === undefined ? undefined : [...Array(rank).keys()].reverse());
    if (input && output && perm) em.noteTranspose(output, input, perm);
  }

  const contributions = new Map<string, string[]>();
  const add = (name: string, grad: string): void => {
    const list = contributions.get(name);
    if (list) list.push(grad);
    else contributions.set(name, [grad]);
  };
  /** Sums the contributions to `name` once and replaces them by the sum. */
  const accumulated = (name: string): string | undefined => {
    const list = contributions.get(name);
    if (!list || list.length === 0) return undefined;
    if (list.length > 1) {
      const sum = list.length === 2 ? em.op('Add', list) : em.op('Sum', list);
      contributions.set(name, [sum]);
      return sum;
    }
    return list[0];
  };

  add(options.loss, seedGradient(options.loss, shapes, em));

  for (let n = nodes.length - 1; n >= 0; n--) {
    const node = nodes[n];
    if (!node) continue;
    const outputs = node.output ?? [];
    if (!outputs.some((o) => requiresGrad.has(o))) continue;
    const gradOut = outputs.map((o) => (o && requiresGrad.has(o) ? accumulated(o) : undefined));
    if (gradOut.every((g) => g === undefined)) continue;
    const opType = node.opType ?? '';
    const rule = GRADIENT_RULES[opType];
    if (!rule) {
      throw new AutodiffError(
        'unsupported_op',
        `no gradient rule for ${opType} node '${node.name ?? ''}' producing '${outputs[0] ?? ''}', which lies between a wrt input and the loss`,
      );
    }
    const differentiable = new Set(rule.differentiableInputs(node));
    const needs = (node.input ?? []).map(
      (name, i) => name !== '' && differentiable.has(i) && requiresGrad.has(name),
    );
    if (!needs.some(Boolean)) continue;
    const ctx = new GradContext(node, em, shapes, gradOut, needs, opset);
    const grads = rule.backward(ctx);
    (node.input ?? []).forEach((name, i) => {
      const g = grads[i];
      if (g !== undefined && needs[i]) add(name, g);
    });
  }

  const gradOutputs = finishGradients(options.wrt, accumulated, em, shapes);
  const outputs: onnx.IValueInfoProto[] = [
    valueInfo(options.loss, shapes),
    ...(options.keepOutputs ?? [])
      .filter((name) => name !== options.loss)
      .map((name) => valueInfo(name, shapes)),
    ...options.wrt.map((name, i) => {
      const input = (graph.input ?? []).find((v) => v.name === name);
      return { ...input, name: gradOutputs[i] ?? gradientName(name) };
    }),
  ];
  const { nodes: kept, initializers } = prune(
    [...nodes, ...em.nodes],
    [...(graph.initializer ?? []), ...em.initializers],
    outputs.map((o) => o.name ?? ''),
  );
  return {
    irVersion: model.irVersion == null ? 8 : toNumber(model.irVersion as IntLike),
    opsetImport: model.opsetImport ?? [{ domain: '', version: opset }],
    producerName: 'maskunet-autodiff',
    producerVersion: '1',
    graph: {
      name: `${graph.name ?? 'graph'}_train`,
      docString: `gradient of '${options.loss}' w.r.t. ${options.wrt.length} inputs; ${em.nodes.length} backward nodes emitted`,
      input: graph.input ?? [],
      initializer: initializers,
      node: kept,
      output: outputs,
    },
  };
}

function validateArguments(
  graph: onnx.IGraphProto,
  options: GradientGraphOptions,
  shapes: ShapeTable,
  produced: ReadonlySet<string>,
): void {
  if (!produced.has(options.loss))
    throw new AutodiffError('bad_loss', `loss '${options.loss}' is not a value of the graph`);
  const loss = shapes.get(options.loss);
  if (loss.elemType !== null && !isFloatType(loss.elemType)) {
    throw new AutodiffError('bad_loss', `loss '${options.loss}' is not a float tensor`);
  }
  if (!loss.dims || productDims(loss.dims) !== 1) {
    throw new AutodiffError(
      'bad_loss',
      `loss '${options.loss}' must be a single element; its shape is ${formatDims(loss.dims)}`,
    );
  }
  const inputs = new Set((graph.input ?? []).map((v) => v.name ?? ''));
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const seen = new Set<string>();
  for (const name of options.wrt) {
    if (seen.has(name)) throw new AutodiffError('bad_argument', `wrt lists '${name}' twice`);
    seen.add(name);
    if (initializers.has(name)) {
      // onnxruntime-node ignores feeds that name an initializer, so such a "parameter" would
      // silently keep its stored value; parameters must be plain graph inputs.
      throw new AutodiffError(
        'bad_argument',
        `wrt '${name}' is an initializer; feed parameters as graph inputs`,
      );
    }
    if (!inputs.has(name)) throw new AutodiffError('bad_argument', `wrt '${name}' is not a graph input`);
    const type = shapes.get(name).elemType;
    if (!isFloatType(type)) throw new AutodiffError('bad_argument', `wrt '${name}' is not a float input`);
  }
  for (const name of options.keepOutputs ?? []) {
    if (!produced.has(name))
      throw new AutodiffError('bad_argument', `keepOutputs '${name}' is not a value of the graph`);
  }
}

function formatDims(dims: readonly Dim[] | null): string {
  return dims ? `[${dims.map((d) => d ?? '?').join(', ')}]` : 'unknown';
}

/** Orders nodes so every input is produced before use (Kahn's algorithm, stable). */
export function topologicalOrder(graph: onnx.IGraphProto): onnx.INodeProto[] {
  const nodes = graph.node ?? [];
  const available = new Set<string>([
    '',
    ...(graph.input ?? []).map((v) => v.name ?? ''),
    ...(graph.initializer ?? []).map((t) => t.name ?? ''),
  ]);
  const producer = new Map<string, number>();
  nodes.forEach((node, i) => (node.output ?? []).forEach((o) => producer.set(o, i)));
  const waiting = nodes.map((node) => new Set((node.input ?? []).filter((name) => !available.has(name))));
  const consumers = new Map<string, number[]>();
  waiting.forEach((names, i) => {
    for (const name of names) {
      if (!producer.has(name)) {
        throw new AutodiffError(
          'malformed_graph',
          `node '${nodes[i]?.name ?? i}' reads '${name}', which nothing produces`,
        );
      }
      const list = consumers.get(name);
      if (list) list.push(i);
      else consumers.set(name, [i]);
    }
  });
  const order: onnx.INodeProto[] = [];
  const ready = waiting.flatMap((names, i) => (names.size === 0 ? [i] : []));
  // Process in original index order where possible so the emitted graph reads like the input.
  for (let head = 0; head < ready.length; head++) {
    const i = ready[head] ?? 0;
    const node = nodes[i];
    if (!node) continue;
    order.push(node);
    for (const output of node.output ?? []) {
      for (const c of consumers.get(output) ?? []) {
        const w = waiting[c];
        if (w?.delete(output) && w.size === 0) ready.push(c);
      }
    }
  }
  if (order.length !== nodes.length) throw new AutodiffError('malformed_graph', 'the graph has a cycle');
  return order;
}

function propagateRequiresGrad(
  nodes: readonly onnx.INodeProto[],
  wrt: ReadonlySet<string>,
  shapes: ShapeTable,
  stopped: ReadonlySet<string>,
): Set<string> {
  const requiresGrad = new Set(wrt);
  for (const node of nodes) {
    const opType = node.opType ?? '';
    if (NON_DIFFERENTIABLE_OPS.has(opType)) continue;
    const rule = GRADIENT_RULES[opType];
    const inputs = node.input ?? [];
    // Unknown ops propagate conservatively so that reaching one from the loss is an error.
    const positions = rule ? rule.differentiableInputs(node) : inputs.map((_, i) => i);
    if (!positions.some((i) => requiresGrad.has(inputs[i] ?? ''))) continue;
    for (const output of node.output ?? []) {
      const type = shapes.get(output).elemType;
      if (output && !stopped.has(output) && (type === null || isFloatType(type))) requiresGrad.add(output);
    }
  }
  return requiresGrad;
}

function seedGradient(loss: string, shapes: ShapeTable, em: GraphEmitter): string {
  const dims = shapes.get(loss).dims ?? [];
  return em.filled(allNumeric(dims) ? dims : dims.map(() => 1), 1);
}

/** Names each parameter's summed gradient `grad:<name>`, renaming in place where possible. */
function finishGradients(
  wrt: readonly string[],
  accumulated: (name: string) => string | undefined,
  em: GraphEmitter,
  shapes: ShapeTable,
): string[] {
  const renamed = new Map<string, string>();
  const isEmitted = (value: string): boolean => em.nodes.some((node) => node.output?.includes(value));
  return wrt.map((name) => {
    const target = gradientName(name);
    if (!em.reserve(target))
      throw new AutodiffError('bad_argument', `output name '${target}' is already used`);
    const raw = accumulated(name);
    if (raw === undefined) {
      const dims = shapes.get(name).dims;
      const shape = dims && allNumeric(dims) ? em.ints(dims) : em.shapeOf(name);
      em.op(
        'ConstantOfShape',
        [shape],
        { value: { tensor: { dataType: 1, dims: [1], floatData: [0] } } },
        target,
      );
      return target;
    }
    const current = renamed.get(raw) ?? raw;
    if (current === raw && isEmitted(raw)) {
      // The gradient is an emitted value no other parameter claimed: give it the output name.
      for (const node of em.nodes) {
        node.input = (node.input ?? []).map((v) => (v === raw ? target : v));
        node.output = (node.output ?? []).map((v) => (v === raw ? target : v));
      }
      renamed.set(raw, target);
    } else {
      em.op('Identity', [current], {}, target);
    }
    return target;
  });
}

function valueInfo(name: string, shapes: ShapeTable): onnx.IValueInfoProto {
  const { elemType, dims } = shapes.get(name);
  return {
    name,
    type: {
      tensorType: {
        elemType: elemType ?? 1,
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

/** Drops nodes and initializers that no output needs. */
function prune(
  nodes: readonly onnx.INodeProto[],
  initializers: readonly onnx.ITensorProto[],
  outputs: readonly string[],
): { nodes: onnx.INodeProto[]; initializers: onnx.ITensorProto[] } {
  const needed = new Set(outputs);
  const keep = new Array<boolean>(nodes.length).fill(false);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    if (!node || !(node.output ?? []).some((o) => needed.has(o))) continue;
    keep[i] = true;
    for (const input of node.input ?? []) needed.add(input);
  }
  return {
    nodes: nodes.filter((_, i) => keep[i]),
    initializers: initializers.filter((t) => needed.has(t.name ?? '')),
  };
}
