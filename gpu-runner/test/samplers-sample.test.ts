// The samplers against analytic denoisers: for a point mass x* and for Gaussian data N(μ, s²)
// the exact model output is known in closed form, so DDIM, DPM-Solver++ 2M and DDPM can be
// checked against exact trajectories, convergence orders and exact marginals. Also guidance,
// determinism across batching, progress, abort and the prediction types.
import { describe, expect, it } from 'vitest';
import { addNoise, createSchedule, gaussianNoise, inferenceTimesteps, sample } from '../src/samplers/index';
import type {
  DenoiseModel,
  ModelStepInfo,
  NoiseSchedule,
  PredictionType,
  SampleOptions,
  SamplerName,
} from '../src/samplers/index';

const sd = createSchedule({ betaSchedule: 'scaled_linear' });
const ddpmLinear = createSchedule({ betaSchedule: 'linear' });

/**
 * The exact denoiser for Gaussian data x0 ~ N(mean, std²) per element (std = 0: a point mass):
 * x̂0 = mean + α·std²/v·(x − α·mean) with v = α²·std² + σ², returned in `type`'s parameterisation.
 */
function gaussianModel(
  schedule: NoiseSchedule,
  mean: number | ((element: number) => number),
  std: number,
  type: PredictionType = 'epsilon',
): DenoiseModel {
  const meanOf = typeof mean === 'number' ? () => mean : mean;
  return (x, timesteps) => {
    const out = new Float32Array(x.length);
    const perRow = x.length / timesteps.length;
    for (let row = 0; row < timesteps.length; row++) {
      const alphaCumprod = schedule.alphasCumprod[timesteps[row]!]!;
      const alpha = Math.sqrt(alphaCumprod);
      const sigma = Math.sqrt(1 - alphaCumprod);
      const variance = alpha * alpha * std * std + sigma * sigma;
      for (let j = 0; j < perRow; j++) {
        const i = row * perRow + j;
        const mu = meanOf(j);
        const x0 = mu + ((alpha * std * std) / variance) * (x[i]! - alpha * mu);
        const eps = (x[i]! - alpha * x0) / sigma;
        out[i] = type === 'epsilon' ? eps : type === 'sample' ? x0 : alpha * eps - sigma * x0;
      }
    }
    return out;
  };
}

/** Position of each value of `noise` (taken at ᾱ_start) on the exact probability-flow ODE at ᾱ_end. */
function exactFlow(noise: Float32Array, mean: number, std: number, start: number, end: number): Float64Array {
  const spread = (ac: number): number => Math.sqrt(ac * std * std + 1 - ac);
  return Float64Array.from(noise, (n) => {
    const z = (n - Math.sqrt(start) * mean) / spread(start);
    return Math.sqrt(end) * mean + spread(end) * z;
  });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

function moments(values: ArrayLike<number>): { mean: number; std: number } {
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i]!;
    sumSq += values[i]! * values[i]!;
  }
  const mean = sum / values.length;
  return { mean, std: Math.sqrt(sumSq / values.length - mean * mean) };
}

const bytes = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

const SAMPLER_CASES: readonly { sampler: SamplerName; eta?: number }[] = [
  { sampler: 'ddpm' },
  { sampler: 'ddim' },
  { sampler: 'ddim', eta: 0.5 },
  { sampler: 'dpmpp2m' },
];

