/**
 * The runner's bank cache: bank bytes by id, bounded by total bytes, least recently used
 * evicted first. Concurrent requests for one id share one download, and every download is
 * checked against its id (a bank id is the SHA-256 of its bytes), so a corrupted or wrong
 * response is never cached or handed to a job.
 */
import { CodedError, sha256Hex } from '@maskunet/mask-store';

/** Thrown by fetchers and the cache; `retryable` tells the dispatcher whether to try again. */
export class BankFetchError extends CodedError<
  'bank_fetch_failed' | 'bank_not_found' | 'bank_corrupt' | 'bank_too_large'
> {
  override readonly name = 'BankFetchError';
  constructor(
    code: BankFetchError['code'],
    message: string,
    readonly retryable: boolean,
  ) {
    super(code, message, { prefixCode: false });
  }
}

export type BankFetcher = (bankId: string) => Promise<Uint8Array>;

export interface BankCacheOptions {
  /** Most bytes kept. Default 512 MiB. A bank larger than this is fetched but not kept. */
  readonly maxBytes?: number;
}

export const DEFAULT_BANK_CACHE_BYTES = 512 * 1024 * 1024;

export class BankCache {
  private readonly maxBytes: number;
  /** Insertion order = recency order (oldest first). */
  private readonly entries = new Map<string, Uint8Array>();
  private readonly inflight = new Map<string, Promise<Uint8Array>>();
  private bytes = 0;

  constructor(
    private readonly fetcher: BankFetcher,
    options: BankCacheOptions = {},
  ) {
    const maxBytes = options.maxBytes ?? DEFAULT_BANK_CACHE_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new RangeError(`maxBytes must be a non-negative integer, got ${maxBytes}`);
    }
    this.maxBytes = maxBytes;
  }

  /** Ids held now, most recently used last (what a runner announces for affinity). */
  ids(): string[] {
    return [...this.entries.keys()];
  }

  get size(): number {
    return this.bytes;
  }

  has(bankId: string): boolean {
    return this.entries.has(bankId);
  }

  /**
   * The bank's bytes, from the cache or fetched once.
   * @throws BankFetchError `bank_corrupt` when the bytes do not hash to `bankId`, or what the fetcher throws.
   */
  async get(bankId: string): Promise<Uint8Array> {
    const hit = this.entries.get(bankId);
    if (hit !== undefined) {
      this.entries.delete(bankId);
      this.entries.set(bankId, hit);
      return hit;
    }
    const pending = this.inflight.get(bankId);
    if (pending !== undefined) return pending;
    const download = this.download(bankId).finally(() => this.inflight.delete(bankId));
    this.inflight.set(bankId, download);
    return download;
  }

  private async download(bankId: string): Promise<Uint8Array> {
    const bytes = await this.fetcher(bankId);
    if ((await sha256Hex(bytes)) !== bankId) {
      throw new BankFetchError('bank_corrupt', `downloaded bytes do not hash to ${bankId}`, true);
    }
    this.insert(bankId, bytes);
    return bytes;
  }

  private insert(bankId: string, bytes: Uint8Array): void {
    if (bytes.length > this.maxBytes || this.entries.has(bankId)) return;
    this.entries.set(bankId, bytes);
    this.bytes += bytes.length;
    for (const [id, held] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(id);
      this.bytes -= held.length;
    }
  }
}

/** Largest bank a runner downloads: mask-store's default maxBankBytes (512 MiB). */
export const DEFAULT_MAX_BANK_BYTES = 512 * 1024 * 1024;

/** A fetcher for GET /v1/banks/:id with the runner token; refuses banks above `maxBankBytes`. */
export function httpBankFetcher(
  baseUrl: string,
  token: string,
  fetchImpl: typeof fetch = fetch,
  maxBankBytes = DEFAULT_MAX_BANK_BYTES,
): BankFetcher {
  return async (bankId) => {
    let res: Response;
    try {
      res = await fetchImpl(new URL(`/v1/banks/${bankId}`, baseUrl), {
        headers: { Authorization: `Bearer ${token}` },
      });
    } catch (error) {
      throw new BankFetchError('bank_fetch_failed', `fetching bank ${bankId}: ${String(error)}`, true);
    }
    if (res.status === 404) {
      await res.body?.cancel();
      throw new BankFetchError('bank_not_found', `bank ${bankId} is not on the server`, false);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new BankFetchError('bank_fetch_failed', `fetching bank ${bankId}: HTTP ${res.status}`, true);
    }
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > maxBankBytes) {
      await res.body?.cancel();
      throw new BankFetchError('bank_too_large', `bank ${bankId} has ${declared} bytes`, false);
    }
    return new Uint8Array(await res.arrayBuffer());
  };
}
