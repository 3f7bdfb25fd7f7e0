/**
 * The one base of the project's typed errors. A `CodedError` carries a stable `code` — API that
 * the worker maps to HTTP bodies, the CLI prints as its exit line and tests assert on — and by
 * default a message prefixed with that code. Each package declares its own subclass with its
 * own code union and `name`; {@link codedErrorGuard} makes its `isXError(error, code?)` guard.
 * It lives in mask-store because mask-store is the package every other one already imports.
 */

export interface CodedErrorOptions {
  /** Prefix the message with `code: `. Default true. */
  readonly prefixCode?: boolean;
}

export class CodedError<C extends string = string> extends Error {
  constructor(
    readonly code: C,
    message: string,
    options: CodedErrorOptions = {},
  ) {
    super(options.prefixCode === false ? message : `${code}: ${message}`);
  }
}

/** A type guard for one subclass: true for its instances, optionally only with the given code. */
export function codedErrorGuard<E extends CodedError>(
  type: abstract new (...args: never[]) => E,
): (error: unknown, code?: E['code']) => error is E {
  return (error: unknown, code?: E['code']): error is E =>
    error instanceof type && (code === undefined || error.code === code);
}
