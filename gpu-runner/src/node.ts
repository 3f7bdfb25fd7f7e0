/**
 * Node-only surface of the gpu-runner: reading model files (with external data) from disk,
 * the onnxruntime-node backend, and model directories on disk. Browsers import the package
 * root, which stays free of `node:` imports and native bindings.
 */
export * from './onnx/model-file';
export { createNodeSession } from './backends/node-backend';
export { writeModelDir, loadModelDir } from './pipeline/model-dir';
export type { ModelPackageInput } from './pipeline/model-dir';
