/**
 * Text-to-image generation on one shared base U-Net with per-sample, per-timestep masks.
 * Isomorphic: it takes sessions from whichever backend the caller chose. Each request in a
 * batch brings its own prompt, seed and (optional) mask bank; at every sampler step each row
 * uses the bank bucket of its own timestep, prepared masks come from a byte-bounded cache
 * keyed by bank id and bucket, and a batch whose rows share masks feeds one shared mask.
 */
import type { MaskBank } from '@maskunet/mask-store';
import type { InferenceSession, TensorData } from '../backends/types';
import { MaskCache } from '../masking/mask-cache';
import { maskFeeds, onesMasks, prepareMasks, type PreparedMasks } from '../masking/mask-feeds';
import type { MaskInput } from '../masking/rewrite';
import { ModelError } from '../onnx/errors';
import { sample, type StepProgress } from '../samplers/sample';
import { createSchedule, type NoiseSchedule } from '../samplers/schedule';
import type { SamplerName } from '../samplers/timesteps';
import type { Vocabulary } from '../text/vocabulary';
import { TEXT_ENCODER_IO } from '../text/text-encoder';
import { UNET_IO } from '../unet/unet';
import type { ModelPackageConfig } from './model-config';

export interface GenerationRequest {
  readonly prompt: string;
  readonly seed: number;
  /** The variant's bank, or null for the base model. */
  readonly bank: MaskBank | null;
}

export interface GenerationOptions {
  readonly steps?: number;
  readonly sampler?: SamplerName;
  readonly guidance?: number;
  readonly onStep?: (progress: StepProgress) => void | Promise<void>;
  readonly signal?: AbortSignal;
}

export interface GenerationTimings {
  readonly textMs: number;
  readonly maskMs: number;
  readonly unetMs: number;
  readonly totalMs: number;
}

export interface GenerationResult {
  /** `[B, C, H, W]` in [-1, 1] (not clamped). */
  readonly images: Float32Array;
  readonly backend: string;
  readonly timings: GenerationTimings;
}

export interface TextToImageParts {
  readonly config: ModelPackageConfig;
  readonly vocabulary: Vocabulary;
  readonly textEncoder: InferenceSession;
  /** The mask-rewritten U-Net. */
  readonly unet: InferenceSession;
  readonly maskInputs: readonly MaskInput[];
  readonly cache?: MaskCache;
}

export class TextToImage {
  readonly config: ModelPackageConfig;
  readonly schedule: NoiseSchedule;
  readonly cache: MaskCache;
  private readonly ones: PreparedMasks;

  constructor(private readonly parts: TextToImageParts) {
    this.config = parts.config;
    this.cache = parts.cache ?? new MaskCache();
    this.ones = onesMasks(parts.maskInputs);
    this.schedule = createSchedule({
      betaSchedule: parts.config.scheduler.betaSchedule,
      numTrainTimesteps: parts.config.scheduler.numTrainTimesteps,
      rescaleBetasZeroSnr: parts.config.scheduler.rescaleBetasZeroSnr ?? false,
    });
  }

  get backend(): string {
    return this.parts.unet.backend;
  }

  get maskInputs(): readonly MaskInput[] {
    return this.parts.maskInputs;
  }

  /** Prepared masks of one bank bucket (cached), or all ones for the base model. */
  masksFor(bank: MaskBank | null, bucket: number): PreparedMasks {
    if (bank === null) return this.ones;
    if (bank.header.layoutHash !== this.config.layoutHash) {
      throw new ModelError(
        'bad_config',
        `bank ${bank.id} has layout ${bank.header.layoutHash}, model wants ${this.config.layoutHash}`,
      );
    }
    return this.cache.getOrCreate(MaskCache.key(bank.id, bucket), () =>
      prepareMasks(this.parts.maskInputs, bank.decodeBucket(bucket)),
    );
  }

