/**
 * Benchmark of the mask-store codecs on SD1.5-sized masks (a program, not a test):
 * `npx tsx bench/mask-store-codecs.ts [--quick] [--out-dir DIR] [--seed N]`.
 *
 * 1. Size of a one-bucket bank of i.i.d. Bernoulli masks against the entropy bound N·H(p̂),
 *    for the default encoder and each codec forced alone, beside deflate of the raw bitset and
 *    a roaring bitmap of the zero positions.
 * 2. Encode and decode time (median of repeated runs after warm-up); decode relative to
 *    unpacking a raw bitset of the same layers.
 * 3. Ten-bucket banks whose consecutive masks differ in 1% of positions: previous-bucket
 *    references against ten independent banks and against `prevRefs: false`.
 * 4. Deltas (`diffBanks`/`patchBank`) between banks that differ in 1% and 0.1% of positions.
 *
 * Prints aligned tables on stdout and progress on stderr; writes mask-store-codecs.json (every
 * number, the machine, the commit and the command) and mask-store-codecs.md (tables, targets,
 * interpretation) to docs/results/, or to a temporary folder with `--quick` (a 1/64-size
 * layout and fewer runs: a smoke run whose numbers are not results).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {
  diffBanks,
  encodeBank,
  layoutSize,
  packBits,
  patchBank,
  unpackBits,
  type CoderName,
  type EncodeBankOptions,
  type MaskBank,
  type MaskLayout,
} from '@maskunet/mask-store';
import { RoaringBitmap32, roaringLibraryInitialize } from 'roaring-wasm';
import {
  bernoulliBucket,
  driftBucket,
  entropyBoundBytes,
  expectedGolombBitsPerSymbol,
  Prng,
  SD15_MASKED_WEIGHTS,
  sd15DecoderAttentionLayout,
  transitionBoundBytes,
  transitionCounts,
  zerosOf,
  type DriftKind,
  type MaskBucket,
} from './mask-store-fixtures';
import {
  formatBytes,
  formatMs,
  formatPercent,
  formatRatio,
  gitState,
  machineRecord,
  progress,
  tableToMarkdown,
  tableToText,
  roundRatio,
  timeAsync,
  timeInterleaved,
  timeInterleavedAsync,
  type Table,
  type Timing,
  type TimingOptions,
} from './mask-store-report';

// ---------------------------------------------------------------- settings

interface Settings {
  readonly quick: boolean;
  readonly seed: number;
  readonly outDir: string;
  /** Dimension divisor of the SD1.5 layout (1 = the real one). */
  readonly shrink: number;
  /** Zero fractions the targets are judged on. */
  readonly mainZeroFractions: readonly number[];
  /** Extra rows, reported but not judged. */
  readonly extraZeroFractions: readonly number[];
  readonly encodeTiming: TimingOptions;
  readonly decodeTiming: TimingOptions;
  readonly correlatedZeroFractions: readonly number[];
  readonly correlatedBuckets: number;
  /** Fraction of positions that differ between consecutive buckets. */
  readonly correlatedDrift: number;
  /** Zero fraction at which the last bucket's decode (through the prev chain) is timed. */
  readonly chainZeroFraction: number;
  readonly chainTiming: TimingOptions;
  readonly deltaZeroFraction: number;
  readonly deltaDrifts: readonly number[];
  readonly deltaTiming: TimingOptions;
}

const TARGETS = {
  /** Default encoder's whole bank ≤ this × N·H(p̂) at every main p. */
  entropyRatio: 1.02,
  /** Ten-bucket bank with previous-bucket references ≤ this × ten independent banks. */
  correlatedRatio: 0.3,
  /** decodeBucket of the SD1.5-sized mask at p = 6.6 %, one core. */
  decodeMs: 150,
  decodeZeroFraction: 0.066,
} as const;

function parseSettings(argv: readonly string[]): Settings {
  let quick = false;
  let seed = 20260101;
  let outDir: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--seed' && argv[i + 1] !== undefined) seed = Number(argv[++i]);
    else if (arg === '--out-dir' && argv[i + 1] !== undefined) outDir = argv[++i]!;
    else throw new TypeError(`unknown argument ${arg}; usage: [--quick] [--out-dir DIR] [--seed N]`);
  }
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`--seed must be a non-negative integer`);
  return {
    quick,
    seed,
    outDir: outDir ?? (quick ? path.join(os.tmpdir(), 'mask-store-codecs-quick') : 'docs/results'),
    shrink: quick ? 8 : 1,
    mainZeroFractions: [0.01, 0.05, 0.066, 0.1, 0.3],
    extraZeroFractions: [0.005, 0.5],
    encodeTiming: quick ? { warmup: 1, runs: 2 } : { warmup: 1, runs: 5 },
    decodeTiming: quick ? { warmup: 1, runs: 3 } : { warmup: 1, runs: 9 },
    correlatedZeroFractions: quick ? [0.066] : [0.066, 0.05, 0.1],
    correlatedBuckets: 10,
    correlatedDrift: 0.01,
    chainZeroFraction: 0.066,
    chainTiming: quick ? { warmup: 1, runs: 1 } : { warmup: 1, runs: 3 },
    deltaZeroFraction: 0.066,
    deltaDrifts: [0.01, 0.001],
    deltaTiming: quick ? { warmup: 1, runs: 1 } : { warmup: 1, runs: 3 },
  };
}

/** A distinct, reproducible PRNG stream per experiment. */
function streamSeed(settings: Settings, experiment: number, zeroFraction: number): number {
  return (settings.seed + experiment * 1_000_003 + Math.round(zeroFraction * 100_000)) >>> 0;
}

// ---------------------------------------------------------------- helpers

