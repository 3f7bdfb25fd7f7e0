/**
 * The onnxruntime-node backend — the only file that imports the native binding. `cpu` always
 * exists; `webgpu` needs a WebGPU adapter (a GPU, or a software Vulkan such as Mesa ≥ 25
 * lavapipe on a CPU-only box) and fails with `backend_unavailable` rather than falling back.
 */
import * as ort from 'onnxruntime-node';
import {
  BackendError,
  outputTensor,
  type Feeds,
  type InferenceSession,
  type SessionOptions,
  type TensorData,
} from './types';

function toOrt(tensor: TensorData): ort.Tensor {
  return new ort.Tensor(tensor.type, tensor.data, tensor.dims);
}

/** Creates an onnxruntime-node session on `provider`. */
export async function createNodeSession(
  model: Uint8Array,
  provider: 'cpu' | 'webgpu',
  options: SessionOptions = {},
): Promise<InferenceSession> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, {
      executionProviders: [provider],
      graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
      ...(options.threads === undefined ? {} : { intraOpNumThreads: options.threads, interOpNumThreads: 1 }),
      ...(options.profileFilePrefix === undefined
        ? {}
        : { enableProfiling: true, profileFilePrefix: options.profileFilePrefix }),
    });
  } catch (error) {
    if (provider === 'webgpu') {
      throw new BackendError('backend_unavailable', `onnxruntime-node webgpu: ${(error as Error).message}`);
    }
    throw error;
  }
  const backend = provider === 'cpu' ? 'node-cpu' : 'node-webgpu';
  return {
    backend,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds: Feeds, outputs?: readonly string[]): Promise<Record<string, TensorData>> {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, tensor] of Object.entries(feeds)) ortFeeds[name] = toOrt(tensor);
      const results =
        outputs === undefined ? await session.run(ortFeeds) : await session.run(ortFeeds, [...outputs]);
      const out: Record<string, TensorData> = {};
      for (const [name, tensor] of Object.entries(results))
        out[name] = outputTensor(name, tensor.type, tensor.data, tensor.dims);
      return out;
    },
    endProfiling: () => session.endProfiling(),
    release: () => session.release(),
  };
}
