/**
 * Filesystem blob backend (Node only; imported through `@maskunet/mask-store/node`). Each blob
 * is `<dir>/<key>.mkb`, written to a unique temp file in the same directory and renamed into
 * place, so a reader never sees a partial bank even if the writer dies mid-write.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobBackend } from '../store/bank-store';

const SUFFIX = '.mkb';

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

export class FilesystemBackend implements BlobBackend {
  constructor(private readonly dir: string) {}

  private path(key: string): string {
    return join(this.dir, key + SUFFIX);
  }

  async size(key: string): Promise<number | null> {
    try {
      return (await stat(this.path(key))).size;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await readFile(this.path(key)));
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array | null> {
    let handle;
    try {
      handle = await open(this.path(key), 'r');
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
    try {
      const size = (await handle.stat()).size;
      const stop = Math.min(end, size);
      if (stop <= start) return new Uint8Array(0);
      const out = new Uint8Array(stop - start);
      let read = 0;
      while (read < out.length) {
        const { bytesRead } = await handle.read(out, read, out.length - read, start + read);
        if (bytesRead === 0) break;
        read += bytesRead;
      }
      return out.subarray(0, read);
    } finally {
      await handle.close();
    }
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const temp = join(this.dir, `.${key}.${randomUUID()}.tmp`);
    try {
      await writeFile(temp, bytes, { flush: true });
      await rename(temp, this.path(key));
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async delete(key: string): Promise<boolean> {
    try {
      await rm(this.path(key));
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  async list(after: string | null, limit: number): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
    return names
      .filter((n) => n.endsWith(SUFFIX) && !n.startsWith('.'))
      .map((n) => n.slice(0, -SUFFIX.length))
      .sort()
      .filter((k) => after === null || k > after)
      .slice(0, limit);
  }
}
