/**
 * Global gradient-norm clipping, as `torch.nn.utils.clip_grad_norm_`: the L2 norm over every
 * gradient element of every parameter, and if it exceeds `maxNorm` all gradients are scaled in
 * place by `maxNorm / (norm + 1e-6)`. The norm is accumulated in float64 in map order, so it is
 * deterministic. Unlike PyTorch's default, a non-finite norm leaves the gradients untouched
 * (PyTorch would multiply them by NaN); the caller sees it in the returned norm and can skip
 * the step.
 */

export interface ClipResult {
  /** The L2 norm of all gradients before clipping. */
  readonly totalNorm: number;
  /** The factor applied (1 when not clipped or when the norm is not finite). */
  readonly scale: number;
}

/** L2 norm over every element of every gradient. */
export function globalGradNorm(grads: Iterable<Float32Array>): number {
  let sum = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) sum += g[i]! * g[i]!;
  return Math.sqrt(sum);
}

/** Scales `grads` in place so their global L2 norm is at most `maxNorm`. */
export function clipGradNorm(grads: ReadonlyMap<string, Float32Array>, maxNorm: number): ClipResult {
  if (!(maxNorm > 0)) throw new RangeError(`maxNorm must be > 0, got ${maxNorm}`);
  const totalNorm = globalGradNorm(grads.values());
  if (!Number.isFinite(totalNorm)) return { totalNorm, scale: 1 };
  const coefficient = maxNorm / (totalNorm + 1e-6);
  if (coefficient >= 1) return { totalNorm, scale: 1 };
  for (const g of grads.values()) for (let i = 0; i < g.length; i++) g[i] = g[i]! * coefficient;
  return { totalNorm, scale: coefficient };
}
