/**
 * A CPU session over an in-memory graph the autodiff code built (gradient checks, tests, the
 * step benchmark), through the runner's one onnxruntime-node backend. One intra-op thread by
 * default: sums then run in a fixed order (reproducible gradient checks) and tests share the
 * cores. Sessions hold native memory: release them in `finally` / `afterAll`.
 */
import {
  writeModel,
  type InferenceSession,
  type OnnxTypes as onnx,
  type SessionOptions,
} from '@maskunet/gpu-runner';
import { createNodeSession } from '@maskunet/gpu-runner/node';

export function modelSession(
  model: onnx.IModelProto | Uint8Array,
  options: SessionOptions = {},
): Promise<InferenceSession> {
  const bytes = model instanceof Uint8Array ? model : writeModel(model);
  return createNodeSession(bytes, 'cpu', { threads: 1, ...options });
}
