/**
 * Reading and writing ONNX `ModelProto` bytes, isomorphic. Models above protobuf's 2 GB
 * message limit keep initializer data in files beside the model (`data_location: EXTERNAL`
 * with `location`/`offset`/`length` entries); {@link resolveExternalData} fills those
 * initializers' `raw_data` through a caller-supplied range reader, so the same code serves a
 * filesystem (see `model-file.ts`), R2 or an HTTP range request. Locations are checked to be
 * plain relative paths before any read, and declared sizes against the tensor's dims and
 * `maxExternalBytes` before anything is allocated.
 */
import { ModelError } from './errors';
import {
  int64ToNumber,
  onnx,
  type GraphProto,
  type ModelProto,
  type OnnxTypes,
  type TensorProto,
} from './proto';
import { bytesPerElement, elementCount, tensorDims } from './tensor';

/**
 * Reads exactly `length` bytes at `offset` of the external data file `location`, a relative
 * path already checked by {@link isSafeExternalLocation}; a shorter result is an error.
 */
export type ExternalDataReader = (location: string, offset: number, length: number) => Promise<Uint8Array>;

export interface ExternalDataOptions {
  /** Most bytes of external data to load in total. Default 16 GiB (an SDXL U-Net in fp32 is ~10 GB). */
  readonly maxExternalBytes?: number;
}

export const DEFAULT_MAX_EXTERNAL_BYTES = 2 ** 34;

/**
 * Decodes model bytes.
 * @throws ModelError `malformed_model` when the bytes are not a ModelProto with a graph.
 */
export function readModel(bytes: Uint8Array): ModelProto {
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new ModelError('malformed_model', `not an ONNX model: ${(error as Error).message}`);
  }
  if (model.graph === null || model.graph === undefined) {
    throw new ModelError('malformed_model', 'the model has no graph');
  }
  return model;
}

/** Encodes a model to bytes (what `InferenceSession.create` accepts). */
export function writeModel(model: ModelProto | OnnxTypes.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/**
 * The graph of a model, as a `GraphProto` instance (a graph given as a plain object, as
 * `ModelProto.create` allows, is replaced by an instance in place so its repeated fields
 * exist). @throws ModelError `malformed_model` when absent.
 */
export function modelGraph(model: ModelProto): GraphProto {
  const graph = model.graph;
  if (graph === null || graph === undefined)
    throw new ModelError('malformed_model', 'the model has no graph');
  if (graph instanceof onnx.GraphProto) return graph;
  const instance = onnx.GraphProto.create(graph);
  model.graph = instance;
  return instance;
}

/** Initializers whose data lives outside the model bytes. */
export function externalInitializers(model: ModelProto): TensorProto[] {
  return modelGraph(model).initializer.filter(
    (t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL,
  );
}

/**
 * True for a location that names a file at or below the model's directory: relative,
 * forward or back slashes, no `..` segment, no drive letter, no NUL. A model file is
 * untrusted input and must not make the loader read `/etc/passwd`.
 */
export function isSafeExternalLocation(location: string): boolean {
  if (location.length === 0 || location.includes('\0')) return false;
  if (location.startsWith('/') || location.startsWith('\\') || /^[A-Za-z]:/.test(location)) return false;
  return location.split(/[\\/]/).every((segment) => segment !== '..');
}

interface ExternalEntry {
  readonly location: string;
  readonly offset: number;
  readonly length: number | undefined;
}

function parseExternalEntry(tensor: TensorProto): ExternalEntry {
  const fields = new Map<string, string>();
  for (const entry of tensor.externalData ?? []) fields.set(entry.key ?? '', entry.value ?? '');
  const location = fields.get('location');
  if (location === undefined || !isSafeExternalLocation(location)) {
    throw new ModelError(
      'external_data',
      `tensor ${tensor.name ?? ''} has a missing or unsafe location ${String(location)}`,
    );
  }
  const integer = (key: string): number | undefined => {
    const text = fields.get(key);
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
      throw new ModelError('external_data', `tensor ${tensor.name ?? ''} has a bad ${key} "${text}"`);
    }
    return Number(text);
  };
  return { location, offset: integer('offset') ?? 0, length: integer('length') };
}

/**
 * Loads every external initializer's bytes into its `raw_data` and marks it internal, in
 * place. Sizes are checked against dims and `maxExternalBytes` before the first read.
 * @throws ModelError `external_data` for an unsafe location, a bad entry or a failed or
 *   short read; `unsupported_dtype` for a type without a fixed size; `limit_exceeded` when
 *   the total passes `maxExternalBytes`.
 */
export async function resolveExternalData(
  model: ModelProto,
  read: ExternalDataReader,
  options: ExternalDataOptions = {},
): Promise<void> {
  const limit = options.maxExternalBytes ?? DEFAULT_MAX_EXTERNAL_BYTES;
  if (!Number.isSafeInteger(limit) || limit <= 0) {
    throw new RangeError(`options.maxExternalBytes must be a positive integer, got ${limit}`);
  }
  const plan: { tensor: TensorProto; entry: ExternalEntry; bytes: number }[] = [];
  let total = 0;
  for (const tensor of externalInitializers(model)) {
    const size = bytesPerElement(tensor.dataType ?? 0);
    if (size === undefined) {
      throw new ModelError(
        'unsupported_dtype',
        `external tensor ${tensor.name ?? ''} has data type ${tensor.dataType ?? 0}`,
      );
    }
    const bytes = elementCount(tensorDims(tensor)) * size;
    const entry = parseExternalEntry(tensor);
    if (entry.length !== undefined && entry.length !== bytes) {
      throw new ModelError(
        'external_data',
        `tensor ${tensor.name ?? ''} declares ${entry.length} bytes, dims need ${bytes}`,
      );
    }
    total += bytes;
    if (total > limit) {
      throw new ModelError('limit_exceeded', `external data exceeds maxExternalBytes (${limit})`);
    }
    plan.push({ tensor, entry, bytes });
  }
  for (const { tensor, entry, bytes } of plan) {
    let data: Uint8Array;
    try {
      data = await read(entry.location, entry.offset, bytes);
    } catch (error) {
      throw new ModelError(
        'external_data',
        `cannot read ${entry.location} for tensor ${tensor.name ?? ''}: ${(error as Error).message}`,
      );
    }
    if (data.byteLength !== bytes) {
      throw new ModelError(
        'external_data',
        `read ${data.byteLength} bytes of ${entry.location} at ${entry.offset} for tensor ${tensor.name ?? ''}, expected ${bytes}`,
      );
    }
    tensor.rawData = data;
    tensor.externalData = [];
    tensor.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
  }
}

/** The model's opset version for the default domain, or undefined. */
export function defaultOpsetVersion(model: ModelProto): number | undefined {
  const entry = model.opsetImport.find((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx');
  return entry === undefined ? undefined : int64ToNumber(entry.version);
}
