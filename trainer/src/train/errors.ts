/**
 * Typed errors of the training utilities. A gradient map that does not match the parameters, or
 * a checkpointed optimiser state that does not fit them, is an `OptimizerError` with a stable
 * `code`; invalid hyper-parameters are `RangeError`s naming the option, as for any bad argument.
 */
import { CodedError, codedErrorGuard } from '@maskunet/mask-store';

/** Stable codes carried by {@link OptimizerError}. */
export type OptimizerErrorCode =
  /** A parameter has no gradient in the map passed to `step`. */
  | 'missing_gradient'
  /** A gradient or state tensor's length differs from its parameter's. */
  | 'shape_mismatch'
  /** A serialised state lacks a tensor or scalar, or has one for an unknown parameter. */
  | 'bad_state';

export class OptimizerError extends CodedError<OptimizerErrorCode> {
  override readonly name = 'OptimizerError';
}

/** True for an {@link OptimizerError}, optionally with one of the given codes. */
export const isOptimizerError = codedErrorGuard(OptimizerError);

/** Stable codes carried by {@link TrainError}: refusals a user of `maskunet train` sees. */
export type TrainErrorCode =
  /** A run directory's checkpoint was trained under other networks, seed or recipe. */
  | 'not_resumable'
  /** The asked-for checkpoint or snapshot is not in the run directory. */
  | 'no_checkpoint'
  /** The loss became NaN or infinite; the run stops before saving damaged weights. */
  | 'diverged';

/** Its message is written for the person running `maskunet train`, so it is not prefixed. */
export class TrainError extends CodedError<TrainErrorCode> {
  override readonly name = 'TrainError';
  constructor(code: TrainErrorCode, message: string) {
    super(code, message, { prefixCode: false });
  }
}

export const isTrainError = codedErrorGuard(TrainError);