describe('point-mass data', () => {
  const target = (j: number): number => [0.8, -0.6, 0.1, 3][j % 4]!;
  const targets = Float64Array.from({ length: 4 * 16 }, (_, i) => target(i % 16));

  for (const { sampler, eta } of SAMPLER_CASES) {
    for (const steps of [10, 20]) {
      for (const predictionType of ['epsilon', 'v_prediction', 'sample'] as const) {
        it(`${sampler}${eta ? ` η=${eta}` : ''} reaches x* in ${steps} steps (${predictionType})`, async () => {
          const out = await sample({
            model: gaussianModel(sd, target, 0, predictionType),
            shape: [4, 1, 4, 4],
            steps,
            sampler,
            eta,
            schedule: sd,
            predictionType,
            seed: 1,
          });
          // With the exact model x̂0 = x* at every step, so every sampler lands on x* up to the
          // float32 rounding of the model's input and output (relative 6e-8, amplified by σ/α of
          // the last step, ≤ 1). 1e-5 leaves room for that and for 3 being the largest |x*|.
          expect(maxAbsDiff(out, targets)).toBeLessThan(1e-5);
        });
      }
    }
  }

  it('does not clamp the result unless clipSample is given', async () => {
    const options = {
      model: gaussianModel(sd, 3, 0),
      shape: [1, 2],
      steps: 10,
      sampler: 'ddim',
      schedule: sd,
      seed: 0,
    } as const;
    expect(maxAbsDiff(await sample(options), [3, 3])).toBeLessThan(1e-5);
    expect(Array.from(await sample({ ...options, clipSample: 1 }))).toEqual([1, 1]);
  });

  it('DDPM and DDIM η>0 keep the exact marginals N(√ᾱ·x*, 1 − ᾱ) at every step', async () => {
    // For a point mass the model is exact, so each stochastic step samples the true posterior
    // q(x_prev | x_t, x*) and x after step k must be distributed as q(x_{t_{k+1}} | x*).
    const xStar = 0.7;
    const elements = 4 * 8192;
    for (const { sampler, eta } of [
      { sampler: 'ddpm' },
      { sampler: 'ddim', eta: 1 },
      { sampler: 'ddim', eta: 0.3 },
    ] as const) {
      const timesteps = inferenceTimesteps(1000, 25);
      const checks: { timestep: number; mean: number; std: number }[] = [];
      await sample({
        model: gaussianModel(ddpmLinear, xStar, 0),
        shape: [4, 8192],
        steps: 25,
        sampler,
        eta,
        schedule: ddpmLinear,
        seed: 11,
        onStep: (progress) => {
          const next = timesteps[progress.stepIndex + 1];
          if (next !== undefined && progress.stepIndex % 6 === 0)
            checks.push({ timestep: next, ...moments(progress.sample()) });
        },
      });
      expect(checks.length).toBe(4);
      for (const { timestep, mean, std } of checks) {
        const alphaCumprod = ddpmLinear.alphasCumprod[timestep]!;
        const expectedStd = Math.sqrt(1 - alphaCumprod);
        // 5 standard errors of the mean (σ/√n) and of the standard deviation (σ/√(2n)).
        expect(Math.abs(mean - Math.sqrt(alphaCumprod) * xStar)).toBeLessThan(
          (5 * expectedStd) / Math.sqrt(elements),
        );
        expect(Math.abs(std - expectedStd)).toBeLessThan((5 * expectedStd) / Math.sqrt(2 * elements));
      }
    }
  });

  it('image-to-image: explicit timesteps from a noised x* return x*', async () => {
    const x0 = new Float32Array([0.5, -0.25, 1, 0]);
    const timesteps = [499, 299, 99];
    const noisy = addNoise(sd, x0, gaussianNoise(4, 5), [499]);
    const out = await sample({
      model: gaussianModel(sd, (j) => x0[j]!, 0),
      shape: [1, 4],
      timesteps,
      sampler: 'dpmpp2m',
      schedule: sd,
      noise: noisy,
    });
    expect(maxAbsDiff(out, x0)).toBeLessThan(1e-5);
  });
});

