// Model bytes and tensors: write → read round trips, the typed-array conversions in both
// proto encodings, and external-data loading (including refusals) through the Node reader.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  GraphBuilder,
  ModelError,
  isModelError,
  float32Tensor,
  int32Tensor,
  int64Tensor,
  isSafeExternalLocation,
  modelGraph,
  onnx,
  readModel,
  resolveExternalData,
  tensorDims,
  tensorToFloat32,
  tensorToInt32,
  tensorToInt64,
  tensorToUint8,
  uint8Tensor,
  writeModel,
  type ModelProto,
  type TensorProto,
} from '../src/index';
import { readModelFile } from '../src/onnx/model-file';

/** A two-node model: y = (x · W) + b with W [3, 2], b [2]. */
function smallModel(): ModelProto {
  const b = new GraphBuilder();
  const x = b.input('x', 'float32', ['batch', 3]);
  const w = b.initializer(float32Tensor('w', [3, 2], [1, 2, 3, 4, 5, 6]));
  const bias = b.initializer(float32Tensor('b', [2], [0.5, -0.5]));
  const y = b.scope('layer', () => b.add(b.matMul(x, w), bias));
  b.output(y, 'y', 'float32', ['batch', 2]);
  return b.toModel({ metadata: { purpose: 'test' } });
}

describe('model bytes', () => {
  it('round-trips write → read → write to identical bytes and the same graph', () => {
    const model = smallModel();
    const bytes = writeModel(model);
    const back = readModel(bytes);
    expect(writeModel(back)).toEqual(bytes);
    const graph = modelGraph(back);
    expect(graph.node.map((n) => [n.name, n.opType, n.input, n.output])).toEqual([
      ['/layer/MatMul', 'MatMul', ['x', 'w'], ['/layer/MatMul_output_0']],
      ['/layer/Add', 'Add', ['/layer/MatMul_output_0', 'b'], ['y']],
    ]);
    expect(graph.input.map((i) => i.name)).toEqual(['x']);
    expect(graph.output.map((o) => o.name)).toEqual(['y']);
    expect(back.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 17]]);
    expect(Number(back.irVersion)).toBe(8);
    expect(back.metadataProps.map((p) => [p.key, p.value])).toEqual([['purpose', 'test']]);
    const w = graph.initializer.find((t) => t.name === 'w')!;
    expect(tensorDims(w)).toEqual([3, 2]);
    expect([...tensorToFloat32(w)]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('refuses bytes that are not a model with a graph', () => {
    expect(() => readModel(new Uint8Array([0xff, 0xff, 0xff, 0xff]))).toThrow(ModelError);
    try {
      readModel(new Uint8Array(0));
      expect.unreachable();
    } catch (error) {
      expect(isModelError(error, 'malformed_model')).toBe(true);
    }
  });
});

describe('tensor conversions', () => {
  it('round-trip through raw_data for all four element types', () => {
    const cases = [
      () =>
        expect([...tensorToFloat32(readTensor(float32Tensor('f', [2, 2], [1.5, -2, 3e-8, 4])))]).toEqual([
          1.5,
          -2,
          Math.fround(3e-8),
          4,
        ]),
      () =>
        expect([...tensorToInt64(readTensor(int64Tensor('i', [3], [0, -1, 2 ** 40])))]).toEqual([
          0n,
          -1n,
          2n ** 40n,
        ]),
      () => expect([...tensorToInt32(readTensor(int32Tensor('j', [2], [-7, 7])))]).toEqual([-7, 7]),
      () =>
        expect([...tensorToUint8(readTensor(uint8Tensor('m', [1, 3], [0, 1, 255])))]).toEqual([0, 1, 255]),
    ];
    for (const check of cases) check();
  });

  it('read the typed repeated fields when raw_data is absent', () => {
    const f = onnx.TensorProto.create({ name: 'f', dims: [2], dataType: 1, floatData: [1, 2] });
    const i = onnx.TensorProto.create({ name: 'i', dims: [2], dataType: 7, int64Data: [5, -6] });
    const u = onnx.TensorProto.create({ name: 'u', dims: [2], dataType: 2, int32Data: [0, 1] });
    expect([...tensorToFloat32(readTensor(f))]).toEqual([1, 2]);
    expect([...tensorToInt64(readTensor(i))]).toEqual([5n, -6n]);
    expect([...tensorToUint8(readTensor(u))]).toEqual([0, 1]);
  });

  it('refuse a type mismatch and a length mismatch', () => {
    expect(() => tensorToFloat32(int64Tensor('i', [1], [1]))).toThrow(/unsupported_dtype/);
    const short = onnx.TensorProto.create({ name: 's', dims: [3], dataType: 1, rawData: new Uint8Array(8) });
    expect(() => tensorToFloat32(short)).toThrow(/bad_tensor_data/);
    expect(() => float32Tensor('x', [2], [1, 2, 3])).toThrow(RangeError);
  });
});

/** Encodes and decodes a tensor, so readers see what a decoded model holds. */
function readTensor(tensor: TensorProto): TensorProto {
  return onnx.TensorProto.decode(onnx.TensorProto.encode(tensor).finish());
}

describe('external data', () => {
  let directory = '';
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'gpu-runner-onnx-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  /** smallModel with `w` moved to `weights.bin` at offset 8 (after 8 filler bytes). */
  function externalModel(location: string, length = 24): ModelProto {
    const model = smallModel();
    const w = modelGraph(model).initializer.find((t) => t.name === 'w')!;
    w.rawData = new Uint8Array(0);
    w.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    w.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: '8' },
      { key: 'length', value: String(length) },
    ];
    return model;
  }

  it('loads initializers from a file beside the model', async () => {
    const data = new Uint8Array(8 + 24);
    data.set(new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer), 8);
    await writeFile(join(directory, 'weights.bin'), data);
    await writeFile(join(directory, 'model.onnx'), writeModel(externalModel('weights.bin')));
    const model = await readModelFile(join(directory, 'model.onnx'));
    const w = modelGraph(model).initializer.find((t) => t.name === 'w')!;
    expect(w.dataLocation).toBe(onnx.TensorProto.DataLocation.DEFAULT);
    expect([...tensorToFloat32(w)]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('refuses unsafe locations before reading anything', async () => {
    expect(isSafeExternalLocation('sub/weights.bin')).toBe(true);
    for (const unsafe of ['../weights.bin', '/etc/passwd', 'C:\\w.bin', 'a/../../b', '']) {
      expect(isSafeExternalLocation(unsafe)).toBe(false);
    }
    let reads = 0;
    await expect(
      resolveExternalData(externalModel('../weights.bin'), () => {
        reads++;
        return Promise.resolve(new Uint8Array(24));
      }),
    ).rejects.toThrow(/external_data/);
    expect(reads).toBe(0);
  });

  it('refuses a declared length that disagrees with the dims, and a short file', async () => {
    await expect(
      resolveExternalData(externalModel('weights.bin', 20), () => Promise.resolve(new Uint8Array(20))),
    ).rejects.toThrow(/declares 20 bytes/);
    await writeFile(join(directory, 'short.bin'), new Uint8Array(16));
    await writeFile(join(directory, 'short.onnx'), writeModel(externalModel('short.bin')));
    await expect(readModelFile(join(directory, 'short.onnx'))).rejects.toThrow(/external_data/);
  });

  it('enforces maxExternalBytes before reading', async () => {
    await expect(
      resolveExternalData(externalModel('weights.bin'), () => Promise.resolve(new Uint8Array(24)), {
        maxExternalBytes: 16,
      }),
    ).rejects.toThrow(/limit_exceeded/);
  });
});
