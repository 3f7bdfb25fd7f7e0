/**
 * `maskunet bank pack|unpack|inspect|diff|patch`: the mask store from the command line.
 * Masks go in and out as safetensors (`<module path>.weight`, `[out, in]`), banks as `.mkb`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import {
  diffBanks,
  encodeBank,
  layerSize,
  MaskBank,
  masksFromSafetensors,
  masksToSafetensors,
  patchBank,
  CODERS,
  type BankMeta,
  type CoderName,
} from '@maskunet/mask-store';
import { integer, parse, required } from './args';
import { CliError } from './cli-error';
import { loadLayout } from './layout-source';

export type Print = (line: string) => void;

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    throw new CliError('file_unreadable', `cannot read ${path}: ${(error as Error).message}`, 1);
  }
}

async function openBankFile(path: string): Promise<MaskBank> {
  return MaskBank.open(await readBytes(path));
}

function parseEdges(text: string | undefined, buckets: number): number[] | undefined {
  if (text === undefined) return undefined;
  const edges = text.split(',').map((s) => Number(s.trim()));
  if (edges.some((e) => !Number.isSafeInteger(e)))
    throw new CliError('usage', '--bucket-edges takes integers, e.g. 0,500,1000');
  if (edges.length !== buckets + 1) {
    throw new CliError('usage', `--bucket-edges needs ${buckets + 1} edges for ${buckets} --masks file(s)`);
  }
  return edges;
}

function parseMeta(pairs: string[] | undefined): BankMeta {
  const meta: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError('usage', `--meta takes key=value, got ${pair}`);
    meta[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return meta;
}

function parseCoders(text: string | undefined): CoderName[] | undefined {
  if (text === undefined) return undefined;
  const coders = text.split(',').map((s) => s.trim());
  for (const coder of coders) {
    if (!(CODERS as readonly string[]).includes(coder))
      throw new CliError('usage', `unknown coder ${coder}; use ${CODERS.join(', ')}`);
  }
  return coders as CoderName[];
}

export async function bankPack(args: string[], print: Print): Promise<void> {
  const { values } = parse(
    args,
    {
      layout: { type: 'string' },
      masks: { type: 'string', multiple: true },
      'bucket-edges': { type: 'string' },
      timesteps: { type: 'string' },
      'model-id': { type: 'string' },
      meta: { type: 'string', multiple: true },
      coders: { type: 'string' },
      parent: { type: 'string' },
      out: { type: 'string' },
    },
    0,
  );
  const layout = await loadLayout(required(values.layout, 'layout'));
  const files = values.masks ?? [];
  if (files.length === 0) throw new CliError('usage', '--masks is required (one file per bucket)');
  const masks = [];
  for (const file of files) masks.push(masksFromSafetensors(await readBytes(file), layout));
  const parent = values.parent === undefined ? undefined : await openBankFile(values.parent);
  const bank = await encodeBank(
    {
      layout,
      masks,
      bucketEdges: parseEdges(values['bucket-edges'], files.length),
      timesteps: integer(values.timesteps, 'timesteps', 1000),
      modelId: values['model-id'] ?? '',
      meta: parseMeta(values.meta),
    },
    { coders: parseCoders(values.coders), parent },
  );
  const out = required(values.out, 'out');
  await writeFile(out, bank.bytes);
  print(
    `${bank.id}  ${out}  ${bank.bytes.length} bytes, ${bank.bucketCount} bucket(s), ${bank.layerCount} layers`,
  );
}

export async function bankUnpack(args: string[], print: Print): Promise<void> {
  const { values, positionals } = parse(
    args,
    { out: { type: 'string' }, bucket: { type: 'string' }, parent: { type: 'string' } },
    1,
  );
  const bank = await openBankFile(positionals[0]!);
  const parent = values.parent === undefined ? undefined : await openBankFile(values.parent);
  const out = required(values.out, 'out');
  const meta = { bank: bank.id, layoutHash: bank.header.layoutHash, modelId: bank.header.modelId };
  const write = async (bucket: number, path: string): Promise<void> => {
    const edges = bank.header.bucketEdges;
    const file = masksToSafetensors(bank.layout, bank.decodeBucket(bucket, parent), {
      ...meta,
      bucket: String(bucket),
      timesteps: `${edges[bucket]!}-${edges[bucket + 1]!}`,
    });
    await writeFile(path, file);
    print(`bucket ${bucket} [${edges[bucket]!}, ${edges[bucket + 1]!})  ${path}`);
  };
  if (values.bucket !== undefined) {
    const bucket = integer(values.bucket, 'bucket');
    if (bucket >= bank.bucketCount) throw new CliError('usage', `--bucket must be below ${bank.bucketCount}`);
    await write(bucket, out);
  } else if (bank.bucketCount === 1) {
    await write(0, out);
  } else {
    const stem = out.replace(/\.safetensors$/, '');
    for (let b = 0; b < bank.bucketCount; b++) await write(b, `${stem}.bucket${b}.safetensors`);
  }
}

function entropyBits(length: number, zeros: number): number {
  const p = zeros / length;
  if (p === 0 || p === 1) return 0;
  return -length * (p * Math.log2(p) + (1 - p) * Math.log2(1 - p));
}

/** Everything `inspect` reports, also used by `--json`. */
export function describeBank(bank: MaskBank) {
  const sections = [];
  let weights = 0;
  let zeros = 0;
  let bytes = 0;
  let boundBits = 0;
  for (let b = 0; b < bank.bucketCount; b++) {
    for (let l = 0; l < bank.layerCount; l++) {
      const layer = bank.layout.layers[l]!;
      const record = bank.section(b, l);
      const size = layerSize(layer);
      const bound = entropyBits(size, record.zeros);
      weights += size;
      zeros += record.zeros;
      bytes += record.length;
      boundBits += bound;
      sections.push({
        bucket: b,
        layer: layer.name,
        shape: layer.shape,
        codec: record.ref === 'none' ? record.coder : `${record.coder}+${record.ref}`,
        bytes: record.length,
        zeroFraction: record.zeros / size,
        bitsPerWeight: (record.length * 8) / size,
        ratioToEntropyBound: bound === 0 ? null : (record.length * 8) / bound,
      });
    }
  }
  return {
    id: bank.id,
    bytes: bank.bytes.length,
    headerBytes: bank.payloadOffset,
    payloadBytes: bytes,
    modelId: bank.header.modelId,
    layoutHash: bank.header.layoutHash,
    layers: bank.layerCount,
    weightsPerBucket: weights / bank.bucketCount,
    buckets: bank.bucketCount,
    bucketEdges: bank.header.bucketEdges,
    timesteps: bank.header.timesteps,
    parent: bank.header.parent,
    deltaTarget: bank.header.target?.id ?? null,
    meta: bank.header.meta,
    zeroFraction: zeros / weights,
    bitsPerWeight: (bytes * 8) / weights,
    ratioToEntropyBound: boundBits === 0 ? null : (bytes * 8) / boundBits,
    sections,
  };
}

