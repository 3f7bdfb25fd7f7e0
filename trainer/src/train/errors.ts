/**
 * Typed errors of the training utilities. A gradient map that does not match the parameters, or
 * a checkpointed optimiser state that does not fit them, is an `OptimizerError` with a stable
 * `code`; invalid hyper-parameters are `RangeError`s naming the option, as for any bad argument.
 */

/** Stable codes carried by {@link OptimizerError}. */
export type OptimizerErrorCode =
  /** A parameter has no gradient in the map passed to `step`. */
  | 'missing_gradient'
  /** A gradient or state tensor's length differs from its parameter's. */
  | 'shape_mismatch'
  /** A serialised state lacks a tensor or scalar, or has one for an unknown parameter. */
  | 'bad_state';

export class OptimizerError extends Error {
  override readonly name = 'OptimizerError';
  constructor(
    readonly code: OptimizerErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** True for an {@link OptimizerError}, optionally with one of the given codes. */
export function isOptimizerError(error: unknown, code?: OptimizerErrorCode): error is OptimizerError {
  return error instanceof OptimizerError && (code === undefined || error.code === code);
}

/** Stable codes carried by {@link TrainError}: refusals a user of `maskunet train` sees. */
export type TrainErrorCode =
  /** A run directory's checkpoint was trained under other networks, seed or recipe. */
  | 'not_resumable'
  /** The asked-for checkpoint or snapshot is not in the run directory. */
  | 'no_checkpoint'
  /** The loss became NaN or infinite; the run stops before saving damaged weights. */
  | 'diverged';

export class TrainError extends Error {
  override readonly name = 'TrainError';
  constructor(
    readonly code: TrainErrorCode,
    message: string,
  ) {
    super(message);
  }
}
