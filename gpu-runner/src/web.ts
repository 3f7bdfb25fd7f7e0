/** The onnxruntime-web backend entry (`@maskunet/gpu-runner/web`): browsers, and wasm from Node. */
export { createWebSession } from './backends/web-backend';
export type { WebSessionOptions } from './backends/web-backend';