export async function bankInspect(args: string[], print: Print): Promise<void> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } }, 1);
  const info = describeBank(await openBankFile(positionals[0]!));
  if (values.json === true) {
    print(JSON.stringify(info, null, 2));
    return;
  }
  const ratio = (r: number | null): string => (r === null ? '-' : r.toFixed(4));
  print(`bank          ${info.id}`);
  print(`size          ${info.bytes} bytes (header ${info.headerBytes}, sections ${info.payloadBytes})`);
  print(`model         ${info.modelId === '' ? '(none)' : info.modelId}`);
  print(
    `layout        ${info.layoutHash} (${info.layers} layers, ${info.weightsPerBucket} weights per bucket)`,
  );
  print(`buckets       ${info.buckets}, edges ${info.bucketEdges.join(',')} of ${info.timesteps} timesteps`);
  if (info.parent !== null) print(`parent        ${info.parent}`);
  if (info.deltaTarget !== null) print(`delta target  ${info.deltaTarget}`);
  if (Object.keys(info.meta).length > 0) print(`meta          ${JSON.stringify(info.meta)}`);
  print(`zeros         ${(info.zeroFraction * 100).toFixed(3)}%`);
  print(
    `bits/weight   ${info.bitsPerWeight.toFixed(4)}   ratio to i.i.d. entropy bound ${ratio(info.ratioToEntropyBound)}`,
  );
  print('');
  const width = Math.max(5, ...info.sections.map((s) => s.layer.length));
  print(
    `${'bucket'.padEnd(7)}${'layer'.padEnd(width + 2)}${'codec'.padEnd(15)}${'bytes'.padStart(10)}${'zeros %'.padStart(10)}${'bits/w'.padStart(9)}${'/bound'.padStart(9)}`,
  );
  for (const s of info.sections) {
    print(
      `${String(s.bucket).padEnd(7)}${s.layer.padEnd(width + 2)}${s.codec.padEnd(15)}${String(s.bytes).padStart(10)}${(s.zeroFraction * 100).toFixed(3).padStart(10)}${s.bitsPerWeight.toFixed(4).padStart(9)}${ratio(s.ratioToEntropyBound).padStart(9)}`,
    );
  }
}

export async function bankDiff(args: string[], print: Print): Promise<void> {
  const { values, positionals } = parse(args, { out: { type: 'string' } }, 2);
  const out = required(values.out, 'out');
  const [oldBank, newBank] = await Promise.all(positionals.map(openBankFile));
  const delta = await diffBanks(oldBank!, newBank!);
  await writeFile(out, delta.bytes);
  print(`${delta.id}  ${out}  ${delta.bytes.length} bytes (new bank ${newBank!.bytes.length} bytes)`);
}

export async function bankPatch(args: string[], print: Print): Promise<void> {
  const { values, positionals } = parse(args, { out: { type: 'string' } }, 2);
  const out = required(values.out, 'out');
  const [oldBank, delta] = await Promise.all(positionals.map(openBankFile));
  const patched = await patchBank(oldBank!, delta!);
  await writeFile(out, patched.bytes);
  print(`${patched.id}  ${out}  ${patched.bytes.length} bytes`);
}
