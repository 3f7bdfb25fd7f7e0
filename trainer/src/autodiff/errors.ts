/**
 * Typed errors of the autodiff package. Every refusal to differentiate a graph — an op with no
 * gradient rule, an attribute combination the rules cannot express in standard ONNX ops, a
 * shape that must be known but is not — is an `AutodiffError` whose `code` is stable API and
 * whose message names the op and the node, so a failing U-Net export points at one node.
 */
import { CodedError, codedErrorGuard } from '@maskunet/mask-store';

/** Stable codes carried by {@link AutodiffError}. */
export type AutodiffErrorCode =
  /** An op on a differentiable path has no gradient rule. */
  | 'unsupported_op'
  /** A supported op uses an attribute value the gradient rule cannot handle (group ≠ 1, …). */
  | 'unsupported_attribute'
  /** The model's default-domain opset is outside the range the rules emit for. */
  | 'unsupported_opset'
  /** A rank or dimension the rule needs could not be inferred. */
  | 'unknown_shape'
  /** An input the rule needs as a constant (Slice starts, Resize scales) is computed at run time. */
  | 'dynamic_attribute'
  /** The loss name is not a value of the graph, is not float, or is not a single element. */
  | 'bad_loss'
  /** A `wrt` or `keepOutputs` name is not what it must be (not a graph input, an initializer…). */
  | 'bad_argument'
  /** The graph is not a DAG or uses a value before it is produced. */
  | 'malformed_graph';

export class AutodiffError extends CodedError<AutodiffErrorCode> {
  override readonly name = 'AutodiffError';
}

/** True for an {@link AutodiffError}, optionally with one of the given codes. */
export const isAutodiffError = codedErrorGuard(AutodiffError);
