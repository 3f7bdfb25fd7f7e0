/**
 * A small CLIP-style text encoder as its own ONNX model: token embeddings plus learned
 * position embeddings, pre-LN transformer layers with causal self-attention (as CLIP, so a
 * token's state does not depend on the padding after it) and a GELU MLP, a final LayerNorm.
 * Input `input_ids` int64 [batch, max_position_embeddings], output `encoder_hidden_states`
 * float32 [batch, L, hidden_size] — the U-Net's cross-attention input. Parameter names follow
 * transformers' CLIPTextModel (`text_model.encoder.layers.0.self_attn.q_proj.weight`), and the
 * graph uses only the builder's op vocabulary so it can be trained with the same gradients.
 */
import { ModelError } from '../onnx/errors';
import { GraphBuilder } from '../onnx/graph-builder';
import { attention, gelu, layerNorm, linear, type NetContext } from '../onnx/nn';
import {
  ParameterStore,
  randomWeights,
  type BuiltNetwork,
  type NetworkBuildOptions,
  type ParameterSpec,
} from '../onnx/parameters';
import type { WeightTensor } from '../onnx/weight-map';

/** Keys as in transformers' CLIPTextConfig. */
export interface TextEncoderConfig {
  /** Must equal the vocabulary's size. */
  readonly vocab_size: number;
  /** Sequence length; must equal the vocabulary's `max_length`. */
  readonly max_position_embeddings: number;
  readonly hidden_size: number;
  readonly num_hidden_layers: number;
  readonly num_attention_heads: number;
  readonly intermediate_size: number;
  readonly layer_norm_eps: number;
}

/** A tiny encoder matching {@link TINY_UNET_CONFIG}'s cross_attention_dim (48), for tests. */
export const TINY_TEXT_ENCODER_CONFIG: TextEncoderConfig = Object.freeze({
  vocab_size: 64,
  max_position_embeddings: 16,
  hidden_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 96,
  layer_norm_eps: 1e-5,
});

export const TEXT_ENCODER_IO = Object.freeze({ inputIds: 'input_ids', output: 'encoder_hidden_states' });

/** Added to masked attention scores; large enough that softmax gives exactly 0 in float32. */
const MASKED_SCORE = -1e9;

function checkConfig(config: TextEncoderConfig): void {
  const integers: (keyof TextEncoderConfig)[] = [
    'vocab_size',
    'max_position_embeddings',
    'hidden_size',
    'num_hidden_layers',
    'num_attention_heads',
    'intermediate_size',
  ];
  for (const key of integers) {
    const value = config[key];
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new ModelError('bad_config', `${key} must be a positive integer, got ${JSON.stringify(value)}`);
    }
  }
  if (config.hidden_size % config.num_attention_heads !== 0) {
    throw new ModelError('bad_config', 'hidden_size must be divisible by num_attention_heads');
  }
  if (!(config.layer_norm_eps > 0)) throw new ModelError('bad_config', 'layer_norm_eps must be positive');
}

/**
 * Builds the text encoder.
 * @throws ModelError `bad_config`, `missing_weight`, `bad_weight_shape` as {@link buildUNet}.
 */
export function buildTextEncoder(config: TextEncoderConfig, options: NetworkBuildOptions = {}): BuiltNetwork {
  checkConfig(config);
  const style = options.style ?? 'named';
  const b = new GraphBuilder();
  const params = new ParameterStore(b, options.parameters ?? 'initializers', options.weights);
  const ctx: NetContext = { b, params, style };
  const length = config.max_position_embeddings;
  const dim = config.hidden_size;
  const heads = config.num_attention_heads;

  const ids = b.input(TEXT_ENCODER_IO.inputIds, 'int64', ['batch', length]);
  const hidden = b.scope('text_model', () => {
    let h = b.scope('embeddings', () => {
      const tokens = b.scope('token_embedding', () => {
        const table = params.place({
          name: `${b.modulePath}.weight`,
          shape: [config.vocab_size, dim],
          role: 'embedding',
          fanIn: dim,
        });
        return b.gather(table, ids, 0);
      });
      const positions = b.scope('position_embedding', () =>
        params.place({ name: `${b.modulePath}.weight`, shape: [length, dim], role: 'embedding', fanIn: dim }),
      );
      return b.add(tokens, positions);
    });
    const causal = new Float32Array(length * length);
    for (let row = 0; row < length; row++) {
      for (let column = row + 1; column < length; column++) causal[row * length + column] = MASKED_SCORE;
    }
    const mask = b.constFloat('causal_attention_mask', [length, length], causal);
    b.scope('encoder', () => {
      for (let i = 0; i < config.num_hidden_layers; i++) {
        b.scope(`layers.${i}`, () => {
          const n1 = layerNorm(ctx, h, 'layer_norm1', dim, config.layer_norm_eps);
          const attended = attention(ctx, n1, n1, 'self_attn', {
            queryDim: dim,
            contextDim: dim,
            heads,
            headDim: dim / heads,
            qkvBias: true,
            names: { query: 'q_proj', key: 'k_proj', value: 'v_proj', out: 'out_proj' },
            scoreMask: mask,
          });
          h = b.add(h, attended);
          const n2 = layerNorm(ctx, h, 'layer_norm2', dim, config.layer_norm_eps);
          const mlp = b.scope('mlp', () => {
            const up = linear(ctx, n2, 'fc1', dim, config.intermediate_size, { bias: true, rank: 3 });
            const activated = b.scope('activation_fn', () => gelu(b, up));
            return linear(ctx, activated, 'fc2', config.intermediate_size, dim, { bias: true, rank: 3 });
          });
          h = b.add(h, mlp);
        });
      }
    });
    return layerNorm(ctx, h, 'final_layer_norm', dim, config.layer_norm_eps);
  });
  b.output(hidden, TEXT_ENCODER_IO.output, 'float32', ['batch', length, dim]);
  const model = b.toModel({
    docString: 'CLIP-style text encoder built by @maskunet/gpu-runner',
    metadata: {
      'maskunet.network': 'text_encoder',
      'maskunet.style': style,
      'maskunet.config': JSON.stringify(config),
    },
  });
  return { model, parameters: params.parameters, unusedWeights: params.unusedWeights() };
}

/** The text encoder's parameters (PyTorch names and shapes) in graph order. */
export function textEncoderParameters(config: TextEncoderConfig): ParameterSpec[] {
  return buildTextEncoder(config, { parameters: 'inputs' }).parameters.map(
    ({ name, shape, role, fanIn }) => ({
      name,
      shape,
      role,
      fanIn,
    }),
  );
}

/** PyTorch-default random weights (embeddings N(0, 1)), deterministic in `seed`. */
export function randomTextEncoderWeights(config: TextEncoderConfig, seed: number): Map<string, WeightTensor> {
  return randomWeights(textEncoderParameters(config), seed);
}
