/**
 * Decoded, prepared masks cached by (model, bank id, bucket), least recently used first out,
 * bounded in bytes. A runner keeps one per model so switching between tenants' variants costs
 * a map lookup once their banks have been seen; the counters feed the runner's metrics.
 */
import type { PreparedMasks } from './mask-feeds';
import { preparedBytes } from './mask-feeds';

export interface MaskCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
  readonly entries: number;
  readonly bytes: number;
  readonly maxBytes: number;
}

export class MaskCache {
  private readonly entries = new Map<string, { masks: PreparedMasks; bytes: number }>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  /** @param maxBytes most bytes of prepared masks kept (default 1 GiB). */
  constructor(readonly maxBytes = 2 ** 30) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0)
      throw new RangeError('maxBytes must be a positive integer');
  }

  static key(bankId: string, bucket: number): string {
    return `${bankId}#${bucket}`;
  }

  /** The cached masks (marking them most recently used), or undefined. */
  get(key: string): PreparedMasks | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.masks;
  }

  /** Returns the cached masks or computes, stores and returns them. */
  getOrCreate(key: string, create: () => PreparedMasks): PreparedMasks {
    const found = this.get(key);
    if (found !== undefined) return found;
    const masks = create();
    this.set(key, masks);
    return masks;
  }

  /** Stores masks; an entry larger than the whole cache is not kept. */
  set(key: string, masks: PreparedMasks): void {
    const previous = this.entries.get(key);
    if (previous !== undefined) {
      this.bytes -= previous.bytes;
      this.entries.delete(key);
    }
    const bytes = preparedBytes(masks);
    if (bytes > this.maxBytes) return;
    this.entries.set(key, { masks, bytes });
    this.bytes += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.bytes;
      this.evictions++;
    }
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  stats(): MaskCacheStats {
    return {
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
      entries: this.entries.size,
      bytes: this.bytes,
      maxBytes: this.maxBytes,
    };
  }
}