const ENCODERS: readonly { readonly name: string; readonly coders?: readonly CoderName[] }[] = [
  { name: 'default' },
  { name: 'raw', coders: ['raw'] },
  { name: 'golomb', coders: ['golomb'] },
  { name: 'arith', coders: ['arith'] },
];

/** "golomb 70, arith 2" over the sections of buckets `from`.. of a bank (ref shown when not none). */
function coderMix(bank: MaskBank, fromBucket = 0): Record<string, number> {
  const mix: Record<string, number> = {};
  bank.header.sections.forEach((section, index) => {
    if (Math.floor(index / bank.layerCount) < fromBucket) return;
    const key = section.ref === 'none' ? section.coder : `${section.coder}/${section.ref}`;
    mix[key] = (mix[key] ?? 0) + 1;
  });
  return mix;
}

function formatMix(mix: Record<string, number>): string {
  return Object.entries(mix)
    .sort((a, b) => b[1] - a[1])
    .map(([key, count]) => `${key} ${count}`)
    .join(', ');
}

function payloadBytes(bank: MaskBank): number {
  return bank.bytes.length - bank.payloadOffset;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

function assertDecoded(decoded: readonly Uint8Array[], bucket: MaskBucket, what: string): void {
  if (
    decoded.length !== bucket.layers.length ||
    !decoded.every((mask, l) => sameBytes(mask, bucket.layers[l]!))
  ) {
    throw new Error(`${what}: decoded masks differ from the encoded ones`);
  }
}

/** Bytes out of a CompressionStream of `format` over `input`, and the time it took. */
async function compressedSize(
  input: Uint8Array,
  format: CompressionFormat,
): Promise<{ bytes: number; ms: number }> {
  const start = performance.now();
  const stream = new CompressionStream(format);
  const writing = (async () => {
    const writer = stream.writable.getWriter();
    // TS 5.9 types BufferSource as ArrayBuffer-backed only; `input` is (packBits allocates it).
    await writer.write(input as Uint8Array<ArrayBuffer>);
    await writer.close();
  })();
  const reader = stream.readable.getReader();
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.length;
  }
  await writing;
  return { bytes, ms: performance.now() - start };
}

/** Serialized sizes of a roaring bitmap of the zero positions of `data`, after runOptimize. */
function roaringSizes(data: Uint8Array): { portable: number; croaring: number; ms: number } {
  const start = performance.now();
  const positions = new Uint32Array(zerosOf(data));
  let found = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === 0) positions[found++] = i;
  const bitmap = new RoaringBitmap32();
  try {
    bitmap.addMany(positions);
    bitmap.optimize(); // roaring-wasm's name for runOptimize + shrinkToFit
    const portable = bitmap.getSerializationSizeInBytes('portable');
    if (bitmap.serialize('portable').length !== portable)
      throw new Error('roaring size disagrees with bytes');
    return {
      portable,
      croaring: bitmap.getSerializationSizeInBytes('croaring'),
      ms: performance.now() - start,
    };
  } finally {
    bitmap.dispose();
  }
}

/**
 * Roaring's expected portable size for i.i.d. zeros at `zeroFraction`: cookie and count
 * (8 bytes), 8 header bytes per 2^16-position container, and per container 2 bytes per zero
 * (array) or 8 KiB (bitmap) once it holds more than 4096 zeros. No runs to exploit.
 */
function predictedRoaringBytes(weights: number, zeroFraction: number): number {
  let bytes = 8;
  for (let start = 0; start < weights; start += 65536) {
    const zeros = Math.min(65536, weights - start) * zeroFraction;
    bytes += 8 + (zeros <= 4096 ? 2 * zeros : 8192);
  }
  return bytes;
}

function dropGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

// ---------------------------------------------------------------- 1 + 2: i.i.d. masks

interface EncoderResult {
  readonly encoder: string;
  readonly bankBytes: number;
  readonly payloadBytes: number;
  readonly headerBytes: number;
  readonly bankRatio: number;
  readonly payloadRatio: number;
  readonly coders: Record<string, number>;
  readonly encode: Timing;
  readonly decode: Timing;
}

interface IidResult {
  readonly zeroFraction: number;
  readonly extra: boolean;
  readonly seed: number;
  readonly weights: number;
  readonly zeros: number;
  readonly realisedZeroFraction: number;
  readonly boundBytes: number;
  readonly encoders: readonly EncoderResult[];
  readonly unpack: Timing;
  /** Median over rounds of (default decode ÷ unpackBits) timed side by side. */
  readonly decodeOverUnpack: number;
  readonly arithOverGolombDecode: number;
  readonly deflate: { bytes: number; ratio: number; compressMs: number };
  readonly deflateRaw: { bytes: number; ratio: number; compressMs: number };
  readonly roaring: { portableBytes: number; croaringBytes: number; ratio: number; buildMs: number };
  readonly predicted: {
    readonly golombPayloadBytes: number;
    readonly golombRatio: number;
    readonly arithPayloadBytes: number;
    readonly roaringBytes: number;
    readonly roaringRatio: number;
  };
}

