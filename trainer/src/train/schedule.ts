/**
 * Learning-rate schedules as plain functions of the optimiser step. `step` counts the updates
 * already applied (0 for the first), exactly like a PyTorch `LambdaLR` stepped after each
 * `optimizer.step()`, so these reproduce diffusers' `get_scheduler("constant" |
 * "constant_with_warmup" | "cosine")` — including its learning rate of 0 on the very first
 * warm-up step.
 */

/** Learning rate for the update that follows `step` completed updates. */
export type LrSchedule = (step: number) => number;

function checkNonNegative(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0)
    throw new RangeError(`${name} must be a finite number ≥ 0, got ${value}`);
}

/** A constant rate, optionally reached by a linear warm-up over `warmupSteps`. */
export function constantSchedule(lr: number, warmupSteps = 0): LrSchedule {
  checkNonNegative('lr', lr);
  checkNonNegative('warmupSteps', warmupSteps);
  return (step) => (step < warmupSteps ? (lr * step) / Math.max(1, warmupSteps) : lr);
}

export interface WarmupCosineOptions {
  /** Rate at the end of warm-up. */
  readonly peakLr: number;
  /** Linear warm-up length in steps (from 0). */
  readonly warmupSteps: number;
  /** Total steps; the cosine reaches its floor here. */
  readonly totalSteps: number;
  /** Floor as a fraction of `peakLr` (default 0, as diffusers). */
  readonly minLrRatio?: number;
  /** Cosine waves over the decay, diffusers' `num_cycles` (default 0.5: one fall from peak to floor). */
  readonly cycles?: number;
}

/** Linear warm-up, then cosine decay from `peakLr` to `minLrRatio · peakLr` at `totalSteps`. */
export function warmupCosineSchedule(options: WarmupCosineOptions): LrSchedule {
  const { peakLr, warmupSteps, totalSteps } = options;
  const minRatio = options.minLrRatio ?? 0;
  const cycles = options.cycles ?? 0.5;
  checkNonNegative('peakLr', peakLr);
  checkNonNegative('warmupSteps', warmupSteps);
  if (!(totalSteps >= warmupSteps))
    throw new RangeError(`totalSteps must be ≥ warmupSteps, got ${totalSteps}`);
  if (!(minRatio >= 0 && minRatio <= 1))
    throw new RangeError(`minLrRatio must be in [0, 1], got ${minRatio}`);
  return (step) => {
    if (step < warmupSteps) return (peakLr * step) / Math.max(1, warmupSteps);
    const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
    const cosine = Math.max(0, 0.5 * (1 + Math.cos(Math.PI * cycles * 2 * progress)));
    return peakLr * (minRatio + (1 - minRatio) * cosine);
  };
}