  /** `encoder_hidden_states` for prompts. */
  async encodeText(prompts: readonly string[]): Promise<Float32Array> {
    const ids = this.parts.vocabulary.encodeBatch(prompts);
    const result = await this.parts.textEncoder.run({
      [TEXT_ENCODER_IO.inputIds]: {
        type: 'int64',
        data: ids,
        dims: [prompts.length, this.parts.vocabulary.maxLength],
      },
    });
    return result[TEXT_ENCODER_IO.output]!.data as Float32Array;
  }

  /** Generates one image per request in a single batch. */
  async generate(
    requests: readonly GenerationRequest[],
    options: GenerationOptions = {},
  ): Promise<GenerationResult> {
    const started = performance.now();
    const batch = requests.length;
    if (batch === 0) throw new RangeError('requests must not be empty');
    const defaults = this.config.defaults;
    const guidance = options.guidance ?? defaults.guidance;
    const { in_channels: channels, sample_size: size, cross_attention_dim: width } = this.config.unet;
    const length = this.parts.vocabulary.maxLength;

    const textStart = performance.now();
    const prompts = requests.map((r) => r.prompt);
    const cond = await this.encodeText(prompts);
    const uncond = guidance === 1 ? null : await this.encodeText(requests.map(() => ''));
    const textMs = performance.now() - textStart;
    let maskMs = 0;
    let unetMs = 0;

    const images = await sample({
      model: async (x, timesteps, info) => {
        const rows = info.rows;
        const hidden = new Float32Array(rows * length * width);
        if (info.guidance === null) hidden.set(cond);
        else {
          hidden.set(uncond!, 0);
          hidden.set(cond, batch * length * width);
        }
        const maskStart = performance.now();
        const perRow: PreparedMasks[] = [];
        for (let row = 0; row < rows; row++) {
          const request = requests[row % batch]!;
          const bank = request.bank;
          perRow.push(
            bank === null
              ? this.masksFor(null, 0)
              : this.masksFor(bank, bank.bucketForTimestep(timesteps[row]!)),
          );
        }
        const feeds: Record<string, TensorData> = {
          [UNET_IO.sample]: { type: 'float32', data: x, dims: [rows, channels, size, size] },
          [UNET_IO.timestep]: { type: 'float32', data: Float32Array.from(timesteps), dims: [rows] },
          [UNET_IO.encoderHiddenStates]: { type: 'float32', data: hidden, dims: [rows, length, width] },
        };
        for (const [name, tensor] of maskFeeds(this.parts.maskInputs, perRow))
          feeds[name] = { type: 'uint8', ...tensor };
        maskMs += performance.now() - maskStart;
        const unetStart = performance.now();
        const out = await this.parts.unet.run(feeds);
        unetMs += performance.now() - unetStart;
        return out[UNET_IO.output]!.data as Float32Array;
      },
      shape: [batch, channels, size, size],
      sampler: options.sampler ?? defaults.sampler,
      schedule: this.schedule,
      steps: options.steps ?? defaults.steps,
      predictionType: this.config.scheduler.predictionType,
      // Pixel-space images live in [-1, 1]. Clipping each step's x̂0 there (diffusers'
      // clip_sample, on by default for DDPM/DDIM) keeps the first steps of a cosine schedule —
      // where ᾱ ≈ 1e-9 turns tiny ε errors into huge x̂0 — from derailing the whole trajectory.
      ...(this.config.pixelSpace ? { clipSample: 1 } : {}),
      seed: requests.map((r) => r.seed),
      guidance,
      ...(options.onStep === undefined ? {} : { onStep: options.onStep }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    return {
      images,
      backend: this.parts.unet.backend,
      timings: { textMs, maskMs, unetMs, totalMs: performance.now() - started },
    };
  }

  async release(): Promise<void> {
    await Promise.all([this.parts.textEncoder.release(), this.parts.unet.release()]);
  }
}