async function measureIid(
  settings: Settings,
  layout: MaskLayout,
  zeroFraction: number,
  extra: boolean,
): Promise<IidResult> {
  const seed = streamSeed(settings, 1, zeroFraction);
  const bucket = bernoulliBucket(layout, zeroFraction, new Prng(seed));
  const weights = bucket.data.length;
  const zeros = zerosOf(bucket.data);
  const boundBytes = entropyBoundBytes(zeros, weights);

  const label = `p=${formatPercent(zeroFraction)}`;
  progress(`${label}: encode (${ENCODERS.map((e) => e.name).join(', ')} in turn)`);
  const encoded = await timeInterleavedAsync(
    Object.fromEntries(
      ENCODERS.map((encoder) => {
        const options: EncodeBankOptions = encoder.coders === undefined ? {} : { coders: encoder.coders };
        return [encoder.name, () => encodeBank({ layout, masks: [bucket.layers] }, options)];
      }),
    ),
    settings.encodeTiming,
  );
  const banks = encoded.results;
  progress(`${label}: decode (each bank and unpackBits in turn)`);
  const packed = bucket.layers.map((mask) => packBits(mask));
  const decodeOperations: Record<string, () => Uint8Array[]> = {
    ...Object.fromEntries(ENCODERS.map((e) => [e.name, () => banks[e.name]!.decodeBucket(0)])),
    unpackBits: () => packed.map((bits, l) => unpackBits(bits, bucket.layers[l]!.length)),
  };
  const decoded = timeInterleaved(decodeOperations, settings.decodeTiming);
  for (const [name, masks] of Object.entries(decoded.results))
    assertDecoded(masks, bucket, `${label} ${name}`);
  const encoders: EncoderResult[] = ENCODERS.map(({ name }) => {
    const bank = banks[name]!;
    return {
      encoder: name,
      bankBytes: bank.bytes.length,
      payloadBytes: payloadBytes(bank),
      headerBytes: bank.payloadOffset,
      bankRatio: bank.bytes.length / boundBytes,
      payloadRatio: payloadBytes(bank) / boundBytes,
      coders: coderMix(bank),
      encode: encoded.timings[name]!,
      decode: decoded.timings[name]!,
    };
  });
  const unpack = decoded.timings.unpackBits!;

  progress(`${label}: deflate, roaring`);
  const bitset = packBits(bucket.data);
  const deflate = await compressedSize(bitset, 'deflate');
  const deflateRaw = await compressedSize(bitset, 'deflate-raw');
  const roaring = roaringSizes(bucket.data);

  const minority = Math.min(zeros, weights - zeros);
  const golombPayloadBytes = (minority * expectedGolombBitsPerSymbol(minority / weights)) / 8;
  const roaringBytes = predictedRoaringBytes(weights, zeroFraction);
  const defaultResult = encoders[0]!;
  return {
    zeroFraction,
    extra,
    seed,
    weights,
    zeros,
    realisedZeroFraction: zeros / weights,
    boundBytes,
    encoders,
    unpack,
    decodeOverUnpack: roundRatio(defaultResult.decode, unpack),
    arithOverGolombDecode: roundRatio(encoders[3]!.decode, encoders[2]!.decode),
    deflate: { bytes: deflate.bytes, ratio: deflate.bytes / boundBytes, compressMs: deflate.ms },
    deflateRaw: { bytes: deflateRaw.bytes, ratio: deflateRaw.bytes / boundBytes, compressMs: deflateRaw.ms },
    roaring: {
      portableBytes: roaring.portable,
      croaringBytes: roaring.croaring,
      ratio: roaring.portable / boundBytes,
      buildMs: roaring.ms,
    },
    predicted: {
      golombPayloadBytes,
      golombRatio: golombPayloadBytes / boundBytes,
      arithPayloadBytes: boundBytes + 5 * layout.layers.length,
      roaringBytes,
      roaringRatio: roaringBytes / boundBytes,
    },
  };
}

// ---------------------------------------------------------------- 3: correlated buckets

interface CorrelatedResult {
  readonly zeroFraction: number;
  readonly drift: DriftKind;
  readonly seed: number;
  readonly buckets: number;
  readonly realisedZeroFractions: readonly number[];
  readonly differingFraction: readonly number[];
  readonly independentBoundBytes: number;
  /** H(M0) + Σ H(Mb | Mb−1): what conditioning on the previous bit can reach. */
  readonly chainConditionalBoundBytes: number;
  /** H(M0) + Σ N·H(Mb ⊕ Mb−1): what XOR + an i.i.d. coder can reach. */
  readonly chainXorBoundBytes: number;
  readonly prevRefBankBytes: number;
  readonly prevRefPayloadBytes: number;
  readonly noPrevRefBankBytes: number;
  readonly independentBankBytes: number;
  readonly prevOverIndependent: number;
  readonly prevOverNoPrev: number;
  readonly predictedConditionalRatio: number;
  readonly predictedXorRatio: number;
  readonly codersAfterFirstBucket: Record<string, number>;
  readonly encodeMs: { prevRefs: number; noPrevRefs: number; independent: number };
  readonly chainDecode: { first: Timing; last: Timing } | null;
}

