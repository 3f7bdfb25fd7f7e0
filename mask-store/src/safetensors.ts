/**
 * safetensors reading and writing, and the mask import/export on top of it. Masks from
 * PyTorch (the official MaskUNet code) are tensors keyed `<module path>.weight`, shape
 * `[out, in]`, dtype U8, BOOL or F32 (F32 is thresholded at 0.5). The reader validates the
 * whole file — header size, JSON, dtypes, shapes, offsets covering the data exactly once —
 * before it returns any tensor.
 */
import { MaskFormatError } from './errors';
import { layerSize, type MaskLayout } from './layout';
import { checkLimit, resolveLimits, type MaskLimits } from './limits';

const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  U16: 2,
  I16: 2,
  F16: 2,
  BF16: 2,
  U32: 4,
  I32: 4,
  F32: 4,
  U64: 8,
  I64: 8,
  F64: 8,
};

export interface SafeTensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  /** The tensor's raw little-endian bytes (a view into the file). */
  readonly data: Uint8Array;
}

export interface SafetensorsFile {
  readonly tensors: ReadonlyMap<string, SafeTensor>;
  readonly metadata: Readonly<Record<string, string>>;
}

function bad(why: string): never {
  throw new MaskFormatError('bad_safetensors', why);
}

/**
 * Parses a safetensors file.
 * @throws MaskFormatError `bad_safetensors` for anything malformed, `limit_exceeded` for a
 *   header above `limits.maxHeaderBytes`.
 */
