/**
 * Gradient rules of elementwise ops: the broadcasting arithmetic (Add, Sub, Mul, Div, Pow, Sum,
 * Where, Expand) and the unary functions (Neg, Sigmoid, Tanh, Erf, Exp, Log, Sqrt, Sin, Cos,
 * Identity, Cast) plus Softmax. Rules reuse the forward output where the derivative is a
 * function of it (σ' = σ(1−σ), tanh' = 1−tanh², exp' = exp, √' = 1/(2√x), softmax) rather than
 * recomputing, and apply signs and scale factors after un-broadcasting, on the smaller tensor.
 */
import type { GradContext } from './grad-context';
import { DataType, attrInt, isFloatType } from '@maskunet/gpu-runner';
import type { GradRule } from './rules';

const FIRST = [0] as const;
const BOTH = [0, 1] as const;

/** The gradient has the output's shape; un-broadcast `value` from there to input `i`. */
function toInput(ctx: GradContext, value: string, i: number): string {
  return ctx.unbroadcast(value, ctx.dims(ctx.output(0)), ctx.input(i));
}

function unary(backward: (ctx: GradContext, g: string, x: string, y: string) => string): GradRule {
  return {
    differentiableInputs: () => FIRST,
    backward: (ctx: GradContext) => [backward(ctx, ctx.grad(), ctx.input(0), ctx.output(0))],
  };
}

/** 2/√π, the derivative of erf at 0; folded into the exponent as ln(2/√π). */
const LOG_TWO_OVER_SQRT_PI = Math.log(2 / Math.sqrt(Math.PI));