async function measureCorrelated(
  settings: Settings,
  layout: MaskLayout,
  zeroFraction: number,
  drift: DriftKind,
): Promise<CorrelatedResult> {
  const label = `correlated p=${formatPercent(zeroFraction)} ${drift}`;
  const seed = streamSeed(settings, drift === 'balanced' ? 3 : 4, zeroFraction);
  const prng = new Prng(seed);
  progress(`${label}: generating ${settings.correlatedBuckets} buckets`);
  const buckets: MaskBucket[] = [bernoulliBucket(layout, zeroFraction, prng)];
  while (buckets.length < settings.correlatedBuckets) {
    buckets.push(driftBucket(layout, buckets[buckets.length - 1]!, drift, settings.correlatedDrift, prng));
  }
  const weights = layoutSize(layout);
  const zeros = buckets.map((b) => zerosOf(b.data));
  const independentBoundBytes = zeros.reduce((sum, z) => sum + entropyBoundBytes(z, weights), 0);
  let chainConditionalBoundBytes = entropyBoundBytes(zeros[0]!, weights);
  let chainXorBoundBytes = chainConditionalBoundBytes;
  const differingFraction: number[] = [];
  for (let b = 1; b < buckets.length; b++) {
    const counts = transitionCounts(buckets[b - 1]!.data, buckets[b]!.data);
    const bounds = transitionBoundBytes(counts);
    chainConditionalBoundBytes += bounds.conditional;
    chainXorBoundBytes += bounds.xor;
    differingFraction.push((counts.wereZero - counts.stayedZero + counts.becameZero) / weights);
  }
  const masks = buckets.map((b) => b.layers);

  progress(`${label}: encode with prev references`);
  let start = performance.now();
  const prevBank = await encodeBank({ layout, masks });
  const prevMs = performance.now() - start;
  progress(`${label}: encode with prevRefs: false`);
  start = performance.now();
  const noPrevBank = await encodeBank({ layout, masks }, { prevRefs: false });
  const noPrevMs = performance.now() - start;
  const noPrevRefBankBytes = noPrevBank.bytes.length;
  progress(`${label}: encode ${buckets.length} independent banks`);
  start = performance.now();
  let independentBankBytes = 0;
  for (const layers of masks)
    independentBankBytes += (await encodeBank({ layout, masks: [layers] })).bytes.length;
  const independentMs = performance.now() - start;

  let chainDecode: CorrelatedResult['chainDecode'] = null;
  if (zeroFraction === settings.chainZeroFraction) {
    progress(`${label}: decodeBucket(0) and decodeBucket(${buckets.length - 1})`);
    const last = buckets.length - 1;
    const timed = timeInterleaved(
      { first: () => prevBank.decodeBucket(0), last: () => prevBank.decodeBucket(last) },
      settings.chainTiming,
    );
    assertDecoded(timed.results.first, buckets[0]!, `${label} bucket 0`);
    assertDecoded(timed.results.last, buckets[last]!, `${label} bucket ${last}`);
    chainDecode = { first: timed.timings.first, last: timed.timings.last };
  }
  return {
    zeroFraction,
    drift,
    seed,
    buckets: buckets.length,
    realisedZeroFractions: zeros.map((z) => z / weights),
    differingFraction,
    independentBoundBytes,
    chainConditionalBoundBytes,
    chainXorBoundBytes,
    prevRefBankBytes: prevBank.bytes.length,
    prevRefPayloadBytes: payloadBytes(prevBank),
    noPrevRefBankBytes,
    independentBankBytes,
    prevOverIndependent: prevBank.bytes.length / independentBankBytes,
    prevOverNoPrev: prevBank.bytes.length / noPrevRefBankBytes,
    predictedConditionalRatio: chainConditionalBoundBytes / independentBoundBytes,
    predictedXorRatio: chainXorBoundBytes / independentBoundBytes,
    codersAfterFirstBucket: coderMix(prevBank, 1),
    encodeMs: { prevRefs: prevMs, noPrevRefs: noPrevMs, independent: independentMs },
    chainDecode,
  };
}

// ---------------------------------------------------------------- 4: deltas

interface DeltaResult {
  readonly zeroFraction: number;
  readonly drift: DriftKind;
  readonly differingFraction: number;
  readonly newBankBytes: number;
  readonly deltaBytes: number;
  readonly deltaPayloadBytes: number;
  /** Prefix + header, which holds the new bank's header verbatim besides the delta's own. */
  readonly deltaHeaderBytes: number;
  readonly deltaOverNew: number;
  readonly conditionalBoundBytes: number;
  readonly xorBoundBytes: number;
  readonly deltaPayloadOverConditionalBound: number;
  readonly coders: Record<string, number>;
  readonly diff: Timing;
  readonly patch: Timing;
}

async function measureDeltas(settings: Settings, layout: MaskLayout): Promise<DeltaResult[]> {
  const zeroFraction = settings.deltaZeroFraction;
  const seed = streamSeed(settings, 5, zeroFraction);
  const prng = new Prng(seed);
  const oldBucket = bernoulliBucket(layout, zeroFraction, prng);
  const oldBank = await encodeBank({ layout, masks: [oldBucket.layers] });
  const results: DeltaResult[] = [];
  for (const drift of ['balanced', 'uniform'] as const) {
    for (const fraction of settings.deltaDrifts) {
      const label = `delta p=${formatPercent(zeroFraction)} ${drift} ${formatPercent(fraction)}`;
      progress(`${label}: encode new bank`);
      const newBucket = driftBucket(layout, oldBucket, drift, fraction, prng);
      const newBank = await encodeBank({ layout, masks: [newBucket.layers] });
      const counts = transitionCounts(oldBucket.data, newBucket.data);
      const bounds = transitionBoundBytes(counts);
      progress(`${label}: diffBanks`);
      const diffed = await timeAsync(() => diffBanks(oldBank, newBank), settings.deltaTiming);
      const delta = diffed.result;
      progress(`${label}: patchBank`);
      const patched = await timeAsync(() => patchBank(oldBank, delta), settings.deltaTiming);
      if (patched.result.id !== newBank.id) throw new Error(`${label}: patch did not rebuild the new bank`);
      results.push({
        zeroFraction,
        drift,
        differingFraction: (counts.wereZero - counts.stayedZero + counts.becameZero) / oldBucket.data.length,
        newBankBytes: newBank.bytes.length,
        deltaBytes: delta.bytes.length,
        deltaPayloadBytes: payloadBytes(delta),
        deltaHeaderBytes: delta.payloadOffset,
        deltaOverNew: delta.bytes.length / newBank.bytes.length,
        conditionalBoundBytes: bounds.conditional,
        xorBoundBytes: bounds.xor,
        deltaPayloadOverConditionalBound: payloadBytes(delta) / bounds.conditional,
        coders: coderMix(delta),
        diff: diffed.timing,
        patch: patched.timing,
      });
    }
  }
  return results;
}

// ---------------------------------------------------------------- report

interface TargetResult {
  readonly target: string;
  readonly threshold: string;
  readonly measured: string;
  readonly pass: boolean | null;
}