describe('Gaussian data', () => {
  const mean = 0.3;
  const std = 0.5;

  it('DDIM (η = 0) converges at first order and DPM-Solver++ 2M at second order to the exact ODE', async () => {
    // Compare the latent on landing at t = 199 (a timestep of every trailing run below) with the
    // exact probability-flow solution from the same starting noise. Halving the step size
    // should halve DDIM's error and quarter DPM-Solver++ 2M's; measured ratios are 1.96–1.99 and
    // 4.1–4.3, so the bands [1.8, 2.2] and [3.5, 4.8] separate the two orders.
    const noise = gaussianNoise(256, 1);
    const errors: Record<string, number[]> = { ddim: [], dpmpp2m: [] };
    for (const sampler of ['ddim', 'dpmpp2m'] as const) {
      for (const steps of [10, 20, 40, 80]) {
        const timesteps = inferenceTimesteps(1000, steps, { sampler });
        const exact = exactFlow(noise, mean, std, sd.alphasCumprod[999]!, sd.alphasCumprod[199]!);
        let error = Number.NaN;
        await sample({
          model: gaussianModel(sd, mean, std),
          shape: [256],
          steps,
          sampler,
          schedule: sd,
          noise,
          onStep: (progress) => {
            if (timesteps[progress.stepIndex + 1] === 199) error = maxAbsDiff(progress.sample(), exact);
          },
        });
        errors[sampler]!.push(error);
      }
    }
    const ratios = (e: number[]): number[] => e.slice(1).map((value, i) => e[i]! / value);
    for (const ratio of ratios(errors.ddim!)) {
      expect(ratio).toBeGreaterThan(1.8);
      expect(ratio).toBeLessThan(2.2);
    }
    for (const ratio of ratios(errors.dpmpp2m!)) {
      expect(ratio).toBeGreaterThan(3.5);
      expect(ratio).toBeLessThan(4.8);
    }
    // And the second-order solver is far closer at equal cost.
    expect(errors.dpmpp2m![1]!).toBeLessThan(errors.ddim![1]! / 5);
    expect(errors.dpmpp2m![1]!).toBeLessThan(5e-3);
  });

  it('deterministic samplers end at the denoised exact ODE solution', async () => {
    // The last step returns x̂0 at the last timestep t_L, so the reference is the exact ODE
    // state at t_L passed through the same exact denoiser.
    const noise = gaussianNoise(512, 2);
    for (const [sampler, tolerance] of [
      ['ddim', 0.12],
      ['dpmpp2m', 0.01],
    ] as const) {
      const timesteps = inferenceTimesteps(1000, 20, { sampler });
      const last = sd.alphasCumprod[timesteps[timesteps.length - 1]!]!;
      const atLast = exactFlow(noise, mean, std, sd.alphasCumprod[999]!, last);
      const variance = last * std * std + 1 - last;
      const expected = atLast.map(
        (x) => mean + ((Math.sqrt(last) * std * std) / variance) * (x - Math.sqrt(last) * mean),
      );
      const out = await sample({
        model: gaussianModel(sd, mean, std),
        shape: [512],
        steps: 20,
        sampler,
        schedule: sd,
        noise,
      });
      // Worst case over 512 samples (at |noise| ≈ 3.6) measured 0.084 for DDIM and 0.0057 for
      // DPM-Solver++; the tolerances leave ~1.5× room.
      expect(maxAbsDiff(out, expected)).toBeLessThan(tolerance);
    }
  });

  it('ODE samplers: sample mean and std match the exact ODE output distribution', async () => {
    // Starting from x_T ~ N(0, 1) (not the true marginal at t = 999: SD's ᾱ_999 = 0.0047 > 0)
    // and ending with the x̂0 jump from t_L, the exact ODE outputs μ + k·(z − √ᾱ_T·μ)/√v_T with
    // k = √ᾱ_L·s²/√v_L, v = ᾱ·s² + 1 − ᾱ. n = 65,536 values: SE(mean) ≈ k/√n ≈ 0.002,
    // SE(std) ≈ k/√(2n) ≈ 0.0014. Tolerance 5 SE plus the solver's own bias: measured ≤ 0.003
    // for DPM-Solver++ at 20 steps and 0.005 for DDIM at 200 steps (first order).
    const elements = 16 * 4096;
    for (const [sampler, steps, bias] of [
      ['dpmpp2m', 20, 0.005],
      ['dpmpp2m', 50, 0.005],
      ['ddim', 200, 0.008],
    ] as const) {
      const timesteps = inferenceTimesteps(1000, steps, { sampler });
      const start = sd.alphasCumprod[timesteps[0]!]!;
      const last = sd.alphasCumprod[timesteps[timesteps.length - 1]!]!;
      const spread = (ac: number): number => Math.sqrt(ac * std * std + 1 - ac);
      const gain = (Math.sqrt(last) * std * std) / spread(last) / spread(start);
      const out = await sample({
        model: gaussianModel(sd, mean, std),
        shape: [16, 4096],
        steps,
        sampler,
        schedule: sd,
        seed: 99,
      });
      const stats = moments(out);
      expect(Math.abs(stats.mean - (mean - gain * Math.sqrt(start) * mean))).toBeLessThan(
        (5 * gain) / Math.sqrt(elements) + bias,
      );
      expect(Math.abs(stats.std - gain)).toBeLessThan((5 * gain) / Math.sqrt(2 * elements) + bias);
    }
  });

  it('zero terminal SNR + v-prediction: every sampler starts from pure noise and lands on the data distribution', async () => {
    // With ᾱ_999 = 0 the first step sees exactly the marginal N(0, 1) and the exact model's x̂0
    // there is the data mean, so the exact ODE maps z to μ + s·z: mean μ and std s, no start-up
    // gain as on SD's schedule. n = 65,536 values: SE(mean) = s/√n ≈ 0.002, SE(std) ≈ 0.0014;
    // 5 SE plus each solver's discretisation bias (std shortfall measured with seed 99:
    // DPM-Solver++ 20 steps 0.0012, DDIM 50 steps 0.0153, DDPM 100 steps 0.0159; the bias terms
    // leave ~1.5× room). DPM-Solver++ reads ᾱ = 2^-24 at t = 999 as diffusers does, an x̂0 error
    // of 2^-12·|x|, inside its bias term.
    const zeroSnr = createSchedule({ betaSchedule: 'squaredcos_cap_v2', rescaleBetasZeroSnr: true });
    const elements = 16 * 4096;
    for (const [sampler, steps, bias] of [
      ['dpmpp2m', 20, 0.003],
      ['ddim', 50, 0.025],
      ['ddpm', 100, 0.025],
    ] as const) {
      const out = await sample({
        model: gaussianModel(zeroSnr, mean, std, 'v_prediction'),
        shape: [16, 4096],
        steps,
        sampler,
        schedule: zeroSnr,
        predictionType: 'v_prediction',
        seed: 99,
      });
      const stats = moments(out);
      expect(Number.isFinite(stats.mean) && Number.isFinite(stats.std)).toBe(true);
      expect(Math.abs(stats.mean - mean)).toBeLessThan((5 * std) / Math.sqrt(elements) + bias);
      expect(Math.abs(stats.std - std)).toBeLessThan((5 * std) / Math.sqrt(2 * elements) + bias);
    }
    await expect(
      sample({
        model: gaussianModel(zeroSnr, mean, std),
        shape: [1, 4],
        steps: 10,
        sampler: 'ddim',
        schedule: zeroSnr,
        seed: 1,
      }),
    ).rejects.toThrow(/zero SNR/);
  });

  it('DDPM (1000 steps, its own linear schedule) samples the data distribution', async () => {
    // n = 16,384 values: SE(mean) = s/√n = 0.0039, SE(std) = s/√(2n) = 0.0028; 5 SE plus 0.002
    // for the start at ᾱ_999 = 4e-5 instead of 0 and fixed_small's variance (measured bias
    // below 0.002 at 1000 steps).
    const elements = 4 * 4096;
    const out = await sample({
      model: gaussianModel(ddpmLinear, mean, std),
      shape: [4, 4096],
      steps: 1000,
      sampler: 'ddpm',
      schedule: ddpmLinear,
      seed: 99,
    });
    const stats = moments(out);
    expect(Math.abs(stats.mean - mean)).toBeLessThan((5 * std) / Math.sqrt(elements) + 0.002);
    expect(Math.abs(stats.std - std)).toBeLessThan((5 * std) / Math.sqrt(2 * elements) + 0.002);
  });

  it('DDIM with η = 1 is DDPM', async () => {
    // Two independently written update rules that are algebraically identical at η = 1 and draw
    // the same per-step noise; they differ by float64 rounding only.
    const options = {
      model: gaussianModel(sd, mean, std),
      shape: [2, 64],
      steps: 30,
      schedule: sd,
      seed: 5,
    } as const;
    const ddpm = await sample({ ...options, sampler: 'ddpm' });
    const ddim = await sample({ ...options, sampler: 'ddim', eta: 1 });
    expect(maxAbsDiff(ddpm, ddim)).toBeLessThan(1e-6);
  });

  it('prediction types are interchangeable', async () => {
    for (const { sampler, eta } of SAMPLER_CASES) {
      const results: Float32Array[] = [];
      for (const predictionType of ['epsilon', 'v_prediction', 'sample'] as const) {
        results.push(
          await sample({
            model: gaussianModel(sd, mean, std, predictionType),
            shape: [8, 8],
            steps: 15,
            sampler,
            eta,
            schedule: sd,
            predictionType,
            seed: 3,
          }),
        );
      }
      // The same exact denoiser in three parameterisations; only float32 rounding of the model
      // output differs, amplified at most by σ/α at t = 999 (≈ 15) in the first step.
      expect(maxAbsDiff(results[0]!, results[1]!)).toBeLessThan(1e-4);
      expect(maxAbsDiff(results[0]!, results[2]!)).toBeLessThan(1e-4);
    }
  });
});

