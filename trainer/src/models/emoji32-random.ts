/**
 * A random-weight emoji32 package (Node only): the stand-in `npm start` and tests serve until
 * a trained model ships. Same architecture, vocabulary and layout as the trained model, so
 * banks made for one fit the other.
 */
import { emojiCatalog } from '../data/emoji-catalog';
import type { ModelPackageConfig } from '@maskunet/gpu-runner';
import { writeModelDir } from '@maskunet/gpu-runner/node';
import { randomTextEncoderWeights } from '@maskunet/gpu-runner';
import { randomUNetWeights } from '@maskunet/gpu-runner';
import { EMOJI32_UNET, emoji32Package, emoji32TextEncoder, emojiVocabulary } from './emoji32';

export async function writeEmoji32RandomModel(dir: string, seed: number): Promise<ModelPackageConfig> {
  const vocabulary = emojiVocabulary(emojiCatalog());
  return writeModelDir(
    dir,
    { ...emoji32Package(vocabulary, { weights: 'random', seed, command: `maskunet model init --seed ${seed}` }), id: 'emoji32-random' },
    { unet: randomUNetWeights(EMOJI32_UNET, seed), textEncoder: randomTextEncoderWeights(emoji32TextEncoder(vocabulary.size), seed + 1) },
    vocabulary,
  );
}
