/**
 * Bank storage: one `BankStore` over interchangeable blob backends (memory, filesystem, R2).
 * The store owns the rules every backend shares — a bank is validated completely before any
 * byte is written, its key is its SHA-256 id so puts are idempotent, and section reads use
 * byte ranges so a runner or client can fetch one bucket without the rest.
 */
import { MaskBank } from '../bank';
import { MaskFormatError } from '../errors';
import { PREFIX_BYTES, readHeaderBytes, readPrefix } from '../format/container';
import { decodeHeader, type BankHeader } from '../format/header';
import { crc32, isHexDigest } from '../hash';
import { resolveLimits, type MaskLimits } from '../limits';

/** What a backend stores: opaque blobs under string keys. Writes must be atomic. */
export interface BlobBackend {
  /** Size in bytes, or null when absent. */
  size(key: string): Promise<number | null>;
  get(key: string): Promise<Uint8Array | null>;
  /** Bytes [start, end) of a blob, or null when absent. `end` is clamped to the size. */
  getRange(key: string, start: number, end: number): Promise<Uint8Array | null>;
  /** Stores a blob so readers see either nothing or all of it. */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** True when something was deleted. */
  delete(key: string): Promise<boolean>;
  /** Keys in lexicographic order after `cursor`, at most `limit`. */
  list(after: string | null, limit: number): Promise<string[]>;
}

export interface PutResult {
  readonly id: string;
  readonly size: number;
  /** False when the bank was already stored (puts are idempotent by id). */
  readonly created: boolean;
  readonly bank: MaskBank;
}

export interface ListResult {
  readonly ids: string[];
  /** Pass back to continue, or null at the end. */
  readonly cursor: string | null;
}

export interface BankStoreOptions {
  readonly limits?: Partial<MaskLimits>;
}

function checkId(id: string): void {
  if (!isHexDigest(id))
    throw new TypeError(`bank id must be 64 lower-case hex digits, got ${JSON.stringify(id)}`);
}

export class BankStore {
  private readonly limits: MaskLimits;

  constructor(
    private readonly backend: BlobBackend,
    options: BankStoreOptions = {},
  ) {
    this.limits = resolveLimits(options.limits);
  }

  /**
   * Validates `bytes` as a bank and stores it under its id. Nothing is written when
   * validation fails.
   * @throws MaskFormatError from {@link MaskBank.open}.
   */
  async put(bytes: Uint8Array): Promise<PutResult> {
    const bank = await MaskBank.open(bytes, { limits: this.limits });
    const existing = await this.backend.size(bank.id);
    if (existing === null) await this.backend.put(bank.id, bytes);
    return { id: bank.id, size: bytes.length, created: existing === null, bank };
  }

  async get(id: string): Promise<Uint8Array | null> {
    checkId(id);
    return this.backend.get(id);
  }

  /** Opens a stored bank (validated again: storage is not trusted blindly). */
  async open(id: string): Promise<MaskBank | null> {
    const bytes = await this.get(id);
    return bytes === null ? null : MaskBank.open(bytes, { limits: this.limits });
  }

  async size(id: string): Promise<number | null> {
    checkId(id);
    return this.backend.size(id);
  }

  /** Bytes [start, end) of a stored bank. */
  async getRange(id: string, start: number, end: number): Promise<Uint8Array | null> {
    checkId(id);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
      throw new RangeError(`bad byte range [${start}, ${end})`);
    }
    return this.backend.getRange(id, start, end);
  }

  /** The header of a stored bank, read with two range requests. */
  async getHeader(id: string): Promise<{ header: BankHeader; payloadOffset: number } | null> {
    const prefixBytes = await this.getRange(id, 0, PREFIX_BYTES);
    if (prefixBytes === null) return null;
    const prefix = readPrefix(prefixBytes, this.limits);
    const headerEnd = PREFIX_BYTES + prefix.headerLength;
    const head = await this.getRange(id, 0, headerEnd);
    if (head === null) return null;
    const header = decodeHeader(readHeaderBytes(head, prefix), this.limits, null);
    return { header, payloadOffset: headerEnd };
  }

  /** The payload bytes of one section, fetched by range and checked against its CRC. */
  async getSectionBytes(id: string, bucket: number, layer: number): Promise<Uint8Array | null> {
    const found = await this.getHeader(id);
    if (found === null) return null;
    const layers = found.header.layout.layers.length;
    const record = found.header.sections[bucket * layers + layer];
    if (record === undefined || layer >= layers || layer < 0)
      throw new RangeError(`no section (${bucket}, ${layer})`);
    const start = found.payloadOffset + record.offset;
    const bytes = await this.getRange(id, start, start + record.length);
    if (bytes === null) return null;
    if (bytes.length !== record.length)
      throw new MaskFormatError('truncated', 'stored bank ends inside a section');
    if (crc32(bytes) !== record.crc)
      throw new MaskFormatError('checksum_mismatch', 'stored section checksum mismatch');
    return bytes;
  }

  async delete(id: string): Promise<boolean> {
    checkId(id);
    return this.backend.delete(id);
  }

  /** Bank ids in lexicographic order, `limit` (default 1000, at most 1000) at a time. */
  async list(options: { cursor?: string | null; limit?: number } = {}): Promise<ListResult> {
    const limit = options.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new RangeError('limit must be in [1, 1000]');
    const ids = (await this.backend.list(options.cursor ?? null, limit + 1)).filter(isHexDigest);
    const page = ids.slice(0, limit);
    return { ids: page, cursor: ids.length > limit ? page[page.length - 1]! : null };
  }
}
