/**
 * Conversions between ONNX `TensorProto`s (initializers, constants) and typed arrays for the
 * four element types the runner handles: float32 weights, int64 shapes and token ids, uint8
 * masks and int32 indices. Writers always fill `raw_data` (little-endian, as exporters do);
 * readers accept `raw_data` and the typed repeated fields. Hosts are assumed little-endian,
 * which holds on every platform onnxruntime ships for.
 */
import { ModelError } from './errors';
import { DataType, int64ToNumber, onnx, type TensorProto } from './proto';

/** Element types with typed-array conversions. */
export type TensorElementType = 'float32' | 'int64' | 'int32' | 'uint8';

/** ONNX data type code of each element type. */
export const ELEMENT_DATA_TYPE: Readonly<Record<TensorElementType, number>> = {
  float32: DataType.FLOAT,
  int64: DataType.INT64,
  int32: DataType.INT32,
  uint8: DataType.UINT8,
};

const BYTES_PER_ELEMENT: Readonly<Record<number, number>> = {
  [DataType.FLOAT]: 4,
  [DataType.UINT8]: 1,
  [DataType.INT32]: 4,
  [DataType.INT64]: 8,
  [DataType.BOOL]: 1,
  [DataType.FLOAT16]: 2,
  [DataType.DOUBLE]: 8,
  3: 1, // INT8
  4: 2, // UINT16
  5: 2, // INT16
  12: 4, // UINT32
  13: 8, // UINT64
  16: 2, // BFLOAT16
};

/** Bytes per element of an ONNX data type, or undefined for strings and unknown codes. */
export function bytesPerElement(dataType: number): number | undefined {
  return BYTES_PER_ELEMENT[dataType];
}

/** A tensor's dims as numbers. */
export function tensorDims(tensor: TensorProto): number[] {
  return ((tensor.dims ?? []) as unknown[]).map(int64ToNumber);
}

/** Number of elements implied by `dims` (1 for a scalar). */
export function elementCount(dims: readonly number[]): number {
  let count = 1;
  for (const d of dims) count *= d;
  return count;
}

function checkDims(dims: readonly number[]): void {
  if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new RangeError(`dims must be non-negative integers, got [${dims.join(', ')}]`);
  }
}

function makeTensor(
  name: string,
  dims: readonly number[],
  dataType: number,
  length: number,
  bytes: Uint8Array,
): TensorProto {
  checkDims(dims);
  if (length !== elementCount(dims)) {
    throw new RangeError(
      `data holds ${length} elements, dims [${dims.join(', ')}] need ${elementCount(dims)}`,
    );
  }
  return onnx.TensorProto.create({ name, dims: [...dims], dataType, rawData: bytes });
}

/** A float32 tensor; `data` is copied. */
export function float32Tensor(name: string, dims: readonly number[], data: ArrayLike<number>): TensorProto {
  const array = Float32Array.from(data);
  return makeTensor(name, dims, DataType.FLOAT, array.length, new Uint8Array(array.buffer));
}

/**
 * An int64 tensor. Numbers must be integers; one beyond 2^53 is taken as the exact value of its
 * double (ONNX graphs use 2^62-ish sentinels such as a Slice end of "to the end").
 */
export function int64Tensor(
  name: string,
  dims: readonly number[],
  data: BigInt64Array | readonly (number | bigint)[],
): TensorProto {
  const array =
    data instanceof BigInt64Array
      ? data.slice()
      : BigInt64Array.from(data, (v) => {
          if (typeof v === 'number' && !Number.isInteger(v)) {
            throw new RangeError(`int64 data must be integers, got ${v}`);
          }
          return BigInt(v);
        });
  return makeTensor(name, dims, DataType.INT64, array.length, new Uint8Array(array.buffer));
}

/** An int32 tensor. */
export function int32Tensor(
  name: string,
  dims: readonly number[],
  data: Int32Array | readonly number[],
): TensorProto {
  const array = Int32Array.from(data);
  return makeTensor(name, dims, DataType.INT32, array.length, new Uint8Array(array.buffer));
}

