/**
 * `maskunet runner`: a runner process. Loads a model directory onto a backend and dials out to
 * a worker (no inbound port), serving jobs until SIGINT/SIGTERM.
 */
import { parse, required, integer } from './args';
import type { Print } from './bank-commands';
import { CliError } from './cli-error';
import { startLocalRunner } from '../local/runner';

export async function runnerCommand(args: string[], print: Print): Promise<void> {
  const { values } = parse(
    args,
    {
      worker: { type: 'string' },
      token: { type: 'string' },
      model: { type: 'string' },
      backend: { type: 'string' },
      threads: { type: 'string' },
      id: { type: 'string' },
    },
    0,
  );
  const backend = values.backend ?? 'cpu';
  if (backend !== 'cpu' && backend !== 'webgpu') throw new CliError('usage', '--backend is cpu or webgpu');
  const token = values.token ?? process.env.RUNNER_TOKEN;
  if (token === undefined) throw new CliError('usage', '--token (or RUNNER_TOKEN) is required');
  const runner = await startLocalRunner({
    workerUrl: required(values.worker, 'worker'),
    token,
    modelDir: required(values.model, 'model'),
    backend,
    ...(values.threads === undefined ? {} : { threads: integer(values.threads, 'threads') }),
    ...(values.id === undefined ? {} : { runnerId: values.id }),
    log: print,
  });
  await runner.client.waitFor('open', 120_000);
  print(
    `runner ${runner.client.runnerId} serving ${runner.model.pipeline.config.id} on ${runner.model.pipeline.backend}`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await runner.stop();
  print('runner stopped');
}
