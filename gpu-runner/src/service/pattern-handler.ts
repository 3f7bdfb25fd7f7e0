/**
 * A stand-in job handler that needs no model: it fetches the job's bank (so bank delivery is
 * exercised), reports every step, honours cancellation, and returns a small PNG whose pixels
 * are a deterministic function of (seed, prompt, bank id). Used by tests and by the local
 * demo until the ONNX generation handler is plugged in.
 */
import { encode } from 'fast-png';
import type { JobHandler } from './runner-client';

export interface PatternHandlerOptions {
  /** Image side in pixels. Default 16. */
  readonly size?: number;
  /** Pause per step, to make progress and cancellation observable. Default 0. */
  readonly stepDelayMs?: number;
}

function hash32(text: string, seed: number): number {
  let h = (seed ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });
}

export function createPatternHandler(options: PatternHandlerOptions = {}): JobHandler {
  const size = options.size ?? 16;
  const stepDelayMs = options.stepDelayMs ?? 0;
  return async (job, context) => {
    const fetchStart = performance.now();
    if (job.bankId !== null) await context.fetchBank(job.bankId);
    const bankFetchMs = performance.now() - fetchStart;

    const stepsStart = performance.now();
    for (let step = 1; step <= job.steps; step++) {
      if (stepDelayMs > 0) await sleep(stepDelayMs, context.signal);
      else if (context.signal.aborted) throw context.signal.reason as Error;
      const timestep = Math.round(999 * (1 - step / job.steps));
      context.onProgress(step, job.steps, timestep);
    }
    const stepsMs = performance.now() - stepsStart;

    const encodeStart = performance.now();
    let state = hash32(`${job.prompt}\u0000${job.bankId ?? ''}`, job.seed);
    const data = new Uint8Array(size * size * 3);
    for (let i = 0; i < data.length; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      data[i] = state >>> 24;
    }
    const png = encode({ width: size, height: size, data, channels: 3, depth: 8 });
    return { png, timings: { bankFetchMs, stepsMs, encodeMs: performance.now() - encodeStart } };
  };
}
