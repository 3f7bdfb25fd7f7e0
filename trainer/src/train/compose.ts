/**
 * The joint training graph of the base model: the text encoder's `encoder_hidden_states`
 * feeds the U-Net's cross-attention inside one ONNX graph, so one onnxruntime run computes the
 * loss and — after `buildGradientGraph` — the gradients of both networks' parameters, which
 * are graph inputs. The two graphs are merged by name; any clash other than the shared
 * `encoder_hidden_states` value is refused rather than silently rewired.
 */
import { ModelError } from '@maskunet/gpu-runner';
import { modelGraph, readModel, writeModel } from '@maskunet/gpu-runner';
import type { ModelProto } from '@maskunet/gpu-runner';
import { TEXT_ENCODER_IO } from '@maskunet/gpu-runner';

function valueNames(model: ModelProto): Set<string> {
  const graph = modelGraph(model);
  return new Set([
    ...graph.input.map((v) => v.name ?? ''),
    ...graph.initializer.map((t) => t.name ?? ''),
    ...graph.node.flatMap((n) => n.output ?? []),
  ]);
}

/**
 * Merges a text encoder and a U-Net (both built with `parameters: 'inputs'`) into one model
 * whose inputs are `input_ids`, the U-Net's other inputs and every parameter of both.
 * @throws ModelError `bad_config` on a value-name clash or a missing hand-over value.
 */
export function composeTextToImage(textEncoder: ModelProto, unet: ModelProto): ModelProto {
  const shared = TEXT_ENCODER_IO.output;
  const textNames = valueNames(textEncoder);
  const unetNames = valueNames(unet);
  if (!textNames.has(shared) || !unetNames.has(shared)) {
    throw new ModelError('bad_config', `both graphs must have the value ${shared}`);
  }
  for (const name of textNames) {
    if (name !== shared && unetNames.has(name))
      throw new ModelError('bad_config', `value ${name} exists in both graphs`);
  }
  const merged = readModel(writeModel(unet));
  const graph = modelGraph(merged);
  const text = modelGraph(readModel(writeModel(textEncoder)));
  const nodeNames = new Set(graph.node.map((n) => n.name ?? ''));
  for (const node of text.node) {
    if (nodeNames.has(node.name ?? '')) node.name = `/text_encoder${node.name ?? ''}`;
  }
  graph.node = [...text.node, ...graph.node];
  graph.initializer = [...text.initializer, ...graph.initializer];
  graph.input = [...text.input, ...graph.input.filter((v) => v.name !== shared)];
  return merged;
}
