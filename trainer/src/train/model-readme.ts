/**
 * The README of an exported base-model package: how it was made (every training invocation,
 * the export command, data versions, steps, wall time) and what the run measured (training and
 * held-out loss), from the run's own record — so the numbers beside the weights are the ones
 * the trainer wrote, never typed by hand.
 */
import type { BaseRecipe, GenerationDefaults } from '../models/emoji32';
import type { Invocation, TrainingRecord } from './base-trainer';

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

/** Markdown for `README.md` beside `model.json`. */
export function modelReadme(
  record: TrainingRecord & { readonly invocations: readonly Invocation[] },
  exportedStep: number,
  generation: GenerationDefaults,
  recipe: BaseRecipe,
  exportCommand?: string,
): string {
  const invocations = record.invocations;
  const tail = record.lossCurve.slice(-10);
  const lastTrainLoss = mean(tail.map((p) => p.loss));
  const secondsPerStep = record.step > 0 ? record.wallSeconds / record.step : 0;
  const data = Object.entries(record.data)
    .map(([key, value]) => `${key} ${String(value)}`)
    .join(', ');
  const lines = [
    `# ${recipe.modelId}`,
    '',
    'A text-conditioned pixel-space U-Net (32×32 RGB, diffusers UNet2DConditionModel layout with',
    'cross-attention) and its text encoder, trained from scratch by this project on emoji.',
    `Written by \`${exportCommand ?? 'maskunet train export'}\` from the run's checkpoint at step`,
    `${exportedStep} (EMA weights). Everything below comes from the run's record (\`training.json\`).`,
    '',
    '## Training',
    '',
    '| invocation | from step | total steps | started |',
    '|---|---:|---:|---|',
    ...invocations.map((i) => `| \`${i.command}\` | ${i.fromStep} | ${i.totalSteps} | ${i.startedAt} |`),
    '',
    `- Parameters: U-Net ${record.parameters.unet.toLocaleString('en-US')}, text encoder ${record.parameters.textEncoder.toLocaleString('en-US')}.`,
    `- Data: ${data}.`,
    `- Steps: ${record.step}, ${(record.wallSeconds / 3600).toFixed(2)} h of steps (${secondsPerStep.toFixed(2)} s/step on average, on the machine that ran it).`,
    `- Recipe ${recipe.name}: ${recipe.predictionType} prediction, ${recipe.betaSchedule} betas${recipe.rescaleBetasZeroSnr ? ' rescaled to zero terminal SNR' : ''}, loss weighting ${recipe.lossWeighting.kind}${'gamma' in recipe.lossWeighting ? ` (γ = ${recipe.lossWeighting.gamma})` : ''}.`,
    `- Training loss (${recipe.predictionType} MSE${recipe.lossWeighting.kind === 'uniform' ? '' : ', weighted'}, mean of the last ${tail.length} logged windows): ${lastTrainLoss.toFixed(4)}.`,
    '',
    '| step | held-out loss (EMA weights) |',
    '|---:|---:|',
    ...record.heldoutLoss.map((h) => `| ${h.step} | ${h.loss.toFixed(4)} |`),
    '',
    '## Generation defaults',
    '',
    `\`model.json\` recommends ${generation.sampler}, ${generation.steps} steps, guidance ${generation.guidance}`,
    '(what the worker and `maskunet generate` use when a request names none).',
    '',
  ];
  return lines.join('\n');
}
