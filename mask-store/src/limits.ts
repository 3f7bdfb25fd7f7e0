/**
 * Size limits that every decoder and importer checks before it allocates. They are options
 * (pass a partial object anywhere `limits` is accepted) with documented defaults sized for
 * Stable-Diffusion-class U-Nets: SD1.5's masked decoder attention holds 49,029,120 weights
 * in 72 layers, SDXL's a few hundred million.
 */
import { MaskFormatError } from './errors';

export interface MaskLimits {
  /** Most masked layers in a layout. Default 4096. */
  readonly maxLayers: number;
  /** Most weights in one layer (out × in). Default 2^28. */
  readonly maxLayerElements: number;
  /** Most weights in one bucket (sum over layers). Default 2^30. */
  readonly maxBucketElements: number;
  /** Most timestep buckets in a bank. Default 64. */
  readonly maxBuckets: number;
  /** Most bytes of a whole bank file. Default 512 MiB. */
  readonly maxBankBytes: number;
  /** Most bytes of a bank's msgpack header. Default 8 MiB. */
  readonly maxHeaderBytes: number;
  /** Most bytes of a bank's free-form metadata once encoded. Default 64 KiB. */
  readonly maxMetaBytes: number;
  /** Longest layer name (module path), in UTF-16 code units. Default 256. */
  readonly maxNameLength: number;
}

export const DEFAULT_LIMITS: MaskLimits = Object.freeze({
  maxLayers: 4096,
  maxLayerElements: 2 ** 28,
  maxBucketElements: 2 ** 30,
  maxBuckets: 64,
  maxBankBytes: 512 * 1024 * 1024,
  maxHeaderBytes: 8 * 1024 * 1024,
  maxMetaBytes: 64 * 1024,
  maxNameLength: 256,
});

/** Fills unspecified limits with the defaults; rejects non-positive or non-integer values. */
export function resolveLimits(limits?: Partial<MaskLimits>): MaskLimits {
  if (limits === undefined) return DEFAULT_LIMITS;
  const resolved = { ...DEFAULT_LIMITS, ...limits };
  for (const [key, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`limits.${key} must be a positive integer, got ${String(value)}`);
    }
  }
  return resolved;
}

/** Throws `limit_exceeded` when `value` is above `limit`. */
export function checkLimit(what: string, value: number, limit: number): void {
  if (value > limit) {
    throw new MaskFormatError('limit_exceeded', `${what} is ${value}, above the limit of ${limit}`);
  }
}
