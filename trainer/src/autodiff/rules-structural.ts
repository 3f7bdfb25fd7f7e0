/**
 * Gradient rules of ops that move or select data: reshapes (Reshape, Flatten, Squeeze,
 * Unsqueeze), Transpose, Concat ↔ Split, Slice (a zero `Pad` of the gradient), Gather (a
 * `ScatterND` with `reduction="add"` into zeros, so repeated indices accumulate), nearest
 * `Resize` with integer scales (a sum-pool: `AveragePool` with window = stride = scale, times
 * the window size), and the mean/sum reductions (broadcast the gradient back with `Expand`).
 * Sizes come from build-time shapes when known and from run-time `Shape` ops otherwise.
 */
import { allNumeric, productDims } from './dims';
import type { GradContext } from './grad-context';
import { attrInt, attrInts, attrString, DataType } from '@maskunet/gpu-runner';
import { isBlockNearest } from './resize-nearest';
import type { GradRule } from './rules';

const FIRST = [0] as const;

const reshapeBack: GradRule = {
  differentiableInputs: () => FIRST,
  backward: (ctx: GradContext) => [ctx.reshapeLike(ctx.grad(), ctx.input(0))],
};

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Normalised reduction axes; 'all' for a full reduction (no rank needed), 'noop' when none. */
function reduceAxes(ctx: GradContext, fromInput: boolean): number[] | 'all' | 'noop' {
  const axes = fromInput
    ? ctx.input(1)
      ? ctx.constantInput(1, 'axes')
      : []
    : (attrInts(ctx.node, 'axes') ?? []);
  if (axes.length === 0) return attrInt(ctx.node, 'noop_with_empty_axes', 0) !== 0 ? 'noop' : 'all';
  const rank = ctx.rank(ctx.input(0));
  return axes.map((a) => normAxis(a, rank)).sort((a, b) => a - b);
}

function reduceRule(mean: boolean): GradRule {
  return {
    differentiableInputs: () => FIRST,
    backward: (ctx: GradContext) => {
      const { em } = ctx;
      const x = ctx.input(0);
      const axes = reduceAxes(ctx, mean ? ctx.opset >= 18 : ctx.opset >= 13);
      if (axes === 'noop') return [ctx.grad()];
      let g = ctx.grad();
      // After a full reduction the gradient is a scalar (or all-ones shape): Expand needs no axes.
      if (axes !== 'all' && attrInt(ctx.node, 'keepdims', 1) === 0)
        g = em.op('Unsqueeze', [g, em.ints(axes)]);
      const dims = ctx.shapes.get(x).dims;
      if (mean) {
        // Scale the small reduced tensor, not the expanded one.
        const reduced = dims ? (axes === 'all' ? dims : axes.map((a) => dims[a] ?? null)) : null;
        const count = reduced ? productDims(reduced) : null;
        if (typeof count === 'number') {
          if (count !== 1) g = em.op('Mul', [g, em.scalar(1 / count)]);
        } else {
          const ratio = em.op('Div', [em.op('Size', [x]), em.op('Size', [ctx.output(0)])]);
          g = em.op('Div', [g, em.op('Cast', [ratio], { to: DataType.FLOAT })]);
        }
      }
      const shape = dims && allNumeric(dims) ? em.ints(dims) : em.shapeOf(x);
      return [em.op('Expand', [g, shape])];
    },
  };
}

