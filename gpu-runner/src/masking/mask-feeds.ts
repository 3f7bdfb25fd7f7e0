/**
 * Turning bank masks into the tensors a rewritten graph takes. A bank stores each layer's
 * mask `[out, in]`; the graph wants the weight's stored orientation, so masks are transposed
 * once when prepared (and cached that way), not per call. A batch whose samples all use the
 * same prepared masks gets one shared 2-D mask per layer; otherwise per-sample `[B, …]` masks.
 */
import { ModelError } from '../onnx/errors';
import type { MaskInput } from './rewrite';

/** One bucket's masks for one model, per mask input, in stored orientation. */
export type PreparedMasks = readonly Uint8Array[];

export interface MaskTensor {
  readonly data: Uint8Array;
  readonly dims: readonly number[];
}

function transpose(mask: Uint8Array, rows: number, cols: number): Uint8Array {
  const out = new Uint8Array(mask.length);
  // Blocked so both the reads and the writes stay within cache lines for wide layers.
  const block = 64;
  for (let r0 = 0; r0 < rows; r0 += block) {
    const r1 = Math.min(rows, r0 + block);
    for (let c0 = 0; c0 < cols; c0 += block) {
      const c1 = Math.min(cols, c0 + block);
      for (let r = r0; r < r1; r++) {
        const rowBase = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = mask[rowBase + c]!;
      }
    }
  }
  return out;
}

/**
 * Prepares one bucket's `[out, in]` layer masks (in layout order, matching `inputs`).
 * @throws RangeError when counts or sizes do not match.
 */
export function prepareMasks(inputs: readonly MaskInput[], masks: readonly Uint8Array[]): PreparedMasks {
  if (masks.length !== inputs.length)
    throw new RangeError(`masks: ${masks.length} layers for ${inputs.length} mask inputs`);
  return inputs.map((input, i) => {
    const mask = masks[i]!;
    const [d0, d1] = input.storedShape;
    if (mask.length !== d0 * d1)
      throw new RangeError(`masks[${i}] (${input.layer}) has ${mask.length} values, expected ${d0 * d1}`);
    // Stored [in, out] = transpose of the bank's [out, in] (rows = out = d1).
    return input.transposed ? transpose(mask, d1, d0) : mask;
  });
}

/** All-ones masks: the unmasked base model through the rewritten graph. */
export function onesMasks(inputs: readonly MaskInput[]): PreparedMasks {
  return inputs.map((input) => new Uint8Array(input.storedShape[0] * input.storedShape[1]).fill(1));
}

/** Bytes held by prepared masks. */
export function preparedBytes(masks: PreparedMasks): number {
  return masks.reduce((total, mask) => total + mask.length, 0);
}

/**
 * Mask tensors for a batch: `perSample[i]` is sample i's prepared masks. Identical objects for
 * every sample give shared 2-D masks (no copy); otherwise `[B, d0, d1]` tensors.
 * @throws ModelError `bad_config` when per-sample masks are needed for a layer whose consumer
 *   is a Gemm (which cannot batch weights).
 */
export function maskFeeds(
  inputs: readonly MaskInput[],
  perSample: readonly PreparedMasks[],
): Map<string, MaskTensor> {
  if (perSample.length === 0) throw new RangeError('perSample needs at least one sample');
  const first = perSample[0]!;
  const shared = perSample.every((masks) => masks === first);
  const feeds = new Map<string, MaskTensor>();
  inputs.forEach((input, layer) => {
    const [d0, d1] = input.storedShape;
    if (shared) {
      feeds.set(input.input, { data: first[layer]!, dims: [d0, d1] });
      return;
    }
    if (!input.perSample) {
      throw new ModelError(
        'bad_config',
        `layer ${input.layer} is a Gemm weight: one batch cannot mix its masks`,
      );
    }
    const size = d0 * d1;
    const data = new Uint8Array(size * perSample.length);
    perSample.forEach((masks, sample) => data.set(masks[layer]!, sample * size));
    feeds.set(input.input, { data, dims: [perSample.length, d0, d1] });
  });
  return feeds;
}
