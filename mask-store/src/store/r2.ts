/**
 * R2 blob backend. Typed against the few members of the Workers `R2Bucket` binding it uses,
 * so this file imports nothing from `cloudflare:` and type-checks outside workerd. Blobs live
 * under `prefix + id`; R2 puts are atomic, so no reader sees a partial bank.
 */
import type { BlobBackend } from './bank-store';

/** The subset of `R2Bucket` this backend needs. */
export interface R2BucketLike {
  head(key: string): Promise<{ size: number } | null>;
  get(
    key: string,
    options?: { range?: { offset: number; length: number } },
  ): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
  put(key: string, value: Uint8Array | ArrayBuffer): Promise<unknown>;
  delete(key: string): Promise<void>;
  list(options: {
    prefix?: string;
    cursor?: string;
    startAfter?: string;
    limit?: number;
  }): Promise<{ objects: { key: string }[]; truncated: boolean }>;
}

export class R2Backend implements BlobBackend {
  constructor(
    private readonly bucket: R2BucketLike,
    private readonly prefix = 'banks/',
  ) {}

  async size(key: string): Promise<number | null> {
    return (await this.bucket.head(this.prefix + key))?.size ?? null;
  }

  async get(key: string): Promise<Uint8Array | null> {
    const object = await this.bucket.get(this.prefix + key);
    return object === null ? null : new Uint8Array(await object.arrayBuffer());
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array | null> {
    const size = await this.size(key);
    if (size === null) return null;
    const stop = Math.min(end, size);
    if (stop <= start) return new Uint8Array(0);
    const object = await this.bucket.get(this.prefix + key, {
      range: { offset: start, length: stop - start },
    });
    return object === null ? null : new Uint8Array(await object.arrayBuffer());
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    await this.bucket.put(this.prefix + key, bytes);
  }

  async delete(key: string): Promise<boolean> {
    const existed = (await this.size(key)) !== null;
    await this.bucket.delete(this.prefix + key);
    return existed;
  }

  async list(after: string | null, limit: number): Promise<string[]> {
    const listed = await this.bucket.list({
      prefix: this.prefix,
      limit,
      ...(after === null ? {} : { startAfter: this.prefix + after }),
    });
    return listed.objects.map((o) => o.key.slice(this.prefix.length));
  }
}
