/**
 * DPM-Solver++(2M) (Lu et al. 2022) as diffusers' DPMSolverMultistepScheduler with
 * `algorithm_type='dpmsolver++'`, `solver_order=2`, `solver_type='midpoint'`,
 * `lower_order_final=True`: a multistep solver of the probability-flow ODE in the data
 * (x̂0) parameterisation over λ = log(α/σ). The first step is first order (there is no history);
 * the last step is first order when it lands on σ = 0 (`final_sigmas_type='zero'`, our
 * `setAlphaToOne`) or when the run has fewer than 15 steps. Differences from diffusers are
 * rounding only: we work in float64, take α = sqrt(ᾱ), σ = sqrt(1 − ᾱ) directly rather than
 * through float32 sigmas, and use expm1 for e^{−h} − 1.
 */
import { splitPrediction } from './prediction';
import { alphaCumprodAfter, alphaCumprodAt } from './stepper';
import type { StepContext, Stepper } from './stepper';

/**
 * ᾱ used in place of an exact 0 (a zero-terminal-SNR schedule's last timestep), as diffusers'
 * DPMSolverMultistepScheduler does with `rescale_betas_zero_snr` ("close to 0 without being 0 so
 * the first sigma is not inf"; fp16's smallest subnormal).
 */
export const ZERO_SNR_ALPHA_CUMPROD = 2 ** -24;

/** diffusers applies `lower_order_final` below this many steps. */
const LOWER_ORDER_FINAL_BELOW = 15;

export function dpmSolverStepper(context: StepContext): Stepper {
  const size = context.batchSize * context.sampleSize;
  const steps = context.timesteps.length;
  let current = new Float64Array(size);
  let previous = new Float64Array(size);
  let previousLambda = Number.NaN;
  return {
    get predictedOriginal() {
      return current;
    },
    step(stepIndex, x, modelOutput) {
      [current, previous] = [previous, current];
      const alphaProdS = Math.max(alphaCumprodAt(context, stepIndex), ZERO_SNR_ALPHA_CUMPROD);
      const alphaProdT = alphaCumprodAfter(context, stepIndex);
      splitPrediction(context.predictionType, x, modelOutput, alphaProdS, current, null, context.clipSample);
      const alphaS = Math.sqrt(alphaProdS);
      const sigmaS = Math.sqrt(1 - alphaProdS);
      const alphaT = Math.sqrt(alphaProdT);
      const sigmaT = Math.sqrt(1 - alphaProdT);
      const lambdaS = Math.log(alphaS) - Math.log(sigmaS);
      const lastStep = stepIndex === steps - 1;
      if (sigmaT === 0) {
        // λ_t = +∞: the first-order update reduces to x = α_t · x̂0 (α_t = 1).
        for (let i = 0; i < size; i++) x[i] = alphaT * current[i]!;
      } else {
        const lambdaT = Math.log(alphaT) - Math.log(sigmaT);
        const h = lambdaT - lambdaS;
        const sampleCoeff = sigmaT / sigmaS;
        const dataCoeff = -alphaT * Math.expm1(-h);
        const firstOrder = stepIndex === 0 || (lastStep && steps < LOWER_ORDER_FINAL_BELOW);
        if (firstOrder) {
          for (let i = 0; i < size; i++) x[i] = sampleCoeff * x[i]! + dataCoeff * current[i]!;
        } else {
          // D1 = (m0 − m1)/r0 with r0 = h_prev / h; the midpoint rule adds D1 / 2.
          const halfInverseRatio = 0.5 / ((lambdaS - previousLambda) / h);
          for (let i = 0; i < size; i++) {
            const m0 = current[i]!;
            x[i] = sampleCoeff * x[i]! + dataCoeff * (m0 + halfInverseRatio * (m0 - previous[i]!));
          }
        }
      }
      previousLambda = lambdaS;
    },
  };
}
