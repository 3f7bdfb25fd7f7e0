/**
 * The local stack (`@maskunet/cli/local`), Node only: the worker under `wrangler dev` with
 * local D1/R2/Durable Objects, a runner in this process, and the seeded demo that `npm start`
 * runs. End-to-end tests and benchmarks start their stacks through it.
 */
export {
  startLocalWorker,
  applyLocalMigrations,
  ensureDevVars,
  freePort,
  OFFLINE_ENV,
  REPO_ROOT,
} from './worker-process';
export type { LocalWorker, LocalWorkerOptions } from './worker-process';
export { startLocalRunner } from './runner';
export type { LocalRunner, LocalRunnerOptions } from './runner';
export { startLocalStack, demoModelDir } from './stack';
export type { DemoTenant, LocalStack, LocalStackOptions } from './stack';