describe('classifier-free guidance', () => {
  const base = { shape: [3, 2, 2], steps: 12, schedule: sd, seed: 21 } as const;

  it('guidance 1 is the unguided run: B rows, identical bytes', async () => {
    for (const { sampler, eta } of SAMPLER_CASES) {
      const seen: ModelStepInfo[] = [];
      const model = gaussianModel(sd, 0.2, 0.4);
      const plain = await sample({ ...base, sampler, eta, model });
      const guided = await sample({
        ...base,
        sampler,
        eta,
        guidance: 1,
        model: (x, t, info) => {
          seen.push(info);
          return model(x, t, info);
        },
      });
      expect(bytes(guided)).toEqual(bytes(plain));
      expect(seen.every((info) => info.rows === 3 && info.guidance === null)).toBe(true);
    }
  });

  it('doubles the batch, uncond half first, and combines ε_u + g·(ε_c − ε_u)', async () => {
    const guidance = 4.5;
    const uncond = gaussianModel(sd, -0.5, 0);
    const cond = gaussianModel(sd, 0.5, 0.2);
    const infos: ModelStepInfo[] = [];
    const guided = await sample({
      ...base,
      sampler: 'dpmpp2m',
      guidance,
      model: (x, timesteps, info) => {
        infos.push(info);
        // Both halves see the same latents and timesteps.
        expect(bytes(x.subarray(0, 12))).toEqual(bytes(x.subarray(12)));
        expect(timesteps.length).toBe(6);
        const u = uncond(x.subarray(0, 12), timesteps.subarray(0, 3), info) as Float32Array;
        const c = cond(x.subarray(12), timesteps.subarray(3), info) as Float32Array;
        const out = new Float32Array(24);
        out.set(u, 0);
        out.set(c, 12);
        return out;
      },
    });
    expect(infos[0]!.rows).toBe(6);
    expect(infos[0]!.guidance).toEqual({
      scale: guidance,
      uncond: { start: 0, end: 3 },
      cond: { start: 3, end: 6 },
    });
    const combined = await sample({
      ...base,
      sampler: 'dpmpp2m',
      model: (x, timesteps, info) => {
        const u = uncond(x, timesteps, info) as Float32Array;
        const c = cond(x, timesteps, info) as Float32Array;
        return u.map((value, i) => value + guidance * (c[i]! - value));
      },
    });
    // The reference rounds the combined output to float32 once more; 1e-5 covers that.
    expect(maxAbsDiff(guided, combined)).toBeLessThan(1e-5);
    // Swapping the halves (cond first) would land elsewhere.
    expect(
      maxAbsDiff(
        guided,
        combined.map((v) => -v),
      ),
    ).toBeGreaterThan(0.1);
  });
});

