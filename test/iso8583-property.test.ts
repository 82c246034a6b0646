/**
 * Goal: for every dialect, any valid message survives encode -> decode -> encode byte-exact,
 * and decoding gives back exactly the message that was encoded.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileSpec } from '../iso8583/index.js';
import { dialect, DIALECT_NAMES } from '../specs/index.js';
import { message } from './support/iso8583-arbitrary.js';

describe.each(DIALECT_NAMES)('property: %s round-trips', (name) => {
  it('encode -> decode -> encode is byte-exact for random valid messages', () => {
    const { spec } = dialect(name);
    const codec = compileSpec(spec);
    fc.assert(
      fc.property(message(spec), (original) => {
        const bytes = codec.encode(original);
        const decoded = codec.decode(bytes);
        expect(decoded).toEqual(original);
        expect(codec.encode(decoded).equals(bytes)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
});
