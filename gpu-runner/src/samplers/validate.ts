/**
 * Argument checks shared by the samplers, schedules and noise generators. Every public entry
 * point validates before it allocates or starts work, and each refusal names the argument:
 * a value of the wrong type is a `TypeError`, a number outside its documented range a
 * `RangeError` (the convention of onnxruntime's JavaScript API).
 */

/** Checks that `value` is an integer in [min, max] and returns it. */
export function checkInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

/** Checks that `value` is a finite number in [min, max] and returns it. */
export function checkNumber(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new RangeError(`${name} must be a finite number in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

/** Checks that `value` is a boolean and returns it. */
export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean`);
  return value;
}

/** Checks that `value` is one of `allowed` and returns it. */
export function checkChoice<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${typeof value}`);
  if (!(allowed as readonly string[]).includes(value)) {
    throw new RangeError(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got '${value}'`);
  }
  return value as T;
}

/** Checks that `value` is a `Float32Array` of exactly `length` elements. */
export function checkFloat32Array(name: string, value: unknown, length: number): Float32Array {
  if (!(value instanceof Float32Array)) throw new TypeError(`${name} must be a Float32Array`);
  if (value.length !== length) {
    throw new RangeError(`${name} must have ${length} elements, has ${value.length}`);
  }
  return value;
}

/** Largest seed: seeds are non-negative safe integers, split into the two 32-bit key words. */
export const MAX_SEED = Number.MAX_SAFE_INTEGER;

/** Checks a seed (a non-negative safe integer) and returns it. */
export function checkSeed(name: string, value: unknown): number {
  return checkInteger(name, value, 0, MAX_SEED);
}

/** Checks a stream id (an unsigned 32-bit integer) and returns it. */
export function checkStream(name: string, value: unknown): number {
  return checkInteger(name, value, 0, 0xffffffff);
}
