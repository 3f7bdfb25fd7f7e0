/**
 * The one interface every execution backend implements. Callers choose a backend explicitly
 * (`cpu`/`webgpu` through onnxruntime-node, `wasm`/`webgpu` through onnxruntime-web) and each
 * session reports which one ran — a silent fallback from WebGPU to CPU would make every
 * timing and correctness claim about WebGPU meaningless.
 */

export type TensorType = 'float32' | 'uint8' | 'int64';

export interface TensorData {
  readonly type: TensorType;
  readonly data: Float32Array | Uint8Array | BigInt64Array;
  readonly dims: readonly number[];
}

export type Feeds = Readonly<Record<string, TensorData>>;

/** `node-cpu` and `node-webgpu` run through onnxruntime-node; `web-wasm`, `web-webgpu` through onnxruntime-web. */
export type BackendName = 'node-cpu' | 'node-webgpu' | 'web-wasm' | 'web-webgpu';

export interface SessionOptions {
  /** Intra-op threads for CPU/wasm execution. Default: the runtime's choice. */
  readonly threads?: number;
}

export interface InferenceSession {
  /** Which backend actually runs this session. */
  readonly backend: BackendName;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Feeds): Promise<Record<string, TensorData>>;
  release(): Promise<void>;
}

/** Creates sessions on one backend. */
export type SessionFactory = (model: Uint8Array, options?: SessionOptions) => Promise<InferenceSession>;

export class BackendError extends Error {
  override readonly name = 'BackendError';
  constructor(
    readonly code: 'backend_unavailable' | 'run_failed',
    message: string,
  ) {
    super(`${code}: ${message}`);
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
