// The browser entries bundle for a browser target: esbuild with `platform: 'browser'` resolves
// the browser conditions and fails on any Node built-in, so a `node:` import reachable from the
// SDK, the gpu-runner root or its web backend, mask-store or the contract fails here (the
// dependency-cruiser rules catch it per module; this proves the whole graph bundles).
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@maskunet/cli/local';

const ENTRIES = [
  'client/src/index.ts',
  'gpu-runner/src/index.ts',
  'gpu-runner/src/web.ts',
  'mask-store/src/index.ts',
  'contract/src/index.ts',
];

describe('browser entries', () => {
  for (const entry of ENTRIES) {
    it(`${entry} bundles for the browser with no Node-only input`, async () => {
      const result = await build({
        entryPoints: [join(REPO_ROOT, entry)],
        bundle: true,
        write: false,
        platform: 'browser',
        format: 'esm',
        target: 'es2022',
        metafile: true,
        logLevel: 'silent',
        absWorkingDir: REPO_ROOT,
      });
      expect(result.errors).toEqual([]);
      const inputs = Object.keys(result.metafile.inputs);
      expect(inputs.length).toBeGreaterThan(0);
      expect(inputs.filter((path) => /onnxruntime-node|node_modules\/ws\/|(^|\/)node:/.test(path))).toEqual(
        [],
      );
    }, 60_000);
  }
});
