/**
 * Configuration of the diffusers-compatible U-Net. Keys are diffusers' own snake_case
 * `config.json` keys (UNet2DConditionModel), so a diffusers config file parses straight into
 * it; keys this builder does not model are ignored. `attention_head_dim` keeps diffusers'
 * historical meaning: unless `num_attention_heads` is set it is the NUMBER of heads per
 * level (SD 1.x: 8 heads), and the head width is channels / heads.
 */
import { ModelError } from '../onnx/errors';

export type DownBlockType = 'CrossAttnDownBlock2D' | 'DownBlock2D';
export type UpBlockType = 'UpBlock2D' | 'CrossAttnUpBlock2D';

export interface UNetConfig {
  readonly in_channels: number;
  readonly out_channels: number;
  /** Height and width of the latent sample; static in the graph. */
  readonly sample_size: number;
  readonly block_out_channels: readonly number[];
  readonly down_block_types: readonly DownBlockType[];
  readonly up_block_types: readonly UpBlockType[];
  readonly layers_per_block: number;
  /** Heads per level (one number for all, or one per level) — see the file comment. */
  readonly attention_head_dim: number | readonly number[];
  /** When set (not null), the number of heads per level; overrides `attention_head_dim`. */
  readonly num_attention_heads?: number | readonly number[] | null;
  readonly cross_attention_dim: number;
  readonly norm_num_groups: number;
  readonly norm_eps: number;
  /** Default true (SD): the sinusoidal embedding is [cos, sin]. */
  readonly flip_sin_to_cos?: boolean;
  /** Default 0 (SD). */
  readonly freq_shift?: number;
  /** Transformer blocks per attention; default 1. */
  readonly transformer_layers_per_block?: number;
  /**
   * Accepted for diffusers compatibility and ignored: proj_in/proj_out are always Linear.
   * A checkpoint with 1×1-conv projections (`false`, SD 1.x) loads unchanged, because a
   * `[out, in, 1, 1]` weight is accepted where `[out, in]` is expected.
   */
  readonly use_linear_projection?: boolean;
}

/** Stable Diffusion 1.x's U-Net (as in its diffusers config.json, minus unmodelled keys). */
export const SD15_UNET_CONFIG: UNetConfig = Object.freeze<UNetConfig>({
  in_channels: 4,
  out_channels: 4,
  sample_size: 64,
  block_out_channels: [320, 640, 1280, 1280],
  down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
  layers_per_block: 2,
  attention_head_dim: 8,
  cross_attention_dim: 768,
  norm_num_groups: 32,
  norm_eps: 1e-5,
  flip_sin_to_cos: true,
  freq_shift: 0,
  use_linear_projection: false,
});

/**
 * A tiny two-level U-Net for tests and CPU smoke runs (8×8 latents, 798,084 parameters): one
 * cross-attention level at 32 channels, one plain level at 64, 4 heads, 48-wide text states.
 * Its decoder holds 16 masked layers (2 attentions × attn1/attn2 × to_q/to_k/to_v/to_out.0).
 */
export const TINY_UNET_CONFIG: UNetConfig = Object.freeze<UNetConfig>({
  in_channels: 4,
  out_channels: 4,
  sample_size: 8,
  block_out_channels: [32, 64],
  down_block_types: ['CrossAttnDownBlock2D', 'DownBlock2D'],
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D'],
  layers_per_block: 1,
  attention_head_dim: 4,
  cross_attention_dim: 48,
  norm_num_groups: 8,
  norm_eps: 1e-5,
});

/** A checked config with defaults applied and heads resolved per level. */
export interface ResolvedUNetConfig {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly sampleSize: number;
  readonly blockOutChannels: readonly number[];
  readonly downBlockTypes: readonly DownBlockType[];
  readonly upBlockTypes: readonly UpBlockType[];
  readonly layersPerBlock: number;
  /** Heads per level, in down-path order. */
  readonly heads: readonly number[];
  readonly crossAttentionDim: number;
  readonly groups: number;
  readonly normEps: number;
  readonly flipSinToCos: boolean;
  readonly freqShift: number;
  readonly transformerLayers: number;
}

function bad(why: string): never {
  throw new ModelError('bad_config', why);
}