export function readSafetensors(bytes: Uint8Array, limits?: Partial<MaskLimits>): SafetensorsFile {
  const resolved = resolveLimits(limits);
  if (bytes.length < 8) bad('file is shorter than its 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  checkLimit('safetensors header length', headerLength, resolved.maxHeaderBytes);
  if (8 + headerLength > bytes.length) bad('file ends inside its JSON header');
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes.subarray(8, 8 + headerLength)),
    );
  } catch (error) {
    bad(`header is not UTF-8 JSON: ${(error as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    bad('header is not a JSON object');
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, SafeTensor>();
  let metadata: Record<string, string> = {};
  const spans: [number, number][] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
        bad('__metadata__ is not an object');
      for (const value of Object.values(entry))
        if (typeof value !== 'string') bad('__metadata__ values must be strings');
      metadata = { ...(entry as Record<string, string>) };
      continue;
    }
    if (typeof entry !== 'object' || entry === null) bad(`tensor ${name} is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    const size = typeof dtype === 'string' ? DTYPE_BYTES[dtype] : undefined;
    if (size === undefined) bad(`tensor ${name} has unknown dtype ${String(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      bad(`tensor ${name} has a bad shape`);
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)
    ) {
      bad(`tensor ${name} has bad data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end < begin || end > dataLength) bad(`tensor ${name} data_offsets lie outside the data`);
    if (end - begin !== elements * size)
      bad(`tensor ${name} holds ${end - begin} bytes for ${elements} × ${size}`);
    spans.push([begin, end]);
    tensors.set(name, {
      dtype: dtype as string,
      shape: shape as number[],
      data: bytes.subarray(dataStart + begin, dataStart + end),
    });
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let covered = 0;
  for (const [begin, end] of spans) {
    if (begin !== covered) bad('tensor data overlaps or leaves holes');
    covered = end;
  }
  if (covered !== dataLength) bad('file has bytes after its last tensor');
  return { tensors, metadata };
}

export interface TensorToWrite {
  readonly name: string;
  readonly dtype: 'U8' | 'BOOL' | 'F32' | 'I64';
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

/** Writes tensors (in the given order) and optional string metadata as a safetensors file. */
export function writeSafetensors(
  tensors: readonly TensorToWrite[],
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const tensor of tensors) {
    const elements = tensor.shape.reduce((a, b) => a * b, 1);
    const expected = elements * DTYPE_BYTES[tensor.dtype]!;
    if (tensor.data.length !== expected) {
      throw new RangeError(
        `tensor ${tensor.name}: ${tensor.data.length} bytes for shape [${tensor.shape.join(', ')}]`,
      );
    }
    header[tensor.name] = {
      dtype: tensor.dtype,
      shape: tensor.shape,
      data_offsets: [offset, offset + expected],
    };
    offset += expected;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so tensor data starts 8-byte aligned, as the reference writer does.
  const encoded = new TextEncoder().encode(json);
  json += ' '.repeat((8 - (encoded.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const tensor of tensors) {
    out.set(tensor.data, position);
    position += tensor.data.length;
  }
  return out;
}

/** The safetensors key of a layer's mask. */
export function maskKey(layerName: string): string {
  return `${layerName}.weight`;
}

/**
 * Reads one bucket of masks for `layout` from a safetensors file: exactly one tensor per
 * layer, keyed `<name>.weight`, shaped `[out, in]`, dtype U8/BOOL (values 0 or 1) or F32
 * (≥ 0.5 keeps the weight).
 * @throws MaskFormatError `layout_mismatch` naming the first missing, extra or misshapen key;
 *   `bad_mask` for a value other than 0/1 or a NaN; `bad_safetensors` for a malformed file.
 */
export function masksFromSafetensors(
  bytes: Uint8Array,
  layout: MaskLayout,
  limits?: Partial<MaskLimits>,
): Uint8Array[] {
  const file = readSafetensors(bytes, limits);
  const expected = new Set(layout.layers.map((l) => maskKey(l.name)));
  const masks = layout.layers.map((layer) => {
    const key = maskKey(layer.name);
    const tensor = file.tensors.get(key);
    if (tensor === undefined) throw new MaskFormatError('layout_mismatch', `missing tensor ${key}`);
    const [rows, cols] = layer.shape;
    if (tensor.shape.length !== 2 || tensor.shape[0] !== rows || tensor.shape[1] !== cols) {
      throw new MaskFormatError(
        'layout_mismatch',
        `tensor ${key} has shape [${tensor.shape.join(', ')}], layout says [${rows}, ${cols}]`,
      );
    }
    return tensorToMask(key, tensor, layerSize(layer));
  });
  for (const key of [...file.tensors.keys()].sort()) {
    if (!expected.has(key))
      throw new MaskFormatError('layout_mismatch', `tensor ${key} is not in the layout`);
  }
  return masks;
}

function tensorToMask(key: string, tensor: SafeTensor, size: number): Uint8Array {
  const out = new Uint8Array(size);
  if (tensor.dtype === 'U8' || tensor.dtype === 'BOOL') {
    let bad = 0;
    for (let i = 0; i < size; i++) {
      const value = tensor.data[i]!;
      bad |= value & 0xfe;
      out[i] = value;
    }
    if (bad !== 0) throw new MaskFormatError('bad_mask', `tensor ${key} holds values other than 0 and 1`);
    return out;
  }
  if (tensor.dtype === 'F32') {
    const view = new DataView(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    for (let i = 0; i < size; i++) {
      const value = view.getFloat32(i * 4, true);
      if (Number.isNaN(value)) throw new MaskFormatError('bad_mask', `tensor ${key} holds NaN`);
      out[i] = value >= 0.5 ? 1 : 0;
    }
    return out;
  }
  throw new MaskFormatError('bad_mask', `tensor ${key} has dtype ${tensor.dtype}; masks are U8, BOOL or F32`);
}

/** Writes one bucket of masks as U8 tensors `<name>.weight` of shape `[out, in]`. */
export function masksToSafetensors(
  layout: MaskLayout,
  masks: readonly Uint8Array[],
  metadata?: Record<string, string>,
): Uint8Array {
  if (masks.length !== layout.layers.length) throw new RangeError('one mask per layout layer is needed');
  return writeSafetensors(
    layout.layers.map((layer, i) => ({
      name: maskKey(layer.name),
      dtype: 'U8',
      shape: layer.shape,
      data: masks[i]!,
    })),
    metadata,
  );
}
