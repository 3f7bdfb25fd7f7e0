/**
 * Model directories on disk (Node only): writing a package from trained (or random) weights —
 * `unet.onnx`, `text_encoder.onnx`, `vocab.json`, `layout.json` (the bank layout, for the CLI)
 * and `model.json` — and loading one into a `TextToImage` on a chosen onnxruntime-node backend.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatLayoutJson } from '@maskunet/mask-store';
import { createNodeSession } from '../backends/node-backend';
import type { SessionOptions } from '../backends/types';
import { writeModel } from '../onnx/model-io';
import type { WeightMap } from '../onnx/weight-map';
import { buildTextEncoder } from '../text/text-encoder';
import { formatVocabulary, type Vocabulary } from '../text/vocabulary';
import { buildUNet } from '../unet/unet';
import { assembleTextToImage, unetLayout, type AssembledModel } from './assemble';
import { MODEL_FORMAT, parseModelConfig, type ModelPackageConfig } from './model-config';

export type ModelPackageInput = Omit<ModelPackageConfig, 'format' | 'layoutHash' | 'files'>;

async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, data);
  await rename(temp, path);
}

/** Writes a model package; returns its config (with the computed layout hash). */
export async function writeModelDir(
  dir: string,
  input: ModelPackageInput,
  weights: { readonly unet: WeightMap; readonly textEncoder: WeightMap },
  vocabulary: Vocabulary,
): Promise<ModelPackageConfig> {
  await mkdir(dir, { recursive: true });
  const unet = writeModel(buildUNet(input.unet, { weights: weights.unet }).model);
  const textEncoder = writeModel(buildTextEncoder(input.textEncoder, { weights: weights.textEncoder }).model);
  const { layout, hash } = await unetLayout(unet);
  const config: ModelPackageConfig = {
    format: MODEL_FORMAT,
    ...input,
    files: { unet: 'unet.onnx', textEncoder: 'text_encoder.onnx', vocabulary: 'vocab.json' },
    layoutHash: hash,
  };
  await writeAtomic(join(dir, 'unet.onnx'), unet);
  await writeAtomic(join(dir, 'text_encoder.onnx'), textEncoder);
  await writeAtomic(join(dir, 'vocab.json'), formatVocabulary(vocabulary));
  await writeAtomic(
    join(dir, 'layout.json'),
    formatLayoutJson({ layers: layout.layers.map((l) => ({ name: l.name, shape: l.shape })) }),
  );
  await writeAtomic(join(dir, 'model.json'), `${JSON.stringify(config, null, 2)}\n`);
  return config;
}

/** Loads a model directory onto onnxruntime-node `cpu` or `webgpu`. */
export async function loadModelDir(
  dir: string,
  backend: 'cpu' | 'webgpu' = 'cpu',
  options: SessionOptions & { readonly cacheBytes?: number } = {},
): Promise<AssembledModel> {
  const modelJson = await readFile(join(dir, 'model.json'), 'utf8');
  const files = parseModelConfig(modelJson).files;
  const [unet, textEncoder, vocabulary] = await Promise.all([
    readFile(join(dir, files.unet)),
    readFile(join(dir, files.textEncoder)),
    readFile(join(dir, files.vocabulary), 'utf8'),
  ]);
  return assembleTextToImage(
    { modelJson, unet: new Uint8Array(unet), textEncoder: new Uint8Array(textEncoder), vocabulary },
    (bytes, sessionOptions) => createNodeSession(bytes, backend, sessionOptions),
    options,
  );
}
