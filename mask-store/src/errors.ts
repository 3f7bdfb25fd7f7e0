/**
 * Typed errors of the mask store. Every refusal of a bank, layout, mask file or storage
 * operation is a `MaskFormatError` whose `code` is stable API: the worker maps it to an HTTP
 * error body, the CLI prints it as its one-line exit message, and tests assert on it.
 */
import { CodedError, codedErrorGuard } from './coded-error';

/** Stable codes carried by {@link MaskFormatError}. */
export type MaskFormatErrorCode =
  | 'bad_magic'
  | 'unsupported_version'
  | 'truncated'
  | 'trailing_bytes'
  | 'checksum_mismatch'
  | 'malformed_header'
  | 'layout_mismatch'
  | 'limit_exceeded'
  | 'corrupt_section'
  | 'parent_required'
  | 'parent_mismatch'
  | 'id_mismatch'
  | 'bad_layout'
  | 'bad_mask'
  | 'bad_safetensors';

export class MaskFormatError extends CodedError<MaskFormatErrorCode> {
  override readonly name = 'MaskFormatError';
}

/** True for a {@link MaskFormatError}, optionally with one of the given codes. */
export const isMaskFormatError = codedErrorGuard(MaskFormatError);
