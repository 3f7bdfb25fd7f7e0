/**
 * Turns a zod refusal into the one-line message the API and the runner protocol report: the
 * first problem, as `<field path> <predicate>` ("config.bucketEdges must be …",
 * "layout.layers[0].shape[1] must be a positive integer"). One problem is enough to act on,
 * and it is what the hand-written validators this replaced reported.
 */
import type * as z from 'zod';

/** `a.b[0].c` from a zod issue path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else text += text === '' ? String(key) : `.${String(key)}`;
  }
  return text;
}

/**
 * The message for the first issue of `error`, its path prefixed by `prefix` (e.g. `hello`).
 * Issues at the root (the value itself is wrong) read "<prefix> <message>", or just the
 * message without a prefix.
 */
export function describeIssue(error: z.ZodError, prefix = ''): string {
  const issue = error.issues[0];
  if (issue === undefined) return prefix === '' ? 'invalid value' : `${prefix} is invalid`;
  const { path: issuePath, message } = innermost(issue);
  const path = formatPath(issuePath);
  const subject = prefix === '' ? path : path === '' ? prefix : `${prefix}.${path}`;
  return subject === '' ? message : `${subject} ${message}`;
}

/**
 * A union's refusal says only "Invalid input"; the first option's own first issue says what
 * was wanted (our unions are `orNull(schema)`: the first option is the real one).
 */
function innermost(issue: z.core.$ZodIssue): { path: PropertyKey[]; message: string } {
  if (issue.code === 'invalid_union') {
    const inner = issue.errors[0]?.[0];
    if (inner !== undefined) {
      const nested = innermost(inner);
      return { path: [...issue.path, ...nested.path], message: nested.message };
    }
  }
  return { path: issue.path, message: issue.message };
}
