/**
 * Neural-network layers as graph fragments, shared by the U-Net and the text encoder:
 * Linear, Conv2d, GroupNorm, LayerNorm, SiLU, GELU, multi-head attention and GEGLU. Each
 * layer opens its module scope, so parameters get PyTorch names and nodes torch-export
 * names. Norms are decomposed into ReduceMean/Sub/Mul/Add/Sqrt/Div (no GroupNormalization
 * or LayerNormalization ops) because the gradient builder differentiates only the builder's
 * op vocabulary; the decompositions below are the exact forms it expects.
 */
import type { GraphBuilder } from './graph-builder';
import type { ParameterStore } from './parameters';

/**
 * How Linear weights appear: `named` stores every Linear weight transposed `[in, out]` under
 * its PyTorch name for MatMul; `pytorch-export` mimics torch.onnx.export — on 3-D inputs
 * MatMul with an anonymous transposed initializer `onnx::MatMul_<n>`, on 2-D inputs Gemm
 * (transB=1) with the `[out, in]` weight under its PyTorch name.
 */
export type EmissionStyle = 'named' | 'pytorch-export';

export interface NetContext {
  readonly b: GraphBuilder;
  readonly params: ParameterStore;
  readonly style: EmissionStyle;
}

/** `x·Wᵀ (+ bias)` for `x` of rank `rank`, in module `module` (relative to the current scope). */
export function linear(
  ctx: NetContext,
  x: string,
  module: string,
  inFeatures: number,
  outFeatures: number,
  options: { readonly bias: boolean; readonly rank: number },
): string {
  const { b, params } = ctx;
  return b.scope(module, () => {
    const path = b.modulePath;
    const weightSpec = {
      name: `${path}.weight`,
      shape: [outFeatures, inFeatures],
      role: 'linear.weight',
      fanIn: inFeatures,
    } as const;
    const placeBias = (): string =>
      params.place({ name: `${path}.bias`, shape: [outFeatures], role: 'linear.bias', fanIn: inFeatures });
    if (ctx.style === 'pytorch-export' && options.rank === 2) {
      const weight = params.place(weightSpec);
      return b.gemm(x, weight, options.bias ? placeBias() : undefined, true);
    }
    const weight = params.place(weightSpec, {
      transposed: true,
      graphName: ctx.style === 'pytorch-export' ? b.anonymousName('onnx::MatMul_') : weightSpec.name,
    });
    const product = b.matMul(x, weight);
    return options.bias ? b.add(placeBias(), product) : product;
  });
}

/** Conv2d with bias, square kernel, padding `pad`. */
export function conv2d(
  ctx: NetContext,
  x: string,
  module: string,
  inChannels: number,
  outChannels: number,
  options: { readonly kernel: number; readonly stride?: number; readonly pad: number },
): string {
  const { b, params } = ctx;
  return b.scope(module, () => {
    const path = b.modulePath;
    const fanIn = inChannels * options.kernel * options.kernel;
    const weight = params.place({
      name: `${path}.weight`,
      shape: [outChannels, inChannels, options.kernel, options.kernel],
      role: 'conv.weight',
      fanIn,
    });
    const bias = params.place({ name: `${path}.bias`, shape: [outChannels], role: 'conv.bias', fanIn });
    return b.conv(x, weight, bias, {
      kernel: options.kernel,
      pad: options.pad,
      ...(options.stride === undefined ? {} : { stride: options.stride }),
    });
  });
}

export interface GroupNormShape {
  readonly groups: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly eps: number;
}

/**
 * GroupNorm of `x` [B, C, H, W]: Reshape [0, G, -1] → ReduceMean(axes=[2]) → Sub → Mul(d, d)
 * → ReduceMean(axes=[2]) → Add eps → Sqrt → Div → Reshape [0, C, H, W] → Mul γ[C,1,1] →
 * Add β[C,1,1]. Biased variance, as torch.nn.GroupNorm.
 */
export function groupNorm(ctx: NetContext, x: string, module: string, shape: GroupNormShape): string {
  const { b, params } = ctx;
  return b.scope(module, () => {
    const path = b.modulePath;
    const { groups, channels, height, width, eps } = shape;
    const grouped = b.reshape(x, [0, groups, -1]);
    const mean = b.reduceMean(grouped, [2]);
    const centred = b.sub(grouped, mean);
    const variance = b.reduceMean(b.mul(centred, centred), [2]);
    const normalised = b.div(centred, b.sqrt(b.add(variance, eps)));
    const restored = b.reshape(normalised, [0, channels, height, width]);
    const fanIn = channels;
    const gamma = params.place(
      { name: `${path}.weight`, shape: [channels], role: 'norm.weight', fanIn },
      { graphShape: [channels, 1, 1] },
    );
    const beta = params.place(
      { name: `${path}.bias`, shape: [channels], role: 'norm.bias', fanIn },
      { graphShape: [channels, 1, 1] },
    );
    return b.add(b.mul(restored, gamma), beta);
  });
}

