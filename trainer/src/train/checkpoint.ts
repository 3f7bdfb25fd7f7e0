/**
 * Training checkpoints as safetensors (Node only): parameters, AdamW moments and EMA shadow
 * weights as F32 tensors, step counters and the run's settings in the string metadata.
 * Written to a temp file and renamed, so an interrupted write never replaces a good
 * checkpoint with a partial one.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '@maskunet/mask-store';
import type { TrainingState } from './state';

export interface Checkpoint {
  readonly step: number;
  readonly params: ReadonlyMap<string, Float32Array>;
  readonly optimizer: TrainingState;
  readonly ema: TrainingState;
  /** JSON-serialisable settings of the run (checked on resume). */
  readonly settings: Readonly<Record<string, unknown>>;
  /**
   * `ema-snapshot`: `params` are the EMA weights at `step` and there is no optimiser or EMA
   * state (a quarter of a full checkpoint; kept to choose the shipped step from, not to resume).
   */
  readonly kind?: 'full' | 'ema-snapshot';
}

function bytesOf(array: Float32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

export async function saveCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  const tensors: TensorToWrite[] = [];
  for (const [name, data] of checkpoint.params)
    tensors.push({ name: `param/${name}`, dtype: 'F32', shape: [data.length], data: bytesOf(data) });
  for (const [prefix, state] of [
    ['optimizer', checkpoint.optimizer],
    ['ema', checkpoint.ema],
  ] as const) {
    for (const [name, data] of Object.entries(state.tensors)) {
      tensors.push({ name: `${prefix}/${name}`, dtype: 'F32', shape: [data.length], data: bytesOf(data) });
    }
  }
  const metadata = {
    step: String(checkpoint.step),
    optimizer_scalars: JSON.stringify(checkpoint.optimizer.scalars),
    ema_scalars: JSON.stringify(checkpoint.ema.scalars),
    settings: JSON.stringify(checkpoint.settings),
    kind: checkpoint.kind ?? 'full',
  };
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, writeSafetensors(tensors, metadata));
  await rename(temp, path);
}

export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  // Checkpoints are our own files of up to a few hundred MB: raise the header limit only.
  const file = readSafetensors(new Uint8Array(await readFile(path)), { maxHeaderBytes: 64 * 1024 * 1024 });
  const params = new Map<string, Float32Array>();
  const optimizer: Record<string, Float32Array> = {};
  const ema: Record<string, Float32Array> = {};
  for (const [name, tensor] of file.tensors) {
    const data = new Float32Array(tensor.data.slice().buffer);
    const slash = name.indexOf('/');
    const prefix = name.slice(0, slash);
    const rest = name.slice(slash + 1);
    if (prefix === 'param') params.set(rest, data);
    else if (prefix === 'optimizer') optimizer[rest] = data;
    else if (prefix === 'ema') ema[rest] = data;
  }
  const meta = file.metadata;
  return {
    step: Number(meta.step),
    params,
    optimizer: {
      tensors: optimizer,
      scalars: JSON.parse(meta.optimizer_scalars ?? '{}') as Record<string, number>,
    },
    ema: { tensors: ema, scalars: JSON.parse(meta.ema_scalars ?? '{}') as Record<string, number> },
    settings: JSON.parse(meta.settings ?? '{}') as Record<string, unknown>,
    kind: meta.kind === 'ema-snapshot' ? 'ema-snapshot' : 'full',
  };
}