describe('determinism', () => {
  // A non-linear, per-row model: anything mixing rows would break batch invariance.
  const nonlinear: DenoiseModel = (x, timesteps) =>
    x.map((v, i) => Math.tanh(v * 0.9) + 0.001 * timesteps[Math.floor((i * timesteps.length) / x.length)]!);

  for (const { sampler, eta } of SAMPLER_CASES) {
    for (const guidance of [1, 7.5]) {
      it(`${sampler}${eta ? ` η=${eta}` : ''}, guidance ${guidance}: same seed same bytes; batch = separate runs`, async () => {
        const options: SampleOptions = {
          model: nonlinear,
          shape: [3, 2, 3, 3],
          steps: 8,
          sampler,
          eta,
          guidance,
          schedule: sd,
        };
        const batch = await sample({ ...options, seed: 7 });
        expect(bytes(await sample({ ...options, seed: 7 }))).toEqual(bytes(batch));
        for (let i = 0; i < 3; i++) {
          const alone = await sample({ ...options, shape: [1, 2, 3, 3], seed: 7 + i });
          expect(bytes(batch.subarray(i * 18, (i + 1) * 18))).toEqual(bytes(alone));
        }
        // Per-sample seeds: a batch of tenants with their own seeds.
        const tenants = await sample({ ...options, seed: [40, 3, 2 ** 40] });
        const third = await sample({ ...options, shape: [1, 2, 3, 3], seed: 2 ** 40 });
        expect(bytes(tenants.subarray(36))).toEqual(bytes(third));
        expect(bytes(await sample({ ...options, seed: 8 }))).not.toEqual(bytes(batch));
      });
    }
  }

  it('explicit noise equals the seeded initial noise (stream 0)', async () => {
    const options = { model: nonlinear, shape: [2, 5], steps: 6, sampler: 'ddim', schedule: sd } as const;
    const noise = new Float32Array(10);
    noise.set(gaussianNoise(5, 30), 0);
    noise.set(gaussianNoise(5, 31), 5);
    expect(bytes(await sample({ ...options, noise }))).toEqual(bytes(await sample({ ...options, seed: 30 })));
  });
});

