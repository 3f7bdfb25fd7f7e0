/** In-memory blob backend: tests, the CLI's scratch work, a runner's short-lived store. */
import type { BlobBackend } from './bank-store';

export class MemoryBackend implements BlobBackend {
  private readonly blobs = new Map<string, Uint8Array>();

  size(key: string): Promise<number | null> {
    return Promise.resolve(this.blobs.get(key)?.length ?? null);
  }

  get(key: string): Promise<Uint8Array | null> {
    const blob = this.blobs.get(key);
    return Promise.resolve(blob === undefined ? null : blob.slice());
  }

  getRange(key: string, start: number, end: number): Promise<Uint8Array | null> {
    const blob = this.blobs.get(key);
    return Promise.resolve(blob === undefined ? null : blob.slice(start, Math.min(end, blob.length)));
  }

  put(key: string, bytes: Uint8Array): Promise<void> {
    this.blobs.set(key, bytes.slice());
    return Promise.resolve();
  }

  delete(key: string): Promise<boolean> {
    return Promise.resolve(this.blobs.delete(key));
  }

  list(after: string | null, limit: number): Promise<string[]> {
    const keys = [...this.blobs.keys()].sort().filter((k) => after === null || k > after);
    return Promise.resolve(keys.slice(0, limit));
  }
}
