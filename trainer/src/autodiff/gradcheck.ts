/**
 * Gradient checking: builds the training graph of a forward model, runs it in onnxruntime-node
 * (float32), and compares every requested gradient coordinate with a central finite difference
 * of the loss computed by the float64 reference interpreter. Both sides see the same inputs
 * (rounded to float32 once), so a mismatch is the backward graph's fault, not the data's.
 * The error reported per input is max|g_ort − g_fd| divided by max|g_fd| over the checked
 * coordinates — a scale-relative error that does not blow up at coordinates whose true
 * gradient is near zero.
 */
import { buildGradientGraph, gradientName, type GradientGraphOptions } from './gradient';
import { DataType, type OnnxTypes as onnx, type TensorData } from '@maskunet/gpu-runner';
import { modelSession } from './model-session';
import { ReferenceModel, type RefTensor } from './reference';

/** A small deterministic PRNG (mulberry32) with uniform and normal draws. */
export interface Rng {
  uniform(): number;
  normal(): number;
  /** An integer in [0, n). */
  int(n: number): number;
}

export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform,
    normal: () => {
      const u = Math.max(uniform(), 1e-12);
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
    },
    int: (n) => Math.floor(uniform() * n),
  };
}

export interface GradCheckOptions extends GradientGraphOptions {
  /** A value for every graph input (float inputs are rounded to float32 for both sides). */
  readonly feeds: Readonly<Record<string, RefTensor>>;
  /** Finite-difference step (default 1e-3). */
  readonly eps?: number;
  /** At most this many coordinates per `wrt` input, drawn at random (default: all). */
  readonly maxProbes?: number;
  /** Seed of the coordinate draw (default 1). */
  readonly seed?: number;
  /** onnxruntime intra-op threads (default 1). */
  readonly threads?: number;
}

export interface InputCheck {
  readonly name: string;
  /** Coordinates compared. */
  readonly checked: number;
  /** max |g_ort − g_fd| over checked coordinates. */
  readonly maxAbsError: number;
  /** max |g_fd| over checked coordinates. */
  readonly scale: number;
  /** maxAbsError / max(scale, 1e-12). */
  readonly relativeError: number;
}

export interface GradCheckResult {
  readonly lossOrt: number;
  readonly lossReference: number;
  readonly inputs: readonly InputCheck[];
  /** The training graph that was checked (for inspection in tests). */
  readonly trainingModel: onnx.IModelProto;
}

function toFloat32(t: RefTensor): RefTensor {
  return t.kind === 'float' ? { ...t, data: Float64Array.from(Float32Array.from(t.data)) } : t;
}

function toHost(t: RefTensor, elemType: number | null | undefined): TensorData {
  if (elemType === DataType.INT64 || (elemType == null && t.kind === 'int')) {
    return { type: 'int64', dims: t.dims, data: BigInt64Array.from(t.data, (v) => BigInt(Math.trunc(v))) };
  }
  if (elemType === DataType.BOOL || (elemType == null && t.kind === 'bool')) {
    return { type: 'bool', dims: t.dims, data: Uint8Array.from(t.data) };
  }
  return { type: 'float32', dims: t.dims, data: Float32Array.from(t.data) };
}

/** Compares onnxruntime gradients with float64 central differences. */
export async function checkGradients(
  model: onnx.IModelProto,
  options: GradCheckOptions,
): Promise<GradCheckResult> {
  const trainingModel = buildGradientGraph(model, options);
  const feeds: Record<string, RefTensor> = {};
  for (const [name, t] of Object.entries(options.feeds)) feeds[name] = toFloat32(t);
  const types = new Map((model.graph?.input ?? []).map((v) => [v.name ?? '', v.type?.tensorType?.elemType]));
  const hostFeeds: Record<string, TensorData> = {};
  for (const [name, t] of Object.entries(feeds)) hostFeeds[name] = toHost(t, types.get(name));

  const session = await modelSession(trainingModel, { threads: options.threads ?? 1 });
  let results: Record<string, TensorData>;
  try {
    results = await session.run(hostFeeds, [options.loss, ...options.wrt.map(gradientName)]);
  } finally {
    await session.release();
  }

  const reference = new ReferenceModel(model);
  const lossAt = (env: Record<string, RefTensor>): number =>
    reference.run(env, [options.loss])[0]?.data[0] ?? NaN;
  const eps = options.eps ?? 1e-3;
  const rng = createRng(options.seed ?? 1);
  const inputs = options.wrt.map((name): InputCheck => {
    const base = feeds[name];
    const ort = results[gradientName(name)];
    if (!base || !ort) throw new TypeError(`no feed or gradient for '${name}'`);
    const count = base.data.length;
    const probes = options.maxProbes ?? count;
    const indices =
      probes >= count ? [...Array(count).keys()] : Array.from({ length: probes }, () => rng.int(count));
    let maxAbsError = 0;
    let scale = 0;
    for (const i of indices) {
      const data = Float64Array.from(base.data);
      const at = data[i] ?? 0;
      data[i] = at + eps;
      const plus = lossAt({ ...feeds, [name]: { ...base, data } });
      data[i] = at - eps;
      const minus = lossAt({ ...feeds, [name]: { ...base, data } });
      const fd = (plus - minus) / (2 * eps);
      maxAbsError = Math.max(maxAbsError, Math.abs(fd - Number(ort.data[i] ?? NaN)));
      scale = Math.max(scale, Math.abs(fd));
    }
    return {
      name,
      checked: indices.length,
      maxAbsError,
      scale,
      relativeError: maxAbsError / Math.max(scale, 1e-12),
    };
  });
  return {
    lossOrt: Number(results[options.loss]?.data[0] ?? NaN),
    lossReference: lossAt(feeds),
    inputs,
    trainingModel,
  };
}
