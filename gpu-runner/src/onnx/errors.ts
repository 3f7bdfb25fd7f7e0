/**
 * Typed errors of the ONNX side. Every refusal of a model file, a weight map, a network
 * configuration, a vocabulary or a mask layout is a `ModelError` whose `code` is stable API,
 * so the runner, the CLI and tests can branch on it. Misuse of a function by its caller
 * (a wrong argument type or range) throws `TypeError`/`RangeError` naming the argument instead.
 */
import { CodedError, codedErrorGuard } from '@maskunet/mask-store';

/** Stable codes carried by {@link ModelError}. */
export type ModelErrorCode =
  /** The bytes are not a decodable ModelProto, or the graph is missing. */
  | 'malformed_model'
  /** A tensor's data type is not one this package converts. */
  | 'unsupported_dtype'
  /** A tensor's data is missing, of the wrong length, or still stored externally. */
  | 'bad_tensor_data'
  /** External data cannot be located, escapes the model directory, or cannot be read. */
  | 'external_data'
  /** A limit (bytes, vocabulary size) was exceeded; checked before allocating. */
  | 'limit_exceeded'
  /** A network configuration is inconsistent. */
  | 'bad_config'
  /** A weight map lacks a parameter the network needs. */
  | 'missing_weight'
  /** A weight has the wrong shape (or a masked weight is not 2-D). */
  | 'bad_weight_shape'
  /** A vocabulary file or token list is malformed. */
  | 'bad_vocabulary'
  /** The layout resolver found no masked layer. */
  | 'no_masked_layers'
  /** Two masked weights resolve to the same module path. */
  | 'duplicate_layer'
  /** A masked weight feeds more than one node, so masking it would change other layers. */
  | 'shared_weight';

export class ModelError extends CodedError<ModelErrorCode> {
  override readonly name = 'ModelError';
}

/** True for a {@link ModelError}, optionally with the given code. */
export const isModelError = codedErrorGuard(ModelError);
