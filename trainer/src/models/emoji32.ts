/**
 * The base model the product ships: a text-conditioned pixel-space U-Net at 32×32 with
 * cross-attention in its up blocks (so there is something to mask), and a small text encoder
 * over a word vocabulary built from the emoji prompts. Sized for training on two CPU cores:
 * ~4.2 M U-Net parameters, ~0.36 s forward at batch 64 (measured; see docs/results).
 */
import type { UNetConfig } from '@maskunet/gpu-runner';
import type { TextEncoderConfig } from '@maskunet/gpu-runner';
import { buildVocabulary, type Vocabulary } from '@maskunet/gpu-runner';
import type { EmojiEntry } from '../data/emoji-catalog';
import type { ModelPackageInput } from '@maskunet/gpu-runner/node';
import type { PredictionType } from '@maskunet/gpu-runner';
import type { BetaSchedule } from '@maskunet/gpu-runner';

export const EMOJI32_MODEL_ID = 'emoji32-base';

export const EMOJI32_UNET: UNetConfig = Object.freeze<UNetConfig>({
  in_channels: 3,
  out_channels: 3,
  sample_size: 32,
  block_out_channels: [32, 64, 128],
  down_block_types: ['DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
  up_block_types: ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'],
  layers_per_block: 1,
  attention_head_dim: 4,
  cross_attention_dim: 128,
  norm_num_groups: 16,
  norm_eps: 1e-5,
});

/** Sequence length of prompts (words + [BOS]/[EOS]). */
export const EMOJI32_PROMPT_LENGTH = 16;

export function emoji32TextEncoder(vocabularySize: number): TextEncoderConfig {
  return {
    vocab_size: vocabularySize,
    max_position_embeddings: EMOJI32_PROMPT_LENGTH,
    hidden_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 256,
    layer_norm_eps: 1e-5,
  };
}

/** Sampler settings a package recommends (the worker and CLI use them when a request names none). */
export type GenerationDefaults = Pick<ModelPackageInput['defaults'], 'steps' | 'sampler' | 'guidance'>;

/** Until a trained model's samplers are compared (bench/base-samplers.ts), the fast one. */
export const EMOJI32_GENERATION_DEFAULTS: GenerationDefaults = Object.freeze({
  steps: 20,
  sampler: 'dpmpp2m',
  guidance: 3,
});

/** How each sample's squared error is weighted in the training loss. */
export type LossWeighting =
  | { readonly kind: 'uniform' }
  /** Min-SNR-γ (Hang et al. 2023), in the form diffusers' training scripts use. */
  | { readonly kind: 'min-snr'; readonly gamma: number }
  /** v-prediction only: min(SNR + 1, γ)/(SNR + 1) (see `cappedVelocityWeights`). */
  | { readonly kind: 'capped-velocity'; readonly gamma: number };

/**
 * A base-model recipe: what the network predicts, on which noise schedule, with which loss
 * weighting, under which package id. The networks (U-Net, text encoder) are the same for all.
 */
export interface BaseRecipe {
  readonly name: string;
  /** The id of the package it exports (and of the banks made for it). */
  readonly modelId: string;
  readonly predictionType: PredictionType;
  readonly betaSchedule: BetaSchedule;
  readonly rescaleBetasZeroSnr: boolean;
  readonly lossWeighting: LossWeighting;
}

/**
 * v1 (shipped as `emoji32-base`): ε-prediction on cosine betas. Only DDPM at 50–100 steps gave
 * clean images — the cosine schedule's ᾱ₉₉₉ ≈ 1e-9 makes ε → x̂0 unstable at high noise, and
 * deterministic samplers start there.
 */
export const EMOJI32_V1_RECIPE: BaseRecipe = Object.freeze({
  name: 'v1',
  modelId: EMOJI32_MODEL_ID,
  predictionType: 'epsilon',
  // Cosine betas: at 32×32 the linear schedule spends most steps on near-pure noise.
  betaSchedule: 'squaredcos_cap_v2',
  rescaleBetasZeroSnr: false,
  lossWeighting: Object.freeze({ kind: 'uniform' }),
});

/**
 * v2: v-prediction on the cosine schedule rescaled to zero terminal SNR (Lin et al. 2024), so
 * the first step of a deterministic sampler sees pure noise, as in training, and predicts x̂0
 * directly (v at ᾱ = 0 is −x0) instead of dividing an ε error by sqrt(ᾱ) ≈ 3e-5; loss weighted
 * by {@link LossWeighting} `capped-velocity` with γ = 5 for faster convergence.
 */
export const EMOJI32_V2_RECIPE: BaseRecipe = Object.freeze({
  name: 'v2',
  modelId: 'emoji32-v2',
  predictionType: 'v_prediction',
  betaSchedule: 'squaredcos_cap_v2',
  rescaleBetasZeroSnr: true,
  lossWeighting: Object.freeze({ kind: 'capped-velocity', gamma: 5 }),
});

export const BASE_RECIPES: Readonly<Record<string, BaseRecipe>> = Object.freeze({
  v1: EMOJI32_V1_RECIPE,
  v2: EMOJI32_V2_RECIPE,
});

/** Everything but the configs that depend on the vocabulary. */
export function emoji32Package(
  vocabulary: Vocabulary,
  provenance?: Record<string, unknown>,
  generation: GenerationDefaults = EMOJI32_GENERATION_DEFAULTS,
  recipe: BaseRecipe = EMOJI32_V1_RECIPE,
): ModelPackageInput {
  return {
    id: recipe.modelId,
    unet: EMOJI32_UNET,
    textEncoder: emoji32TextEncoder(vocabulary.size),
    scheduler: {
      betaSchedule: recipe.betaSchedule,
      numTrainTimesteps: 1000,
      predictionType: recipe.predictionType,
      ...(recipe.rescaleBetasZeroSnr ? { rescaleBetasZeroSnr: true } : {}),
    },
    pixelSpace: true,
    defaults: { ...generation, bucketEdges: [0, 250, 500, 750, 1000] },
    ...(provenance === undefined ? {} : { provenance }),
  };
}

/**
 * The training prompt of an emoji: its name, then (in training) a random subset of its
 * keywords, so the encoder learns both the canonical name and its synonyms.
 */
export function emojiPrompt(entry: EmojiEntry, random?: () => number): string {
  if (random === undefined || entry.keywords.length === 0) return entry.name;
  const extra = entry.keywords.filter(() => random() < 0.4).slice(0, 4);
  return extra.length === 0 ? entry.name : `${entry.name}, ${extra.join(' ')}`;
}

/** Word vocabulary over every name and keyword of the training split (held-out words map to [UNK] only if unseen). */
export function emojiVocabulary(catalog: readonly EmojiEntry[]): Vocabulary {
  const corpus = catalog.filter((e) => e.split === 'train').flatMap((e) => [e.name, ...e.keywords]);
  return buildVocabulary(corpus, { maxSize: 4096, minCount: 1, maxLength: EMOJI32_PROMPT_LENGTH });
}
