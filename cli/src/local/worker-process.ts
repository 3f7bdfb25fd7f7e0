/**
 * The local start path of the worker, with nothing outside the machine: writes
 * .dev.vars (beside the root wrangler.toml) with generated ADMIN_KEY / RUNNER_TOKEN when absent (never committed),
 * applies the D1 migrations to the local state directory, starts `wrangler dev` (workerd)
 * with the offline environment, waits until it answers, and stops it — the whole process
 * group — on stop(), SIGINT or SIGTERM. `startLocalWorker` is what the root `npm start` and
 * the end-to-end tests call; `npm run worker:dev` runs it in the foreground.
 */
import { createServer } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: where wrangler.toml, .dev.vars and `.state/` live. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CONFIG = join(REPO_ROOT, 'wrangler.toml');
const DATABASE = 'maskunet';

/** Environment that keeps wrangler from reaching out (metrics, Cloudflare's request.cf data). */
export const OFFLINE_ENV = {
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  CI: 'true',
} as const;

export interface LocalWorkerOptions {
  /** Default 8787. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly ip?: string;
  /** Local D1/R2/Durable Object state. Default `<repo>/.state`. */
  readonly persistTo?: string;
  /** Overrides of wrangler.toml [vars] (limits), passed as `--var NAME:value`. */
  readonly vars?: Readonly<Record<string, string>>;
  /** Where wrangler's own output goes. Default 'inherit'. */
  readonly stdio?: 'inherit' | 'ignore';
  /** How long to wait for the first answer. Default 60 s. */
  readonly readyTimeoutMs?: number;
}

export interface LocalWorker {
  /** e.g. `http://127.0.0.1:8787`. */
  readonly url: string;
  readonly adminKey: string;
  readonly runnerToken: string;
  /** Stops wrangler and workerd (SIGTERM to the process group, SIGKILL after 10 s). */
  stop(): Promise<void>;
}

function wranglerBin(): string {
  const require = createRequire(join(REPO_ROOT, 'worker', 'package.json'));
  return join(dirname(require.resolve('wrangler/package.json')), 'bin', 'wrangler.js');
}

function parseDevVars(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*"?(.*?)"?\s*$/.exec(line);
    if (match !== null) vars.set(match[1]!, match[2]!);
  }
  return vars;
}

/** Reads .dev.vars, adding generated ADMIN_KEY / RUNNER_TOKEN when missing. */
export function ensureDevVars(path = join(REPO_ROOT, '.dev.vars')): {
  adminKey: string;
  runnerToken: string;
} {
  const vars = existsSync(path) ? parseDevVars(readFileSync(path, 'utf8')) : new Map<string, string>();
  let changed = false;
  for (const name of ['ADMIN_KEY', 'RUNNER_TOKEN']) {
    if ((vars.get(name) ?? '') === '') {
      // Hex, so a secret can never start with '-' and be taken for a flag on a command line.
      vars.set(name, randomBytes(32).toString('hex'));
      changed = true;
    }
  }
  if (changed) {
    const text = [...vars].map(([name, value]) => `${name}="${value}"`).join('\n') + '\n';
    writeFileSync(path, text, { mode: 0o600 });
  }
  return { adminKey: vars.get('ADMIN_KEY')!, runnerToken: vars.get('RUNNER_TOKEN')! };
}

function run(args: string[], stdio: 'inherit' | 'ignore'): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [wranglerBin(), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...OFFLINE_ENV },
      stdio: ['ignore', stdio, stdio === 'inherit' ? 'inherit' : 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolvePromise()
        : reject(new Error(`wrangler ${args.slice(0, 3).join(' ')} exited ${code}\n${stderr}`)),
    );
  });
}

/** Applies worker/migrations to the local D1 database under `persistTo`. */
export async function applyLocalMigrations(
  persistTo: string,
  stdio: 'inherit' | 'ignore' = 'inherit',
): Promise<void> {
  mkdirSync(persistTo, { recursive: true });
  await run(
    ['d1', 'migrations', 'apply', DATABASE, '--local', '--persist-to', persistTo, '--config', CONFIG],
    stdio,
  );
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    // The child leads its own process group (detached), so this reaches workerd too.
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

async function waitUntilAnswering(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`wrangler dev exited with ${child.exitCode} before answering`);
    try {
      const res = await fetch(`${url}/v1/openapi.json`, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`wrangler dev did not answer on ${url} within ${timeoutMs} ms`);
}

/**
 * Starts the worker locally (migrations applied, secrets generated) and resolves once it
 * answers HTTP. The caller owns the returned handle and must call stop().
 */
/** A TCP port free on 127.0.0.1 right now (for a worker started by a test or benchmark). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolvePort(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** Rejects when something already listens on ip:port. */
function assertPortFree(ip: string, port: number): Promise<void> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `port ${port} on ${ip} is already in use (another npm start or wrangler dev?); stop it or pass another port`,
            )
          : error,
      );
    });
    probe.listen(port, ip, () => probe.close(() => resolvePort()));
  });
}

export async function startLocalWorker(options: LocalWorkerOptions = {}): Promise<LocalWorker> {
  const port = options.port ?? 8787;
  const ip = options.ip ?? '127.0.0.1';
  const persistTo = resolve(options.persistTo ?? join(REPO_ROOT, '.state'));
  const stdio = options.stdio ?? 'inherit';
  // Waiting for "it answers" would otherwise happily find an older worker on the same port
  // (another `npm start`, an orphan) and hand out keys it does not know.
  await assertPortFree(ip, port);
  const { adminKey, runnerToken } = ensureDevVars();
  await applyLocalMigrations(persistTo, stdio);

  const varArgs = Object.entries(options.vars ?? {}).flatMap(([name, value]) => [
    '--var',
    `${name}:${value}`,
  ]);
  const child = spawn(
    process.execPath,
    [
      wranglerBin(),
      'dev',
      '--config',
      CONFIG,
      '--local',
      '--persist-to',
      persistTo,
      '--ip',
      ip,
      '--port',
      String(port),
      '--show-interactive-dev-session=false',
      ...varArgs,
    ],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, ...OFFLINE_ENV },
      stdio: ['ignore', stdio, stdio],
      detached: true,
    },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // The group is detached, so a parent that exits without calling stop() (process.exit from a
  // signal handler, an uncaught error) would leave workerd serving the port: end it on exit.
  const killOnExit = (): void => killGroup(child, 'SIGTERM');
  process.once('exit', killOnExit);
  const url = `http://${ip}:${port}`;
  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitUntilAnswering(url, child, options.readyTimeoutMs ?? 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, adminKey, runnerToken, stop };
}

// `tsx cli/src/local/worker-process.ts [--port N]`: run in the foreground until SIGINT/SIGTERM.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const portFlag = process.argv.indexOf('--port');
  const port = portFlag > 0 ? Number(process.argv[portFlag + 1]) : undefined;
  const worker = await startLocalWorker(port === undefined ? {} : { port });
  console.log(`worker ready on ${worker.url} (admin key and runner token in .dev.vars)`);
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping the worker`);
    worker.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}
