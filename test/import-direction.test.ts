// The import-direction check (`npm run depcheck`, .dependency-cruiser.cjs) passes on the tree
// as it is, and fails — naming the rule — on each kind of import it exists to stop: a deep
// import into another package, a value import against the package direction, and a Node-only
// import in a browser-safe module. Each probe is a throwaway file written next to real sources
// (the rules match on paths) and removed afterwards.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@maskunet/cli/local';

const CONFIG = join(REPO_ROOT, '.dependency-cruiser.cjs');
const probes: string[] = [];

interface Violation {
  readonly rule: { readonly name: string };
  readonly from: string;
  readonly to: string;
}

function cruise(paths: readonly string[]): Violation[] {
  const result = spawnSync(
    process.execPath,
    [
      join(REPO_ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs'),
      '--config',
      CONFIG,
      '--output-type',
      'json',
      ...paths,
    ],
    { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const report = JSON.parse(result.stdout) as { summary: { violations: Violation[] } };
  return report.summary.violations;
}

function probe(path: string, source: string): string {
  writeFileSync(join(REPO_ROOT, path), source);
  probes.push(path);
  return path;
}

afterEach(() => {
  for (const path of probes.splice(0)) rmSync(join(REPO_ROOT, path), { force: true });
});

describe('import direction', () => {
  it('the tree as it is has no violations', () => {
    const violations = cruise(['mask-store', 'contract', 'gpu-runner', 'trainer', 'worker', 'client', 'cli']);
    expect(violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)).toEqual([]);
  }, 120_000);

  it('refuses a deep import into another package', () => {
    const file = probe(
      'cli/src/depcheck-probe-deep.ts',
      "export { appendMseLoss } from '../../trainer/src/autodiff/loss';\n",
    );
    const names = cruise([file]).map((v) => v.rule.name);
    expect(names).toContain('entry-only:cli->trainer');
    expect(names).toContain('by-name:cli');
  }, 60_000);

  it('refuses a value import against the direction, allows a type import of the contract', () => {
    const file = probe(
      'gpu-runner/src/depcheck-probe-direction.ts',
      "export { trainBase } from '@maskunet/trainer';\nexport type * from '@maskunet/contract';\n",
    );
    const names = cruise([file]).map((v) => v.rule.name);
    expect(names).toEqual(['direction:gpu-runner']);
  }, 60_000);

  it('refuses Node built-ins, native bindings and Node-only modules in browser-safe code', () => {
    const file = probe(
      'client/src/depcheck-probe-node.ts',
      "export { readFile } from 'node:fs/promises';\nexport { createNodeSession } from '@maskunet/gpu-runner/node';\n",
    );
    const names = cruise([file]).map((v) => v.rule.name);
    expect(names).toContain('browser-safe:no-node-builtins');
    expect(names).toContain('direction:client');
    const own = probe(
      'gpu-runner/src/depcheck-probe-own.ts',
      "export { loadModelDir } from './pipeline/model-dir';\nimport * as ort from 'onnxruntime-node';\nexport { ort };\n",
    );
    const ownNames = cruise([own]).map((v) => v.rule.name);
    expect(ownNames).toContain('browser-safe:no-node-only-modules');
    expect(ownNames).toContain('browser-safe:no-node-packages');
  }, 60_000);
});