function judgeTargets(
  settings: Settings,
  iid: readonly IidResult[],
  correlated: readonly CorrelatedResult[],
): TargetResult[] {
  const targets: TargetResult[] = [];
  for (const row of iid.filter((r) => !r.extra)) {
    const ratio = row.encoders[0]!.bankRatio;
    targets.push({
      target: `default bank ÷ N·H(p̂), p = ${formatPercent(row.zeroFraction)}`,
      threshold: `≤ ${TARGETS.entropyRatio}×`,
      measured: formatRatio(ratio),
      pass: ratio <= TARGETS.entropyRatio,
    });
  }
  for (const row of correlated) {
    targets.push({
      target: `10-bucket prev-ref bank ÷ 10 independent, p = ${formatPercent(row.zeroFraction)}, ${row.drift}`,
      threshold: `≤ ${TARGETS.correlatedRatio}×`,
      measured: formatRatio(row.prevOverIndependent, 3),
      pass: row.prevOverIndependent <= TARGETS.correlatedRatio,
    });
  }
  const decodeRow = iid.find((r) => r.zeroFraction === TARGETS.decodeZeroFraction);
  if (decodeRow !== undefined) {
    // Judged on the median wall-clock time as the target states it; CPU time and the fastest
    // run are shown beside it because other work shares this machine's two cores.
    const ms = decodeRow.encoders[0]!.decode.medianMs;
    targets.push({
      target: `decodeBucket, SD1.5-sized mask, p = ${formatPercent(TARGETS.decodeZeroFraction)}, one core`,
      threshold: `≤ ${TARGETS.decodeMs} ms`,
      measured: `${formatMs(ms)} ms (CPU ${formatMs(decodeRow.encoders[0]!.decode.cpuMedianMs)}, fastest ${formatMs(decodeRow.encoders[0]!.decode.minMs)})`,
      // The quick layout is 1/64 of the size the target is about.
      pass: settings.quick ? null : ms <= TARGETS.decodeMs,
    });
  }
  return targets;
}

function verdict(pass: boolean | null): string {
  return pass === null ? 'n/a (quick)' : pass ? 'PASS' : 'FAIL';
}

