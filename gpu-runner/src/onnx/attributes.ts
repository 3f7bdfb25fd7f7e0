/**
 * Readers and writers of node attributes and small constant tensors, for code that walks or
 * emits ONNX graphs node by node (the gradient builder, shape inference, the float64 reference
 * interpreter): int64 fields that protobufjs decodes as `Long`, attributes by name with
 * defaults, attribute construction, numeric tensor contents as JS numbers. Part of the one ONNX
 * toolkit (`onnx/`), beside the model I/O and tensor builders.
 */
import { DataType, type OnnxTypes as onnx } from './proto';

/** `AttributeProto.AttributeType` codes. */
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

/** True for element types gradients flow through. */
export function isFloatType(elemType: number | null | undefined): boolean {
  return (
    elemType === DataType.FLOAT ||
    elemType === DataType.DOUBLE ||
    elemType === DataType.FLOAT16 ||
    elemType === DataType.BFLOAT16
  );
}

/** A protobufjs int64 field: a plain number, or a `Long`-like object when decoded from bytes. */
export type IntLike = number | { toNumber(): number } | null | undefined;

/** Converts an int64 field to a JS number (exact below 2^53, which covers every dim and axis). */
export function toNumber(value: IntLike): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

/** Looks up an attribute by name. */
export function findAttr(node: onnx.INodeProto, name: string): onnx.IAttributeProto | undefined {
  return node.attribute?.find((a) => a.name === name);
}

export function attrInt(node: onnx.INodeProto, name: string, fallback: number): number {
  const a = findAttr(node, name);
  return a ? toNumber(a.i as IntLike) : fallback;
}

export function attrInts(node: onnx.INodeProto, name: string): number[] | undefined {
  const a = findAttr(node, name);
  return a ? (a.ints ?? []).map((v) => toNumber(v as IntLike)) : undefined;
}

export function attrFloat(node: onnx.INodeProto, name: string, fallback: number): number {
  const a = findAttr(node, name);
  return a ? (a.f ?? 0) : fallback;
}

export function attrString(node: onnx.INodeProto, name: string, fallback: string): string {
  const a = findAttr(node, name);
  return a?.s ? new TextDecoder().decode(a.s) : fallback;
}

export function attrTensor(node: onnx.INodeProto, name: string): onnx.ITensorProto | undefined {
  return findAttr(node, name)?.t ?? undefined;
}

/** An attribute value for {@link makeAttribute}: ints, int lists, strings, floats (boxed), tensors. */
export type AttrValue =
  | number
  | readonly number[]
  | string
  | { readonly float: number }
  | { readonly floats: readonly number[] }
  | { readonly tensor: onnx.ITensorProto };

/** Builds an `AttributeProto`; plain numbers are INT because nearly every attribute emitted is. */
export function makeAttribute(name: string, value: AttrValue): onnx.IAttributeProto {
  if (typeof value === 'number') return { name, type: AttrType.INT, i: value };
  if (typeof value === 'string') return { name, type: AttrType.STRING, s: new TextEncoder().encode(value) };
  if (isNumberArray(value)) return { name, type: AttrType.INTS, ints: [...value] };
  if ('float' in value) return { name, type: AttrType.FLOAT, f: value.float };
  if ('floats' in value) return { name, type: AttrType.FLOATS, floats: [...value.floats] };
  return { name, type: AttrType.TENSOR, t: value.tensor };
}

function isNumberArray(value: unknown): value is readonly number[] {
  return Array.isArray(value);
}

/** Decodes a numeric tensor's elements as JS numbers (int64 beyond 2^53 loses precision). */
export function tensorToNumbers(t: onnx.ITensorProto): number[] {
  const dataType = t.dataType ?? 0;
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out: number[] = [];
    switch (dataType) {
      case DataType.FLOAT:
        for (let o = 0; o < raw.byteLength; o += 4) out.push(view.getFloat32(o, true));
        return out;
      case DataType.DOUBLE:
        for (let o = 0; o < raw.byteLength; o += 8) out.push(view.getFloat64(o, true));
        return out;
      case DataType.INT64:
        for (let o = 0; o < raw.byteLength; o += 8) out.push(Number(view.getBigInt64(o, true)));
        return out;
      case DataType.UINT64:
        for (let o = 0; o < raw.byteLength; o += 8) out.push(Number(view.getBigUint64(o, true)));
        return out;
      case DataType.INT32:
        for (let o = 0; o < raw.byteLength; o += 4) out.push(view.getInt32(o, true));
        return out;
      case DataType.UINT32:
        for (let o = 0; o < raw.byteLength; o += 4) out.push(view.getUint32(o, true));
        return out;
      case DataType.INT16:
        for (let o = 0; o < raw.byteLength; o += 2) out.push(view.getInt16(o, true));
        return out;
      case DataType.UINT16:
        for (let o = 0; o < raw.byteLength; o += 2) out.push(view.getUint16(o, true));
        return out;
      case DataType.INT8:
        for (let o = 0; o < raw.byteLength; o++) out.push(view.getInt8(o));
        return out;
      case DataType.UINT8:
      case DataType.BOOL:
        for (let o = 0; o < raw.byteLength; o++) out.push(view.getUint8(o));
        return out;
      default:
        return [];
    }
  }
  if (t.floatData && t.floatData.length > 0) return [...t.floatData];
  if (t.doubleData && t.doubleData.length > 0) return [...t.doubleData];
  if (t.int64Data && t.int64Data.length > 0) return t.int64Data.map((v) => toNumber(v as IntLike));
  if (t.uint64Data && t.uint64Data.length > 0) return t.uint64Data.map((v) => toNumber(v as IntLike));
  if (t.int32Data && t.int32Data.length > 0) return [...t.int32Data];
  return [];
}

/** The default-domain opset version a model imports (0 when none). */
export function defaultOpset(model: onnx.IModelProto): number {
  const entry = model.opsetImport?.find((o) => !o.domain || o.domain === 'ai.onnx');
  return entry ? toNumber(entry.version as IntLike) : 0;
}
