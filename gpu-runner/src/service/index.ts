/**
 * The runner service: the protocol client that connects a GPU box to the worker's
 * dispatcher, its bank cache, and a model-free pattern handler for tests and demos.
 * Node callers get the `ws` socket by default; browsers pass their own `socketFactory`.
 */
export { RunnerClient, JobError, toBase64 } from './runner-client';
export type {
  JobContext,
  JobHandler,
  JobOutput,
  ReconnectOptions,
  RunnerClientOptions,
  RunnerClientState,
  RunnerSocket,
  SocketCallbacks,
  SocketFactory,
} from './runner-client';
export { BankCache, BankFetchError, httpBankFetcher, DEFAULT_BANK_CACHE_BYTES } from './bank-cache';
export type { BankCacheOptions, BankFetcher } from './bank-cache';
export { createPatternHandler } from './pattern-handler';
export type { PatternHandlerOptions } from './pattern-handler';
export { createOnnxHandler } from './onnx-handler';
export type { OnnxHandlerOptions } from './onnx-handler';
