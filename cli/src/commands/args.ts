/**
 * Argument parsing for the CLI's subcommands, on node:util's parseArgs: unknown flags and
 * missing values are usage errors (exit 2) rather than silently ignored.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SAMPLERS, type SamplerName } from '@maskunet/gpu-runner';
import { CliError } from './cli-error';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parse<T extends Options>(
  args: string[],
  options: T,
  positionals: number,
): {
  values: ReturnType<typeof parseArgs<{ options: T; allowPositionals: true; strict: true }>>['values'];
  positionals: string[];
} {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CliError('usage', (error as Error).message);
  }
  if (parsed.positionals.length !== positionals) {
    throw new CliError(
      'usage',
      `expected ${positionals} positional argument(s), got ${parsed.positionals.length}`,
    );
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

/** The value of a required string option. */
export function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new CliError('usage', `--${flag} is required`);
  return value;
}

/** A non-negative integer option. */
export function integer(value: string | undefined, flag: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new CliError('usage', `--${flag} is required`);
    return fallback;
  }
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0)
    throw new CliError('usage', `--${flag} must be a non-negative integer`);
  return parsed;
}

/** A finite number option. */
export function number(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new CliError('usage', `--${flag} must be a number`);
  return parsed;
}

/** A `--sampler` option: one of the pipeline's samplers. */
export function samplerOf(value: string | undefined, fallback?: SamplerName): SamplerName {
  if (value === undefined && fallback !== undefined) return fallback;
  const known = SAMPLERS.find((name) => name === value);
  if (known !== undefined) return known;
  throw new CliError('usage', `--sampler is one of ${SAMPLERS.join(', ')}`);
}
