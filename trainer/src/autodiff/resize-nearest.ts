/**
 * The index arithmetic of ONNX `Resize` in `nearest` mode (opset 11–17 semantics), shared by the
 * float64 reference evaluator and the gradient rule. The rule only accepts attribute
 * combinations under which an integer scale `s` copies input element `i` to exactly the output
 * block `[i·s, (i+1)·s)` — then the gradient is a sum-pool with window and stride `s`. Whether a
 * combination has that property is checked by running this same arithmetic, so the rule and the
 * reference cannot disagree about it.
 */

/** The input index output index `out` reads, for one axis. */
export function nearestSourceIndex(
  out: number,
  scale: number,
  inLength: number,
  outLength: number,
  coordinateMode: string,
  nearestMode: string,
): number {
  let x: number;
  switch (coordinateMode) {
    case 'asymmetric':
      x = out / scale;
      break;
    case 'align_corners':
      x = outLength === 1 ? 0 : (out * (inLength - 1)) / (outLength - 1);
      break;
    case 'pytorch_half_pixel':
      x = outLength > 1 ? (out + 0.5) / scale - 0.5 : 0;
      break;
    case 'tf_half_pixel_for_nn':
      x = (out + 0.5) / scale;
      break;
    default: // half_pixel
      x = (out + 0.5) / scale - 0.5;
  }
  let i: number;
  switch (nearestMode) {
    case 'floor':
      i = Math.floor(x);
      break;
    case 'ceil':
      i = Math.ceil(x);
      break;
    case 'round_prefer_ceil':
      i = Math.round(x);
      break;
    default: // round_prefer_floor
      i = Number.isInteger(x - 0.5) ? Math.floor(x) : Math.round(x);
  }
  return Math.min(Math.max(i, 0), inLength - 1);
}

/** True when integer `scale` maps output index `o` to input `floor(o / scale)` for every o. */
export function isBlockNearest(scale: number, coordinateMode: string, nearestMode: string): boolean {
  if (!Number.isInteger(scale) || scale < 1) return false;
  for (const inLength of [1, 2, 3, 5]) {
    const outLength = inLength * scale;
    for (let o = 0; o < outLength; o++) {
      const src = nearestSourceIndex(o, scale, inLength, outLength, coordinateMode, nearestMode);
      if (src !== Math.floor(o / scale)) return false;
    }
  }
  return true;
}
