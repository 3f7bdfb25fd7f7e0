#!/usr/bin/env python3
"""Float64 numpy reference for ../samplers-parity.test.ts: diffusers' schedulers, re-implemented.

Re-implements, in float64 numpy, `set_timesteps` and `step` of three diffusers schedulers for
Stable Diffusion's `scaled_linear` betas (0.00085 -> 0.012 over 1000 training steps):

- DDIMScheduler (clip_sample False, prediction_type epsilon, set_alpha_to_one, steps_offset,
  timestep_spacing, step(eta=...)) -- src/diffusers/schedulers/scheduling_ddim.py;
- DDPMScheduler (variance_type fixed_small, clip_sample False, epsilon)
  -- src/diffusers/schedulers/scheduling_ddpm.py;
- DPMSolverMultistepScheduler (algorithm_type dpmsolver++, solver_order 2, solver_type midpoint,
  lower_order_final True, final_sigmas_type zero | sigma_min, epsilon, no Karras/Lu/flow sigmas,
  lambda_min_clipped -inf) -- src/diffusers/schedulers/scheduling_dpmsolver_multistep.py.

Written from the diffusers source (huggingface/diffusers at 58eb52c0), not from our TypeScript.
It reads parity-noise.json (written by dump-noise.ts: the cases, the initial latent and the
per-step noise our samplers draw, so no Philox port is needed here), runs every case through a
diffusers pipeline's loop -- x = noise; for t in timesteps: x = scheduler.step(model(x, t), t, x)
-- writes parity-expected.json ({case name: [6 float64 numbers]}) and prints a table:

    npx tsx gpu-runner/test/reference/dump-noise.ts          # parity-noise.json
    python3 gpu-runner/test/reference/diffusers_samplers.py  # parity-expected.json

The model is the test's stand-in denoiser, 0.8*tanh(x_i) + 0.0003*t + 0.01*(i mod 3), with the
test's interface: it takes a float32 latent and returns float32 (as a U-Net in a diffusers
pipeline does). Only the scheduler arithmetic between model calls is float64.

Where this differs from diffusers, on purpose:
- the scheduler is float64 throughout. diffusers builds betas, alphas_cumprod and (DPM-Solver)
  sigmas in float32 and steps float32 latents; our samplers keep float64 schedules and latents,
  so a float64 reference isolates algorithmic differences from float32 rounding;
- clip_sample is False (diffusers' DDIM/DDPM constructors default to True; SD configs set
  False, and our samplers clip only when asked).

Mapping from our sample() options (as parity-noise.json records them) to diffusers' config:
  sampler       ddim -> DDIMScheduler, ddpm -> DDPMScheduler, dpmpp2m -> DPMSolverMultistepScheduler
  steps         num_inference_steps
  spacing       timestep_spacing; omitted = 'trailing' (our default; diffusers' defaults differ)
  stepsOffset   steps_offset; omitted = 0
  setAlphaToOne DDIM set_alpha_to_one, DPM-Solver final_sigmas_type 'zero' (True) / 'sigma_min'
                (False); DDPM always lands on alpha_cumprod = 1, so it must be True; omitted = True
  eta           DDIM step(eta=...); omitted = 0

Our documented deviations from diffusers (file headers of gpu-runner/src/samplers/ddim.ts,
ddpm.ts, timesteps.ts) are selected by --our-deviations; the table always shows how much they
move each case:
- DDIM steps to the run's next timestep; diffusers to t - T // N (the same for leading spacing
  and for trailing/linspace when T / N is a whole number);
- DDPM adds noise only when the posterior variance is > 0; diffusers adds sqrt(max(var, 1e-20))
  * z whenever t > 0, i.e. 1e-10 * z on a last step that lands on alpha_cumprod = 1 from t > 0;
- trailing spacing keeps exactly N timesteps (numpy's arange can yield N + 1, the last being
  -1) and duplicate timesteps are dropped.
--float64-model evaluates the model on the float64 latent and keeps its float64 output (a
diagnostic: how much the float32 model interface moves each case). With either flag nothing is
written unless --out is given: the committed parity-expected.json is always the default run.
--compare FILE adds a column: max |difference| per case against another {case: [numbers]} file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
NOISE_FILE = HERE / "parity-noise.json"
EXPECTED_FILE = HERE / "parity-expected.json"


# --------------------------------------------------------------------------------------------
# Noise schedule and timesteps


def scaled_linear_alphas_cumprod(num_train_timesteps: int, beta_start: float, beta_end: float) -> np.ndarray:
    """diffusers' `scaled_linear`: betas = linspace(sqrt(b0), sqrt(b1), T) ** 2 (here float64)."""
    betas = np.linspace(beta_start**0.5, beta_end**0.5, num_train_timesteps, dtype=np.float64) ** 2
    return np.cumprod(1.0 - betas)