/** A uint8 tensor (masks); `data` is copied. */
export function uint8Tensor(
  name: string,
  dims: readonly number[],
  data: Uint8Array | readonly number[],
): TensorProto {
  const array = Uint8Array.from(data);
  return makeTensor(name, dims, DataType.UINT8, array.length, array);
}

/** A copy of `raw` into a fresh, aligned buffer: decoded raw_data is a view at any offset. */
function alignedRaw(tensor: TensorProto, elementBytes: number, count: number): ArrayBuffer {
  const raw = tensor.rawData ?? new Uint8Array(0);
  if (raw.byteLength !== count * elementBytes) {
    throw new ModelError(
      'bad_tensor_data',
      `tensor ${tensor.name ?? ''} has ${raw.byteLength} bytes of raw_data, dims need ${count * elementBytes}`,
    );
  }
  const copy = new Uint8Array(raw.byteLength);
  copy.set(raw);
  return copy.buffer;
}

function hasRaw(tensor: TensorProto): boolean {
  return (tensor.rawData?.byteLength ?? 0) > 0;
}

function expectType(tensor: TensorProto, dataType: number, what: string): number {
  if (tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new ModelError(
      'bad_tensor_data',
      `tensor ${tensor.name ?? ''} is stored externally; resolve external data first`,
    );
  }
  if (tensor.dataType !== dataType) {
    throw new ModelError(
      'unsupported_dtype',
      `tensor ${tensor.name ?? ''} has data type ${tensor.dataType ?? 0}, expected ${what}`,
    );
  }
  return elementCount(tensorDims(tensor));
}

function checkFieldLength(tensor: TensorProto, length: number, count: number): void {
  if (length !== count) {
    throw new ModelError(
      'bad_tensor_data',
      `tensor ${tensor.name ?? ''} holds ${length} values, dims need ${count}`,
    );
  }
}

/**
 * The float32 values of a FLOAT tensor (a copy).
 * @throws ModelError `unsupported_dtype` for another type, `bad_tensor_data` for a length
 *   mismatch or unresolved external data.
 */
export function tensorToFloat32(tensor: TensorProto): Float32Array {
  const count = expectType(tensor, DataType.FLOAT, 'float32');
  const values = tensor.floatData ?? [];
  if (hasRaw(tensor) || values.length === 0) return new Float32Array(alignedRaw(tensor, 4, count));
  checkFieldLength(tensor, values.length, count);
  return Float32Array.from(values);
}

/** The int64 values of an INT64 tensor. @throws ModelError as {@link tensorToFloat32}. */
export function tensorToInt64(tensor: TensorProto): BigInt64Array {
  const count = expectType(tensor, DataType.INT64, 'int64');
  const values = (tensor.int64Data ?? []) as unknown[];
  if (hasRaw(tensor) || values.length === 0) return new BigInt64Array(alignedRaw(tensor, 8, count));
  checkFieldLength(tensor, values.length, count);
  return BigInt64Array.from(values, (v) => BigInt(int64ToNumber(v)));
}

/** The int32 values of an INT32 tensor. @throws ModelError as {@link tensorToFloat32}. */
export function tensorToInt32(tensor: TensorProto): Int32Array {
  const count = expectType(tensor, DataType.INT32, 'int32');
  const values = tensor.int32Data ?? [];
  if (hasRaw(tensor) || values.length === 0) return new Int32Array(alignedRaw(tensor, 4, count));
  checkFieldLength(tensor, values.length, count);
  return Int32Array.from(values);
}

/**
 * The values of a UINT8 tensor (`int32_data` holds them when raw_data is absent, per the
 * ONNX spec). @throws ModelError as {@link tensorToFloat32}.
 */
export function tensorToUint8(tensor: TensorProto): Uint8Array {
  const count = expectType(tensor, DataType.UINT8, 'uint8');
  const values = tensor.int32Data ?? [];
  if (hasRaw(tensor) || values.length === 0) return new Uint8Array(alignedRaw(tensor, 1, count));
  checkFieldLength(tensor, values.length, count);
  return Uint8Array.from(values);
}
