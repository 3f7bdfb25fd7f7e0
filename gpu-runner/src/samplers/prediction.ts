/**
 * What the denoiser predicts and how a sampler turns it into the two quantities its update
 * rules need: the clean-sample estimate x̂0 and the noise estimate ε̂, for x_t = α·x0 + σ·ε
 * with α = sqrt(ᾱ_t), σ = sqrt(1 − ᾱ_t). The three parameterisations are diffusers'
 * `prediction_type`s; `v_prediction` is v = α·ε − σ·x0 (Salimans & Ho 2022).
 */

export type PredictionType = 'epsilon' | 'v_prediction' | 'sample';

export const PREDICTION_TYPES: readonly PredictionType[] = ['epsilon', 'v_prediction', 'sample'];

/**
 * Writes x̂0 (optionally clipped to [−clip, clip]) into `x0Out` and, when `epsOut` is given,
 * ε̂ into it, for `x` at noise level ᾱ = `alphaCumprod`. ε̂ is derived from the unclipped x̂0,
 * as diffusers' DDIM/DDPM do with their default `use_clipped_model_output = False`.
 */
export function splitPrediction(
  predictionType: PredictionType,
  x: Float64Array,
  modelOutput: Float64Array,
  alphaCumprod: number,
  x0Out: Float64Array,
  epsOut: Float64Array | null,
  clip: number | undefined,
): void {
  const alpha = Math.sqrt(alphaCumprod);
  const sigma = Math.sqrt(1 - alphaCumprod);
  const length = x.length;
  for (let i = 0; i < length; i++) {
    const xi = x[i]!;
    const mi = modelOutput[i]!;
    let x0: number;
    let eps: number;
    if (predictionType === 'epsilon') {
      x0 = (xi - sigma * mi) / alpha;
      eps = mi;
    } else if (predictionType === 'v_prediction') {
      x0 = alpha * xi - sigma * mi;
      eps = alpha * mi + sigma * xi;
    } else {
      x0 = mi;
      eps = (xi - alpha * mi) / sigma;
    }
    if (epsOut !== null) epsOut[i] = eps;
    x0Out[i] = clip === undefined ? x0 : Math.min(clip, Math.max(-clip, x0));
  }
}
