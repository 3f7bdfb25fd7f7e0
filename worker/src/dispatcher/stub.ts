/**
 * How the worker reaches a model's dispatcher: one Durable Object per model id, addressed by
 * name, so every request about a model meets the same queue and the same runner sockets.
 */
import type { Dispatcher } from './dispatcher';

export function dispatcherFor(env: Env, modelId: string): DurableObjectStub<Dispatcher> {
  return env.DISPATCHER.get(env.DISPATCHER.idFromName(modelId));
}