def single_step_timesteps(spacing: str, num_train: int, steps: int, steps_offset: int) -> np.ndarray:
    """DDIMScheduler / DDPMScheduler.set_timesteps (their rule is the same)."""
    if spacing == "linspace":
        timesteps = np.linspace(0, num_train - 1, steps).round()[::-1].copy().astype(np.int64)
    elif spacing == "leading":
        ratio = num_train // steps
        timesteps = (np.arange(0, steps) * ratio).round()[::-1].copy().astype(np.int64)
        timesteps += steps_offset
    elif spacing == "trailing":
        ratio = num_train / steps
        timesteps = np.round(np.arange(num_train, 0, -ratio)).astype(np.int64)
        timesteps -= 1
    else:
        raise ValueError(f"unknown timestep_spacing {spacing!r}")
    return timesteps


def multistep_timesteps(spacing: str, num_train: int, steps: int, steps_offset: int) -> np.ndarray:
    """DPMSolverMultistepScheduler.set_timesteps: linspace/leading over N + 1 points, last dropped.

    With lambda_min_clipped = -inf nothing is clipped, so diffusers' `last_timestep` is T.
    """
    last_timestep = num_train
    if spacing == "linspace":
        timesteps = np.linspace(0, last_timestep - 1, steps + 1).round()[::-1][:-1].copy().astype(np.int64)
    elif spacing == "leading":
        ratio = last_timestep // (steps + 1)
        timesteps = (np.arange(0, steps + 1) * ratio).round()[::-1][:-1].copy().astype(np.int64)
        timesteps += steps_offset
    elif spacing == "trailing":
        ratio = num_train / steps
        timesteps = np.arange(last_timestep, 0, -ratio).round().copy().astype(np.int64)
        timesteps -= 1
    else:
        raise ValueError(f"unknown timestep_spacing {spacing!r}")
    return timesteps


def our_timestep_rule(timesteps: np.ndarray, spacing: str, steps: int) -> np.ndarray:
    """--our-deviations: trailing keeps exactly N timesteps; duplicates are dropped."""
    if spacing == "trailing":
        timesteps = timesteps[:steps]
    kept: list[int] = []
    for t in timesteps.tolist():
        if not kept or t < kept[-1]:
            kept.append(t)
    return np.array(kept, dtype=np.int64)


# --------------------------------------------------------------------------------------------
# Schedulers


class DDIM:
    """DDIMScheduler, epsilon prediction, no clipping or thresholding."""

    def __init__(self, alphas_cumprod, *, spacing, steps_offset, set_alpha_to_one, ours=False):
        self.alphas_cumprod = alphas_cumprod
        self.num_train = len(alphas_cumprod)
        self.final_alpha_cumprod = 1.0 if set_alpha_to_one else float(alphas_cumprod[0])
        self.spacing = spacing
        self.steps_offset = steps_offset
        self.ours = ours

    def set_timesteps(self, steps: int) -> None:
        if steps > self.num_train:
            raise ValueError("num_inference_steps above num_train_timesteps")
        self.num_inference_steps = steps
        timesteps = single_step_timesteps(self.spacing, self.num_train, steps, self.steps_offset)
        self.timesteps = our_timestep_rule(timesteps, self.spacing, steps) if self.ours else timesteps

    def _prev_timestep(self, t: int) -> int:
        if self.ours:
            index = int(np.nonzero(self.timesteps == t)[0][0])
            return int(self.timesteps[index + 1]) if index + 1 < len(self.timesteps) else -1
        return t - self.num_train // self.num_inference_steps

    def _alpha_prev(self, prev_t: int) -> float:
        return float(self.alphas_cumprod[prev_t]) if prev_t >= 0 else self.final_alpha_cumprod

    def _variance(self, t: int, prev_t: int) -> float:
        alpha_prod_t = float(self.alphas_cumprod[t])
        alpha_prod_t_prev = self._alpha_prev(prev_t)
        beta_prod_t = 1.0 - alpha_prod_t
        beta_prod_t_prev = 1.0 - alpha_prod_t_prev
        return (beta_prod_t_prev / beta_prod_t) * (1.0 - alpha_prod_t / alpha_prod_t_prev)

    def step(self, model_output, t, sample, *, eta=0.0, variance_noise=None):
        prev_t = self._prev_timestep(t)
        alpha_prod_t = float(self.alphas_cumprod[t])
        alpha_prod_t_prev = self._alpha_prev(prev_t)
        beta_prod_t = 1.0 - alpha_prod_t
        # epsilon parameterisation: x0 = (x - sqrt(1 - a) eps) / sqrt(a)
        pred_original = (sample - beta_prod_t**0.5 * model_output) / alpha_prod_t**0.5
        pred_epsilon = model_output
        std_dev_t = eta * self._variance(t, prev_t) ** 0.5
        # Song et al. eq. 12: "direction pointing to x_t"
        direction = (1.0 - alpha_prod_t_prev - std_dev_t**2) ** 0.5 * pred_epsilon
        prev_sample = alpha_prod_t_prev**0.5 * pred_original + direction
        if eta > 0:
            if variance_noise is None:
                raise ValueError("eta > 0 needs variance_noise")
            prev_sample = prev_sample + std_dev_t * variance_noise
        return prev_sample


