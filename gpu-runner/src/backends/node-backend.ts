/**
 * The onnxruntime-node backend — the only file that imports the native binding. `cpu` always
 * exists; `webgpu` needs a WebGPU adapter (a GPU, or a software Vulkan such as Mesa ≥ 25
 * lavapipe on a CPU-only box) and fails with `backend_unavailable` rather than falling back.
 */
import * as ort from 'onnxruntime-node';
import {
  BackendError,
  type Feeds,
  type InferenceSession,
  type SessionOptions,
  type TensorData,
} from './types';

function toOrt(tensor: TensorData): ort.Tensor {
  return new ort.Tensor(tensor.type, tensor.data, tensor.dims);
}

function fromOrt(tensor: ort.Tensor): TensorData {
  const type = tensor.type;
  if (type !== 'float32' && type !== 'uint8' && type !== 'int64') {
    throw new BackendError('run_failed', `output of type ${type} is not supported`);
  }
  return { type, data: tensor.data as TensorData['data'], dims: [...tensor.dims] };
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
      graphOptimizationLevel: 'all',
      ...(options.threads === undefined ? {} : { intraOpNumThreads: options.threads }),
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
    async run(feeds: Feeds): Promise<Record<string, TensorData>> {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, tensor] of Object.entries(feeds)) ortFeeds[name] = toOrt(tensor);
      const results = await session.run(ortFeeds);
      const out: Record<string, TensorData> = {};
      for (const [name, tensor] of Object.entries(results)) out[name] = fromOrt(tensor);
      return out;
    },
    release: () => session.release(),
  };
}
