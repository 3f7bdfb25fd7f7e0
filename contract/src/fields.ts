/**
 * The building blocks every schema of the contract is made of: id and name patterns, and
 * field schemas whose refusal message is a predicate ("must be an integer in [1, 64]"), so
 * that {@link describeIssue} can name the field in front of it ("steps must be …"). These
 * are the messages the worker's hand-written validators gave before the schemas existed;
 * keeping them keeps the API's 400 bodies readable and stable.
 */
import './zod-config';
import * as z from 'zod';

/** Ids and names: letters, digits, `.`, `_`, `-`; starts with a letter or digit; 1–64 chars. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A bank id: the SHA-256 of the bank file, lower-case hex. */
export const BANK_ID_PATTERN = /^[0-9a-f]{64}$/;

/** A string of at least one character, optionally bounded and matching a pattern. */
export function nonEmptyString(options: { maxLength?: number; pattern?: RegExp } = {}): z.ZodString {
  const error = 'must be a non-empty string';
  let schema = z.string({ error }).min(1, { error });
  if (options.maxLength !== undefined) {
    schema = schema.max(options.maxLength, { error: `must be at most ${options.maxLength} characters` });
  }
  if (options.pattern !== undefined) {
    schema = schema.regex(options.pattern, { error: `must match ${String(options.pattern)}` });
  }
  return schema;
}

/** Any string (possibly empty) of at most `maxLength` characters. */
export function boundedString(maxLength: number): z.ZodString {
  return z
    .string({ error: 'must be a string' })
    .max(maxLength, { error: `must be a string of at most ${maxLength} characters` });
}

/** A string matching `pattern`; `what` names the pattern in the refusal ("a bank id …"). */
export function patternString(pattern: RegExp, what: string): z.ZodString {
  const error = `must be ${what}`;
  return z.string({ error }).regex(pattern, { error });
}

/** A name or id ({@link NAME_PATTERN}). */
export function nameString(): z.ZodString {
  return nonEmptyString({ pattern: NAME_PATTERN });
}

/** A bank id ({@link BANK_ID_PATTERN}). */
export function bankIdString(): z.ZodString {
  return patternString(BANK_ID_PATTERN, 'a bank id (64 lower-case hex digits)');
}

/** A safe integer in [min, max]. */
export function integerIn(min: number, max: number): z.ZodInt {
  const error = `must be an integer in [${min}, ${max}]`;
  return z.int({ error }).min(min, { error }).max(max, { error });
}

/** A safe integer ≥ min, bounded above by the deployment (checked where the limit is known). */
export function integerFrom(min: number): z.ZodInt {
  const error = min === 1 ? 'must be a positive integer' : `must be an integer ≥ ${min}`;
  return z.int({ error }).min(min, { error });
}

/** A finite number in [min, max]. */
export function numberIn(min: number, max: number): z.ZodNumber {
  const error = `must be a number in [${min}, ${max}]`;
  return z.number({ error }).min(min, { error }).max(max, { error });
}

/** Any finite number. */
export function finiteNumber(): z.ZodNumber {
  return z.number({ error: 'must be a finite number' });
}

/** A finite number ≥ 0 (durations). */
export function nonNegativeNumber(): z.ZodNumber {
  const error = 'must be a finite number ≥ 0';
  return z.number({ error }).min(0, { error });
}

export function booleanField(): z.ZodBoolean {
  return z.boolean({ error: 'must be true or false' });
}

/** One of `values`, refused as "must be one of a, b, c". */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `must be one of ${values.join(', ')}` });
}

/** An object with these fields (unknown fields are dropped, as the API always ignored them). */
export function record<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.object(shape, { error: 'must be an object' });
}

/**
 * `schema` or null, for schemas that are named components of the OpenAPI document. Same type
 * and checks as `schema.nullable()`, but the generator renders a union as
 * `anyOf: [{$ref}, {type: 'null'}]`, whereas `.nullable()` of a named schema comes out as an
 * `allOf` that no null satisfies (or, met first, makes the component itself nullable).
 */
export function orNull<S extends z.ZodType>(schema: S) {
  return z.union([schema, z.null()]);
}

/** An ISO 8601 timestamp as the worker writes it (`Date#toISOString`). */
export function timestamp(): z.ZodISODateTime {
  return z.iso.datetime();
}
