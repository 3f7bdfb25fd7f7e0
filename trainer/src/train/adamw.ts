/**
 * AdamW (Loshchilov & Hutter) over named Float32Array parameters, updated in place, step for
 * step the arithmetic of PyTorch's `torch.optim.AdamW` (non-amsgrad): decoupled weight decay
 * `p ← p·(1 − lr·λ)`, then the bias-corrected Adam step `p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)`.
 * Element arithmetic is float64 with float32 storage, in a fixed order, so runs are
 * deterministic. Moments and the step count serialise to a {@link TrainingState}.
 */
import { OptimizerError } from './errors';
import type { LrSchedule } from './schedule';
import type { TrainingState } from './state';

export interface AdamWOptions {
  /** A constant rate or a schedule of the step (default 1e-3, as PyTorch). */
  readonly lr?: number | LrSchedule;
  /** First-moment decay β₁ (default 0.9). */
  readonly beta1?: number;
  /** Second-moment decay β₂ (default 0.999). */
  readonly beta2?: number;
  /** Denominator term ε (default 1e-8). */
  readonly eps?: number;
  /** Decoupled weight decay λ (default 1e-2, as PyTorch and diffusers' scripts). */
  readonly weightDecay?: number;
  /** Parameters to decay (default: all); e.g. `(name) => !name.endsWith('.bias')`. */
  readonly decays?: (name: string) => boolean;
}

interface Slot {
  readonly param: Float32Array;
  readonly expAvg: Float32Array;
  readonly expAvgSq: Float32Array;
  readonly decay: boolean;
}

/** Keys of the serialised state. */
export const ADAMW_STATE_KEYS = {
  step: 'step',
  expAvg: (name: string) => `exp_avg/${name}`,
  expAvgSq: (name: string) => `exp_avg_sq/${name}`,
} as const;

function inUnitInterval(name: string, value: number): number {
  if (!(value >= 0 && value < 1)) throw new RangeError(`${name} must be in [0, 1), got ${value}`);
  return value;
}

export class AdamW {
  private readonly slots = new Map<string, Slot>();
  private readonly schedule: LrSchedule;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly weightDecay: number;
  private completed = 0;

  /** @param params the parameters, updated in place by {@link step}; iteration order is kept. */
  constructor(params: ReadonlyMap<string, Float32Array>, options: AdamWOptions = {}) {
    const lr = options.lr ?? 1e-3;
    if (typeof lr === 'number' && !(lr >= 0)) throw new RangeError(`lr must be ≥ 0, got ${lr}`);
    this.schedule = typeof lr === 'number' ? () => lr : lr;
    this.beta1 = inUnitInterval('beta1', options.beta1 ?? 0.9);
    this.beta2 = inUnitInterval('beta2', options.beta2 ?? 0.999);
    this.eps = options.eps ?? 1e-8;
    if (!(this.eps > 0)) throw new RangeError(`eps must be > 0, got ${this.eps}`);
    this.weightDecay = options.weightDecay ?? 1e-2;
    if (!(this.weightDecay >= 0)) throw new RangeError(`weightDecay must be ≥ 0, got ${this.weightDecay}`);
    const decays = options.decays ?? (() => true);
    for (const [name, param] of params) {
      this.slots.set(name, {
        param,
        expAvg: new Float32Array(param.length),
        expAvgSq: new Float32Array(param.length),
        decay: decays(name),
      });
    }
  }

  /** Updates applied so far. */
  get stepCount(): number {
    return this.completed;
  }

  /** The learning rate the next {@link step} will use. */
  get nextLr(): number {
    return this.schedule(this.completed);
  }

  /**
   * Applies one update from `grads` (one entry per parameter, same length). Returns the rate used.
   * @throws OptimizerError `missing_gradient`, `shape_mismatch` — checked for every parameter
   *   before any is changed, so a refused step leaves the optimiser and parameters untouched.
   */
  step(grads: ReadonlyMap<string, Float32Array>): number {
    for (const [name, slot] of this.slots) {
      const g = grads.get(name);
      if (!g) throw new OptimizerError('missing_gradient', `no gradient for parameter '${name}'`);
      if (g.length !== slot.param.length) {
        throw new OptimizerError(
          'shape_mismatch',
          `gradient of '${name}' has ${g.length} elements, parameter ${slot.param.length}`,
        );
      }
    }
    const lr = this.schedule(this.completed);
    const t = this.completed + 1;
    const { beta1, beta2, eps } = this;
    const stepSize = lr / (1 - beta1 ** t);
    const correction2Sqrt = Math.sqrt(1 - beta2 ** t);
    for (const [name, slot] of this.slots) {
      const g = grads.get(name)!;
      const { param, expAvg, expAvgSq } = slot;
      const shrink = slot.decay ? 1 - lr * this.weightDecay : 1;
      for (let i = 0; i < param.length; i++) {
        const gi = g[i]!;
        const m = beta1 * expAvg[i]! + (1 - beta1) * gi;
        const v = beta2 * expAvgSq[i]! + (1 - beta2) * gi * gi;
        expAvg[i] = m;
        expAvgSq[i] = v;
        param[i] = param[i]! * shrink - (stepSize * m) / (Math.sqrt(v) / correction2Sqrt + eps);
      }
    }
    this.completed = t;
    return lr;
  }

  /** Copies of the moments and the step count. */
  state(): TrainingState {
    const tensors: Record<string, Float32Array> = {};
    for (const [name, slot] of this.slots) {
      tensors[ADAMW_STATE_KEYS.expAvg(name)] = slot.expAvg.slice();
      tensors[ADAMW_STATE_KEYS.expAvgSq(name)] = slot.expAvgSq.slice();
    }
    return { tensors, scalars: { [ADAMW_STATE_KEYS.step]: this.completed } };
  }

  /**
   * Restores moments and step count saved by {@link state} for the same parameter names.
   * @throws OptimizerError `bad_state` (missing tensor or step, unknown parameter),
   *   `shape_mismatch` — checked in full before anything is changed.
   */
  loadState(state: TrainingState): void {
    const step = state.scalars[ADAMW_STATE_KEYS.step];
    if (step === undefined || !Number.isInteger(step) || step < 0) {
      throw new OptimizerError('bad_state', 'state has no valid step count');
    }
    const known = new Set<string>();
    for (const [name, slot] of this.slots) {
      for (const key of [ADAMW_STATE_KEYS.expAvg(name), ADAMW_STATE_KEYS.expAvgSq(name)]) {
        known.add(key);
        const t = state.tensors[key];
        if (!t) throw new OptimizerError('bad_state', `state lacks '${key}'`);
        if (t.length !== slot.param.length) {
          throw new OptimizerError(
            'shape_mismatch',
            `'${key}' has ${t.length} elements, parameter ${slot.param.length}`,
          );
        }
      }
    }
    for (const key of Object.keys(state.tensors)) {
      if (!known.has(key))
        throw new OptimizerError('bad_state', `state has '${key}', which matches no parameter`);
    }
    for (const [name, slot] of this.slots) {
      slot.expAvg.set(state.tensors[ADAMW_STATE_KEYS.expAvg(name)]!);
      slot.expAvgSq.set(state.tensors[ADAMW_STATE_KEYS.expAvgSq(name)]!);
    }
    this.completed = step;
  }
}
