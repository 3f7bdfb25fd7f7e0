/**
 * The model side of the CLI: `layout` (masked layers of any ONNX U-Net), `unet run` (one masked
 * forward pass from safetensors inputs), `generate` (prompt → PNG through a model directory)
 * and `model init` (a random-weight emoji32 package, the stand-in until a trained one ships).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { MaskBank, readSafetensors, writeSafetensors, type TensorToWrite } from '@maskunet/mask-store';
import {
  encodePng,
  maskFeeds,
  onesMasks,
  prepareMasks,
  resolveMaskLayout,
  rewriteForMasks,
  tensorToImage,
  upscale,
  writeModel,
  type InferenceSession,
  type PreparedMasks,
  type TensorData,
} from '@maskunet/gpu-runner';
import { createNodeSession, loadModelDir, readModelFile } from '@maskunet/gpu-runner/node';
import { writeEmoji32RandomModel } from '@maskunet/trainer';
import { integer, number, parse, required, samplerOf } from './args';
import type { Print } from './bank-commands';
import { CliError } from './cli-error';

export async function layoutCommand(args: string[], print: Print): Promise<void> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } }, 1);
  const layout = resolveMaskLayout(await readModelFile(positionals[0]!));
  if (values.json === true) {
    const layers = layout.layers.map((l) => ({
      name: l.name,
      shape: l.shape,
      initializer: l.initializer,
      transposed: l.transposed,
    }));
    print(JSON.stringify({ layers }, null, 2));
    return;
  }
  const width = Math.max(...layout.layers.map((l) => l.name.length));
  let total = 0;
  for (const l of layout.layers) {
    total += l.shape[0] * l.shape[1];
    print(
      `${l.name.padEnd(width + 2)}[${l.shape.join(', ')}]`.padEnd(width + 16) +
        `${l.initializer}${l.transposed ? '  (stored [in, out])' : ''}`,
    );
  }
  print(`${layout.layers.length} masked layers, ${total} weights`);
}

type Backend = 'cpu' | 'webgpu' | 'wasm';

function backendOf(value: string | undefined): Backend {
  const backend = value ?? 'cpu';
  if (backend !== 'cpu' && backend !== 'webgpu' && backend !== 'wasm')
    throw new CliError('usage', '--backend is cpu, webgpu or wasm');
  return backend;
}

async function openSession(model: Uint8Array, backend: Backend): Promise<InferenceSession> {
  if (backend === 'wasm') {
    const { createWebSession } = await import('@maskunet/gpu-runner/web');
    return createWebSession(model, 'wasm');
  }
  return createNodeSession(model, backend);
}

async function readBank(path: string): Promise<MaskBank> {
  return MaskBank.open(new Uint8Array(await readFile(path)));
}

export async function unetRunCommand(args: string[], print: Print): Promise<void> {
  const { values } = parse(
    args,
    {
      model: { type: 'string' },
      inputs: { type: 'string' },
      out: { type: 'string' },
      bank: { type: 'string' },
      'per-sample-banks': { type: 'string' },
      backend: { type: 'string' },
    },
    0,
  );
  const backend = backendOf(values.backend);
  const model = await readModelFile(required(values.model, 'model'));
  const layout = resolveMaskLayout(model);
  const { model: masked, inputs: maskInputs } = rewriteForMasks(model, layout.layers);
  const file = readSafetensors(new Uint8Array(await readFile(required(values.inputs, 'inputs'))), {
    maxHeaderBytes: 1 << 24,
  });
  const feeds: Record<string, TensorData> = {};
  for (const [name, tensor] of file.tensors) {
    if (tensor.dtype !== 'F32') throw new CliError('bad_input', `input ${name} must be F32`, 1);
    feeds[name] = { type: 'float32', data: new Float32Array(tensor.data.slice().buffer), dims: tensor.shape };
  }
  const timestep = feeds.timestep;
  if (timestep === undefined) throw new CliError('bad_input', 'inputs need a `timestep` tensor [B]', 1);
  const batch = timestep.data.length;
  let banks: (MaskBank | null)[] = Array.from({ length: batch }, () => null);
  if (values['per-sample-banks'] !== undefined) {
    const paths = values['per-sample-banks'].split(',');
    if (paths.length !== batch)
      throw new CliError('usage', `--per-sample-banks needs ${batch} banks (one per sample)`);
    banks = await Promise.all(paths.map(readBank));
  } else if (values.bank !== undefined) {
    const bank = await readBank(values.bank);
    banks = banks.map(() => bank);
  }
  const ones = onesMasks(maskInputs);
  const prepared = new Map<string, PreparedMasks>();
  const perSample = banks.map((bank, i) => {
    if (bank === null) return ones;
    const bucket = bank.bucketForTimestep((timestep.data as Float32Array)[i]!);
    const key = `${bank.id}#${bucket}`;
    if (!prepared.has(key)) prepared.set(key, prepareMasks(maskInputs, bank.decodeBucket(bucket)));
    return prepared.get(key)!;
  });
  for (const [name, tensor] of maskFeeds(maskInputs, perSample)) feeds[name] = { type: 'uint8', ...tensor };
  const session = await openSession(writeModel(masked), backend);
  try {
    const results = await session.run(feeds);
    const tensors: TensorToWrite[] = Object.entries(results).map(([name, t]) => ({
      name,
      dtype: 'F32',
      shape: t.dims,
      data: new Uint8Array(
        (t.data as Float32Array).buffer,
        (t.data as Float32Array).byteOffset,
        (t.data as Float32Array).byteLength,
      ),
    }));
    const out = required(values.out, 'out');
    await writeFile(out, writeSafetensors(tensors, { backend: session.backend }));
    print(
      `${out}: ${Object.keys(results).join(', ')} (backend ${session.backend}, ${layout.layers.length} masked layers)`,
    );
  } finally {
    await session.release();
  }
}

export async function generateCommand(args: string[], print: Print): Promise<void> {
  const { values } = parse(
    args,
    {
      model: { type: 'string' },
      bank: { type: 'string' },
      prompt: { type: 'string' },
      seed: { type: 'string' },
      steps: { type: 'string' },
      sampler: { type: 'string' },
      guidance: { type: 'string' },
      backend: { type: 'string' },
      upscale: { type: 'string' },
      out: { type: 'string' },
    },
    0,
  );
  const backend = backendOf(values.backend);
  if (backend === 'wasm')
    throw new CliError('usage', 'generate runs on cpu or webgpu (wasm is the browser path)');
  const sampler = values.sampler === undefined ? undefined : samplerOf(values.sampler);
  const { pipeline } = await loadModelDir(required(values.model, 'model'), backend);
  try {
    const bank = values.bank === undefined ? null : await readBank(values.bank);
    const steps = integer(values.steps, 'steps', pipeline.config.defaults.steps);
    const result = await pipeline.generate(
      [{ prompt: required(values.prompt, 'prompt'), seed: integer(values.seed, 'seed', 0), bank }],
      {
        steps,
        ...(sampler === undefined ? {} : { sampler }),
        guidance: number(values.guidance, 'guidance', pipeline.config.defaults.guidance),
        onStep: (p) => {
          if (process.stderr.isTTY) process.stderr.write(`\rstep ${p.stepIndex + 1}/${p.steps}`);
        },
      },
    );
    if (process.stderr.isTTY) process.stderr.write('\n');
    const size = pipeline.config.unet.sample_size;
    const image = upscale(
      tensorToImage(result.images, size, size),
      integer(values.upscale, 'upscale', 1) || 1,
    );
    const out = required(values.out, 'out');
    await writeFile(out, encodePng(image));
    print(
      `${out}: ${image.width}×${image.height}, ${steps} steps, backend ${result.backend}, ${result.timings.totalMs.toFixed(0)} ms${bank === null ? '' : `, bank ${bank.id.slice(0, 12)}`}`,
    );
  } finally {
    await pipeline.release();
  }
}

export async function modelInitCommand(args: string[], print: Print): Promise<void> {
  const { values } = parse(args, { out: { type: 'string' }, seed: { type: 'string' } }, 0);
  const out = required(values.out, 'out');
  const config = await writeEmoji32RandomModel(out, integer(values.seed, 'seed', 0));
  print(`${out}: random-weight ${config.id} (layout ${config.layoutHash.slice(0, 12)})`);
}
