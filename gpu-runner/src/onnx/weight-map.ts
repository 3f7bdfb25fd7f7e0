/**
 * Named weight maps: float32 tensors keyed by PyTorch parameter name
 * (`up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight`) in PyTorch layout
 * (Linear `[out, in]`, Conv `[out, in, kh, kw]`), the form every network builder here reads
 * weights in. Safetensors checkpoints convert into one; half-precision dtypes are widened
 * because the graphs are float32 throughout.
 */
import type { SafetensorsFile } from '@maskunet/mask-store';

import { ModelError } from './errors';
import { elementCount } from './tensor';

export interface WeightTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export type WeightMap = ReadonlyMap<string, WeightTensor>;

/** IEEE half → float. */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function widen(name: string, dtype: string, bytes: Uint8Array, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return out;
    case 'BF16': {
      const word = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) {
        word.setUint32(0, view.getUint16(i * 2, true) << 16);
        out[i] = word.getFloat32(0);
      }
      return out;
    }
    default:
      throw new ModelError('unsupported_dtype', `tensor ${name} has dtype ${dtype}`);
  }
}

const FLOAT_DTYPES = new Set(['F32', 'F64', 'F16', 'BF16']);

/**
 * The floating-point tensors of a safetensors file as a weight map (float32). Integer and
 * boolean tensors (buffers such as `position_ids`) are not weights and are left out.
 */
export function weightsFromSafetensors(file: SafetensorsFile): Map<string, WeightTensor> {
  const weights = new Map<string, WeightTensor>();
  for (const [name, tensor] of file.tensors) {
    if (!FLOAT_DTYPES.has(tensor.dtype)) continue;
    const count = elementCount(tensor.shape);
    weights.set(name, { shape: [...tensor.shape], data: widen(name, tensor.dtype, tensor.data, count) });
  }
  return weights;
}