class DDPM:
    """DDPMScheduler, variance_type fixed_small, epsilon prediction, no clipping."""

    def __init__(self, alphas_cumprod, *, spacing, steps_offset, ours=False):
        self.alphas_cumprod = alphas_cumprod
        self.num_train = len(alphas_cumprod)
        self.spacing = spacing
        self.steps_offset = steps_offset
        self.ours = ours

    def set_timesteps(self, steps: int) -> None:
        if steps > self.num_train:
            raise ValueError("num_inference_steps above num_train_timesteps")
        self.num_inference_steps = steps
        timesteps = single_step_timesteps(self.spacing, self.num_train, steps, self.steps_offset)
        self.timesteps = our_timestep_rule(timesteps, self.spacing, steps) if self.ours else timesteps

    def previous_timestep(self, t: int) -> int:
        """The next entry of the run after t, or -1 after the last (diffusers' previous_timestep)."""
        index = int(np.nonzero(self.timesteps == t)[0][0])
        return int(self.timesteps[index + 1]) if index + 1 < len(self.timesteps) else -1

    def _variance(self, t: int, *, clamp: bool) -> float:
        prev_t = self.previous_timestep(t)
        alpha_prod_t = float(self.alphas_cumprod[t])
        alpha_prod_t_prev = float(self.alphas_cumprod[prev_t]) if prev_t >= 0 else 1.0
        current_beta_t = 1.0 - alpha_prod_t / alpha_prod_t_prev
        # beta~_t = (1 - a_prev) / (1 - a_t) * beta_t (Ho et al. eq. 7)
        variance = (1.0 - alpha_prod_t_prev) / (1.0 - alpha_prod_t) * current_beta_t
        return max(variance, 1e-20) if clamp else variance

    def step(self, model_output, t, sample, *, variance_noise=None):
        prev_t = self.previous_timestep(t)
        alpha_prod_t = float(self.alphas_cumprod[t])
        alpha_prod_t_prev = float(self.alphas_cumprod[prev_t]) if prev_t >= 0 else 1.0
        beta_prod_t = 1.0 - alpha_prod_t
        beta_prod_t_prev = 1.0 - alpha_prod_t_prev
        current_alpha_t = alpha_prod_t / alpha_prod_t_prev
        current_beta_t = 1.0 - current_alpha_t
        pred_original = (sample - beta_prod_t**0.5 * model_output) / alpha_prod_t**0.5
        # posterior mean (Ho et al. eq. 7)
        original_coeff = (alpha_prod_t_prev**0.5 * current_beta_t) / beta_prod_t
        sample_coeff = current_alpha_t**0.5 * beta_prod_t_prev / beta_prod_t
        prev_sample = original_coeff * pred_original + sample_coeff * sample
        if self.ours:
            variance = self._variance(t, clamp=False)
            add_noise = variance > 0
        else:
            variance = self._variance(t, clamp=True)
            add_noise = t > 0
        if add_noise:
            if variance_noise is None:
                raise ValueError("a stochastic step needs variance_noise")
            prev_sample = prev_sample + variance**0.5 * variance_noise
        return prev_sample


