/**
 * The serialisable form of optimiser and EMA state: named Float32Arrays (moments, shadow
 * weights) plus named scalars (step counters), which maps directly onto a safetensors file —
 * tensors as F32 entries, scalars in its string metadata — for checkpoints.
 */

export interface TrainingState {
  /** Named flat tensors; each has the length of the parameter it belongs to. */
  readonly tensors: Readonly<Record<string, Float32Array>>;
  /** Named scalars (integers such as step counts). */
  readonly scalars: Readonly<Record<string, number>>;
}
