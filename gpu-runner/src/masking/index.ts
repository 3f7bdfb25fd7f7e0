/** Masked inference plumbing: the graph rewrite, mask tensors for a batch, the mask cache. */
export { rewriteForMasks, MASK_INPUT_PREFIX } from './rewrite';
export type { MaskTarget, MaskInput } from './rewrite';
export { prepareMasks, onesMasks, maskFeeds, preparedBytes } from './mask-feeds';
export type { PreparedMasks, MaskTensor } from './mask-feeds';
export { MaskCache } from './mask-cache';
export type { MaskCacheStats } from './mask-cache';
