/**
 * The one file of the autodiff package that touches onnxruntime-node: a session over an
 * in-memory ModelProto with plain typed-array feeds and results. Gradient checks and the step
 * benchmark use it; the trainer proper goes through the runner's backend. Sessions hold native
 * memory, so callers release them in `finally` / `afterAll`.
 */
import * as ort from 'onnxruntime-node';
import { encodeModel, type onnx } from './proto';

/** A host tensor: float32, int64 or bool data with its dims. */
export type HostTensor =
  | { readonly type: 'float32'; readonly dims: readonly number[]; readonly data: Float32Array }
  | { readonly type: 'int64'; readonly dims: readonly number[]; readonly data: BigInt64Array }
  | { readonly type: 'bool'; readonly dims: readonly number[]; readonly data: Uint8Array };

export interface OrtSessionOptions {
  /** Intra-op threads (default 1: deterministic sums, and tests share the cores). */
  readonly intraOpNumThreads?: number;
  /** onnxruntime graph optimisation level (default `"all"`). */
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** When set, onnxruntime writes a Chrome-trace profile `<prefix>_<timestamp>.json` (see `endProfiling`). */
  readonly profileFilePrefix?: string;
}

export class OrtModelSession {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(
    model: onnx.IModelProto | Uint8Array,
    options: OrtSessionOptions = {},
  ): Promise<OrtModelSession> {
    const bytes = model instanceof Uint8Array ? model : encodeModel(model);
    const session = await ort.InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      intraOpNumThreads: options.intraOpNumThreads ?? 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
      ...(options.profileFilePrefix
        ? { enableProfiling: true, profileFilePrefix: options.profileFilePrefix }
        : {}),
    });
    return new OrtModelSession(session);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the model; returns the requested outputs (all when omitted). */
  async run(
    feeds: Readonly<Record<string, HostTensor>>,
    outputs?: readonly string[],
  ): Promise<Record<string, HostTensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds))
      ortFeeds[name] = new ort.Tensor(t.type, t.data, [...t.dims]);
    const result = outputs
      ? await this.session.run(ortFeeds, [...outputs])
      : await this.session.run(ortFeeds);
    const out: Record<string, HostTensor> = {};
    for (const [name, value] of Object.entries(result)) out[name] = toHost(name, value);
    return out;
  }

  /** Stops profiling and flushes the profile file (only with `profileFilePrefix`). */
  endProfiling(): void {
    this.session.endProfiling();
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function toHost(name: string, value: ort.Tensor): HostTensor {
  const dims = [...value.dims];
  switch (value.type) {
    case 'float32':
      return { type: 'float32', dims, data: value.data as Float32Array };
    case 'int64':
      return { type: 'int64', dims, data: value.data as BigInt64Array };
    case 'bool':
      return { type: 'bool', dims, data: value.data as Uint8Array };
    default:
      throw new TypeError(`output '${name}' has unsupported type ${value.type}`);
  }
}