/**
 * LayerNorm over the last axis of size `dim`: ReduceMean(axes=[-1]) → Sub → Mul(d, d) →
 * ReduceMean(axes=[-1]) → Add eps → Sqrt → Div → Mul γ → Add β.
 */
export function layerNorm(ctx: NetContext, x: string, module: string, dim: number, eps: number): string {
  const { b, params } = ctx;
  return b.scope(module, () => {
    const path = b.modulePath;
    const mean = b.reduceMean(x, [-1]);
    const centred = b.sub(x, mean);
    const variance = b.reduceMean(b.mul(centred, centred), [-1]);
    const normalised = b.div(centred, b.sqrt(b.add(variance, eps)));
    const gamma = params.place({ name: `${path}.weight`, shape: [dim], role: 'norm.weight', fanIn: dim });
    const beta = params.place({ name: `${path}.bias`, shape: [dim], role: 'norm.bias', fanIn: dim });
    return b.add(b.mul(normalised, gamma), beta);
  });
}

/** SiLU: `x · σ(x)`. */
export function silu(b: GraphBuilder, x: string): string {
  return b.mul(x, b.sigmoid(x));
}

/** Exact GELU: `0.5 · x · (1 + erf(x / √2))`, the form torch exports. */
export function gelu(b: GraphBuilder, x: string): string {
  return b.mul(b.mul(x, b.add(b.erf(b.div(x, Math.SQRT2)), 1)), 0.5);
}

export interface AttentionOptions {
  /** Width of the query input and of the output. */
  readonly queryDim: number;
  /** Width of the key/value input (the text encoder width for cross-attention). */
  readonly contextDim: number;
  readonly heads: number;
  readonly headDim: number;
  /** Biases on the q/k/v projections (CLIP has them; diffusers' U-Net attention does not). */
  readonly qkvBias: boolean;
  /** Module names of the projections, e.g. `to_q`, `to_k`, `to_v`, `to_out.0`. */
  readonly names: {
    readonly query: string;
    readonly key: string;
    readonly value: string;
    readonly out: string;
  };
  /** An additive [L, L] score mask (causal attention), or undefined. */
  readonly scoreMask?: string;
}

/**
 * Multi-head scaled dot-product attention of `x` [B, N, queryDim] over `context`
 * [B, M, contextDim] (self-attention when `context` is `x`); heads split by
 * Reshape [0, -1, heads, headDim] and Transpose, scores through Softmax(axis=-1).
 */
export function attention(
  ctx: NetContext,
  x: string,
  context: string,
  module: string,
  options: AttentionOptions,
): string {
  const { b } = ctx;
  return b.scope(module, () => {
    const { queryDim, contextDim, heads, headDim, names } = options;
    const inner = heads * headDim;
    const q = linear(ctx, x, names.query, queryDim, inner, { bias: options.qkvBias, rank: 3 });
    const k = linear(ctx, context, names.key, contextDim, inner, { bias: options.qkvBias, rank: 3 });
    const v = linear(ctx, context, names.value, contextDim, inner, { bias: options.qkvBias, rank: 3 });
    const splitHeads = (value: string, perm: readonly number[]): string =>
      b.transpose(b.reshape(value, [0, -1, heads, headDim]), perm);
    const queries = splitHeads(q, [0, 2, 1, 3]);
    const keysT = splitHeads(k, [0, 2, 3, 1]);
    const values = splitHeads(v, [0, 2, 1, 3]);
    let scores = b.mul(b.matMul(queries, keysT), 1 / Math.sqrt(headDim));
    if (options.scoreMask !== undefined) scores = b.add(scores, options.scoreMask);
    const mixed = b.matMul(b.softmax(scores, -1), values);
    const merged = b.reshape(b.transpose(mixed, [0, 2, 1, 3]), [0, -1, inner]);
    return linear(ctx, merged, names.out, inner, queryDim, { bias: true, rank: 3 });
  });
}

/**
 * diffusers' FeedForward with GEGLU, in module `ff`: `net.0.proj` maps to 2×inner, the
 * halves are split, `hidden · GELU(gate)` goes through `net.2` back to `dim`.
 */
export function gegluFeedForward(ctx: NetContext, x: string, dim: number, inner: number): string {
  const { b } = ctx;
  return b.scope('ff', () => {
    const gated = b.scope('net.0', () => {
      const projected = linear(ctx, x, 'proj', dim, 2 * inner, { bias: true, rank: 3 });
      const [hidden, gate] = b.split(projected, -1, [inner, inner]) as [string, string];
      return b.mul(hidden, gelu(b, gate));
    });
    return linear(ctx, gated, 'net.2', inner, dim, { bias: true, rank: 3 });
  });
}
