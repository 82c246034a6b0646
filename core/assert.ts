/**
 * Assertions for programmer errors, in the TigerBeetle style: a broken invariant crashes
 * loudly instead of corrupting money or state. Operating conditions (bad input from a
 * terminal or a network) are typed errors or result values, never assertions.
 */

export class AssertionError extends Error {
  readonly code = 'assertion_failed';
  constructor(message: string) {
    super(message);
    this.name = 'AssertionError';
  }
}

export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Marks a branch the type system proves unreachable; reaching it at run time is a bug. */
export function unreachable(value: never, message = 'unreachable'): never {
  throw new AssertionError(`${message}: ${String(value)}`);
}
