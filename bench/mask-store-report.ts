/**
 * Measurement and reporting plumbing of the mask-store benchmarks: medians of repeated timed
 * runs after warm-up (the machine is shared, so single timings mean little), aligned console
 * tables that double as markdown tables, number formatting, the machine description every
 * result file records, and progress lines on stderr.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

/**
 * Timings of one measured operation, in milliseconds. Wall-clock times suffer when other work
 * takes the core; process CPU time (user + system, all threads, so it also counts V8's
 * helper threads and is if anything high) does not, so both are kept.
 */
export interface Timing {
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly cpuMedianMs: number;
  readonly warmup: number;
  readonly runsMs: readonly number[];
  readonly cpuRunsMs: readonly number[];
}

export interface TimingOptions {
  /** Untimed runs first, so the JIT and allocator settle. */
  readonly warmup: number;
  readonly runs: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function summarise(runsMs: number[], cpuRunsMs: number[], warmup: number): Timing {
  return {
    medianMs: median(runsMs),
    minMs: Math.min(...runsMs),
    maxMs: Math.max(...runsMs),
    cpuMedianMs: median(cpuRunsMs),
    warmup,
    runsMs,
    cpuRunsMs,
  };
}

/** Process CPU milliseconds (user + system) since `since`. */
function cpuMsSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

/**
 * Times `run` `options.runs` times after `options.warmup` untimed runs (at least one, which
 * also yields the result when no timed run is asked for); returns the last result too.
 */
export async function timeAsync<T>(
  run: () => Promise<T>,
  options: TimingOptions,
): Promise<{ timing: Timing; result: T }> {
  let result = await run();
  for (let i = 1; i < options.warmup; i++) result = await run();
  const runsMs: number[] = [];
  const cpuRunsMs: number[] = [];
  for (let i = 0; i < options.runs; i++) {
    const cpu = process.cpuUsage();
    const start = performance.now();
    result = await run();
    runsMs.push(performance.now() - start);
    cpuRunsMs.push(cpuMsSince(cpu));
  }
  return { timing: summarise(runsMs, cpuRunsMs, Math.max(1, options.warmup)), result };
}

/**
 * Times several operations in rounds, each once per round in the given order, so that a load
 * swing on the shared machine hits all of them alike; `options.warmup` whole rounds run first
 * (at least one, which also yields every result). Returns each one's timing and last result.
 */
export function timeInterleaved<K extends string, T>(
  operations: Readonly<Record<K, () => T>>,
  options: TimingOptions,
): { timings: Record<K, Timing>; results: Record<K, T> } {
  const names = Object.keys(operations) as K[];
  const results = {} as Record<K, T>;
  const runs = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>;
  const cpuRuns = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>;
  for (let round = 0; round < Math.max(1, options.warmup) + options.runs; round++) {
    for (const name of names) {
      const cpu = process.cpuUsage();
      const start = performance.now();
      results[name] = operations[name]();
      if (round < Math.max(1, options.warmup)) continue;
      runs[name].push(performance.now() - start);
      cpuRuns[name].push(cpuMsSince(cpu));
    }
  }
  const timings = Object.fromEntries(
    names.map((name) => [name, summarise(runs[name], cpuRuns[name], Math.max(1, options.warmup))]),
  ) as Record<K, Timing>;
  return { timings, results };
}

/** {@link timeInterleaved} for asynchronous operations. */
export async function timeInterleavedAsync<K extends string, T>(
  operations: Readonly<Record<K, () => Promise<T>>>,
  options: TimingOptions,
): Promise<{ timings: Record<K, Timing>; results: Record<K, T> }> {
  const names = Object.keys(operations) as K[];
  const results = {} as Record<K, T>;
  const runs = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>;
  const cpuRuns = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>;
  for (let round = 0; round < Math.max(1, options.warmup) + options.runs; round++) {
    for (const name of names) {
      const cpu = process.cpuUsage();
      const start = performance.now();
      results[name] = await operations[name]();
      if (round < Math.max(1, options.warmup)) continue;
      runs[name].push(performance.now() - start);
      cpuRuns[name].push(cpuMsSince(cpu));
    }
  }
  const timings = Object.fromEntries(
    names.map((name) => [name, summarise(runs[name], cpuRuns[name], Math.max(1, options.warmup))]),
  ) as Record<K, Timing>;
  return { timings, results };
}

/** Median over rounds of a's time ÷ b's time in the same round (both from one interleaved run). */
export function roundRatio(a: Timing, b: Timing): number {
  return median(a.runsMs.map((ms, i) => ms / b.runsMs[i]!));
}

/** A table printed to the console and to markdown with the same aligned columns. */
export interface Table {
  readonly title: string;
  readonly headers: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** Optional note printed under the table. */
  readonly note?: string;
}

function columnWidths(table: Table): number[] {
  return table.headers.map((header, c) =>
    Math.max(header.length, ...table.rows.map((row) => (row[c] ?? '').length)),
  );
}

/** Left-aligns the first column, right-aligns the rest (they hold numbers). */
function cells(row: readonly string[], widths: readonly number[]): string[] {
  return widths.map((width, c) => (c === 0 ? (row[c] ?? '').padEnd(width) : (row[c] ?? '').padStart(width)));
}

export function tableToText(table: Table): string {
  const widths = columnWidths(table);
  const lines = [
    table.title,
    cells(table.headers, widths).join('  '),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...table.rows.map((row) => cells(row, widths).join('  ')),
  ];
  if (table.note !== undefined) lines.push(table.note);
  return lines.join('\n');
}

export function tableToMarkdown(table: Table): string {
  const widths = columnWidths(table);
  const line = (row: readonly string[]): string => `| ${cells(row, widths).join(' | ')} |`;
  const rule = `| ${widths.map((w, c) => (c === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`;
  const lines = [`### ${table.title}`, '', line(table.headers), rule, ...table.rows.map(line)];
  if (table.note !== undefined) lines.push('', table.note);
  return lines.join('\n');
}

/** 1234567 → "1,234,567". */
export function formatBytes(bytes: number): string {
  return Math.round(bytes).toLocaleString('en-US');
}

/** A ratio as "1.0085×". */
export function formatRatio(ratio: number, digits = 4): string {
  return `${ratio.toFixed(digits)}×`;
}

export function formatMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}

/** 0.066 → "6.6%". */
export function formatPercent(fraction: number, digits = 1): string {
  return `${(fraction * 100).toFixed(digits)}%`;
}

/** Where and from what a result file was made (STYLE.md rule 10). */
export interface MachineRecord {
  readonly os: { readonly platform: string; readonly release: string; readonly arch: string };
  readonly cpuModel: string;
  readonly logicalCpus: number;
  readonly totalMemoryBytes: number;
  readonly node: string;
  readonly v8: string;
  readonly loadAverageAtStart: readonly number[];
}

export function machineRecord(): MachineRecord {
  return {
    os: { platform: os.platform(), release: os.release(), arch: os.arch() },
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    logicalCpus: os.cpus().length,
    totalMemoryBytes: os.totalmem(),
    node: process.version,
    v8: process.versions.v8,
    loadAverageAtStart: os.loadavg(),
  };
}

/** HEAD's commit and whether the working tree differs from it, or nulls outside a checkout. */
export function gitState(): { commit: string | null; dirty: boolean | null } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain'], { encoding: 'utf8' });
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return { commit: null, dirty: null };
  }
}

const started = performance.now();

/** A progress line on stderr, stamped with seconds since start. */
export function progress(message: string): void {
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
}
