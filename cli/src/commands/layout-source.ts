/**
 * Where `--layout` comes from: a layout JSON file (`{"layers":[{"name","shape"}]}`) or an
 * ONNX U-Net, whose masked layers the gpu-runner's resolver finds by the paper's rule.
 */
import { readFile } from 'node:fs/promises';
import { parseLayoutJson, type MaskLayout } from '@maskunet/mask-store';
import { CliError } from './cli-error';

export async function loadLayout(path: string): Promise<MaskLayout> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new CliError('file_unreadable', `cannot read ${path}: ${(error as Error).message}`, 1);
  }
  if (path.endsWith('.onnx')) {
    const { resolveMaskLayout, readModel } = await import('@maskunet/gpu-runner');
    const layout = resolveMaskLayout(readModel(new Uint8Array(bytes)));
    return { layers: layout.layers.map((l) => ({ name: l.name, shape: l.shape })) };
  }
  return parseLayoutJson(bytes.toString('utf8'));
}
