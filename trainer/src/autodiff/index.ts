/**
 * Public surface of reverse-mode autodiff over ONNX: `buildGradientGraph` (forward graph →
 * training graph of standard ops with `grad:<name>` outputs), the MSE loss the trainer appends,
 * the typed error, and the gradient-checking tools (float64 reference interpreter, finite
 * differences against onnxruntime-node) used by the tests and available for new ops.
 */
export { buildGradientGraph, gradientName, topologicalOrder, MIN_OPSET, MAX_OPSET } from './gradient';
export type { GradientGraphOptions } from './gradient';
export { appendMseLoss } from './loss';
export type { MseLossOptions } from './loss';
export { AutodiffError, isAutodiffError } from './errors';
export type { AutodiffErrorCode } from './errors';
export { SUPPORTED_GRADIENT_OPS, NON_DIFFERENTIABLE_OPS } from './rules';
export { checkGradients, createRng } from './gradcheck';
export type { GradCheckOptions, GradCheckResult, InputCheck, Rng } from './gradcheck';
export { ReferenceModel, refTensor } from './reference';
export type { RefTensor } from './reference';
export { modelSession } from './model-session';
export { ModelKit } from './model-kit';
export type { KitDim } from './model-kit';
