/**
 * Backends behind one interface. This index is isomorphic: the onnxruntime-node backend is
 * imported from `backends/node-backend` (Node only) and the onnxruntime-web backend from
 * `backends/web-backend` by the code that needs them.
 */
export { BackendError, float32, uint8, int64 } from './types';
export type {
  BackendName,
  Feeds,
  InferenceSession,
  SessionFactory,
  SessionOptions,
  TensorData,
  TensorType,
} from './types';
