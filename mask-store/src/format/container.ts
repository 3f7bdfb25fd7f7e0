/**
 * The container around a bank: a 16-byte fixed prefix (magic, version, flags, header length,
 * header CRC-32), the msgpack header, then the section payloads back to back in header order.
 * The prefix lets a reader that has only the first bytes (a Range request) learn how much more
 * it needs for the header; the header then gives every section's byte range.
 */
import { MaskFormatError } from '../errors';
import { crc32 } from '../hash';
import { checkLimit, type MaskLimits } from '../limits';

/** "MKBK". */
export const BANK_MAGIC = Uint8Array.of(0x4d, 0x4b, 0x42, 0x4b);
export const BANK_VERSION = 1;
export const PREFIX_BYTES = 16;

export interface BankPrefix {
  readonly version: number;
  readonly headerLength: number;
  readonly headerCrc: number;
}

/**
 * Reads and checks the fixed prefix.
 * @throws MaskFormatError `truncated`, `bad_magic`, `unsupported_version`, `malformed_header`
 *   (non-zero flags) or `limit_exceeded` (header length).
 */
export function readPrefix(bytes: Uint8Array, limits: MaskLimits): BankPrefix {
  if (bytes.length < 4)
    throw new MaskFormatError('truncated', `bank is ${bytes.length} bytes, shorter than its magic`);
  for (let i = 0; i < 4; i++) {
    if (bytes[i] !== BANK_MAGIC[i])
      throw new MaskFormatError('bad_magic', 'not a mask bank (magic is not MKBK)');
  }
  if (bytes.length < PREFIX_BYTES)
    throw new MaskFormatError('truncated', 'bank ends inside its 16-byte prefix');
  const view = new DataView(bytes.buffer, bytes.byteOffset, PREFIX_BYTES);
  const version = view.getUint16(4, true);
  if (version !== BANK_VERSION) {
    throw new MaskFormatError(
      'unsupported_version',
      `bank version ${version}; this reader knows ${BANK_VERSION}`,
    );
  }
  if (view.getUint16(6, true) !== 0)
    throw new MaskFormatError('malformed_header', 'reserved flags are not zero');
  const headerLength = view.getUint32(8, true);
  checkLimit('header length', headerLength, limits.maxHeaderBytes);
  return { version, headerLength, headerCrc: view.getUint32(12, true) };
}

/**
 * Returns the header bytes after checking they are all present and match their CRC.
 * @throws MaskFormatError `truncated` or `checksum_mismatch`.
 */
export function readHeaderBytes(bytes: Uint8Array, prefix: BankPrefix): Uint8Array {
  const end = PREFIX_BYTES + prefix.headerLength;
  if (bytes.length < end) throw new MaskFormatError('truncated', 'bank ends inside its header');
  const header = bytes.subarray(PREFIX_BYTES, end);
  if (crc32(header) !== prefix.headerCrc)
    throw new MaskFormatError('checksum_mismatch', 'header checksum mismatch');
  return header;
}

/** Writes prefix + header + payloads into one buffer. */
export function writeContainer(header: Uint8Array, payloads: readonly Uint8Array[]): Uint8Array {
  let total = PREFIX_BYTES + header.length;
  for (const payload of payloads) total += payload.length;
  const out = new Uint8Array(total);
  out.set(BANK_MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint16(4, BANK_VERSION, true);
  view.setUint16(6, 0, true);
  view.setUint32(8, header.length, true);
  view.setUint32(12, crc32(header), true);
  out.set(header, PREFIX_BYTES);
  let offset = PREFIX_BYTES + header.length;
  for (const payload of payloads) {
    out.set(payload, offset);
    offset += payload.length;
  }
  return out;
}
