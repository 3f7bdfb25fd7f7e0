/**
 * The one place that touches `onnx-proto`, the protobufjs-generated ONNX schema (ONNX 1.10,
 * enough for IR 8 / opset 17). The package is CommonJS whose `module.exports` is the root
 * namespace, which Node's ESM loader cannot split into named exports, so it is imported as
 * a default and re-exported here; everything else imports `onnx` and the proto types from
 * this file. Its int64 fields are typed `number | Long` where `Long` resolves to `any`, so
 * int64 values are read through {@link int64ToNumber}, which accepts `unknown`.
 */
import onnxProto from 'onnx-proto';
import type { onnx as OnnxNamespace } from 'onnx-proto';

export const onnx = onnxProto.onnx;

/**
 * The generated namespace as types (`OnnxTypes.INodeProto`, …): for code that builds or walks
 * plain-object protos (every field optional), as the gradient builder does.
 */
export type { OnnxNamespace as OnnxTypes };

/*
 * protobufjs types a message's own fields as concrete values but its nested messages as the
 * `I…` interfaces (every field optional and nullable), because a message may be built from a
 * plain object. Models and graphs here are always class instances (`modelGraph` normalises a
 * plain graph); nodes, tensors and value infos are read as the interfaces they are typed as.
 */
export type ModelProto = OnnxNamespace.ModelProto;
export type GraphProto = OnnxNamespace.GraphProto;
export type NodeProto = OnnxNamespace.INodeProto;
export type TensorProto = OnnxNamespace.ITensorProto;
export type ValueInfoProto = OnnxNamespace.IValueInfoProto;
export type AttributeProto = OnnxNamespace.IAttributeProto;

/** ONNX `TensorProto.DataType` codes. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  BFLOAT16: 16,
} as const;

/**
 * An int64 proto field (a JS number or a protobufjs `Long`) as a safe integer.
 * @throws RangeError for a value outside the safe-integer range or of another type.
 */
export function int64ToNumber(value: unknown): number {
  let result: number;
  if (typeof value === 'number') result = value;
  else if (typeof value === 'bigint') result = Number(value);
  else if (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { toNumber?: unknown }).toNumber === 'function'
  ) {
    result = (value as { toNumber: () => number }).toNumber();
  } else {
    throw new RangeError(`not an int64 value: ${String(value)}`);
  }
  if (!Number.isSafeInteger(result)) throw new RangeError(`int64 value ${result} is not a safe integer`);
  return result;
}
