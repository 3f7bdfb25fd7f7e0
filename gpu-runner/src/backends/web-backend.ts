/**
 * The onnxruntime-web backend — the only file that imports it — for browsers (and for
 * checking wasm numerics from Node). `wasm` always exists; `webgpu` needs `navigator.gpu` and
 * fails with `backend_unavailable` instead of falling back to wasm.
 */
import * as ort from 'onnxruntime-web';
import {
  BackendError,
  outputTensor,
  type Feeds,
  type InferenceSession,
  type SessionOptions,
  type TensorData,
} from './types';

export interface WebSessionOptions extends SessionOptions {
  /** Where the onnxruntime-web .wasm files are served from (a URL prefix). */
  readonly wasmPaths?: string;
}

/** Creates an onnxruntime-web session on `provider`. */
export async function createWebSession(
  model: Uint8Array,
  provider: 'wasm' | 'webgpu',
  options: WebSessionOptions = {},
): Promise<InferenceSession> {
  if (options.wasmPaths !== undefined) ort.env.wasm.wasmPaths = options.wasmPaths;
  if (options.threads !== undefined) ort.env.wasm.numThreads = options.threads;
  if (provider === 'webgpu' && (typeof navigator === 'undefined' || !('gpu' in navigator))) {
    throw new BackendError(
      'backend_unavailable',
      'onnxruntime-web webgpu: this environment has no navigator.gpu',
    );
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, {
      executionProviders: [provider],
      graphOptimizationLevel: 'all',
    });
  } catch (error) {
    if (provider === 'webgpu')
      throw new BackendError('backend_unavailable', `onnxruntime-web webgpu: ${(error as Error).message}`);
    throw error;
  }
  return {
    backend: provider === 'wasm' ? 'web-wasm' : 'web-webgpu',
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds: Feeds, outputs?: readonly string[]): Promise<Record<string, TensorData>> {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, tensor] of Object.entries(feeds))
        ortFeeds[name] = new ort.Tensor(tensor.type, tensor.data, tensor.dims);
      const results =
        outputs === undefined ? await session.run(ortFeeds) : await session.run(ortFeeds, [...outputs]);
      const out: Record<string, TensorData> = {};
      for (const [name, tensor] of Object.entries(results)) {
        // WebGPU outputs may live on the GPU; getData() downloads them.
        out[name] = outputTensor(name, tensor.type, await tensor.getData(), tensor.dims);
      }
      return out;
    },
    release: () => session.release(),
  };
}
