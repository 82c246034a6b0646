/**
 * The compiled codec's buffers: encoded messages are views cut from pooled buffers whose
 * memory and offset compiled.ts reads once per pool, and the generated decoder copies a frame
 * from wherever it lies in its memory (generate.ts, copyFrame).
 * These tests want both to hold across pool renewals and for frames at any offset of a larger
 * buffer, against the interpreted codec.
 */
import { describe, expect, it } from 'vitest';
import { ENCODE_POOL_BYTES } from './compiled.js';
import { compileSpec, Iso8583Error, type FieldSpec, type Message, type MessageSpec } from './index.js';

const spec: MessageSpec = {
  name: 'pool', description: 'encode pool test spec', mti: { encoding: 'ascii' }, bitmap: { encoding: 'hex-ascii' }, messageTypes: {},
  fields: {
    2: { name: 'PAN', type: 'n', length: 19, prefix: { digits: 2, encoding: 'ascii' }, encoding: 'ascii' },
    4: { name: 'Amount', type: 'n', length: 12, encoding: 'ascii' },
    43: { name: 'Name', type: 'ans', length: 40, encoding: 'ascii' },
    52: { name: 'PIN block', type: 'b', length: 8, encoding: 'binary' },
  } satisfies Record<number, FieldSpec>,
};
const message: Message = { mti: '0100', fields: { 2: '4895370012345', 4: '000000004250', 43: 'CORNER GROCERY         BERLIN        DEU', 52: '0123456789ABCDEF' } };

function failure(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    const e = error as Iso8583Error;
    expect(e).toBeInstanceOf(Iso8583Error);
    return { code: e.code, path: e.path, offset: e.offset, message: e.message };
  }
  return undefined;
}

describe('compiled codec buffers', () => {
  it('encodes across encode pool renewals and leaves earlier messages intact', () => {
    const codec = compileSpec(spec);
    const expected = compileSpec(spec, { engine: 'interpreted' }).encode(message);
    const rounds = Math.ceil((3 * ENCODE_POOL_BYTES) / expected.length);
    const kept: Buffer[] = [];
    const memories = new Set<ArrayBufferLike>();
    for (let i = 0; i < rounds; i += 1) {
      const bytes = codec.generated?.encode(message);
      expect(bytes?.equals(expected)).toBe(true);
      memories.add(bytes!.buffer);
      if (i % 97 === 0) kept.push(bytes!);
    }
    expect(memories.size).toBeGreaterThanOrEqual(3);
    for (const bytes of kept) expect(bytes.equals(expected)).toBe(true);
  });

  it('decodes frames at every offset of a larger buffer, and refuses a changed byte there as the interpreted codec does', () => {
    const codec = compileSpec(spec);
    const interpreted = compileSpec(spec, { engine: 'interpreted' });
    const frame = interpreted.encode(message);
    const memory = Buffer.alloc(frame.length + 64);
    for (let offset = 0; offset < 16; offset += 1) {
      const view = memory.subarray(offset, offset + frame.length);
      frame.copy(view);
      expect(codec.generated?.decode(view, 0, view.length)).toEqual(message);
      expect(codec.decode(memory, offset, offset + frame.length)).toEqual(message);
      view[frame.length - 9] = 0x61; // DE 43's last character, now 'a': still printable
      expect(codec.decode(view)).toEqual(interpreted.decode(view));
      view[40] = 0x41; // among DE 4's digits (bytes 35..46): refused by both, with the same error
      expect(failure(() => codec.decode(view))).toEqual(failure(() => interpreted.decode(view)));
      expect(failure(() => codec.decode(view))).toMatchObject({ code: 'char_invalid', path: '4' });
    }
  });
});
