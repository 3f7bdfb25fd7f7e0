/** The SDK: typed client for API v1 and the SSE reader. */
export { MaskUnetClient, MaskUnetApiError } from './client';
export type { ClientOptions, GenerateEvent, GenerateParams } from './client';
export { readSse } from './sse';
export type { SseMessage } from './sse';
