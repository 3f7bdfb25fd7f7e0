/**
 * Public surface of the client package: the typed SDK for API v1 (browser and Node) and its SSE
 * reader. Browser-safe: nothing here imports `node:` or a native binding.
 */
export * from './sdk/index';