function buildTables(
  settings: Settings,
  iid: readonly IidResult[],
  correlated: readonly CorrelatedResult[],
  deltas: readonly DeltaResult[],
  targets: readonly TargetResult[],
): Table[] {
  const byName = (row: IidResult, name: string): EncoderResult =>
    row.encoders.find((e) => e.encoder === name)!;
  const pLabel = (row: IidResult): string =>
    `${formatPercent(row.zeroFraction)}${row.extra ? ' (extra)' : ''}`;
  const { encodeTiming, decodeTiming } = settings;
  return [
    {
      title: 'Targets',
      headers: ['target', 'threshold', 'measured', 'verdict'],
      rows: targets.map((t) => [t.target, t.threshold, t.measured, verdict(t.pass)]),
    },
    {
      title: '1a. One-bucket bank bytes (i.i.d. Bernoulli zeros)',
      headers: [
        'p',
        'p̂',
        'N·H(p̂) B',
        'default bank',
        'default payload',
        'header',
        'default coders',
        'raw bank',
        'golomb bank',
        'arith bank',
        'deflate',
        'deflate-raw',
        'roaring',
      ],
      rows: iid.map((row) => [
        pLabel(row),
        formatPercent(row.realisedZeroFraction, 3),
        formatBytes(row.boundBytes),
        formatBytes(byName(row, 'default').bankBytes),
        formatBytes(byName(row, 'default').payloadBytes),
        formatBytes(byName(row, 'default').headerBytes),
        formatMix(byName(row, 'default').coders),
        formatBytes(byName(row, 'raw').bankBytes),
        formatBytes(byName(row, 'golomb').bankBytes),
        formatBytes(byName(row, 'arith').bankBytes),
        formatBytes(row.deflate.bytes),
        formatBytes(row.deflateRaw.bytes),
        formatBytes(row.roaring.portableBytes),
      ]),
      note:
        'Bank = whole file (16-byte prefix + msgpack header + payloads); payload = sections only. deflate = ' +
        "CompressionStream('deflate' | 'deflate-raw') of the LSB-first bitset (zlib default level); roaring = " +
        'roaring-wasm bitmap of the zero positions after optimize() (runOptimize), portable format.',
    },
    {
      title: '1b. Ratio to the entropy bound N·H(p̂) (pred. = closed-form prediction)',
      headers: [
        'p',
        'default bank',
        'default payload',
        'raw',
        'golomb bank',
        'golomb payload',
        'golomb pred.',
        'arith bank',
        'arith payload',
        'deflate',
        'deflate-raw',
        'roaring',
        'roaring pred.',
      ],
      rows: iid.map((row) => [
        pLabel(row),
        formatRatio(byName(row, 'default').bankRatio),
        formatRatio(byName(row, 'default').payloadRatio),
        formatRatio(byName(row, 'raw').bankRatio, 3),
        formatRatio(byName(row, 'golomb').bankRatio),
        formatRatio(byName(row, 'golomb').payloadRatio),
        formatRatio(row.predicted.golombRatio),
        formatRatio(byName(row, 'arith').bankRatio),
        formatRatio(byName(row, 'arith').payloadRatio),
        formatRatio(row.deflate.ratio, 3),
        formatRatio(row.deflateRaw.ratio, 3),
        formatRatio(row.roaring.ratio, 3),
        formatRatio(row.predicted.roaringRatio, 3),
      ]),
      note:
        'golomb pred. = expected Golomb code length of i.i.d. gaps at the Gallager–van Voorhis parameter; ' +
        'roaring pred. = 8 B + 8 B per 2^16 positions + 2 B per zero (array) or 8 KiB (bitmap, > 4096 zeros).',
    },
    {
      title: `2. Encode and decode time, ms (medians of ${encodeTiming.runs} encode rounds after ${encodeTiming.warmup}, ${decodeTiming.runs} decode rounds after ${decodeTiming.warmup})`,
      headers: [
        'p',
        'enc default',
        'enc raw',
        'enc golomb',
        'enc arith',
        'dec default',
        'dec CPU',
        'unpackBits',
        'unpack CPU',
        'dec ÷ unpack',
        'dec raw',
        'dec golomb',
        'dec arith',
        'arith ÷ golomb',
      ],
      rows: iid.map((row) => [
        pLabel(row),
        formatMs(byName(row, 'default').encode.medianMs),
        formatMs(byName(row, 'raw').encode.medianMs),
        formatMs(byName(row, 'golomb').encode.medianMs),
        formatMs(byName(row, 'arith').encode.medianMs),
        formatMs(byName(row, 'default').decode.medianMs),
        formatMs(byName(row, 'default').decode.cpuMedianMs),
        formatMs(row.unpack.medianMs),
        formatMs(row.unpack.cpuMedianMs),
        formatRatio(row.decodeOverUnpack, 2),
        formatMs(byName(row, 'raw').decode.medianMs),
        formatMs(byName(row, 'golomb').decode.medianMs),
        formatMs(byName(row, 'arith').decode.medianMs),
        formatRatio(row.arithOverGolombDecode, 1),
      ]),
      note:
        'decode = MaskBank.decodeBucket(0) → one Uint8Array of 0/1 per layer; unpackBits = the same layers ' +
        'unpacked from raw LSB-first bitsets into fresh arrays. Each round runs every encoder (or every decode ' +
        'and unpackBits) once in turn; the ÷ columns are medians of per-round ratios. One thread; the machine ' +
        'is shared with other work, so trust the side-by-side ratios more than absolute times.',
    },
    {
      title: `3. ${settings.correlatedBuckets}-bucket banks, consecutive buckets differ in ${formatPercent(settings.correlatedDrift)} of positions`,
      headers: [
        'p',
        'drift',
        'p̂ first → last',
        'prev-ref bank',
        'prevRefs:false',
        '10 independent',
        'prev ÷ indep.',
        'prev ÷ noPrev',
        'bound cond. ÷ indep.',
        'bound XOR ÷ indep.',
        'coders, buckets 1–9',
      ],
      rows: correlated.map((row) => [
        formatPercent(row.zeroFraction),
        row.drift,
        `${formatPercent(row.realisedZeroFractions[0]!, 2)} → ${formatPercent(row.realisedZeroFractions[row.buckets - 1]!, 2)}`,
        formatBytes(row.prevRefBankBytes),
        formatBytes(row.noPrevRefBankBytes),
        formatBytes(row.independentBankBytes),
        formatRatio(row.prevOverIndependent, 3),
        formatRatio(row.prevOverNoPrev, 3),
        formatRatio(row.predictedConditionalRatio, 3),
        formatRatio(row.predictedXorRatio, 3),
        formatMix(row.codersAfterFirstBucket),
      ]),
      note:
        'balanced: each step flips 0.5% of positions 1→0 and as many 0→1 (zero fraction kept); uniform: 1% of ' +
        'positions flip whatever their value. bound cond. = [N·H(M0) + Σ H(Mb | Mb−1)] ÷ Σ N·H(Mb), reachable by ' +
        'arith conditioned on the previous bit; bound XOR = the same with N·H(Mb ⊕ Mb−1), reachable by Golomb over ' +
        'the XOR.',
    },
    {
      title: '3b. Decode latency through the previous-bucket chain, ms',
      headers: ['p', 'drift', 'decodeBucket(0)', 'decodeBucket(9)', 'ratio', 'encode prev-ref bank'],
      rows: correlated
        .filter((row) => row.chainDecode !== null)
        .map((row) => [
          formatPercent(row.zeroFraction),
          row.drift,
          formatMs(row.chainDecode!.first.medianMs),
          formatMs(row.chainDecode!.last.medianMs),
          formatRatio(roundRatio(row.chainDecode!.last, row.chainDecode!.first), 1),
          formatMs(row.encodeMs.prevRefs),
        ]),
      note: `Median of ${settings.chainTiming.runs} rounds (bucket 0, then bucket 9) after ${settings.chainTiming.warmup}; ratio = median of per-round ratios; encode is one run.`,
    },
    {
      title: `4. Deltas at p = ${formatPercent(settings.deltaZeroFraction)} (diffBanks / patchBank, median of ${settings.deltaTiming.runs} after ${settings.deltaTiming.warmup} warm-up)`,
      headers: [
        'drift',
        'differs',
        'new bank',
        'delta',
        'delta header',
        'delta ÷ new',
        'delta payload ÷ H(new|old)',
        'H(XOR) ÷ H(new|old)',
        'delta coders',
        'diff ms',
        'patch ms',
      ],
      rows: deltas.map((row) => [
        row.drift,
        formatPercent(row.differingFraction, 2),
        formatBytes(row.newBankBytes),
        formatBytes(row.deltaBytes),
        formatBytes(row.deltaHeaderBytes),
        formatRatio(row.deltaOverNew, 4),
        formatRatio(row.deltaPayloadOverConditionalBound, 3),
        formatRatio(row.xorBoundBytes / row.conditionalBoundBytes, 3),
        formatMix(row.coders),
        formatMs(row.diff.medianMs),
        formatMs(row.patch.medianMs),
      ]),
    },
  ];
}

