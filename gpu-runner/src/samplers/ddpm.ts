/**
 * DDPM ancestral sampling (Ho et al. 2020) as diffusers' DDPMScheduler with its default
 * `variance_type = 'fixed_small'`: each step draws x_prev from the Gaussian posterior
 * q(x_prev | x_t, x0 = x̂0), mean c0·x̂0 + c1·x_t and variance β̃ = (1 − ᾱ_prev)/(1 − ᾱ_t)·(1 − ᾱ_t/ᾱ_prev),
 * over any subsequence of timesteps (prev = the next timestep of the run, as diffusers'
 * `previous_timestep`). Deviation: diffusers adds noise whenever t > 0 with the variance clamped
 * to ≥ 1e-20, i.e. a 1e-10 nudge on a last step landing on ᾱ = 1; we add noise only when the
 * variance is positive, so that step is exact.
 */
import { addStepNoise, predictAtStep } from './stepper';
import type { StepContext, Stepper } from './stepper';

export function ddpmStepper(context: StepContext): Stepper {
  const predictedOriginal = new Float64Array(context.batchSize * context.sampleSize);
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
        null,
      );
      const betaProd = 1 - alphaProd;
      const betaProdPrev = 1 - alphaProdPrev;
      const currentAlpha = alphaProd / alphaProdPrev;
      const currentBeta = 1 - currentAlpha;
      const originalCoeff = (Math.sqrt(alphaProdPrev) * currentBeta) / betaProd;
      const sampleCoeff = (Math.sqrt(currentAlpha) * betaProdPrev) / betaProd;
      for (let i = 0; i < x.length; i++) x[i] = originalCoeff * predictedOriginal[i]! + sampleCoeff * x[i]!;
      const variance = (betaProdPrev / betaProd) * currentBeta;
      if (variance > 0) addStepNoise(context, stepIndex, x, Math.sqrt(variance), scratch);
    },
  };
}