class DPMSolverPP2M:
    """DPMSolverMultistepScheduler: dpmsolver++, order 2, midpoint, lower_order_final, epsilon."""

    LOWER_ORDER_FINAL_BELOW = 15  # diffusers: lower_order_final applies when len(timesteps) < 15

    def __init__(self, alphas_cumprod, *, spacing, steps_offset, final_sigmas_type, ours=False):
        if final_sigmas_type not in ("zero", "sigma_min"):
            raise ValueError(f"unknown final_sigmas_type {final_sigmas_type!r}")
        self.alphas_cumprod = alphas_cumprod
        self.num_train = len(alphas_cumprod)
        self.spacing = spacing
        self.steps_offset = steps_offset
        self.final_sigmas_type = final_sigmas_type
        self.ours = ours

    def set_timesteps(self, steps: int) -> None:
        timesteps = multistep_timesteps(self.spacing, self.num_train, steps, self.steps_offset)
        if self.ours:
            timesteps = our_timestep_rule(timesteps, self.spacing, steps)
        # VE sigmas sqrt((1 - a) / a), read at the (integer) timesteps; then the final sigma.
        all_sigmas = np.sqrt((1.0 - self.alphas_cumprod) / self.alphas_cumprod)
        sigmas = np.interp(timesteps, np.arange(0, len(all_sigmas)), all_sigmas)
        if self.final_sigmas_type == "sigma_min":
            a0 = float(self.alphas_cumprod[0])
            sigma_last = ((1.0 - a0) / a0) ** 0.5
        else:
            sigma_last = 0.0
        # diffusers casts these to float32 here; kept float64 (see the module docstring).
        self.sigmas = np.concatenate([sigmas, [sigma_last]]).astype(np.float64)
        self.timesteps = timesteps
        self.num_inference_steps = len(timesteps)
        self.model_outputs = [None, None]
        self.lower_order_nums = 0
        self.step_index = None

    @staticmethod
    def _alpha_sigma(sigma: float):
        """VP (alpha_t, sigma_t) of a VE sigma: alpha = 1 / sqrt(sigma^2 + 1), sigma_t = sigma * alpha."""
        alpha_t = 1.0 / np.sqrt(np.float64(sigma) ** 2 + 1.0)
        return alpha_t, np.float64(sigma) * alpha_t

    @staticmethod
    def _lambda(alpha_t, sigma_t):
        # log(0) = -inf at the final sigma 0: lambda = +inf, h = +inf, exp(-h) = 0.
        with np.errstate(divide="ignore"):
            return np.log(alpha_t) - np.log(sigma_t)

    def _first_order(self, m0, sample):
        alpha_t, sigma_t = self._alpha_sigma(self.sigmas[self.step_index + 1])
        alpha_s, sigma_s = self._alpha_sigma(self.sigmas[self.step_index])
        h = self._lambda(alpha_t, sigma_t) - self._lambda(alpha_s, sigma_s)
        return (sigma_t / sigma_s) * sample - (alpha_t * (np.exp(-h) - 1.0)) * m0

    def _second_order_midpoint(self, sample):
        alpha_t, sigma_t = self._alpha_sigma(self.sigmas[self.step_index + 1])
        alpha_s0, sigma_s0 = self._alpha_sigma(self.sigmas[self.step_index])
        alpha_s1, sigma_s1 = self._alpha_sigma(self.sigmas[self.step_index - 1])
        lambda_t = self._lambda(alpha_t, sigma_t)
        lambda_s0 = self._lambda(alpha_s0, sigma_s0)
        lambda_s1 = self._lambda(alpha_s1, sigma_s1)
        m0, m1 = self.model_outputs[-1], self.model_outputs[-2]
        h, h_0 = lambda_t - lambda_s0, lambda_s0 - lambda_s1
        r0 = h_0 / h
        d0, d1 = m0, (1.0 / r0) * (m0 - m1)
        phi = alpha_t * (np.exp(-h) - 1.0)
        return (sigma_t / sigma_s0) * sample - phi * d0 - 0.5 * phi * d1

    def step(self, model_output, t, sample):
        if self.step_index is None:
            self.step_index = int(np.nonzero(self.timesteps == t)[0][0])
        last = self.step_index == len(self.timesteps) - 1
        lower_order_final = last and (
            len(self.timesteps) < self.LOWER_ORDER_FINAL_BELOW or self.final_sigmas_type == "zero"
        )
        # convert_model_output: the data prediction x0 = (x - sigma_t eps) / alpha_t
        alpha_s, sigma_s = self._alpha_sigma(self.sigmas[self.step_index])
        x0 = (sample - sigma_s * model_output) / alpha_s
        self.model_outputs = [self.model_outputs[1], x0]
        if self.lower_order_nums < 1 or lower_order_final:
            prev_sample = self._first_order(x0, sample)
        else:
            prev_sample = self._second_order_midpoint(sample)
        if self.lower_order_nums < 2:
            self.lower_order_nums += 1
        self.step_index += 1
        return prev_sample


