/**
 * Errors the CLI turns into its one-line exit message. Usage mistakes exit 2; refusals of
 * input data (typed errors from the packages, which carry a stable `code`) exit 1.
 */
import { CodedError } from '@maskunet/mask-store';
export class CliError extends CodedError {
  override readonly name = 'CliError';
  constructor(
    code: string,
    message: string,
    readonly exitCode = 2,
  ) {
    super(code, message, { prefixCode: false });
  }
}

/** The `code` of any typed error from our packages, or null. */
export function errorCode(error: unknown): string | null {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = error.code;
    if (typeof code === 'string' && /^[a-z_]+$/.test(code)) return code;
  }
  return null;
}