describe('progress and abort', () => {
  it('reports every step with its timestep and hands the model per-row timesteps', async () => {
    const reported: number[] = [];
    const modelTimesteps: number[][] = [];
    let lastSample: Float32Array | undefined;
    const out = await sample({
      model: (x, timesteps, info) => {
        modelTimesteps.push(Array.from(timesteps));
        expect(info.steps).toBe(10);
        return gaussianModel(sd, 0, 1)(x, timesteps, info);
      },
      shape: [2, 3],
      steps: 10,
      sampler: 'ddim',
      schedule: sd,
      seed: 1,
      onStep: async (progress) => {
        reported.push(progress.timestep);
        expect(progress.stepIndex).toBe(reported.length - 1);
        expect(progress.predictedOriginal().length).toBe(6);
        lastSample = progress.sample();
        await Promise.resolve();
      },
    });
    const expected = Array.from(inferenceTimesteps(1000, 10));
    expect(reported).toEqual(expected);
    expect(modelTimesteps).toEqual(expected.map((t) => [t, t]));
    expect(bytes(lastSample!)).toEqual(bytes(out));
  });

  it('stops between steps when the signal aborts', async () => {
    const controller = new AbortController();
    let calls = 0;
    const run = sample({
      model: (x, t, info) => {
        calls++;
        return gaussianModel(sd, 0, 1)(x, t, info);
      },
      shape: [1, 4],
      steps: 10,
      sampler: 'dpmpp2m',
      schedule: sd,
      seed: 1,
      signal: controller.signal,
      onStep: ({ stepIndex }) => {
        if (stepIndex === 2) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(calls).toBe(3);

    let called = false;
    const aborted = AbortSignal.abort(new Error('tenant cancelled'));
    await expect(
      sample({
        model: () => {
          called = true;
          return new Float32Array(4);
        },
        shape: [1, 4],
        steps: 10,
        sampler: 'ddim',
        schedule: sd,
        seed: 1,
        signal: aborted,
      }),
    ).rejects.toThrow('tenant cancelled');
    expect(called).toBe(false);
  });
});

describe('final level', () => {
  it('setAlphaToOne=false lands DDIM on ᾱ_0 instead of on x̂0', async () => {
    // Point mass: with ᾱ_final = ᾱ_0 the last step returns √ᾱ_0·x* + √(1−ᾱ_0)·ε̂, and ε̂ is exactly
    // the starting noise, so the result is known in closed form.
    const noise = gaussianNoise(6, 4);
    const out = await sample({
      model: gaussianModel(sd, 0.5, 0),
      shape: [1, 6],
      steps: 10,
      sampler: 'ddim',
      schedule: sd,
      noise,
      setAlphaToOne: false,
    });
    const alphaCumprod = sd.alphasCumprod[0]!;
    const alphaCumprodStart = sd.alphasCumprod[999]!;
    const expected = Array.from(noise, (n) => {
      const eps = (n - Math.sqrt(alphaCumprodStart) * 0.5) / Math.sqrt(1 - alphaCumprodStart);
      return Math.sqrt(alphaCumprod) * 0.5 + Math.sqrt(1 - alphaCumprod) * eps;
    });
    expect(maxAbsDiff(out, expected)).toBeLessThan(1e-5);
  });
});