# --------------------------------------------------------------------------------------------
# Cases


def model(x: np.ndarray, t: int, *, float64: bool = False) -> np.ndarray:
    """The test's stand-in denoiser, 0.8 tanh(x_i) + 0.0003 t + 0.01 (i mod 3): float32 latent in,
    float32 output (evaluated in float64 in between, as the test's Math.tanh does), unless float64."""
    if not float64:
        x = x.astype(np.float32).astype(np.float64)
    out = 0.8 * np.tanh(x) + 0.0003 * t + 0.01 * (np.arange(x.shape[0]) % 3)
    return out if float64 else out.astype(np.float32).astype(np.float64)


def make_scheduler(options: dict, alphas_cumprod: np.ndarray, *, ours: bool):
    sampler = options["sampler"]
    spacing = options.get("spacing", "trailing")
    steps_offset = options.get("stepsOffset", 0)
    set_alpha_to_one = options.get("setAlphaToOne", True)
    eta = options.get("eta", 0.0)
    if sampler != "ddim" and eta != 0:
        raise ValueError("eta applies to DDIM only")
    if sampler == "ddim":
        return DDIM(
            alphas_cumprod,
            spacing=spacing,
            steps_offset=steps_offset,
            set_alpha_to_one=set_alpha_to_one,
            ours=ours,
        )
    if sampler == "ddpm":
        if not set_alpha_to_one:
            raise ValueError("DDPMScheduler always lands on alpha_cumprod = 1")
        return DDPM(alphas_cumprod, spacing=spacing, steps_offset=steps_offset, ours=ours)
    if sampler == "dpmpp2m":
        final = "zero" if set_alpha_to_one else "sigma_min"
        return DPMSolverPP2M(
            alphas_cumprod, spacing=spacing, steps_offset=steps_offset, final_sigmas_type=final, ours=ours
        )
    raise ValueError(f"unknown sampler {sampler!r}")


def run_case(case: dict, initial_noise: np.ndarray, alphas_cumprod: np.ndarray, *, ours=False, float64_model=False):
    """A diffusers pipeline's denoising loop (init_noise_sigma = 1, scale_model_input = identity)."""
    options = case["options"]
    scheduler = make_scheduler(options, alphas_cumprod, ours=ours)
    scheduler.set_timesteps(options["steps"])
    timesteps = [int(t) for t in scheduler.timesteps]
    # diffusers itself misbehaves here (e.g. a trailing run of N + 1 ending in -1, which numpy would
    # silently index as the last timestep): such a case cannot be compared the diffusers way.
    if any(b >= a for a, b in zip(timesteps, timesteps[1:])) or not 0 <= timesteps[-1] <= timesteps[0] < len(
        alphas_cumprod
    ):
        raise ValueError(
            f"{case['name']}: diffusers' timesteps {timesteps} are not strictly decreasing in [0, T);"
            " pick another case (or see --our-deviations)"
        )
    step_noise = [np.asarray(z, dtype=np.float64) for z in case["stepNoise"]]
    x = initial_noise.copy()
    for k, t in enumerate(timesteps):
        eps = model(x, t, float64=float64_model)
        if isinstance(scheduler, DDIM):
            eta = options.get("eta", 0.0)
            noise = step_noise[k] if eta > 0 else None
            x = scheduler.step(eps, t, x, eta=eta, variance_noise=noise)
        elif isinstance(scheduler, DDPM):
            x = scheduler.step(eps, t, x, variance_noise=step_noise[k])
        else:
            x = scheduler.step(eps, t, x)
    return x, timesteps


