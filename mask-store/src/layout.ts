/**
 * Mask layouts: the ordered table of masked layers `{name, shape: [out, in]}` that a bank's
 * sections follow, and its SHA-256 layout hash. Names are PyTorch module paths
 * (`up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q`); shapes are in PyTorch's
 * `[out, in]` order whatever layout the ONNX initializer uses. Two banks can be compared,
 * diffed or served by one runner only when their layout hashes match.
 */
import { MaskFormatError } from './errors';
import { sha256Hex } from './hash';
import { checkLimit, resolveLimits, type MaskLimits } from './limits';

export interface MaskLayer {
  /** Module path of the Linear layer, without the trailing `.weight`. */
  readonly name: string;
  /** `[out, in]`, PyTorch order. */
  readonly shape: readonly [number, number];
}

export interface MaskLayout {
  readonly layers: readonly MaskLayer[];
}

/** Characters allowed in a layer name: module paths, nothing that could break a line format. */
const LAYER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:/-]*$/;

/** Number of weights in a layer. */
export function layerSize(layer: MaskLayer): number {
  return layer.shape[0] * layer.shape[1];
}

/** Weights in one bucket: the sum of all layer sizes. */
export function layoutSize(layout: MaskLayout): number {
  let total = 0;
  for (const layer of layout.layers) total += layerSize(layer);
  return total;
}

/**
 * Checks names, shapes, uniqueness and limits, returning a frozen copy.
 * @throws MaskFormatError `bad_layout` for a malformed layout, `limit_exceeded` past a limit.
 */
export function validateLayout(layout: unknown, limits?: Partial<MaskLimits>): MaskLayout {
  const resolved = resolveLimits(limits);
  if (typeof layout !== 'object' || layout === null || !Array.isArray((layout as MaskLayout).layers)) {
    throw new MaskFormatError('bad_layout', 'a layout is an object with a "layers" array');
  }
  const layers = (layout as { layers: unknown[] }).layers;
  if (layers.length === 0) throw new MaskFormatError('bad_layout', 'a layout needs at least one layer');
  checkLimit('layer count', layers.length, resolved.maxLayers);
  const seen = new Set<string>();
  const out: MaskLayer[] = [];
  let total = 0;
  layers.forEach((entry, index) => {
    if (typeof entry !== 'object' || entry === null) {
      throw new MaskFormatError('bad_layout', `layers[${index}] is not an object`);
    }
    const { name, shape } = entry as { name?: unknown; shape?: unknown };
    if (typeof name !== 'string' || !LAYER_NAME.test(name)) {
      throw new MaskFormatError(
        'bad_layout',
        `layers[${index}].name is not a module path: ${JSON.stringify(name)}`,
      );
    }
    checkLimit(`length of layer name ${name}`, name.length, resolved.maxNameLength);
    if (seen.has(name)) throw new MaskFormatError('bad_layout', `layer ${name} appears twice`);
    seen.add(name);
    if (
      !Array.isArray(shape) ||
      shape.length !== 2 ||
      !shape.every((d): d is number => Number.isSafeInteger(d) && (d as number) > 0)
    ) {
      throw new MaskFormatError('bad_layout', `layer ${name} needs shape [out, in] of positive integers`);
    }
    const [rows, cols] = shape as [number, number];
    checkLimit(`size of layer ${name}`, rows * cols, resolved.maxLayerElements);
    total += rows * cols;
    out.push(Object.freeze({ name, shape: Object.freeze([rows, cols] as const) }));
  });
  checkLimit('weights per bucket', total, resolved.maxBucketElements);
  return Object.freeze({ layers: Object.freeze(out) });
}

/**
 * Canonical text of a layout, the input of its hash: a version line, then one
 * `name<TAB>out<TAB>in` line per layer in order. Names cannot hold tabs or newlines.
 */
export function canonicalLayoutText(layout: MaskLayout): string {
  let text = 'maskunet-layout-v1\n';
  for (const layer of layout.layers) text += `${layer.name}\t${layer.shape[0]}\t${layer.shape[1]}\n`;
  return text;
}

/** SHA-256 hex of {@link canonicalLayoutText}. */
export async function layoutHash(layout: MaskLayout): Promise<string> {
  return sha256Hex(new TextEncoder().encode(canonicalLayoutText(layout)));
}

/**
 * Parses the layout JSON file format `{"layers":[{"name":"...","shape":[out,in]}, ...]}`.
 * Extra fields on layers (an exporter's initializer name, transposition) are ignored.
 * @throws MaskFormatError `bad_layout` for invalid JSON or content.
 */
export function parseLayoutJson(text: string, limits?: Partial<MaskLimits>): MaskLayout {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new MaskFormatError('bad_layout', `layout is not JSON: ${(error as Error).message}`);
  }
  return validateLayout(parsed, limits);
}

/** The layout JSON file format for `layout`, one layer per line. */
export function formatLayoutJson(layout: MaskLayout): string {
  const lines = layout.layers.map((l) => `    ${JSON.stringify({ name: l.name, shape: l.shape })}`);
  return `{\n  "layers": [\n${lines.join(',\n')}\n  ]\n}\n`;
}

/** True when both layouts list the same names and shapes in the same order. */
export function sameLayout(a: MaskLayout, b: MaskLayout): boolean {
  return canonicalLayoutText(a) === canonicalLayoutText(b);
}
