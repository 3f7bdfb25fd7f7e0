/**
 * Symbolic dimension algebra for shape inference over graphs with a dynamic batch. A dim is a
 * known number, a symbolic monomial written canonically as a string (`"N"`, `"4*N"`, `"L*N"`),
 * or null when unknown. Monomials are enough for what U-Net graphs do to the batch dim
 * (reshape `[N, C, H, W]` to `[N*G, …]` and back); sums of symbols simply become unknown.
 */

/** A dimension: a number, a canonical symbolic monomial, or null (unknown). */
export type Dim = number | string | null;

interface Monomial {
  coef: number;
  syms: string[];
}

/** Turns an ONNX `dim_param` into a symbol that cannot be confused with a product. */
export function symbolFromParam(param: string): string {
  return param.replace(/[*\s]/g, '_') || '?';
}

function parse(dim: number | string): Monomial {
  if (typeof dim === 'number') return { coef: dim, syms: [] };
  let coef = 1;
  const syms: string[] = [];
  for (const part of dim.split('*')) {
    const n = Number(part);
    if (part !== '' && Number.isFinite(n) && /^[0-9]+$/.test(part)) coef *= n;
    else syms.push(part);
  }
  return { coef, syms };
}

function format(m: Monomial): Dim {
  if (m.syms.length === 0) return m.coef;
  if (m.coef === 0) return 0;
  const syms = [...m.syms].sort();
  return m.coef === 1 ? syms.join('*') : `${m.coef}*${syms.join('*')}`;
}

export function mulDim(a: Dim, b: Dim): Dim {
  if (a === null || b === null) return null;
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  const x = parse(a);
  const y = parse(b);
  return format({ coef: x.coef * y.coef, syms: [...x.syms, ...y.syms] });
}

/** Exact quotient, or null when the division is not exact (or involves unknowns). */
export function divDim(a: Dim, b: Dim): Dim {
  if (a === null || b === null) return null;
  const x = parse(a);
  const y = parse(b);
  if (y.coef === 0 || x.coef % y.coef !== 0) return null;
  const rest = [...x.syms];
  for (const s of y.syms) {
    const i = rest.indexOf(s);
    if (i < 0) return null;
    rest.splice(i, 1);
  }
  return format({ coef: x.coef / y.coef, syms: rest });
}

export function productDims(dims: readonly Dim[]): Dim {
  let p: Dim = 1;
  for (const d of dims) p = mulDim(p, d);
  return p;
}

/** True when both dims are known and provably equal. */
export function sameDim(a: Dim, b: Dim): boolean {
  return a !== null && b !== null && a === b;
}

/** True when every dim is a number. */
export function allNumeric(dims: readonly Dim[]): dims is number[] {
  return dims.every((d) => typeof d === 'number');
}

/**
 * Numpy broadcasting of two dims. A number > 1 wins over a symbol (a valid graph implies they
 * are equal); two different symbols, or a symbol against an unknown, give unknown.
 */
export function broadcastDim(a: Dim, b: Dim): Dim {
  if (a === 1) return b;
  if (b === 1) return a;
  if (a === b) return a;
  if (typeof a === 'number' && a > 1) return a;
  if (typeof b === 'number' && b > 1) return b;
  return null;
}

/** Broadcast shape of several shapes (right-aligned). */
export function broadcastShapes(shapes: readonly (readonly Dim[])[]): Dim[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const j = i - (rank - s.length);
      if (j >= 0) d = broadcastDim(d, s[j] ?? null);
    }
    out.push(d);
  }
  return out;
}
