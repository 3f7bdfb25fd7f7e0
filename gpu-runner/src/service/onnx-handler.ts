/**
 * The runner's real job handler: a dispatched job becomes one `TextToImage.generate` call on
 * the shared base U-Net, with the job's bank (fetched by id through the client's verified
 * cache, opened once and kept) applied per timestep, progress reported per sampler step, and
 * the image returned as PNG. Isomorphic, so a browser runner can use it too.
 */
import { MaskBank } from '@maskunet/mask-store';
import { encodePng } from '../image/png';
import { tensorToImage } from '../image/image';
import type { TextToImage } from '../pipeline/text-to-image';
import { JobError, type JobHandler } from './runner-client';

export interface OnnxHandlerOptions {
  /** Opened banks kept by id (their decoded masks live in the pipeline's mask cache). Default 64. */
  readonly maxOpenBanks?: number;
}

export function createOnnxHandler(pipeline: TextToImage, options: OnnxHandlerOptions = {}): JobHandler {
  const maxOpen = options.maxOpenBanks ?? 64;
  const open = new Map<string, MaskBank>();
  return async (job, context) => {
    let bank: MaskBank | null = null;
    const fetchStart = performance.now();
    if (job.bankId !== null) {
      bank = open.get(job.bankId) ?? null;
      if (bank === null) {
        const bytes = await context.fetchBank(job.bankId);
        try {
          bank = await MaskBank.open(bytes);
        } catch (error) {
          throw new JobError('bad_bank', `bank ${job.bankId}: ${(error as Error).message}`, false);
        }
        if (bank.header.layoutHash !== pipeline.config.layoutHash) {
          throw new JobError(
            'layout_mismatch',
            `bank ${job.bankId} does not fit model ${pipeline.config.id}`,
            false,
          );
        }
        open.set(job.bankId, bank);
        if (open.size > maxOpen) open.delete(open.keys().next().value!);
      }
    }
    const bankFetchMs = performance.now() - fetchStart;
    const stepsStart = performance.now();
    const result = await pipeline.generate([{ prompt: job.prompt, seed: job.seed, bank }], {
      steps: job.steps,
      sampler: job.sampler,
      guidance: job.guidance,
      signal: context.signal,
      onStep: (p) => context.onProgress(p.stepIndex + 1, p.steps, p.timestep),
    });
    const stepsMs = performance.now() - stepsStart;
    const encodeStart = performance.now();
    const size = pipeline.config.unet.sample_size;
    const png = encodePng(tensorToImage(result.images, size, size));
    return {
      png,
      timings: { bankFetchMs, stepsMs, encodeMs: performance.now() - encodeStart },
      backend: result.backend,
    };
  };
}
