import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  encodeBank,
  formatLayoutJson,
  MaskBank,
  readSafetensors,
  writeSafetensors,
  type MaskLayout,
} from '@maskunet/mask-store';
import { buildUNet, decodePng, randomUNetWeights, TINY_UNET_CONFIG, writeModel } from '@maskunet/gpu-runner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers';

let dir = '';
const path = (name: string) => join(dir, name);

function floatBytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'maskunet-cli-model-'));
  const built = buildUNet(TINY_UNET_CONFIG, {
    style: 'pytorch-export',
    weights: randomUNetWeights(TINY_UNET_CONFIG, 3),
  });
  await writeFile(path('unet.onnx'), writeModel(built.model));
  const c = TINY_UNET_CONFIG;
  let state = 1;
  const random = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5;
  const tensor = (name: string, shape: number[]) => {
    const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, random);
    return { name, dtype: 'F32' as const, shape, data: floatBytes(data) };
  };
  await writeFile(
    path('in.safetensors'),
    writeSafetensors([
      tensor('sample', [2, c.in_channels, c.sample_size, c.sample_size]),
      { name: 'timestep', dtype: 'F32', shape: [2], data: floatBytes(Float32Array.of(100, 900)) },
      tensor('encoder_hidden_states', [2, 5, c.cross_attention_dim]),
    ]),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('maskunet layout / unet run / generate', () => {
  it('prints the layout of a PyTorch-style export and packs banks against the .onnx directly', async () => {
    const layout = await cli('layout', path('unet.onnx'), '--json');
    expect(layout.code).toBe(0);
    const parsed = JSON.parse(layout.out.join('\n')) as {
      layers: { name: string; shape: [number, number]; initializer: string; transposed: boolean }[];
    };
    expect(parsed.layers).toHaveLength(16);
    expect(parsed.layers[0]!.initializer).toMatch(/^onnx::MatMul_/);
    expect(parsed.layers.every((l) => l.transposed)).toBe(true);
    const maskLayout: MaskLayout = { layers: parsed.layers.map((l) => ({ name: l.name, shape: l.shape })) };
    await writeFile(path('layout.json'), formatLayoutJson(maskLayout));
    const banks = await Promise.all(
      [0.2, 0.7].map((p, k) =>
        encodeBank({
          layout: maskLayout,
          masks: [0, 1].map((b) =>
            maskLayout.layers.map((l, i) =>
              Uint8Array.from({ length: l.shape[0] * l.shape[1] }, (_, j) =>
                (j * 7 + i + b + k * 3) % 10 < p * 10 ? 0 : 1,
              ),
            ),
          ),
          bucketEdges: [0, 500, 1000],
        }),
      ),
    );
    await writeFile(path('a.mkb'), banks[0]!.bytes);
    await writeFile(path('b.mkb'), banks[1]!.bytes);
    // bank pack accepts the .onnx as the layout.
    const unpacked = await cli(
      'bank',
      'unpack',
      path('a.mkb'),
      '--bucket',
      '0',
      '--out',
      path('a0.safetensors'),
    );
    expect(unpacked.code).toBe(0);
    const packed = await cli(
      'bank',
      'pack',
      '--layout',
      path('unet.onnx'),
      '--masks',
      path('a0.safetensors'),
      '--out',
      path('a0.mkb'),
    );
    expect(packed.code).toBe(0);
  });

  it('runs one masked forward: per-sample banks equal the single-bank runs of each sample', async () => {
    const run = async (...extra: string[]) => {
      const result = await cli(
        'unet',
        'run',
        '--model',
        path('unet.onnx'),
        '--inputs',
        path('in.safetensors'),
        '--out',
        path('out.safetensors'),
        ...extra,
      );
      expect(result.code, result.err.join('\n')).toBe(0);
      const file = readSafetensors(new Uint8Array(await readFile(path('out.safetensors'))));
      return new Float32Array(file.tensors.get('out_sample')!.data.slice().buffer);
    };
    const base = await run();
    const a = await run('--bank', path('a.mkb'));
    const b = await run('--bank', path('b.mkb'));
    const mixed = await run('--per-sample-banks', `${path('a.mkb')},${path('b.mkb')}`);
    const half = a.length / 2;
    const maxAbs = (x: Float32Array, y: Float32Array) =>
      x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]!)), 0);
    expect(maxAbs(a, base)).toBeGreaterThan(1e-3);
    // Float32 rounding of batched vs shared-weight GEMMs only.
    expect(maxAbs(mixed.subarray(0, half), a.subarray(0, half))).toBeLessThan(1e-5);
    expect(maxAbs(mixed.subarray(half), b.subarray(half))).toBeLessThan(1e-5);
    const wrong = await cli(
      'unet',
      'run',
      '--model',
      path('unet.onnx'),
      '--inputs',
      path('in.safetensors'),
      '--out',
      path('x.safetensors'),
      '--per-sample-banks',
      path('a.mkb'),
    );
    expect(wrong.code).toBe(2);
    // The same forward on onnxruntime-web's wasm backend agrees with node's CPU.
    const wasm = await run('--bank', path('a.mkb'), '--backend', 'wasm');
    expect(maxAbs(wasm, a)).toBeLessThan(1e-4);
  });

  it('generates a PNG from a model directory, differently per bank, deterministically per seed', async () => {
    expect((await cli('model', 'init', '--out', path('model'), '--seed', '3')).code).toBe(0);
    const generate = async (out: string, ...extra: string[]) => {
      const result = await cli(
        'generate',
        '--model',
        path('model'),
        '--prompt',
        'grinning face',
        '--seed',
        '4',
        '--steps',
        '4',
        '--out',
        path(out),
        ...extra,
      );
      expect(result.code, result.err.join('\n')).toBe(0);
      return readFile(path(out));
    };
    const first = await generate('g1.png');
    expect(await generate('g2.png')).toEqual(first);
    const image = decodePng(new Uint8Array(first));
    expect([image.width, image.height]).toEqual([32, 32]);
    const layoutFile = path('model/layout.json');
    const layout = JSON.parse(await readFile(layoutFile, 'utf8')) as MaskLayout;
    const bank = await encodeBank({
      layout,
      masks: [
        layout.layers.map((l) =>
          Uint8Array.from({ length: l.shape[0] * l.shape[1] }, (_, j) => (j % 3 === 0 ? 0 : 1)),
        ),
      ],
    });
    await writeFile(path('m.mkb'), bank.bytes);
    expect((await MaskBank.open(new Uint8Array(await readFile(path('m.mkb'))))).id).toBe(bank.id);
    expect(await generate('g3.png', '--bank', path('m.mkb'))).not.toEqual(first);
  });
});
