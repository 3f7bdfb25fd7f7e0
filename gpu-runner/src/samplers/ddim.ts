/**
 * DDIM (Song et al. 2021, eq. 12) as diffusers' DDIMScheduler: x_prev = sqrt(ᾱ_prev)·x̂0 +
 * sqrt(1 − ᾱ_prev − s²)·ε̂ + s·z with s = η·sqrt(β̃); η = 0 is the deterministic
 * probability-flow sampler, η = 1 has DDPM's variance. Deviation: diffusers takes
 * prev = t − T // N, which is not the next timestep of a `trailing` or `linspace` run whose
 * spacing is not a whole number; we step to the run's next timestep (identical for `leading`).
 */
import { addStepNoise, predictAtStep } from './stepper';
import type { StepContext, Stepper } from './stepper';

export function ddimStepper(context: StepContext): Stepper {
  const size = context.batchSize * context.sampleSize;
  const predictedOriginal = new Float64Array(size);
  const predictedNoise = new Float64Array(size);
  const scratch = new Float64Array(context.sampleSize);
  return {
    predictedOriginal,
    step(stepIndex, x, modelOutput) {
      const { alphaProd, alphaProdPrev } = predictAtStep(
        context,
        stepIndex,
        x,
        modelOutput,
        predictedOriginal,
        predictedNoise,
      );
      const variance = ((1 - alphaProdPrev) / (1 - alphaProd)) * (1 - alphaProd / alphaProdPrev);
      const std = context.eta * Math.sqrt(variance);
      // Rounding can push 1 − ᾱ_prev − s² a hair below zero at η = 1.
      const directionCoeff = Math.sqrt(Math.max(0, 1 - alphaProdPrev - std * std));
      const originalCoeff = Math.sqrt(alphaProdPrev);
      for (let i = 0; i < x.length; i++) {
        x[i] = originalCoeff * predictedOriginal[i]! + directionCoeff * predictedNoise[i]!;
      }
      if (std > 0) addStepNoise(context, stepIndex, x, std, scratch);
    },
  };
}