function interpretation(
  iid: readonly IidResult[],
  correlated: readonly CorrelatedResult[],
  deltas: readonly DeltaResult[],
): string {
  const main = iid.filter((r) => !r.extra);
  const worst = main.reduce((a, b) => (b.encoders[0]!.bankRatio > a.encoders[0]!.bankRatio ? b : a));
  const decodeRow = iid.find((r) => r.zeroFraction === TARGETS.decodeZeroFraction);
  const headline = correlated.filter((r) => r.zeroFraction === TARGETS.decodeZeroFraction);
  const golombErr = Math.max(
    ...iid.map((r) =>
      Math.abs(
        r.encoders.find((e) => e.encoder === 'golomb')!.payloadBytes / r.predicted.golombPayloadBytes - 1,
      ),
    ),
  );
  const parts: string[] = [
    `The default encoder's whole bank is at most ${formatRatio(worst.encoders[0]!.bankRatio)} the entropy bound ` +
      `over the judged zero fractions (worst at p = ${formatPercent(worst.zeroFraction)}, where the ` +
      `${formatBytes(worst.encoders[0]!.headerBytes)}-byte header alone is ${formatPercent(worst.encoders[0]!.headerBytes / worst.boundBytes, 2)} of the bound).`,
    `Forced Golomb lands within ${formatPercent(golombErr, 2)} of its closed-form prediction at every p, and arith within a few hundred bytes of N·H(p̂) + 5 B per section, as predicted.`,
    `Raw bitsets cost 1/H(p̂) of the bound; deflate of the bitset and a roaring bitmap of the zeros are ` +
      `${formatRatio(Math.min(...main.map((r) => r.deflate.ratio)), 2)}–${formatRatio(Math.max(...main.map((r) => r.deflate.ratio)), 2)} and ` +
      `${formatRatio(Math.min(...main.map((r) => r.roaring.ratio)), 2)}–${formatRatio(Math.max(...main.map((r) => r.roaring.ratio)), 2)} of it ` +
      `(roaring as predicted: 16 bits per zero below 4096 zeros per 2^16 positions, a plain bitmap above).`,
  ];
  if (decodeRow !== undefined) {
    const decode = decodeRow.encoders[0]!.decode;
    const highest = main[main.length - 1]!;
    parts.push(
      `Decoding the p = ${formatPercent(decodeRow.zeroFraction)} bucket takes ${formatMs(decode.medianMs)} ms wall-clock ` +
        `(${formatMs(decode.cpuMedianMs)} ms CPU, fastest run ${formatMs(decode.minMs)} ms), ` +
        `${formatRatio(decodeRow.decodeOverUnpack, 2)} the time to unpack a raw bitset of the same layers measured side by side: ` +
        `at low p both mostly write ${formatBytes(decodeRow.weights)} bytes of output, while Golomb's per-zero cost takes over ` +
        `as p grows (${formatRatio(highest.decodeOverUnpack, 2)} at p = ${formatPercent(highest.zeroFraction)}). ` +
        `Forced arith decodes ${formatRatio(decodeRow.arithOverGolombDecode, 1)} slower than Golomb at ` +
        `p = ${formatPercent(decodeRow.zeroFraction)} and ${formatRatio(main[0]!.arithOverGolombDecode, 1)} slower at ` +
        `p = ${formatPercent(main[0]!.zeroFraction)}, since it spends time per weight rather than per zero.`,
    );
  }
  const sameAsGolomb = decodeRow?.encoders[0]!.bankBytes === decodeRow?.encoders[2]!.bankBytes;
  if (decodeRow !== undefined && sameAsGolomb) {
    const encode = (name: string): Timing => decodeRow.encoders.find((e) => e.encoder === name)!.encode;
    parts.push(
      `The default encoder takes ${formatRatio(roundRatio(encode('default'), encode('golomb')), 1)} the Golomb-only encode time ` +
        `at p = ${formatPercent(decodeRow.zeroFraction)} for the same bytes: it also runs the arithmetic coder on every ` +
        `section (whose size estimate is never more than 1% above Golomb's) and then discards the result.`,
    );
  }
  for (const row of headline) {
    parts.push(
      `At p = ${formatPercent(row.zeroFraction)} with ${row.drift} drift the ten-bucket bank is ` +
        `${formatRatio(row.prevOverIndependent, 3)} ten independent banks against a predicted ` +
        `${formatRatio(row.predictedConditionalRatio, 3)} (conditional) / ${formatRatio(row.predictedXorRatio, 3)} (XOR).`,
    );
  }
  for (const row of correlated.filter((r) => r.prevOverIndependent > TARGETS.correlatedRatio)) {
    parts.push(
      `The ${TARGETS.correlatedRatio}× target fails at p = ${formatPercent(row.zeroFraction)} with ${row.drift} drift ` +
        `(${formatRatio(row.prevOverIndependent, 3)}), but there the conditional-entropy bound itself is ` +
        `${formatRatio(row.predictedConditionalRatio, 3)}: no coder that sees only the previous bucket can meet it on these masks.`,
    );
  }
  const chains = headline.filter((r) => r.chainDecode !== null);
  if (chains.length > 0) {
    parts.push(
      `Reading a late bucket of a previous-reference bank is slow: decodeBucket(${chains[0]!.buckets - 1}) takes ` +
        chains
          .map(
            (r) =>
              `${formatMs(r.chainDecode!.last.medianMs)} ms against ${formatMs(r.chainDecode!.first.medianMs)} ms ` +
              `for bucket 0 (${r.drift}, ${formatMix(r.codersAfterFirstBucket)})`,
          )
          .join(' and ') +
        `, because MaskBank.decodeLayer re-decodes each section's whole chain back to bucket 0.`,
    );
  }
  const onePercent = deltas.filter((d) => Math.abs(d.differingFraction - 0.01) < 0.001);
  if (onePercent.length > 0) {
    parts.push(
      `A delta for 1% changed positions is ${onePercent.map((d) => `${formatRatio(d.deltaOverNew, 3)} (${d.drift})`).join(' and ')} of the new bank, ` +
        `its payload ` +
        `${onePercent.map((d) => formatRatio(d.deltaPayloadOverConditionalBound, 3)).join(' and ')} H(new | old); every delta also carries two headers (its own and the new bank's, ` +
        `${formatBytes(Math.min(...deltas.map((d) => d.deltaHeaderBytes)))}–${formatBytes(Math.max(...deltas.map((d) => d.deltaHeaderBytes)))} B), ` +
        `which is what keeps the 0.1% deltas at ${formatRatio(Math.min(...deltas.map((d) => d.deltaOverNew)), 3)}–` +
        `${formatRatio(Math.max(...deltas.filter((d) => d.differingFraction < 0.005).map((d) => d.deltaOverNew)), 3)} of the new bank.`,
    );
  }
  return parts.join(' ');
}

