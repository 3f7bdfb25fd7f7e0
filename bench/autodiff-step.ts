/**
 * Micro-benchmark of one training step (a program, not a test):
 * `npx tsx bench/autodiff-step.ts [--batch 16] [--runs 5] [--threads 1] [--profile]`.
 *
 * Builds by hand a mid-size U-Net-like network (~1M parameters, 4×32×32 latents: conv_in, two
 * ResNet blocks with GroupNorm/SiLU and a timestep MLP, a stride-2 downsample, a transformer
 * block at 16×16 with 4-head attention and a GEGLU feed-forward, nearest ×2 upsampling, a skip
 * concat, conv_out) with parameters as graph inputs, appends the MSE loss, differentiates it
 * with `buildGradientGraph`, and times one onnxruntime-node run of the forward+loss graph
 * against one run of the training graph (forward + backward + all parameter gradients) at the
 * given batch: median, min and max of `--runs` runs after two warm-ups, alternating the two so
 * load from other processes hits both alike. Besides wall time it reports the process CPU time
 * (user + system) of each run: on a shared machine that is the steadier measure of the work
 * done, provided onnxruntime runs one intra-op thread (the default here; more threads add
 * spin-waiting to CPU time). `--profile` adds onnxruntime's per-op-type kernel time for two
 * training runs, split into forward and backward nodes. Prints tables on stdout.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { OnnxTypes as onnx, TensorData } from '@maskunet/gpu-runner';
import { appendMseLoss, buildGradientGraph, createRng, ModelKit, modelSession } from '@maskunet/trainer';

interface Args {
  batch: number;
  runs: number;
  threads: number;
  profile: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { batch: 16, runs: 5, threads: 1, profile: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = Number(argv[i + 1]);
    if (flag === '--profile') args.profile = true;
    else if (flag === '--batch' || flag === '--runs' || flag === '--threads') {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`${flag} needs a positive integer`);
      args[flag.slice(2) as 'batch' | 'runs' | 'threads'] = value;
      i++;
    } else throw new RangeError(`unknown argument ${flag}`);
  }
  return args;
}

interface Net {
  model: onnx.IModelProto;
  params: Map<string, { dims: number[]; data: Float32Array }>;
}

/** The benchmark network; parameters are graph inputs named like diffusers modules. */
function buildNet(seed: number): Net {
  const rng = createRng(seed);
  const k = new ModelKit(17, 'bench_unet');
  const params: Net['params'] = new Map();
  const param = (
    name: string,
    dims: number[],
    fanIn: number,
    init: 'normal' | 'ones' | 'zeros' = 'normal',
  ): string => {
    k.input(name, dims);
    const count = dims.reduce((a, b) => a * b, 1);
    const std = 1 / Math.sqrt(fanIn);
    const data = Float32Array.from({ length: count }, () =>
      init === 'ones' ? 1 : init === 'zeros' ? 0 : std * rng.normal(),
    );
    params.set(name, { dims, data });
    return name;
  };
  const silu = (v: string): string => k.op('Mul', [v, k.op('Sigmoid', [v])]);
  const conv = (v: string, name: string, cin: number, cout: number, stride = 1): string =>
    k.op(
      'Conv',
      [v, param(`${name}.weight`, [cout, cin, 3, 3], cin * 9), param(`${name}.bias`, [cout], cin * 9)],
      {
        pads: [1, 1, 1, 1],
        strides: [stride, stride],
      },
    );
  const groupNorm = (v: string, name: string, channels: number, groups = 8): string => {
    const grouped = k.op('Reshape', [v, k.ints([0, groups, -1])]);
    const d = k.op('Sub', [grouped, k.op('ReduceMean', [grouped], { axes: [2], keepdims: 1 })]);
    const variance = k.op('ReduceMean', [k.op('Mul', [d, d])], { axes: [2], keepdims: 1 });
    const normed = k.op('Div', [d, k.op('Sqrt', [k.op('Add', [variance, k.scalar(1e-5)])])]);
    const back = k.op('Reshape', [normed, k.op('Shape', [v])]);
    const gamma = param(`${name}.weight`, [channels, 1, 1], 1, 'ones');
    return k.op('Add', [k.op('Mul', [back, gamma]), param(`${name}.bias`, [channels, 1, 1], 1, 'zeros')]);
  };
  const linear = (v: string, name: string, cin: number, cout: number): string =>
    k.op('Add', [
      k.op('MatMul', [v, param(`${name}.weight`, [cin, cout], cin)]),
      param(`${name}.bias`, [cout], cin),
    ]);
  const resnet = (v: string, temb: string, name: string, cin: number, cout: number): string => {
    let h = conv(silu(groupNorm(v, `${name}.norm1`, cin)), `${name}.conv1`, cin, cout);
    const t = linear(silu(temb), `${name}.time_emb_proj`, 128, cout);
    h = k.op('Add', [h, k.op('Unsqueeze', [t, k.ints([2, 3])])]);
    h = conv(silu(groupNorm(h, `${name}.norm2`, cout)), `${name}.conv2`, cout, cout);
    const skip =
      cin === cout
        ? v
        : k.op('Conv', [
            v,
            param(`${name}.conv_shortcut.weight`, [cout, cin, 1, 1], cin),
            param(`${name}.conv_shortcut.bias`, [cout], cin),
          ]);
    return k.op('Add', [skip, h]);
  };
  const layerNorm = (v: string, name: string, dim: number): string => {
    const d = k.op('Sub', [v, k.op('ReduceMean', [v], { axes: [-1], keepdims: 1 })]);
    const variance = k.op('ReduceMean', [k.op('Pow', [d, k.scalar(2)])], { axes: [-1], keepdims: 1 });
    const normed = k.op('Div', [d, k.op('Sqrt', [k.op('Add', [variance, k.scalar(1e-5)])])]);
    return k.op('Add', [
      k.op('Mul', [normed, param(`${name}.weight`, [dim], 1, 'ones')]),
      param(`${name}.bias`, [dim], 1, 'zeros'),
    ]);
  };
  const transformer = (v: string, name: string, dim: number, side: number, heads: number): string => {
    const headDim = dim / heads;
    const tokens = k.op('Transpose', [k.op('Reshape', [v, k.ints([0, dim, side * side])])], {
      perm: [0, 2, 1],
    });
    const n1 = layerNorm(tokens, `${name}.norm1`, dim);
    const split = (t: string): string =>
      k.op('Transpose', [k.op('Reshape', [t, k.ints([0, -1, heads, headDim])])], { perm: [0, 2, 1, 3] });
    const proj = (p: string): string =>
      k.op('MatMul', [n1, param(`${name}.attn1.${p}.weight`, [dim, dim], dim)]);
    const q = split(proj('to_q'));
    const kk = split(proj('to_k'));
    const vv = split(proj('to_v'));
    const scores = k.op('Mul', [
      k.op('MatMul', [q, k.op('Transpose', [kk], { perm: [0, 1, 3, 2] })]),
      k.scalar(1 / Math.sqrt(headDim)),
    ]);
    const attended = k.op('MatMul', [k.op('Softmax', [scores], { axis: -1 }), vv]);
    const merged = k.op('Reshape', [
      k.op('Transpose', [attended], { perm: [0, 2, 1, 3] }),
      k.ints([0, -1, dim]),
    ]);
    const h = k.op('Add', [tokens, linear(merged, `${name}.attn1.to_out.0`, dim, dim)]);
    const [x, gate] = k.opMulti(
      'Split',
      [linear(layerNorm(h, `${name}.norm3`, dim), `${name}.ff.net.0.proj`, dim, 4 * dim)],
      2,
      {
        axis: -1,
      },
    );
    const gelu = k.op('Mul', [
      k.op('Mul', [gate ?? '', k.scalar(0.5)]),
      k.op('Add', [k.op('Erf', [k.op('Mul', [gate ?? '', k.scalar(Math.SQRT1_2)])]), k.scalar(1)]),
    ]);
    const out = k.op('Add', [h, linear(k.op('Mul', [x ?? '', gelu]), `${name}.ff.net.2`, 2 * dim, dim)]);
    return k.op('Reshape', [k.op('Transpose', [out], { perm: [0, 2, 1] }), k.ints([0, dim, side, side])]);
  };

  k.input('sample', ['batch', 4, 32, 32]);
  k.input('timestep', ['batch'], 7);
  // Sinusoidal timestep embedding: a stop-gradient path (int64 → Cast → Sin/Cos).
  const freqs = Array.from({ length: 32 }, (_, i) => Math.exp((-Math.log(10000) * i) / 32));
  const t = k.op('Mul', [
    k.op('Unsqueeze', [k.op('Cast', ['timestep'], { to: 1 }), k.ints([1])]),
    k.weight('freqs', [32], freqs),
  ]);
  const sinusoid = k.op('Concat', [k.op('Sin', [t]), k.op('Cos', [t])], { axis: 1 });
  const temb = linear(
    silu(linear(sinusoid, 'time_embedding.linear_1', 64, 128)),
    'time_embedding.linear_2',
    128,
    128,
  );

  const h0 = conv('sample', 'conv_in', 4, 64);
  const r0 = resnet(h0, temb, 'down_blocks.0.resnets.0', 64, 64);
  const d0 = conv(r0, 'down_blocks.0.downsamplers.0.conv', 64, 64, 2);
  const r1 = resnet(d0, temb, 'mid_block.resnets.0', 64, 128);
  const a1 = k.op('Add', [
    r1,
    transformer(
      groupNorm(r1, 'mid_block.attentions.0.norm', 128),
      'mid_block.attentions.0.transformer_blocks.0',
      128,
      16,
      4,
    ),
  ]);
  const up = k.op('Resize', [a1, '', k.weight('up_scales', [4], [1, 1, 2, 2])], { mode: 'nearest' });
  const u0 = conv(up, 'up_blocks.0.upsamplers.0.conv', 128, 64);
  const r2 = resnet(k.op('Concat', [u0, r0], { axis: 1 }), temb, 'up_blocks.0.resnets.0', 128, 64);
  const out = conv(silu(groupNorm(r2, 'conv_norm_out', 64)), 'conv_out', 64, 4);
  k.output(k.op('Identity', [out], {}, 'noise_pred'));
  return { model: appendMseLoss(k.build(), { output: 'noise_pred' }), params };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows
    .map((r, i) => {
      const line = r
        .map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0)))
        .join('  ');
      return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

