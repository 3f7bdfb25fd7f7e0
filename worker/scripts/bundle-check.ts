/**
 * Deploy dry run with a size gate: bundles the worker exactly as `wrangler deploy` would
 * (`--dry-run --outdir`), measures the gzip-compressed script, and exits non-zero above the
 * limit — 3 MiB compressed, the Workers Free plan's script limit (Paid allows 10 MiB).
 * It also lists every `eval(` / `new Function(` left in the bundle, and every alias of the
 * Function constructor (`const F = Function;`, zod's way of calling it), since all of them
 * throw at run time on Workers; each must be on a path the worker never takes (say why in
 * the output).
 *
 *   tsx worker/scripts/bundle-check.ts [--limit-bytes N] [--json out.json]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Keeps wrangler from reaching out (metrics, request.cf data); as the local launcher sets it. */
const OFFLINE_ENV = { WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: 'true' };

/** Workers Free plan: 3 MiB after compression. */
export const FREE_PLAN_LIMIT_BYTES = 3 * 1024 * 1024;

/** Known dynamic-code sites and why they never run in this worker. */
const KNOWN_DYNAMIC_CODE: { pattern: RegExp; why: string }[] = [
  {
    pattern: /optimizedReadObject = structure\.read = \(?new Function\(/,
    why: "msgpackr's record reader; mask-store's Unpackr uses useRecords: false, so it is never reached",
  },
  {
    pattern: /try \{ const F = Function; new F\(""\)/,
    why: "zod's allowsEval probe: returns false before it under jitless, which @maskunet/contract sets (zod-config.ts) before any schema exists",
  },
  {
    pattern: /compile\(\) \{ const F = Function;/,
    why: "zod's object-schema JIT (Doc.compile): only built when allowsEval is true, never under jitless",
  },
  {
    pattern: /const F = Function; const factoryCode/,
    why: "zod's z.compile() / withParser: only runs when called, and nothing here calls it",
  },
];

export interface BundleReport {
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly limitBytes: number;
  readonly dynamicCode: { readonly excerpt: string; readonly known: string | null }[];
}

export function checkBundle(limitBytes = FREE_PLAN_LIMIT_BYTES): BundleReport {
  const outdir = mkdtempSync(join(tmpdir(), 'maskunet-bundle-'));
  try {
    const require = createRequire(join(REPO_ROOT, 'worker', 'package.json'));
    const wrangler = join(dirname(require.resolve('wrangler/package.json')), 'bin', 'wrangler.js');
    const result = spawnSync(process.execPath, [wrangler, 'deploy', '--dry-run', '--outdir', outdir], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...OFFLINE_ENV },
      encoding: 'utf8',
    });
    if (result.status !== 0)
      throw new Error(`wrangler deploy --dry-run failed:\n${result.stdout}\n${result.stderr}`);
    const script = readFileSync(join(outdir, 'index.js'));
    const text = script.toString('utf8');
    const dynamicCode = [...text.matchAll(/\beval\(|\bnew Function\(|=\s*Function\s*;/g)].map((match) => {
      const excerpt = text.slice(Math.max(0, match.index - 60), match.index + 60).replace(/\s+/g, ' ');
      const known = KNOWN_DYNAMIC_CODE.find((k) => k.pattern.test(excerpt))?.why ?? null;
      return { excerpt, known };
    });
    return {
      bytes: script.length,
      gzipBytes: gzipSync(script, { level: 9 }).length,
      limitBytes,
      dynamicCode,
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const limitFlag = process.argv.indexOf('--limit-bytes');
  const jsonFlag = process.argv.indexOf('--json');
  const report = checkBundle(limitFlag > 0 ? Number(process.argv[limitFlag + 1]) : FREE_PLAN_LIMIT_BYTES);
  const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;
  console.log(
    `worker bundle: ${kib(report.bytes)}, gzip ${kib(report.gzipBytes)} (limit ${kib(report.limitBytes)} gzip)`,
  );
  for (const site of report.dynamicCode) {
    console.log(`  dynamic code: …${site.excerpt}… — ${site.known ?? 'UNKNOWN: check it never runs'}`);
  }
  if (jsonFlag > 0) writeFileSync(process.argv[jsonFlag + 1]!, JSON.stringify(report, null, 2) + '\n');
  const unknown = report.dynamicCode.filter((site) => site.known === null).length;
  if (report.gzipBytes > report.limitBytes || unknown > 0) {
    console.error(
      report.gzipBytes > report.limitBytes
        ? 'FAIL: bundle above the limit'
        : 'FAIL: unexplained eval/new Function',
    );
    process.exit(1);
  }
}