export const POINTWISE_RULES: Record<string, GradRule> = {
  Add: {
    differentiableInputs: () => BOTH,
    backward: (ctx: GradContext) =>
      [0, 1].map((i) => (ctx.need(i) ? toInput(ctx, ctx.grad(), i) : undefined)),
  },
  Sum: {
    differentiableInputs: (node) => (node.input ?? []).map((_, i) => i),
    backward: (ctx: GradContext) =>
      (ctx.node.input ?? []).map((_, i) => (ctx.need(i) ? toInput(ctx, ctx.grad(), i) : undefined)),
  },
  Sub: {
    differentiableInputs: () => BOTH,
    backward: (ctx: GradContext) => [
      ctx.need(0) ? toInput(ctx, ctx.grad(), 0) : undefined,
      ctx.need(1) ? ctx.em.op('Neg', [toInput(ctx, ctx.grad(), 1)]) : undefined,
    ],
  },
  Mul: {
    differentiableInputs: () => BOTH,
    backward: (ctx: GradContext) => {
      const g = ctx.grad();
      const [a, b] = [ctx.input(0), ctx.input(1)];
      return [
        ctx.need(0) ? toInput(ctx, ctx.em.op('Mul', [g, b]), 0) : undefined,
        ctx.need(1) ? toInput(ctx, ctx.em.op('Mul', [g, a]), 1) : undefined,
      ];
    },
  },
  Div: {
    differentiableInputs: () => BOTH,
    backward: (ctx: GradContext) => {
      // d(a/b)/da = 1/b; d(a/b)/db = −a/b² = −(g/b)·y, so both share g/b.
      const gOverB = ctx.em.op('Div', [ctx.grad(), ctx.input(1)]);
      return [
        ctx.need(0) ? toInput(ctx, gOverB, 0) : undefined,
        ctx.need(1)
          ? ctx.em.op('Neg', [toInput(ctx, ctx.em.op('Mul', [gOverB, ctx.output(0)]), 1)])
          : undefined,
      ];
    },
  },
  Pow: {
    differentiableInputs: () => BOTH,
    backward: (ctx: GradContext) => {
      const { em } = ctx;
      const g = ctx.grad();
      const [x, e, y] = [ctx.input(0), ctx.input(1), ctx.output(0)];
      let dx: string | undefined;
      const c = ctx.shapes.numbers(e);
      const exponent = c && c.length === 1 ? c[0] : undefined;
      // x^0 is constant: no gradient reaches x.
      if (ctx.need(0) && exponent !== 0) {
        let local: string;
        if (exponent === 1) local = g;
        else if (exponent === 2) local = em.op('Mul', [g, em.op('Add', [x, x])]);
        else if (exponent === 0.5) local = em.op('Div', [g, em.op('Add', [y, y])]);
        else if (exponent !== undefined) {
          local = em.op('Mul', [
            g,
            em.op('Mul', [em.op('Pow', [x, em.scalar(exponent - 1)]), em.scalar(exponent)]),
          ]);
        } else {
          const minusOne = em.op('Sub', [e, em.scalar(1)]);
          local = em.op('Mul', [g, em.op('Mul', [em.op('Pow', [x, minusOne]), e])]);
        }
        dx = toInput(ctx, local, 0);
      }
      // d(x^e)/de = x^e · ln x; only reached when the exponent depends on a parameter.
      const de = ctx.need(1)
        ? toInput(ctx, em.op('Mul', [g, em.op('Mul', [y, em.op('Log', [x])])]), 1)
        : undefined;
      return [dx, de];
    },
  },
  Where: {
    differentiableInputs: () => [1, 2],
    backward: (ctx: GradContext) => {
      const { em } = ctx;
      const [c, g, zero] = [ctx.input(0), ctx.grad(), em.scalar(0)];
      return [
        undefined,
        ctx.need(1) ? toInput(ctx, em.op('Where', [c, g, zero]), 1) : undefined,
        ctx.need(2) ? toInput(ctx, em.op('Where', [c, zero, g]), 2) : undefined,
      ];
    },
  },
  Expand: {
    differentiableInputs: () => FIRST,
    backward: (ctx: GradContext) => [toInput(ctx, ctx.grad(), 0)],
  },
  Identity: unary((_ctx, g) => g),
  Neg: unary((ctx, g) => ctx.em.op('Neg', [g])),
  Sigmoid: unary((ctx, g, _x, y) => {
    const { em } = ctx;
    return em.op('Mul', [g, em.op('Mul', [y, em.op('Sub', [em.scalar(1), y])])]);
  }),
  Tanh: unary((ctx, g, _x, y) => {
    const { em } = ctx;
    return em.op('Mul', [g, em.op('Sub', [em.scalar(1), em.op('Mul', [y, y])])]);
  }),
  Erf: unary((ctx, g, x) => {
    const { em } = ctx;
    const density = em.op('Exp', [em.op('Sub', [em.scalar(LOG_TWO_OVER_SQRT_PI), em.op('Mul', [x, x])])]);
    return em.op('Mul', [g, density]);
  }),
  Exp: unary((ctx, g, _x, y) => ctx.em.op('Mul', [g, y])),
  Log: unary((ctx, g, x) => ctx.em.op('Div', [g, x])),
  Sqrt: unary((ctx, g, _x, y) => ctx.em.op('Div', [g, ctx.em.op('Add', [y, y])])),
  Sin: unary((ctx, g, x) => ctx.em.op('Mul', [g, ctx.em.op('Cos', [x])])),
  Cos: unary((ctx, g, x) => ctx.em.op('Neg', [ctx.em.op('Mul', [g, ctx.em.op('Sin', [x])])])),
  Cast: {
    // Only float-to-float casts carry gradient; a cast to an integer type is a stop-gradient.
    differentiableInputs: (node) => (isFloatType(attrInt(node, 'to', DataType.FLOAT)) ? FIRST : []),
    backward: (ctx: GradContext) => {
      const from = ctx.shapes.get(ctx.input(0)).elemType;
      const to = attrInt(ctx.node, 'to', DataType.FLOAT);
      if (!isFloatType(from)) return [undefined];
      return [from === to ? ctx.grad() : ctx.em.op('Cast', [ctx.grad()], { to: from ?? DataType.FLOAT })];
    },
  },
  Softmax: {
    differentiableInputs: () => FIRST,
    backward: (ctx: GradContext) => {
      const { em } = ctx;
      const [g, y] = [ctx.grad(), ctx.output(0)];
      if (ctx.opset < 13)
        ctx.fail('unsupported_opset', 'Softmax before opset 13 flattens axes; not supported');
      const axis = attrInt(ctx.node, 'axis', -1);
      const dot = ctx.reduceSum(em.op('Mul', [g, y]), [axis], true);
      return [em.op('Mul', [y, em.op('Sub', [g, dot])])];
    },
  },
};