export const STRUCTURAL_RULES: Record<string, GradRule> = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: {
    differentiableInputs: () => FIRST,
    backward: (ctx: GradContext) => {
      const rank = ctx.rank(ctx.input(0));
      const perm = attrInts(ctx.node, 'perm') ?? [...Array(rank).keys()].reverse();
      const inverse = new Array<number>(rank);
      perm.forEach((p, i) => (inverse[p] = i));
      return [ctx.em.transpose(ctx.grad(), inverse)];
    },
  },
  Concat: {
    differentiableInputs: (node) => (node.input ?? []).map((_, i) => i),
    backward: (ctx: GradContext) => {
      const { em } = ctx;
      const inputs = ctx.node.input ?? [];
      const rank = ctx.rank(ctx.output(0));
      const axis = normAxis(attrInt(ctx.node, 'axis', 0), rank);
      const sizes = inputs.map((name) => ctx.dims(name)[axis] ?? null);
      const split = allNumeric(sizes)
        ? em.ints(sizes)
        : em.op(
            'Concat',
            inputs.map((name) => em.op('Slice', [em.shapeOf(name), em.ints([axis]), em.ints([axis + 1])])),
            { axis: 0 },
          );
      const parts = em.opMulti('Split', [ctx.grad(), split], inputs.length, { axis });
      return parts.map((p, i) => (ctx.need(i) ? p : undefined));
    },
  },
  Split: {
    differentiableInputs: () => FIRST,
    backward: (ctx: GradContext) => {
      const outputs = ctx.node.output ?? [];
      const rank = ctx.rank(ctx.input(0));
      const axis = normAxis(attrInt(ctx.node, 'axis', 0), rank);
      const parts = outputs.map((name, i) => ctx.gradOut[i] ?? ctx.zerosLike(name));
      return [ctx.em.op('Concat', parts, { axis })];
    },
  },
  Slice: {
    differentiableInputs: () => FIRST,
    backward: (ctx: GradContext) => {
      const { em } = ctx;
      const x = ctx.input(0);
      const dims = ctx.dims(x);
      const rank = dims.length;
      const starts = ctx.constantInput(1, 'starts');
      const axes = (ctx.input(3) ? ctx.constantInput(3, 'axes') : starts.map((_, i) => i)).map((a) =>
        normAxis(a, rank),
      );
      const steps = ctx.input(4) ? ctx.constantInput(4, 'steps') : starts.map(() => 1);
      if (steps.some((s) => s !== 1)) ctx.fail('unsupported_attribute', 'Slice steps other than 1');
      const outDims = ctx.dims(ctx.output(0));
      const begins = new Array<number>(rank).fill(0);
      const ends = new Array<number | null>(rank).fill(0);
      axes.forEach((axis, i) => {
        const d = dims[axis] ?? null;
        let start = starts[i] ?? 0;
        if (typeof d === 'number') start = Math.min(Math.max(start < 0 ? start + d : start, 0), d);
        else if (start < 0) ctx.fail('unknown_shape', `negative Slice start on axis ${axis} of unknown size`);
        begins[axis] = start;
        const len = outDims[axis] ?? null;
        ends[axis] = typeof d === 'number' && typeof len === 'number' ? d - start - len : null;
      });
      // Pad after = input size − begin − sliced length; from the shapes at run time if unknown.
      if (ends.every((e) => e !== null)) {
        if (begins.every((b) => b === 0) && ends.every((e) => e === 0)) return [ctx.grad()];
        return [em.op('Pad', [ctx.grad(), em.ints([...begins, ...ends])], { mode: 'constant' })];
      }
      const after = em.op('Sub', [em.op('Sub', [em.shapeOf(x), em.shapeOf(ctx.grad())]), em.ints(begins)]);
      const pads = em.op('Concat', [em.ints(begins), after], { axis: 0 });
      return [em.op('Pad', [ctx.grad(), pads], { mode: 'constant' })];
    },
  },
  Gather: {
    differentiableInputs: () => FIRST,
    backward: (ctx: GradContext) => {
      const { em } = ctx;
      const [data, indices] = [ctx.input(0), ctx.input(1)];
      const rank = ctx.rank(data);
      const indexRank = ctx.rank(indices);
      const axis = normAxis(attrInt(ctx.node, 'axis', 0), rank);
      if (ctx.opset < 16)
        ctx.fail('unsupported_opset', 'Gather gradient uses ScatterND reduction (opset 16)');
      let idx = indices;
      if (ctx.shapes.get(indices).elemType !== DataType.INT64)
        idx = em.op('Cast', [idx], { to: DataType.INT64 });
      idx = em.op('Unsqueeze', [idx, em.ints([-1])]);
      if (axis === 0) {
        // ScatterND with reduction="add" sums rows for repeated ids (embedding lookups).
        return [em.op('ScatterND', [ctx.zerosLike(data), idx, ctx.grad()], { reduction: 'add' })];
      }
      // Move the gathered axis to the front on both sides, scatter, then move it back.
      const dataPerm = [axis, ...[...Array(rank).keys()].filter((a) => a !== axis)];
      const gradRank = rank - 1 + indexRank;
      const gradPerm = [
        ...Array.from({ length: indexRank }, (_, k) => axis + k),
        ...Array.from({ length: axis }, (_, k) => k),
        ...Array.from({ length: gradRank - axis - indexRank }, (_, k) => axis + indexRank + k),
      ];
      const dataDims = ctx.dims(data);
      const movedShape = allNumeric(dataDims)
        ? em.ints(dataPerm.map((p) => dataDims[p] ?? 0))
        : em.op('Gather', [em.shapeOf(data), em.ints(dataPerm)], { axis: 0 });
      const zeros = em.op('ConstantOfShape', [movedShape], {
        value: { tensor: { dataType: DataType.FLOAT, dims: [1], floatData: [0] } },
      });
      const scattered = em.op('ScatterND', [zeros, idx, em.transpose(ctx.grad(), gradPerm)], {
        reduction: 'add',
      });
      const inverse = new Array<number>(rank);
      dataPerm.forEach((p, i) => (inverse[p] = i));
      return [em.transpose(scattered, inverse)];
    },
  },
  Resize: {
    differentiableInputs: () => FIRST,
    backward: (ctx: GradContext) => {
      const { em } = ctx;
      const x = ctx.input(0);
      const dims = ctx.dims(x);
      if (attrString(ctx.node, 'mode', 'nearest') !== 'nearest') {
        ctx.fail('unsupported_attribute', 'Resize gradient needs mode="nearest"');
      }
      let scales: number[];
      if (ctx.input(2)) scales = ctx.constantInput(2, 'scales');
      else {
        const sizes = ctx.constantInput(3, 'sizes');
        scales = sizes.map((s, i) => {
          const d = dims[i] ?? null;
          if (typeof d !== 'number') ctx.fail('unknown_shape', 'Resize by sizes needs known input dims');
          return s / d;
        });
      }
      const coordinateMode = attrString(ctx.node, 'coordinate_transformation_mode', 'half_pixel');
      const nearestMode = attrString(ctx.node, 'nearest_mode', 'round_prefer_floor');
      if (scales.length !== dims.length || scales[0] !== 1 || scales[1] !== 1) {
        ctx.fail('unsupported_attribute', 'Resize gradient needs scale 1 on the batch and channel axes');
      }
      const spatial = scales.slice(2);
      for (const s of spatial) {
        if (!isBlockNearest(s, coordinateMode, nearestMode)) {
          ctx.fail(
            'unsupported_attribute',
            `Resize scale ${s} with ${coordinateMode}/${nearestMode} is not an integer block copy`,
          );
        }
      }
      if (spatial.every((s) => s === 1)) return [ctx.grad()];
      // Each input element was copied to an s×s block: its gradient is that block's sum.
      const pooled = em.op('AveragePool', [ctx.grad()], { kernel_shape: spatial, strides: spatial });
      const window = spatial.reduce((a, b) => a * b, 1);
      return [em.op('Mul', [pooled, em.scalar(window)])];
    },
  },
  ReduceMean: reduceRule(true),
  ReduceSum: reduceRule(false),
};
