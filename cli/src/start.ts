/**
 * `npm start`: the embedded default. Starts the local worker, seeds the demo model and two
 * tenants' variants, connects one CPU runner, generates the first image through the public
 * API (SSE progress printed as it arrives) for each tenant's variant, writes them under
 * `.state/out/`, prints the URL and demo keys, and keeps serving until Ctrl-C.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { decodePng, encodePng, upscale } from '@maskunet/gpu-runner';
import { startLocalStack } from './local/stack';
import { REPO_ROOT } from './local/worker-process';
import { MaskUnetClient } from '@maskunet/client';

const root = REPO_ROOT;
const log = (line: string) => console.log(line);
const noRun = process.argv.includes('--no-wait');

log('MaskUNet edge serving — starting the local stack (workerd + D1 + R2 + Durable Objects, one CPU runner)');
// Until the stack is up, a signal just exits; the worker's exit hook ends its process group.
const early = () => process.exit(130);
process.once('SIGINT', early);
process.once('SIGTERM', early);
const stack = await startLocalStack({ root, log });
process.removeListener('SIGINT', early);
process.removeListener('SIGTERM', early);
let stopping = false;
const stop = async (code = 0) => {
  if (stopping) return;
  stopping = true;
  log('\nstopping runner and worker…');
  await stack.stop();
  process.exit(code);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

try {
  const outDir = join(root, '.state', 'out');
  await mkdir(outDir, { recursive: true });
  const prompt = 'grinning face with smiling eyes';
  for (const tenant of stack.tenants) {
    const client = new MaskUnetClient({ baseUrl: stack.url, apiKey: tenant.apiKey });
    const started = performance.now();
    const { png, done } = await client.generate(
      { model: stack.model.id, variant: tenant.variantId, prompt, seed: 42 },
      (event) => {
        if (event.event === 'started')
          log(
            `  ${tenant.name}/${tenant.variantName}: running on ${event.data.runnerId} (${event.data.backend})`,
          );
        if (event.event !== 'progress') return;
        const { step, total } = event.data;
        if (process.stdout.isTTY)
          process.stdout.write(`\r  ${tenant.name}/${tenant.variantName}: step ${step}/${total}`);
        else if (step === total || step % Math.max(1, Math.round(total / 4)) === 0)
          log(`  ${tenant.name}/${tenant.variantName}: step ${step}/${total}`);
      },
    );
    const file = join(outDir, `${tenant.name}-${tenant.variantName}.png`);
    await writeFile(file, png);
    await writeFile(file.replace(/\.png$/, '.x8.png'), encodePng(upscale(decodePng(png), 8)));
    if (process.stdout.isTTY) process.stdout.write('\n');
    log(
      `  first image: ${relative(process.cwd(), file)} (job ${done.jobId}, ${(performance.now() - started).toFixed(0)} ms; steps ${done.timings.stepsMs.toFixed(0)} ms)`,
    );
  }
  log('');
  log(`worker     ${stack.url}   (API docs: ${stack.url}/docs)`);
  log(
    `model      ${stack.model.id}${stack.modelDir.includes('.state') ? ' (random weights: no trained model shipped yet)' : ''}`,
  );
  for (const t of stack.tenants)
    log(
      `tenant     ${t.name.padEnd(8)} key ${t.apiKey}  variant ${t.variantId} (${t.variantName}, bank ${t.bankId.slice(0, 12)}…)`,
    );
  log(`admin key  ${stack.adminKey}`);
  const first = stack.tenants[0]!;
  log('');
  log('try:');
  log(
    `  curl -N -H 'authorization: Bearer ${first.apiKey}' -H 'accept: text/event-stream' -H 'content-type: application/json' \\`,
  );
  log(
    `       -d '{"model":"${stack.model.id}","variant":"${first.variantId}","prompt":"red apple","seed":1}' ${stack.url}/v1/generate`,
  );
  if (noRun) await stop(0);
  else log('\nserving; Ctrl-C stops everything');
} catch (error) {
  console.error(`start failed: ${(error as Error).message}`);
  await stop(1);
}
