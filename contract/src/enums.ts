/**
 * The closed vocabularies of the wire: sampler names, job states, variant visibility. Each is
 * a `const` tuple (for code that lists or loops) plus the zod enum built from it (for
 * validation and the OpenAPI document), so the list is written once.
 *
 * Samplers: the contract owns the names a request may carry; gpu-runner's `SAMPLERS`
 * (`gpu-runner/src/samplers/timesteps.ts`) is the list of samplers actually implemented. We
 * keep the two lists and check them equal in a test (gpu-runner/test/service/
 * runner-messages.test.ts) rather than have gpu-runner import this one, because the samplers
 * are pure numeric code that the trainer and the browser page use without the wire contract
 * (and without zod), and because gpu-runner's `createStepper` falls through to DPM-Solver for
 * any name it does not test for: a name added here alone would then run the wrong sampler
 * silently, whereas with two lists it fails a test until someone implements it. The contract
 * imports nothing of ours, so the check has to live on gpu-runner's side.
 */
import { oneOf } from './fields';
import type * as z from 'zod';

/** Samplers a generation request may name. `ddim` is the default. */
export const SAMPLER_NAMES = ['ddim', 'dpmpp2m', 'ddpm'] as const;
export const samplerNameSchema = oneOf(SAMPLER_NAMES).meta({
  id: 'SamplerName',
  description: 'DDIM (default), DPM-Solver++ 2M, or ancestral DDPM',
});
export type SamplerName = z.infer<typeof samplerNameSchema>;

/** The sampler a request gets when neither it nor the model's defaults name one. */
export const DEFAULT_SAMPLER: SamplerName = 'ddim';

/** A job's lifecycle: queued → running → done | failed | cancelled (running may go back to queued on a re-queue). */
export const JOB_STATUSES = ['queued', 'running', 'done', 'failed', 'cancelled'] as const;
export const jobStatusSchema = oneOf(JOB_STATUSES).meta({ id: 'JobStatus' });
export type JobStatus = z.infer<typeof jobStatusSchema>;

/** Job states after which nothing changes any more. */
export const FINISHED_JOB_STATUSES = ['done', 'failed', 'cancelled'] as const satisfies readonly JobStatus[];

/** Who may read a variant (and its banks): its tenant only, or everyone. */
export const VISIBILITIES = ['private', 'public'] as const;
export const visibilitySchema = oneOf(VISIBILITIES).meta({ id: 'Visibility' });
export type Visibility = z.infer<typeof visibilitySchema>;
