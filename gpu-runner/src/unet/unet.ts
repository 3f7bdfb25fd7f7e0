/**
 * The diffusers-compatible UNet2DConditionModel as an ONNX model. Inputs and output use
 * diffusers' ONNX export names: `sample` float32 [batch, C, H, W], `timestep` float32
 * [batch], `encoder_hidden_states` float32 [batch, sequence, cross_attention_dim] →
 * `out_sample` [batch, C, H, W]; H and W are static (`sample_size`). Weights come from a
 * PyTorch-layout weight map (a safetensors checkpoint, or {@link randomUNetWeights}) or are
 * left as graph inputs for a trainer to feed; {@link unetParameters} lists them either way.
 */
import { GraphBuilder } from '../onnx/graph-builder';
import { conv2d, groupNorm, linear, silu, type NetContext } from '../onnx/nn';
import {
  ParameterStore,
  randomWeights,
  type BuiltNetwork,
  type NetworkBuildOptions,
  type ParameterSpec,
} from '../onnx/parameters';
import type { WeightTensor } from '../onnx/weight-map';
import { downBlock, midBlock, timestepProjection, upBlock, type Activation, type UNetInputs } from './blocks';
import { resolveUNetConfig, type UNetConfig } from './config';

/** Graph input and output names (diffusers' ONNX export uses the same). */
export const UNET_IO = Object.freeze({
  sample: 'sample',
  timestep: 'timestep',
  encoderHiddenStates: 'encoder_hidden_states',
  output: 'out_sample',
});

/**
 * Builds the U-Net.
 * @throws ModelError `bad_config` for an inconsistent config; `missing_weight` /
 *   `bad_weight_shape` when `weights` lacks a parameter or holds it misshapen.
 * @throws TypeError when parameters are initializers and no weights are given.
 */
export function buildUNet(config: UNetConfig, options: NetworkBuildOptions = {}): BuiltNetwork {
  const resolved = resolveUNetConfig(config);
  const style = options.style ?? 'named';
  const b = new GraphBuilder();
  const params = new ParameterStore(b, options.parameters ?? 'initializers', options.weights);
  const ctx: NetContext = { b, params, style };
  const size = resolved.sampleSize;
  const c0 = resolved.blockOutChannels[0]!;
  const tembChannels = 4 * c0;

  const sample = b.input(UNET_IO.sample, 'float32', ['batch', resolved.inChannels, size, size]);
  const timestep = b.input(UNET_IO.timestep, 'float32', ['batch']);
  const context = b.input(UNET_IO.encoderHiddenStates, 'float32', [
    'batch',
    'sequence',
    resolved.crossAttentionDim,
  ]);

  const timeFeatures = timestepProjection(ctx, resolved, timestep);
  const temb = b.scope('time_embedding', () => {
    const hidden = linear(ctx, timeFeatures, 'linear_1', c0, tembChannels, { bias: true, rank: 2 });
    const activated = b.scope('act', () => silu(b, hidden));
    return linear(ctx, activated, 'linear_2', tembChannels, tembChannels, { bias: true, rank: 2 });
  });
  const inputs: UNetInputs = { temb, tembChannels, context };

  let h: Activation = {
    value: conv2d(ctx, sample, 'conv_in', resolved.inChannels, c0, { kernel: 3, pad: 1 }),
    channels: c0,
    size,
  };
  const skips: Activation[] = [h];
  for (let level = 0; level < resolved.blockOutChannels.length; level++) {
    h = downBlock(ctx, resolved, inputs, h, level, skips);
  }
  h = midBlock(ctx, resolved, inputs, h);
  for (let index = 0; index < resolved.upBlockTypes.length; index++) {
    h = upBlock(ctx, resolved, inputs, h, index, skips);
  }
  const normed = groupNorm(ctx, h.value, 'conv_norm_out', {
    groups: resolved.groups,
    channels: h.channels,
    height: h.size,
    width: h.size,
    eps: resolved.normEps,
  });
  const activated = b.scope('conv_act', () => silu(b, normed));
  const out = conv2d(ctx, activated, 'conv_out', h.channels, resolved.outChannels, { kernel: 3, pad: 1 });
  b.output(out, UNET_IO.output, 'float32', ['batch', resolved.outChannels, size, size]);

  const model = b.toModel({
    docString: 'diffusers-compatible UNet2DConditionModel built by @maskunet/gpu-runner',
    metadata: {
      'maskunet.network': 'unet',
      'maskunet.style': style,
      'maskunet.config': JSON.stringify(config),
    },
  });
  return { model, parameters: params.parameters, unusedWeights: params.unusedWeights() };
}

/** The U-Net's parameters (PyTorch names and shapes) in graph order. @throws as {@link buildUNet}. */
export function unetParameters(config: UNetConfig): ParameterSpec[] {
  return buildUNet(config, { parameters: 'inputs' }).parameters.map(({ name, shape, role, fanIn }) => ({
    name,
    shape,
    role,
    fanIn,
  }));
}

/** PyTorch-default random weights for `config`, deterministic in `seed`. */
export function randomUNetWeights(config: UNetConfig, seed: number): Map<string, WeightTensor> {
  return randomWeights(unetParameters(config), seed);
}
