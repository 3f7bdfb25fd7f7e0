/**
 * The one interface every execution backend implements. Callers choose a backend explicitly
 * (`cpu`/`webgpu` through onnxruntime-node, `wasm`/`webgpu` through onnxruntime-web) and each
 * session reports which one ran — a silent fallback from WebGPU to CPU would make every
 * timing and correctness claim about WebGPU meaningless.
 */
import { CodedError } from '@maskunet/mask-store';

/** `bool` tensors hold one byte per element (0 or 1) in a Uint8Array, as onnxruntime's do. */
export type TensorType = 'float32' | 'uint8' | 'int64' | 'bool';

export type TensorData =
  | { readonly type: 'float32'; readonly data: Float32Array; readonly dims: readonly number[] }
  | { readonly type: 'uint8' | 'bool'; readonly data: Uint8Array; readonly dims: readonly number[] }
  | { readonly type: 'int64'; readonly data: BigInt64Array; readonly dims: readonly number[] };

export type Feeds = Readonly<Record<string, TensorData>>;

/** `node-cpu` and `node-webgpu` run through onnxruntime-node; `web-wasm`, `web-webgpu` through onnxruntime-web. */
export type BackendName = 'node-cpu' | 'node-webgpu' | 'web-wasm' | 'web-webgpu';

export interface SessionOptions {
  /** Intra-op threads for CPU/wasm execution. Default: the runtime's choice. */
  readonly threads?: number;
  /** onnxruntime's graph optimisation level. Default `all`. */
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * onnxruntime-node only: write a Chrome-trace profile `<prefix>_<timestamp>.json`, flushed by
   * {@link InferenceSession.endProfiling}.
   */
  readonly profileFilePrefix?: string;
}

export interface InferenceSession {
  /** Which backend actually runs this session. */
  readonly backend: BackendName;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Runs the model; returns the named outputs (all when omitted). */
  run(feeds: Feeds, outputs?: readonly string[]): Promise<Record<string, TensorData>>;
  /** Stops profiling and flushes the profile (sessions made with `profileFilePrefix`). */
  endProfiling?(): void;
  release(): Promise<void>;
}

/** Creates sessions on one backend. */
export type SessionFactory = (model: Uint8Array, options?: SessionOptions) => Promise<InferenceSession>;

export class BackendError extends CodedError<'backend_unavailable' | 'run_failed'> {
  override readonly name = 'BackendError';
}

/**
 * A runtime's output tensor as {@link TensorData}, or `run_failed` for an element type the
 * project does not use. Both onnxruntime bindings hand back the same (type, data, dims) triple.
 */
export function outputTensor(name: string, type: string, data: unknown, dims: readonly number[]): TensorData {
  switch (type) {
    case 'float32':
      return { type, data: data as Float32Array, dims: [...dims] };
    case 'int64':
      return { type, data: data as BigInt64Array, dims: [...dims] };
    case 'uint8':
    case 'bool':
      return { type, data: data as Uint8Array, dims: [...dims] };
    default:
      throw new BackendError('run_failed', `output '${name}' has unsupported type ${type}`);
  }
}

export function float32(data: Float32Array, dims: readonly number[]): TensorData {
  return { type: 'float32', data, dims };
}

export function uint8(data: Uint8Array, dims: readonly number[]): TensorData {
  return { type: 'uint8', data, dims };
}

export function int64(data: BigInt64Array, dims: readonly number[]): TensorData {
  return { type: 'int64', data, dims };
}
