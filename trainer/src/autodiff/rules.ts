/**
 * The registry of gradient rules, one per supported forward op, and the list of ops that never
 * carry gradient (shape arithmetic, comparisons, constants). A rule declares which of its inputs
 * gradients can flow into — everything else (indices, axes, shapes, conditions, scales) is a
 * stop-gradient — and writes the backward nodes for one forward node.
 */
import type { GradContext } from './grad-context';
import { type OnnxTypes as onnx } from '@maskunet/gpu-runner';
import { LINEAR_RULES } from './rules-linear';
import { POINTWISE_RULES } from './rules-pointwise';
import { STRUCTURAL_RULES } from './rules-structural';

export interface GradRule {
  /** Input positions gradients can flow into; all others are stop-gradient. */
  differentiableInputs(node: onnx.INodeProto): readonly number[];
  /** Emits the backward of one node; returns one gradient (or undefined) per input position. */
  backward(ctx: GradContext): (string | undefined)[];
}

export const GRADIENT_RULES: Readonly<Record<string, GradRule>> = {
  ...POINTWISE_RULES,
  ...STRUCTURAL_RULES,
  ...LINEAR_RULES,
};

/** Ops whose outputs are never differentiable: integer/boolean results and constants. */
export const NON_DIFFERENTIABLE_OPS: ReadonlySet<string> = new Set([
  'Shape',
  'Size',
  'Constant',
  'ConstantOfShape',
  'Equal',
  'Less',
  'Greater',
  'LessOrEqual',
  'GreaterOrEqual',
  'Not',
  'And',
  'Or',
  'Xor',
  'NonZero',
  'Range',
  'ArgMax',
  'ArgMin',
]);

/** Every op type `buildGradientGraph` differentiates through. */
export const SUPPORTED_GRADIENT_OPS: readonly string[] = Object.keys(GRADIENT_RULES).sort();
