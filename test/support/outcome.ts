/**
 * One call's outcome, a value or a thrown error, for tests that want two roads to give the same
 * answer: the same bytes or message, or the same error (class, code, path, offset and text).
 */
import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';

export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export function outcome(run: () => unknown): Outcome {
  try {
    return { ok: true, value: run() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Errors compare by class, code, path, offset and text. */
export function describeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const fields = error as Error & { code?: unknown; path?: unknown; offset?: unknown };
  return { name: error.name, message: error.message, code: fields.code, path: fields.path, offset: fields.offset };
}

export function sameOutcome(a: Outcome, b: Outcome): boolean {
  if (a.ok && b.ok) return isDeepStrictEqual(a.value, b.value) || (Buffer.isBuffer(a.value) && Buffer.isBuffer(b.value) && a.value.equals(b.value));
  if (!a.ok && !b.ok) return isDeepStrictEqual(describeError(a.error), describeError(b.error));
  return false;
}

/** Cheap on success (the callers' loops run tens of thousands of times); says everything on failure. */
export function expectSameOutcome(got: Outcome, expected: Outcome, what: () => string): void {
  if (sameOutcome(got, expected)) return;
  const show = (o: Outcome): unknown => (o.ok ? o.value : describeError(o.error));
  expect({ input: what(), outcome: show(got) }).toEqual({ input: what(), outcome: show(expected) });
}