function markdownReport(
  record: Record<string, unknown>,
  settings: Settings,
  tables: readonly Table[],
  paragraph: string,
): string {
  const machine = record.machine as ReturnType<typeof machineRecord>;
  const run = record.run as { wallMs: number; cpuMs: number; loadAverageAtEnd: number[] };
  const loads = (values: readonly number[]): string => values.map((l) => l.toFixed(2)).join(' ');
  const git = record.git as ReturnType<typeof gitState>;
  return [
    '# mask-store codecs benchmark',
    '',
    `Generated by \`${String(record.command)}\` on ${String(record.date)}${settings.quick ? ' (QUICK smoke run: 1/64-size layout, numbers are not results)' : ''}.`,
    `Commit ${git.commit ?? 'unknown'}${git.dirty === true ? ' with uncommitted changes' : ''}; ${machine.cpuModel} ` +
      `(${machine.logicalCpus} logical CPUs, shared: 1/5/15-minute load average ${loads(machine.loadAverageAtStart)} at start, ` +
      `${loads(run.loadAverageAtEnd)} at end); the run took ${(run.wallMs / 1000).toFixed(0)} s wall-clock and ` +
      `${(run.cpuMs / 1000).toFixed(0)} s CPU; ` +
      `Node ${machine.node}; ${machine.os.platform} ${machine.os.release}.`,
    `Layout: SD1.5 decoder attention, 72 layers, ${formatBytes((record.layout as { weights: number }).weights)} weights per bucket. ` +
      `Masks: i.i.d. Bernoulli zeros from seeded sfc32 (base seed ${settings.seed}). Every number is in mask-store-codecs.json.`,
    '',
    ...tables.flatMap((table) => [tableToMarkdown(table), '']),
    '## Interpretation',
    '',
    paragraph,
    '',
  ].join('\n');
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const settings = parseSettings(args);
  const layout = sd15DecoderAttentionLayout(settings.shrink);
  if (settings.shrink === 1 && layoutSize(layout) !== SD15_MASKED_WEIGHTS) {
    throw new Error(`SD1.5 layout has ${layoutSize(layout)} weights, not ${SD15_MASKED_WEIGHTS}`);
  }
  const runStart = performance.now();
  const machine = machineRecord();
  const git = gitState();
  const date = new Date().toISOString();
  await roaringLibraryInitialize();
  progress(
    `layout: ${layout.layers.length} layers, ${formatBytes(layoutSize(layout))} weights${settings.quick ? ' (quick: 1/64 size)' : ''}`,
  );

  const iid: IidResult[] = [];
  const fractions = [
    ...settings.extraZeroFractions
      .filter((p) => p < settings.mainZeroFractions[0]!)
      .map((p) => [p, true] as const),
    ...settings.mainZeroFractions.map((p) => [p, false] as const),
    ...settings.extraZeroFractions
      .filter((p) => p > settings.mainZeroFractions[0]!)
      .map((p) => [p, true] as const),
  ];
  for (const [zeroFraction, extra] of fractions) {
    iid.push(await measureIid(settings, layout, zeroFraction, extra));
    dropGarbage();
  }

  const correlated: CorrelatedResult[] = [];
  for (const zeroFraction of settings.correlatedZeroFractions) {
    for (const drift of ['balanced', 'uniform'] as const) {
      correlated.push(await measureCorrelated(settings, layout, zeroFraction, drift));
      dropGarbage();
    }
  }

  const deltas = await measureDeltas(settings, layout);
  dropGarbage();

  const targets = judgeTargets(settings, iid, correlated);
  const tables = buildTables(settings, iid, correlated, deltas, targets);
  const paragraph = interpretation(iid, correlated, deltas);
  for (const table of tables) process.stdout.write(`\n${tableToText(table)}\n`);
  process.stdout.write(`\n${paragraph}\n`);

  const require = createRequire(import.meta.url);
  const record = {
    benchmark: 'mask-store-codecs',
    schemaVersion: 1,
    date,
    command: [
      'npx tsx',
      path.relative(process.cwd(), process.argv[1] ?? 'bench/mask-store-codecs.ts'),
      ...args,
    ].join(' '),
    argv: process.argv,
    git,
    machine,
    run: {
      wallMs: performance.now() - runStart,
      cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
      loadAverageAtEnd: os.loadavg(),
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
    },
    packages: { 'roaring-wasm': (require('roaring-wasm/package.json') as { version: string }).version },
    settings,
    layout: {
      name: 'SD1.5 decoder attention (up_blocks.1-3)',
      layers: layout.layers,
      weights: layoutSize(layout),
    },
    targets,
    iid,
    correlated,
    deltas,
    interpretation: paragraph,
  };
  mkdirSync(settings.outDir, { recursive: true });
  const jsonPath = path.join(settings.outDir, 'mask-store-codecs.json');
  const markdownPath = path.join(settings.outDir, 'mask-store-codecs.md');
  writeFileSync(jsonPath, `${JSON.stringify(record, null, 2)}\n`);
  writeFileSync(markdownPath, markdownReport(record, settings, tables, paragraph));
  progress(`wrote ${jsonPath} and ${markdownPath}`);
}

await main();