function positiveInteger(value: unknown, key: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    bad(`${key} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function perLevel(value: unknown, levels: number, key: string): number[] {
  if (Array.isArray(value)) {
    if (value.length !== levels) bad(`${key} needs ${levels} entries, got ${value.length}`);
    return value.map((v, i) => positiveInteger(v, `${key}[${i}]`));
  }
  return Array.from({ length: levels }, () => positiveInteger(value, key));
}

function blockTypes<T extends string>(
  value: unknown,
  allowed: readonly T[],
  levels: number,
  key: string,
): T[] {
  if (!Array.isArray(value) || value.length !== levels) bad(`${key} needs ${levels} entries`);
  return value.map((v, i) => {
    if (!allowed.includes(v as T))
      bad(`${key}[${i}] is ${JSON.stringify(v)}, expected one of ${allowed.join(', ')}`);
    return v as T;
  });
}

/**
 * Checks a config (parsed JSON is fine) and resolves defaults.
 * @throws ModelError `bad_config` naming the first inconsistent key: channels not divisible
 *   by `norm_num_groups` or by the heads, a sample size the down path cannot halve, etc.
 */
export function resolveUNetConfig(config: unknown): ResolvedUNetConfig {
  if (typeof config !== 'object' || config === null) bad('a U-Net config is an object');
  const c = config as Record<string, unknown>;
  const channels = c.block_out_channels;
  if (!Array.isArray(channels) || channels.length === 0) bad('block_out_channels must be a non-empty array');
  const blockOutChannels = channels.map((v, i) => positiveInteger(v, `block_out_channels[${i}]`));
  const levels = blockOutChannels.length;
  const groups = positiveInteger(c.norm_num_groups, 'norm_num_groups');
  const headsSource =
    c.num_attention_heads === undefined || c.num_attention_heads === null
      ? c.attention_head_dim
      : c.num_attention_heads;
  const heads = perLevel(headsSource, levels, 'attention_head_dim');
  const sampleSize = positiveInteger(c.sample_size, 'sample_size');
  const normEps = c.norm_eps;
  if (typeof normEps !== 'number' || !(normEps > 0)) bad('norm_eps must be a positive number');
  const freqShift = c.freq_shift ?? 0;
  if (typeof freqShift !== 'number' || !Number.isFinite(freqShift)) bad('freq_shift must be a number');
  const flip = c.flip_sin_to_cos ?? true;
  if (typeof flip !== 'boolean') bad('flip_sin_to_cos must be a boolean');
  const resolved: ResolvedUNetConfig = {
    inChannels: positiveInteger(c.in_channels, 'in_channels'),
    outChannels: positiveInteger(c.out_channels, 'out_channels'),
    sampleSize,
    blockOutChannels,
    downBlockTypes: blockTypes(
      c.down_block_types,
      ['CrossAttnDownBlock2D', 'DownBlock2D'],
      levels,
      'down_block_types',
    ),
    upBlockTypes: blockTypes(c.up_block_types, ['UpBlock2D', 'CrossAttnUpBlock2D'], levels, 'up_block_types'),
    layersPerBlock: positiveInteger(c.layers_per_block, 'layers_per_block'),
    heads,
    crossAttentionDim: positiveInteger(c.cross_attention_dim, 'cross_attention_dim'),
    groups,
    normEps,
    flipSinToCos: flip,
    freqShift,
    transformerLayers: positiveInteger(c.transformer_layers_per_block ?? 1, 'transformer_layers_per_block'),
  };
  blockOutChannels.forEach((ch, i) => {
    if (ch % groups !== 0)
      bad(`block_out_channels[${i}] = ${ch} is not divisible by norm_num_groups ${groups}`);
    if (ch % heads[i]! !== 0)
      bad(`block_out_channels[${i}] = ${ch} is not divisible by its ${heads[i]} heads`);
  });
  const last = levels - 1;
  if (sampleSize % 2 ** last !== 0) bad(`sample_size ${sampleSize} cannot be halved ${last} times`);
  if (blockOutChannels[0]! % 2 !== 0) bad('block_out_channels[0] must be even (sinusoidal time embedding)');
  if (freqShift === blockOutChannels[0]! / 2) bad('freq_shift must differ from block_out_channels[0] / 2');
  return resolved;
}
