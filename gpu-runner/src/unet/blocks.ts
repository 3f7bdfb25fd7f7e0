/**
 * The U-Net's building blocks with diffusers' module names: ResnetBlock2D, Transformer2DModel
 * (linear projections, BasicTransformerBlock with self-attention, cross-attention and GEGLU
 * feed-forward), the down/mid/up blocks and the sinusoidal timestep projection. Each
 * function follows the forward pass of its diffusers class line by line; comments mark
 * where a constant (an epsilon, a head split) comes from diffusers rather than the config.
 */
import { ModelError } from '../onnx/errors';
import {
  attention,
  conv2d,
  gegluFeedForward,
  groupNorm,
  layerNorm,
  linear,
  silu,
  type NetContext,
} from '../onnx/nn';
import type { ResolvedUNetConfig } from './config';

/** A [B, C, H, W] activation with its static channel count and spatial size. */
export interface Activation {
  readonly value: string;
  readonly channels: number;
  readonly size: number;
}

/** Graph values every block reads. */
export interface UNetInputs {
  /** Time embedding [B, 4·C0] after time_embedding (before each resnet's SiLU). */
  readonly temb: string;
  readonly tembChannels: number;
  /** encoder_hidden_states [B, L, cross_attention_dim]. */
  readonly context: string;
}

/** diffusers' Transformer2DModel hardcodes its GroupNorm epsilon. */
const TRANSFORMER_GROUP_NORM_EPS = 1e-6;
/** BasicTransformerBlock's LayerNorms use PyTorch's default epsilon. */
const TRANSFORMER_LAYER_NORM_EPS = 1e-5;
/** diffusers' FeedForward default `mult`. */
const FEED_FORWARD_MULT = 4;

function checkGroups(config: ResolvedUNetConfig, channels: number, where: string): void {
  if (channels % config.groups !== 0) {
    throw new ModelError(
      'bad_config',
      `${where}: ${channels} channels are not divisible by ${config.groups} groups`,
    );
  }
}

/**
 * ResnetBlock2D in module `module`: norm1 → SiLU → conv1 → + time_emb_proj(SiLU(temb)) →
 * norm2 → SiLU → conv2, plus the input (through a 1×1 conv_shortcut when channels change).
 */
export function resnetBlock(
  ctx: NetContext,
  config: ResolvedUNetConfig,
  inputs: UNetInputs,
  x: Activation,
  module: string,
  outChannels: number,
): Activation {
  const { b } = ctx;
  return b.scope(module, () => {
    const { size } = x;
    checkGroups(config, x.channels, `${b.modulePath}.norm1`);
    const nonlinearity = (value: string): string => b.scope('nonlinearity', () => silu(b, value));
    let h = groupNorm(ctx, x.value, 'norm1', {
      groups: config.groups,
      channels: x.channels,
      height: size,
      width: size,
      eps: config.normEps,
    });
    h = conv2d(ctx, nonlinearity(h), 'conv1', x.channels, outChannels, { kernel: 3, pad: 1 });
    const temb = linear(ctx, nonlinearity(inputs.temb), 'time_emb_proj', inputs.tembChannels, outChannels, {
      bias: true,
      rank: 2,
    });
    h = b.add(h, b.unsqueeze(temb, [2, 3]));
    h = groupNorm(ctx, h, 'norm2', {
      groups: config.groups,
      channels: outChannels,
      height: size,
      width: size,
      eps: config.normEps,
    });
    h = conv2d(ctx, nonlinearity(h), 'conv2', outChannels, outChannels, { kernel: 3, pad: 1 });
    const shortcut =
      x.channels === outChannels
        ? x.value
        : conv2d(ctx, x.value, 'conv_shortcut', x.channels, outChannels, { kernel: 1, pad: 0 });
    return { value: b.add(shortcut, h), channels: outChannels, size };
  });
}

/** BasicTransformerBlock: pre-LN self-attention, cross-attention and GEGLU feed-forward. */
function basicTransformerBlock(
  ctx: NetContext,
  config: ResolvedUNetConfig,
  inputs: UNetInputs,
  tokens: string,
  module: string,
  dim: number,
  heads: number,
): string {
  const { b } = ctx;
  return b.scope(module, () => {
    const headDim = dim / heads;
    const names = { query: 'to_q', key: 'to_k', value: 'to_v', out: 'to_out.0' };
    let t = tokens;
    const n1 = layerNorm(ctx, t, 'norm1', dim, TRANSFORMER_LAYER_NORM_EPS);
    t = b.add(
      attention(ctx, n1, n1, 'attn1', {
        queryDim: dim,
        contextDim: dim,
        heads,
        headDim,
        qkvBias: false,
        names,
      }),
      t,
    );
    const n2 = layerNorm(ctx, t, 'norm2', dim, TRANSFORMER_LAYER_NORM_EPS);
    t = b.add(
      attention(ctx, n2, inputs.context, 'attn2', {
        queryDim: dim,
        contextDim: config.crossAttentionDim,
        heads,
        headDim,
        qkvBias: false,
        names,
      }),
      t,
    );
    const n3 = layerNorm(ctx, t, 'norm3', dim, TRANSFORMER_LAYER_NORM_EPS);
    return b.add(gegluFeedForward(ctx, n3, dim, dim * FEED_FORWARD_MULT), t);
  });
}

/**
 * Transformer2DModel with `use_linear_projection=True`: GroupNorm, [B,C,H,W] → [B,HW,C],
 * proj_in, transformer blocks, proj_out, back to [B,C,H,W], plus the residual.
 */
