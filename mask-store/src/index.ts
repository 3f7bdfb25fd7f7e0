/**
 * Public surface of the mask store: layouts, banks (encode, open, decode), deltas, codecs'
 * names, safetensors import/export, storage over memory and R2, limits and typed errors.
 * Isomorphic: nothing here imports `node:` or `cloudflare:`; the filesystem backend is in
 * `@maskunet/mask-store/node`.
 */
export { CodedError, codedErrorGuard } from './coded-error';
export type { CodedErrorOptions } from './coded-error';
export { MaskFormatError, isMaskFormatError } from './errors';
export type { MaskFormatErrorCode } from './errors';
export { DEFAULT_LIMITS, resolveLimits } from './limits';
export type { MaskLimits } from './limits';
export { sha256Hex, crc32, isHexDigest, toHex } from './hash';
export {
  validateLayout,
  layoutHash,
  canonicalLayoutText,
  parseLayoutJson,
  formatLayoutJson,
  layerSize,
  layoutSize,
  sameLayout,
} from './layout';
export type { MaskLayer, MaskLayout } from './layout';
export { packBits, unpackBits, countZeros, countOnes, xorMasks } from './bits';
export { CODERS, REFS } from './codecs/section';
export type { CoderName, RefKind, SectionCoding } from './codecs/section';
export { MaskBank, encodeBank, evenBucketEdges, bucketForTimestep, DEFAULT_TIMESTEPS } from './bank';
export type { BankInput, EncodeBankOptions, OpenBankOptions } from './bank';
export type { BankHeader, BankMeta, MetaValue, SectionRecord, DeltaTarget } from './format/header';
export { BANK_MAGIC, BANK_VERSION, PREFIX_BYTES } from './format/container';
export { diffBanks, patchBank } from './delta';
export type { DiffOptions } from './delta';
export {
  readSafetensors,
  writeSafetensors,
  masksFromSafetensors,
  masksToSafetensors,
  maskKey,
} from './safetensors';
export type { SafeTensor, SafetensorsFile, TensorToWrite } from './safetensors';
export { BankStore } from './store/bank-store';
export type { BlobBackend, BankStoreOptions, PutResult, ListResult } from './store/bank-store';
export { MemoryBackend } from './store/memory';
export { R2Backend } from './store/r2';
export type { R2BucketLike } from './store/r2';
