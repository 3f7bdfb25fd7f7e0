/**
 * The worker's public contract: HTTP API shapes and the runner protocol. Other packages
 * (client, gpu-runner) import from `@maskunet/worker/contract` with `import type` only.
 */
export type * from './api';
export type * from './runner-protocol';
