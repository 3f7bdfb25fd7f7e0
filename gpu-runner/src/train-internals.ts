/** Pieces of the base trainer that benchmarks reuse (`@maskunet/gpu-runner/train-internals`). */
export { composeTextToImage } from './train/compose';
export { emoji32TextEncoder, EMOJI32_UNET } from './models/emoji32';
