/**
 * The generated encoder's bulk text path (generate.ts, encodeBulkText): in specs without
 * packed BCD, runs of ASCII text fields are written with one native UTF-8 write and checked
 * afterwards where they lie. These tests want it to carry valid messages byte for byte, to
 * hand over to the interpreted codec (same bytes or same Iso8583Error) for every character it
 * must not write, wherever in a run that character sits, and to keep working across the
 * encode pool's renewals.
 */
import { describe, expect, it } from 'vitest';
import { ENCODE_POOL_BYTES } from './compiled.js';
import { compileSpec, generatedSource, Iso8583Error, type FieldSpec, type Message, type MessageSpec } from './index.js';

function specWith(fields: Record<number, FieldSpec>): MessageSpec {
  return { name: 'bulk', description: 'bulk text test spec', mti: { encoding: 'ascii' }, bitmap: { encoding: 'hex-ascii' }, fields, messageTypes: {} };
}

// Two runs of text: 2..43 (with an ASCII LL prefix first), then 53..60 (an LLL prefix last),
// split by the binary field 52.
const spec = specWith({
  2: { name: 'PAN', type: 'n', length: 19, prefix: { digits: 2, encoding: 'ascii' }, encoding: 'ascii' },
  4: { name: 'Amount', type: 'n', length: 12, encoding: 'ascii' },
  35: { name: 'Track 2', type: 'z', length: 37, prefix: { digits: 2, encoding: 'ascii' }, encoding: 'ascii' },
  37: { name: 'RRN', type: 'an', length: 12, encoding: 'ascii' },
  43: { name: 'Name', type: 'ans', length: 40, encoding: 'ascii' },
  52: { name: 'PIN block', type: 'b', length: 8, encoding: 'binary' },
  53: { name: 'Security', type: 'n', length: 16, encoding: 'ascii' },
  60: { name: 'Private', type: 'ans', length: 999, prefix: { digits: 3, encoding: 'ascii' }, encoding: 'ascii' },
});
const message: Message = {
  mti: '0100',
  fields: {
    2: '4895370012345', 4: '000000004250', 35: '4895370012345678D2912', 37: 'RRN 0000123A',
    43: 'CORNER GROCERY         BERLIN        DEU', 52: '0123456789ABCDEF', 53: '0000000000000001', 60: 'palm v1',
  },
};
const compiled = compileSpec(spec);
const interpreted = compileSpec(spec, { engine: 'interpreted' });

type Outcome = { hex: string } | { code: string; path: string; offset: number; message: string };
function outcome(run: () => Buffer): Outcome {
  try {
    return { hex: run().toString('hex') };
  } catch (error) {
    const e = error as Iso8583Error;
    expect(e).toBeInstanceOf(Iso8583Error);
    return { code: e.code, path: e.path, offset: e.offset, message: e.message };
  }
}

describe('bulk text encode', () => {
  it('is what the generated encoder uses for this spec, and it carries the valid message', () => {
    expect(generatedSource(spec)).toContain('UW.call(out, tx, tp, tl)');
    const expected = interpreted.encode(message);
    expect(compiled.generated?.encode(message)?.equals(expected)).toBe(true);
    expect(compiled.encode(message).equals(expected)).toBe(true);
    expect(compiled.decode(expected)).toEqual(message);
  });

  it('is not used where packed BCD fields cut the text into short runs', () => {
    const bcd = specWith({ ...spec.fields, 3: { name: 'Processing code', type: 'n', length: 6, encoding: 'bcd' } });
    expect(generatedSource(bcd)).not.toContain('UW.call');
    const withBcd: Message = { mti: '0100', fields: { ...message.fields, 3: '000000' } };
    expect(compileSpec(bcd).encode(withBcd).equals(compileSpec(bcd, { engine: 'interpreted' }).encode(withBcd))).toBe(true);
  });

  it('hands every character outside ASCII over to the interpreted codec, at the start, middle and end of every field of both runs', () => {
    // 0xE9 and 0x20AC take two and three UTF-8 bytes; 0x130 and 0x141 end in bytes that are a
    // digit and a letter (a Latin-1 write would keep only those); lone surrogates; DEL and 0x80.
    const units = [0x7f, 0x80, 0xe9, 0xff, 0x130, 0x141, 0x20ac, 0xd800, 0xdfff, 0xfffd];
    let checked = 0;
    for (const id of [2, 4, 35, 37, 43, 53, 60] as const) {
      const value = message.fields[id] as string;
      for (const i of [0, value.length >> 1, value.length - 1]) {
        for (const unit of units) {
          const input: Message = { mti: '0100', fields: { ...message.fields, [id]: value.slice(0, i) + String.fromCharCode(unit) + value.slice(i + 1) } };
          expect(compiled.generated?.encode(input), `field ${id} position ${i} unit ${unit.toString(16)}`).toBeUndefined();
          const reference = outcome(() => interpreted.encode(input));
          expect('code' in reference).toBe(true);
          expect(outcome(() => compiled.encode(input))).toEqual(reference);
          checked += 1;
        }
      }
    }
    expect(checked).toBe(7 * 3 * units.length);
  });

  it('refuses a character of the wrong class in a run as the interpreted codec does, alone and after a character outside ASCII', () => {
    for (const [id, bad] of [[2, 'A'], [4, ' '], [35, '?'], [37, '-'], [43, '\t'], [53, 'F'], [60, '\n']] as const) {
      const value = message.fields[id] as string;
      for (const fields of [
        { ...message.fields, [id]: bad + value.slice(1) },
        { ...message.fields, 2: 'é' + (message.fields[2] as string).slice(1), [id]: value.slice(0, -1) + bad },
      ]) {
        const input: Message = { mti: '0100', fields };
        expect(compiled.generated?.encode(input)).toBeUndefined();
        expect(outcome(() => compiled.encode(input))).toEqual(outcome(() => interpreted.encode(input)));
      }
    }
  });

  it('writes runs that begin anywhere: fields left out, one field alone, the second run alone', () => {
    const all = Object.keys(message.fields).map(Number);
    const subsets = [[4], [43], [60], [52, 53], [2, 52, 60], [37, 43, 53], [4, 35, 52], all.filter((id) => id !== 43)];
    for (const ids of subsets) {
      const input: Message = { mti: '0100', fields: Object.fromEntries(ids.map((id) => [id, message.fields[id]])) as Message['fields'] };
      const expected = interpreted.encode(input);
      expect(compiled.generated?.encode(input)?.equals(expected), `fields ${ids.join(',')}`).toBe(true);
      expect(compiled.decode(expected)).toEqual(input);
    }
  });

  it('keeps checking in place across encode pool renewals, and leaves earlier messages intact', () => {
    const codec = compileSpec(spec);
    const expected = interpreted.encode(message);
    const rounds = Math.ceil((3 * ENCODE_POOL_BYTES) / expected.length);
    const kept: Buffer[] = [];
    for (let i = 0; i < rounds; i += 1) {
      const bad: Message = { mti: '0100', fields: { ...message.fields, 43: 'é'.repeat(40) } };
      expect(codec.generated?.encode(bad)).toBeUndefined();
      const bytes = codec.encode(message);
      expect(bytes.equals(expected)).toBe(true);
      if (i % 97 === 0) kept.push(bytes);
    }
    for (const bytes of kept) expect(bytes.equals(expected)).toBe(true);
  });
});