def prettier_json(expected: dict[str, list[float]], width: int = 110) -> str:
    """JSON laid out as prettier lays it out (repository printWidth 110), so format:check stays clean:
    an expanded top-level object; a number array on one line if it fits, else greedily filled."""
    lines = ["{"]
    items = list(expected.items())
    for n, (name, values) in enumerate(items):
        key = json.dumps(name, ensure_ascii=False)
        comma = "," if n + 1 < len(items) else ""
        numbers = [json.dumps(v) for v in values]
        one_line = f"  {key}: [{', '.join(numbers)}]{comma}"
        if len(one_line) <= width:
            lines.append(one_line)
            continue
        lines.append(f"  {key}: [")
        line = ""
        for i, number in enumerate(numbers):
            token = number + ("," if i + 1 < len(numbers) else "")
            if line and len(line) + 1 + len(token) <= width:
                line += " " + token
            else:
                if line:
                    lines.append(line)
                line = "    " + token
        lines.append(line)
        lines.append(f"  ]{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--noise", type=Path, default=NOISE_FILE, help="input (default: %(default)s)")
    parser.add_argument(
        "--out", type=Path, help=f"output (default: {EXPECTED_FILE.name}; with a diagnostic flag: none)"
    )
    parser.add_argument("--our-deviations", action="store_true", help="use our documented deviations")
    parser.add_argument("--float64-model", action="store_true", help="float64 model input and output")
    parser.add_argument("--compare", type=Path, help="a {case: [numbers]} JSON to diff against")
    args = parser.parse_args(argv)

    data = json.loads(args.noise.read_text(encoding="utf-8"))
    sched = data["schedule"]
    if sched["betaSchedule"] != "scaled_linear":
        raise ValueError("only the scaled_linear schedule is implemented")
    alphas_cumprod = scaled_linear_alphas_cumprod(sched["numTrainTimesteps"], sched["betaStart"], sched["betaEnd"])
    initial_noise = np.asarray(data["initialNoise"]["values"], dtype=np.float64)
    if list(data["shape"]) != [1, initial_noise.shape[0]]:
        raise ValueError("expected a batch of one sample")
    compare = json.loads(args.compare.read_text(encoding="utf-8")) if args.compare else None

    expected: dict[str, list[float]] = {}
    rows = []
    for case in data["cases"]:
        name = case["name"]
        out, timesteps = run_case(
            case, initial_noise, alphas_cumprod, ours=args.our_deviations, float64_model=args.float64_model
        )
        expected[name] = [float(v) for v in out]
        reference, _ = run_case(case, initial_noise, alphas_cumprod)
        ours_way, _ = run_case(case, initial_noise, alphas_cumprod, ours=True)
        float64_model, _ = run_case(case, initial_noise, alphas_cumprod, float64_model=True)
        row = {
            "name": name,
            "same_timesteps": timesteps == list(case["ourTimesteps"]),
            "deviations": float(np.max(np.abs(ours_way - reference))),
            "float64_model": float(np.max(np.abs(float64_model - reference))),
        }
        if compare is not None and name in compare:
            row["compare"] = float(np.max(np.abs(out - np.asarray(compare[name], dtype=np.float64))))
        rows.append(row)
        print(f"{name}\n    timesteps {timesteps}\n    x = {np.array2string(out, precision=10)}")

    out_path = args.out
    if out_path is None and not (args.our_deviations or args.float64_model):
        out_path = EXPECTED_FILE
    if out_path is not None:
        out_path.write_text(prettier_json(expected), encoding="utf-8")
        print(f"\nwrote {len(expected)} cases to {out_path}\n")
    else:
        print("\n(diagnostic run: nothing written; pass --out to write)\n")
    # ts==ours: diffusers' timesteps equal ours; |deviations|, |f64 model|: max |change| of the
    # result under --our-deviations and --float64-model; |vs FILE|: max |result - FILE|.
    header = f"{'case':<72} {'ts==ours':>8} {'|deviations|':>12} {'|f64 model|':>11}"
    if compare is not None:
        header += f" {'|vs ' + args.compare.name + '|':>12}"
    print(header)
    for row in rows:
        line = (
            f"{row['name']:<72} {str(row['same_timesteps']):>8} {row['deviations']:>12.2e}"
            f" {row['float64_model']:>11.2e}"
        )
        if "compare" in row:
            line += f" {row['compare']:>12.2e}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