/** Wall and process CPU (user + system) milliseconds of one call. */
async function time(fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  await fn();
  const wall = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  return { wall, cpu: (cpu.user + cpu.system) / 1000 };
}

/** Sums profile kernel time per op type, split by whether the node is a backward node. */
function profileByOp(file: string, isBackward: (node: string) => boolean): string {
  interface Event {
    cat?: string;
    name?: string;
    dur?: number;
    args?: { op_name?: string };
  }
  const events = JSON.parse(readFileSync(file, 'utf8')) as Event[];
  const totals = new Map<string, { forward: number; backward: number }>();
  let all = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || !e.args?.op_name) continue;
    const node = e.name.slice(0, -'_kernel_time'.length);
    const entry = totals.get(e.args.op_name) ?? { forward: 0, backward: 0 };
    if (isBackward(node)) entry.backward += e.dur ?? 0;
    else entry.forward += e.dur ?? 0;
    totals.set(e.args.op_name, entry);
    all += e.dur ?? 0;
  }
  const rows = [...totals.entries()].sort(
    (a, b) => b[1].forward + b[1].backward - (a[1].forward + a[1].backward),
  );
  return table([
    ['op type', 'forward ms', 'backward ms', 'share'],
    ...rows
      .slice(0, 18)
      .map(([op, t]) => [
        op,
        (t.forward / 1000).toFixed(1),
        (t.backward / 1000).toFixed(1),
        `${(((t.forward + t.backward) / all) * 100).toFixed(1)}%`,
      ]),
  ]);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const buildStart = performance.now();
  const net = buildNet(1);
  const wrt = [...net.params.keys()];
  const train = buildGradientGraph(net.model, { loss: 'loss', wrt });
  const buildMs = performance.now() - buildStart;
  const paramCount = [...net.params.values()].reduce((s, p) => s + p.data.length, 0);
  const forwardNodes = net.model.graph?.node?.length ?? 0;
  const trainNodes = train.graph?.node?.length ?? 0;

  const rng = createRng(2);
  const { batch } = args;
  const feeds: Record<string, TensorData> = {
    sample: {
      type: 'float32',
      dims: [batch, 4, 32, 32],
      data: Float32Array.from({ length: batch * 4096 }, () => rng.normal()),
    },
    target: {
      type: 'float32',
      dims: [batch, 4, 32, 32],
      data: Float32Array.from({ length: batch * 4096 }, () => rng.normal()),
    },
    timestep: {
      type: 'int64',
      dims: [batch],
      data: BigInt64Array.from({ length: batch }, () => BigInt(rng.int(1000))),
    },
  };
  for (const [name, p] of net.params) feeds[name] = { type: 'float32', dims: p.dims, data: p.data };

  const sessionStart = performance.now();
  const forward = await modelSession(net.model, { threads: args.threads });
  const training = await modelSession(train, { threads: args.threads });
  const sessionMs = performance.now() - sessionStart;
  const forwardTimes: { wall: number; cpu: number }[] = [];
  const trainTimes: { wall: number; cpu: number }[] = [];
  try {
    // Two warm-up runs each: the first grows onnxruntime's arena, the second settles it.
    for (let w = 0; w < 2; w++) {
      await forward.run(feeds, ['loss']);
      await training.run(feeds);
    }
    for (let r = 0; r < args.runs; r++) {
      forwardTimes.push(await time(() => forward.run(feeds, ['loss'])));
      trainTimes.push(await time(() => training.run(feeds)));
    }
  } finally {
    await forward.release();
    await training.release();
  }
  console.log(
    `autodiff step benchmark: ${paramCount.toLocaleString('en')} parameters in ${wrt.length} tensors, batch ${batch}, ` +
      `${args.threads} intra-op thread(s), onnxruntime-node CPU provider, ${os.cpus()[0]?.model ?? 'unknown CPU'}`,
  );
  console.log(
    `graph: ${forwardNodes} forward nodes → ${trainNodes} training nodes; build ${buildMs.toFixed(0)} ms, sessions ${sessionMs.toFixed(0)} ms; load average ${os.loadavg()[0]?.toFixed(1)}\n`,
  );
  const rows: string[][] = [
    ['measure', 'graph', `median ms (of ${args.runs})`, 'min ms', 'max ms', 'vs forward'],
  ];
  for (const measure of ['wall', 'cpu'] as const) {
    const f = forwardTimes.map((t) => t[measure]);
    const t = trainTimes.map((x) => x[measure]);
    const fwd = median(f);
    const step = median(t);
    const range = (v: number[]): string[] => [Math.min(...v).toFixed(1), Math.max(...v).toFixed(1)];
    const label = measure === 'wall' ? 'wall' : 'CPU';
    rows.push(
      [label, 'forward + loss', fwd.toFixed(1), ...range(f), '1.00×'],
      [label, 'forward + backward', step.toFixed(1), ...range(t), `${(step / fwd).toFixed(2)}×`],
      [
        label,
        'backward (difference)',
        (step - fwd).toFixed(1),
        '',
        '',
        `${((step - fwd) / fwd).toFixed(2)}×`,
      ],
    );
  }
  console.log(table(rows));

  if (args.profile) {
    const prefix = path.join(os.tmpdir(), `autodiff-step-${process.pid}`);
    const profiled = await modelSession(train, {
      threads: args.threads,
      profileFilePrefix: prefix,
    });
    try {
      await profiled.run(feeds);
      await profiled.run(feeds);
      profiled.endProfiling?.();
    } finally {
      await profiled.release();
    }
    const dir = path.dirname(prefix);
    const file = readdirSync(dir)
      .filter((f) => f.startsWith(path.basename(prefix)) && f.endsWith('.json'))
      .map((f) => path.join(dir, f))[0];
    if (file) {
      console.log(`\nper-op-type kernel time, two training runs (names under grad/ are backward nodes):\n`);
      console.log(profileByOp(file, (node) => node.startsWith('grad/')));
      rmSync(file);
    }
  }
}

await main();