export function transformer2d(
  ctx: NetContext,
  config: ResolvedUNetConfig,
  inputs: UNetInputs,
  x: Activation,
  module: string,
  heads: number,
): Activation {
  const { b } = ctx;
  return b.scope(module, () => {
    const { channels, size } = x;
    const normed = groupNorm(ctx, x.value, 'norm', {
      groups: config.groups,
      channels,
      height: size,
      width: size,
      eps: TRANSFORMER_GROUP_NORM_EPS,
    });
    let t = b.reshape(b.transpose(normed, [0, 2, 3, 1]), [0, size * size, channels]);
    t = linear(ctx, t, 'proj_in', channels, channels, { bias: true, rank: 3 });
    for (let i = 0; i < config.transformerLayers; i++) {
      t = basicTransformerBlock(ctx, config, inputs, t, `transformer_blocks.${i}`, channels, heads);
    }
    t = linear(ctx, t, 'proj_out', channels, channels, { bias: true, rank: 3 });
    const spatial = b.transpose(b.reshape(t, [0, size, size, channels]), [0, 3, 1, 2]);
    return { value: b.add(spatial, x.value), channels, size };
  });
}

/**
 * `down_blocks.<level>`: resnets (each followed by an attention in CrossAttnDownBlock2D),
 * then `downsamplers.0.conv` (stride 2) except on the last level. Every output is pushed
 * onto `skips` for the up path.
 */
export function downBlock(
  ctx: NetContext,
  config: ResolvedUNetConfig,
  inputs: UNetInputs,
  x: Activation,
  level: number,
  skips: Activation[],
): Activation {
  const { b } = ctx;
  return b.scope(`down_blocks.${level}`, () => {
    const outChannels = config.blockOutChannels[level]!;
    const withAttention = config.downBlockTypes[level] === 'CrossAttnDownBlock2D';
    let h = x;
    for (let i = 0; i < config.layersPerBlock; i++) {
      h = resnetBlock(ctx, config, inputs, h, `resnets.${i}`, outChannels);
      if (withAttention) h = transformer2d(ctx, config, inputs, h, `attentions.${i}`, config.heads[level]!);
      skips.push(h);
    }
    if (level < config.blockOutChannels.length - 1) {
      const down = b.scope('downsamplers.0', () =>
        conv2d(ctx, h.value, 'conv', outChannels, outChannels, { kernel: 3, stride: 2, pad: 1 }),
      );
      h = { value: down, channels: outChannels, size: h.size / 2 };
      skips.push(h);
    }
    return h;
  });
}

/** UNetMidBlock2DCrossAttn: resnets.0 → attentions.0 → resnets.1. */
export function midBlock(
  ctx: NetContext,
  config: ResolvedUNetConfig,
  inputs: UNetInputs,
  x: Activation,
): Activation {
  return ctx.b.scope('mid_block', () => {
    const last = config.blockOutChannels.length - 1;
    let h = resnetBlock(ctx, config, inputs, x, 'resnets.0', x.channels);
    h = transformer2d(ctx, config, inputs, h, 'attentions.0', config.heads[last]!);
    return resnetBlock(ctx, config, inputs, h, 'resnets.1', x.channels);
  });
}

/**
 * `up_blocks.<index>`: layers_per_block + 1 resnets, each on the concatenation of the
 * running activation and the next skip (channel axis), each followed by an attention in
 * CrossAttnUpBlock2D; then `upsamplers.0` (nearest ×2 Resize, conv) except on the last.
 */
export function upBlock(
  ctx: NetContext,
  config: ResolvedUNetConfig,
  inputs: UNetInputs,
  x: Activation,
  index: number,
  skips: Activation[],
): Activation {
  const { b } = ctx;
  return b.scope(`up_blocks.${index}`, () => {
    const levels = config.blockOutChannels.length;
    const outChannels = config.blockOutChannels[levels - 1 - index]!;
    const heads = config.heads[levels - 1 - index]!;
    const withAttention = config.upBlockTypes[index] === 'CrossAttnUpBlock2D';
    let h = x;
    for (let i = 0; i < config.layersPerBlock + 1; i++) {
      const skip = skips.pop();
      if (skip === undefined || skip.size !== h.size) {
        throw new ModelError('bad_config', `up_blocks.${index}.resnets.${i} has no matching skip connection`);
      }
      const joined = {
        value: b.concat([h.value, skip.value], 1),
        channels: h.channels + skip.channels,
        size: h.size,
      };
      h = resnetBlock(ctx, config, inputs, joined, `resnets.${i}`, outChannels);
      if (withAttention) h = transformer2d(ctx, config, inputs, h, `attentions.${i}`, heads);
    }
    if (index < levels - 1) {
      const up = b.scope('upsamplers.0', () => {
        const resized = b.resizeNearest(h.value, [1, 1, 2, 2]);
        return conv2d(ctx, resized, 'conv', outChannels, outChannels, { kernel: 3, pad: 1 });
      });
      h = { value: up, channels: outChannels, size: h.size * 2 };
    }
    return h;
  });
}

/**
 * Timesteps (`time_proj`): `exp(−ln(10000)·i / (half − freq_shift))` frequencies times the
 * timestep, then [cos, sin] (flip_sin_to_cos) or [sin, cos]. `timestep` is float32 [B].
 */
export function timestepProjection(ctx: NetContext, config: ResolvedUNetConfig, timestep: string): string {
  const { b } = ctx;
  return b.scope('time_proj', () => {
    const half = config.blockOutChannels[0]! / 2;
    const exponent = Array.from(
      { length: half },
      (_, i) => (-Math.log(10000) * i) / (half - config.freqShift),
    );
    const frequencies = b.exp(b.constFloat('exponent', [1, half], exponent));
    const angles = b.mul(b.unsqueeze(timestep, [1]), frequencies);
    const sin = b.sin(angles);
    const cos = b.cos(angles);
    return b.concat(config.flipSinToCos ? [cos, sin] : [sin, cos], -1);
  });
}
