/**
 * Assembling a `TextToImage` from a model package's bytes, on any backend: parse `model.json`
 * and the vocabulary, resolve the U-Net's mask layout (checking it against the package's
 * layout hash), rewrite the U-Net for masks, and open both sessions through the caller's
 * session factory. The Node loader (`model-dir.ts`) and the browser page both come here.
 */
import { layoutHash } from '@maskunet/mask-store';
import type { SessionFactory, SessionOptions } from '../backends/types';
import { MaskCache } from '../masking/mask-cache';
import { rewriteForMasks } from '../masking/rewrite';
import { ModelError } from '../onnx/errors';
import { readModel, writeModel } from '../onnx/model-io';
import { resolveMaskLayout, type ResolvedMaskLayout } from '../layout/resolve-layout';
import { parseVocabulary } from '../text/vocabulary';
import { parseModelConfig } from './model-config';
import { TextToImage } from './text-to-image';

export interface ModelPackageBytes {
  readonly modelJson: string;
  readonly unet: Uint8Array;
  readonly textEncoder: Uint8Array;
  readonly vocabulary: string;
}

export interface AssembledModel {
  readonly pipeline: TextToImage;
  readonly layout: ResolvedMaskLayout;
}

/** The masked-layer layout of a U-Net (its bank layout) and its hash. */
export async function unetLayout(unet: Uint8Array): Promise<{ layout: ResolvedMaskLayout; hash: string }> {
  const layout = resolveMaskLayout(readModel(unet));
  return { layout, hash: await layoutHash(layout) };
}

/**
 * @throws ModelError `bad_config` for a malformed model.json or a layout hash that does not
 *   match the U-Net, plus the errors of model parsing and session creation.
 */
export async function assembleTextToImage(
  bytes: ModelPackageBytes,
  createSession: SessionFactory,
  options: SessionOptions & { readonly cacheBytes?: number } = {},
): Promise<AssembledModel> {
  const config = parseModelConfig(bytes.modelJson);
  const vocabulary = parseVocabulary(bytes.vocabulary);
  const unetModel = readModel(bytes.unet);
  const layout = resolveMaskLayout(unetModel);
  const hash = await layoutHash(layout);
  if (hash !== config.layoutHash) {
    throw new ModelError(
      'bad_config',
      `model.json layoutHash ${config.layoutHash} does not match the U-Net's ${hash}`,
    );
  }
  const { model: masked, inputs } = rewriteForMasks(unetModel, layout.layers);
  const textEncoder = await createSession(bytes.textEncoder, options);
  try {
    const unet = await createSession(writeModel(masked), options);
    const cache = new MaskCache(options.cacheBytes);
    return {
      pipeline: new TextToImage({ config, vocabulary, textEncoder, unet, maskInputs: inputs, cache }),
      layout,
    };
  } catch (error) {
    await textEncoder.release();
    throw error;
  }
}
