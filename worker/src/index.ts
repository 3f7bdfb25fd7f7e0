/**
 * The worker's entry: the Hono app as the fetch handler, and the dispatcher Durable Object
 * class that wrangler.toml binds as DISPATCHER.
 */
import { createApp } from './app';

export { Dispatcher } from './dispatcher/dispatcher';
export type { DispatchJob, SubmitResult, CancelResult, DispatcherSummary } from './dispatcher/dispatcher';

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
