/**
 * Starting a runner in this process: load a model directory onto an onnxruntime-node backend
 * and connect it to a worker with the real ONNX job handler. Used by `maskunet runner`,
 * `npm start` and the end-to-end tests.
 */
import { loadModelDir } from '@maskunet/gpu-runner/node';
import { createOnnxHandler, RunnerClient } from '@maskunet/gpu-runner/service';
import type { AssembledModel } from '@maskunet/gpu-runner';

export interface LocalRunnerOptions {
  readonly workerUrl: string;
  readonly token: string;
  readonly modelDir: string;
  readonly backend?: 'cpu' | 'webgpu';
  readonly threads?: number;
  readonly runnerId?: string;
  readonly log?: (line: string) => void;
}

export interface LocalRunner {
  readonly client: RunnerClient;
  readonly model: AssembledModel;
  stop(): Promise<void>;
}

export async function startLocalRunner(options: LocalRunnerOptions): Promise<LocalRunner> {
  const backend = options.backend ?? 'cpu';
  const model = await loadModelDir(
    options.modelDir,
    backend,
    options.threads === undefined ? {} : { threads: options.threads },
  );
  const log = options.log;
  const client = new RunnerClient({
    url: options.workerUrl,
    token: options.token,
    model: model.pipeline.config.id,
    backend: model.pipeline.backend,
    handler: createOnnxHandler(model.pipeline),
    ...(options.runnerId === undefined ? {} : { runnerId: options.runnerId }),
    ...(log === undefined
      ? {}
      : {
          log: (level: string, message: string, fields?: Record<string, unknown>) =>
            log(`[runner] ${level}: ${message}${fields === undefined ? '' : ' ' + JSON.stringify(fields)}`),
        }),
  });
  client.start();
  return {
    client,
    model,
    async stop() {
      await client.stop();
      await model.pipeline.release();
    },
  };
}
