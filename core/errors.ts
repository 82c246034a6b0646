/**
 * The base of every typed error in palmswitch: a stable machine-readable `code` that
 * operators, terminals and tests match on, and a human message. Never throw strings.
 */
export class PalmswitchError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PalmswitchError';
  }
}
