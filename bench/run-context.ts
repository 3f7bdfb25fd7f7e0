/**
 * What every benchmark report records beside its numbers: the commit it ran at and the
 * machine it ran on (CPU, cores, load average at the time, Node version). The machine is
 * shared and noisy, so the load belongs next to every figure.
 */
import { execSync } from 'node:child_process';
import os from 'node:os';

export interface BenchMachine {
  readonly cpu: string;
  readonly cores: number;
  readonly load: number[];
  readonly node: string;
}

export function benchCommit(): string {
  return execSync('git rev-parse HEAD').toString().trim();
}

export function benchMachine(): BenchMachine {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    load: os.loadavg(),
    node: process.version,
  };
}
