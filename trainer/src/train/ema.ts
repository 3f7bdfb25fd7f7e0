/**
 * Exponential moving average of weights, with the decay schedule of diffusers' `EMAModel`: the
 * decay for optimisation step t is 0 until `updateAfterStep + 1` (the shadow copies the
 * weights), then `(1 + s)/(10 + s)` or, with warm-up, `1 − (1 + s/invGamma)^−power` for
 * `s = t − updateAfterStep − 1`, clamped to [minDecay, decay]. Each update is
 * `shadow ← shadow − (1 − decay)·(shadow − param)`, float64 arithmetic into float32 storage.
 * Shadow weights and the step counter serialise to a {@link TrainingState}.
 */
import { OptimizerError } from './errors';
import type { TrainingState } from './state';

export interface EmaOptions {
  /** Upper bound of the decay (default 0.9999). */
  readonly decay?: number;
  /** Lower bound of the decay once averaging starts (default 0). */
  readonly minDecay?: number;
  /** Optimisation steps before averaging starts (default 0). */
  readonly updateAfterStep?: number;
  /** Use the `1 − (1 + s/invGamma)^−power` warm-up (default false: `(1 + s)/(10 + s)`). */
  readonly useWarmup?: boolean;
  /** Warm-up inverse multiplicative factor (default 1). */
  readonly invGamma?: number;
  /** Warm-up exponent (default 2/3; 3/4 suits shorter runs). */
  readonly power?: number;
}

/** Keys of the serialised state. */
export const EMA_STATE_KEYS = {
  step: 'ema_optimization_step',
  shadow: (name: string) => `ema/${name}`,
} as const;

export class EmaModel {
  private readonly shadowParams = new Map<string, Float32Array>();
  private readonly decayMax: number;
  private readonly minDecay: number;
  private readonly updateAfterStep: number;
  private readonly useWarmup: boolean;
  private readonly invGamma: number;
  private readonly power: number;
  private optimizationStep = 0;

  /** Starts the average at a copy of `params`. */
  constructor(params: ReadonlyMap<string, Float32Array>, options: EmaOptions = {}) {
    this.decayMax = options.decay ?? 0.9999;
    this.minDecay = options.minDecay ?? 0;
    this.updateAfterStep = options.updateAfterStep ?? 0;
    this.useWarmup = options.useWarmup ?? false;
    this.invGamma = options.invGamma ?? 1;
    this.power = options.power ?? 2 / 3;
    if (!(this.decayMax >= 0 && this.decayMax <= 1))
      throw new RangeError(`decay must be in [0, 1], got ${this.decayMax}`);
    if (!(this.minDecay >= 0 && this.minDecay <= this.decayMax)) {
      throw new RangeError(`minDecay must be in [0, decay], got ${this.minDecay}`);
    }
    if (!(this.invGamma > 0)) throw new RangeError(`invGamma must be > 0, got ${this.invGamma}`);
    if (!Number.isInteger(this.updateAfterStep) || this.updateAfterStep < 0) {
      throw new RangeError(`updateAfterStep must be an integer ≥ 0, got ${this.updateAfterStep}`);
    }
    for (const [name, p] of params) this.shadowParams.set(name, p.slice());
  }

  /** Optimisation steps seen so far. */
  get stepCount(): number {
    return this.optimizationStep;
  }

  /** The averaged weights (live views; copy before mutating). */
  get shadow(): ReadonlyMap<string, Float32Array> {
    return this.shadowParams;
  }

  /** The decay used at optimisation step `step` (1-based, as diffusers' `get_decay`). */
  decayAt(step: number): number {
    const s = Math.max(0, step - this.updateAfterStep - 1);
    if (s <= 0) return 0;
    const value = this.useWarmup ? 1 - (1 + s / this.invGamma) ** -this.power : (1 + s) / (10 + s);
    return Math.max(Math.min(value, this.decayMax), this.minDecay);
  }

  /**
   * Folds the current parameters into the average; returns the decay used.
   * @throws OptimizerError `bad_state` (a parameter is missing), `shape_mismatch` (its length
   *   changed) — checked before any update.
   */
  step(params: ReadonlyMap<string, Float32Array>): number {
    for (const [name, s] of this.shadowParams) {
      const p = params.get(name);
      if (!p) throw new OptimizerError('bad_state', `parameter '${name}' is missing`);
      if (p.length !== s.length)
        throw new OptimizerError('shape_mismatch', `parameter '${name}' changed length`);
    }
    this.optimizationStep += 1;
    const decay = this.decayAt(this.optimizationStep);
    const rate = 1 - decay;
    for (const [name, s] of this.shadowParams) {
      const p = params.get(name)!;
      for (let i = 0; i < s.length; i++) s[i] = s[i]! - rate * (s[i]! - p[i]!);
    }
    return decay;
  }

  /** Writes the averaged weights into `params` (for evaluation or export). */
  copyTo(params: ReadonlyMap<string, Float32Array>): void {
    for (const [name, s] of this.shadowParams) params.get(name)?.set(s);
  }

  state(): TrainingState {
    const tensors: Record<string, Float32Array> = {};
    for (const [name, s] of this.shadowParams) tensors[EMA_STATE_KEYS.shadow(name)] = s.slice();
    return { tensors, scalars: { [EMA_STATE_KEYS.step]: this.optimizationStep } };
  }

  /**
   * Restores a state saved by {@link state}.
   * @throws OptimizerError `bad_state`, `shape_mismatch` — checked before anything changes.
   */
  loadState(state: TrainingState): void {
    const step = state.scalars[EMA_STATE_KEYS.step];
    if (step === undefined || !Number.isInteger(step) || step < 0) {
      throw new OptimizerError('bad_state', 'state has no valid EMA step count');
    }
    for (const [name, s] of this.shadowParams) {
      const t = state.tensors[EMA_STATE_KEYS.shadow(name)];
      if (!t) throw new OptimizerError('bad_state', `state lacks '${EMA_STATE_KEYS.shadow(name)}'`);
      if (t.length !== s.length)
        throw new OptimizerError(
          'shape_mismatch',
          `'${name}' has ${t.length} elements, expected ${s.length}`,
        );
    }
    for (const [name, s] of this.shadowParams) s.set(state.tensors[EMA_STATE_KEYS.shadow(name)]!);
    this.optimizationStep = step;
  }
}
