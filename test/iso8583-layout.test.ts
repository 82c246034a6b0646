/**
 * Goal: `codec.layout(ids).encode(mti, values)` is encode by another road: for every spec and
 * both engines the same bytes as `codec.encode({ mti, fields })` for the same fields, whatever
 * the order of the list, and the same Iso8583Error (code, path, offset, text) for bad values;
 * its own rules (unknown or repeated ids, a values array of another length) throw typed
 * errors; and the compiled engine's generated layout encoder itself carries the valid
 * messages (else this would only compare encode with itself).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ENCODE_POOL_BYTES } from '../iso8583/compiled.js';
import { compileSpec, Iso8583Error, LAYOUTS_KEPT_MAX, type FieldValue, type Message } from '../iso8583/index.js';
import { dialect, DIALECT_NAMES, SAMPLE_MESSAGES, sampleAuthorization, sampleReversal } from '../specs/index.js';
import { message } from './support/iso8583-arbitrary.js';
import { mutateMessage, random } from './support/iso8583-mutate.js';
import { expectSameOutcome, outcome } from './support/outcome.js';

const VALID_MESSAGES = 300;
const MUTATED_MESSAGES = 5_000;
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_8583);
const ENGINES = ['compiled', 'interpreted'] as const;

function idsOf(m: Message, order?: readonly number[]): number[] {
  const ids = Object.keys(m.fields).map(Number);
  return order === undefined ? ids : order.map((i) => ids[i]!);
}

const valuesOf = (m: Message, ids: readonly number[]): (FieldValue | undefined)[] => ids.map((id) => m.fields[id]);

function failure(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(Iso8583Error);
    const e = error as Iso8583Error;
    return { code: e.code, path: e.path, offset: e.offset, message: e.message };
  }
  return undefined;
}

describe.each(DIALECT_NAMES)('message layouts: %s', (name) => {
  const { spec } = dialect(name);
  const allIds = Object.keys(spec.fields).map(Number);

  it.each(ENGINES)('known answers (%s): every sample message through a layout of its fields is the bytes encode gives', (engine) => {
    const codec = compileSpec(spec, { engine });
    const interpreted = compileSpec(spec, { engine: 'interpreted' });
    for (const make of SAMPLE_MESSAGES) {
      const m = make();
      const expected = interpreted.encode(m);
      const ascending = idsOf(m);
      const descending = [...ascending].reverse();
      expect(codec.layout(ascending).encode(m.mti, valuesOf(m, ascending)).equals(expected), `${m.mti}, ids ascending`).toBe(true);
      expect(codec.layout(descending).encode(m.mti, valuesOf(m, descending)).equals(expected), `${m.mti}, ids descending`).toBe(true);
      expect(codec.layout(allIds).encode(m.mti, valuesOf(m, allIds)).equals(expected), `${m.mti}, every field of the spec`).toBe(true);
    }
  });

  it('the generated layout encoder carries every valid message itself', () => {
    const generated = compileSpec(spec).generated!;
    const interpreted = compileSpec(spec, { engine: 'interpreted' });
    const everyField = generated.layout(allIds);
    const corpus = [...SAMPLE_MESSAGES.map((make) => make()), ...fc.sample(message(spec), { numRuns: VALID_MESSAGES, seed: SEED })];
    for (const m of corpus) {
      const expected = interpreted.encode(m);
      expect(everyField.encode(m.mti, valuesOf(m, allIds))?.equals(expected), JSON.stringify(m)).toBe(true);
      const own = idsOf(m).reverse();
      expect(generated.layout(own).encode(m.mti, valuesOf(m, own))?.equals(expected), JSON.stringify(m)).toBe(true);
    }
  });

  it.each(ENGINES)('random valid messages (%s), layouts of their fields in any order and of every field: the bytes encode gives', (engine) => {
    const codec = compileSpec(spec, { engine });
    const everyField = codec.layout(allIds);
    const withOrder = message(spec).chain((m) => fc.tuple(fc.constant(m), fc.shuffledSubarray(idsOf(m).map((_, i) => i), { minLength: Object.keys(m.fields).length })));
    fc.assert(fc.property(withOrder, ([m, order]) => {
      const expected = codec.encode(m);
      const ids = idsOf(m, order);
      expect(codec.layout(ids).encode(m.mti, valuesOf(m, ids)).equals(expected)).toBe(true);
      expect(everyField.encode(m.mti, valuesOf(m, allIds)).equals(expected)).toBe(true);
    }), { numRuns: VALID_MESSAGES, seed: SEED });
  });

  it.each(ENGINES)(`${MUTATED_MESSAGES.toLocaleString('en-US')} mutated messages (%s): the same bytes or the same error as encode`, (engine) => {
    const codec = compileSpec(spec, { engine });
    const everyField = codec.layout(allIds);
    const generated = engine === 'compiled' ? codec.generated!.layout(allIds) : undefined;
    const corpus = [...SAMPLE_MESSAGES.map((make) => make()), ...fc.sample(message(spec), { numRuns: 100, seed: SEED })];
    const next = random(SEED + name.length);
    let refused = 0;
    let written = 0;
    for (let i = 0; i < MUTATED_MESSAGES; i += 1) {
      const mutated = mutateMessage(corpus[next() % corpus.length]!, next) as Message | null;
      if (mutated === null || typeof mutated.fields !== 'object' || mutated.fields === null || Array.isArray(mutated.fields)) continue;
      // A layout holds only fields the spec defines: keys that are not one (unknown ids, '02', 'foo') have no counterpart.
      const fields: Message['fields'] = Object.fromEntries(Object.entries(mutated.fields).filter(([key]) => allIds.includes(Number(key)) && String(Number(key)) === key));
      const input: Message = { mti: mutated.mti, fields };
      const what = (): string => `message ${JSON.stringify(input)}`;
      const encoded = outcome(() => codec.encode(input));
      expectSameOutcome(outcome(() => everyField.encode(input.mti, valuesOf(input, allIds))), encoded, what);
      if (encoded.ok) written += 1;
      else refused += 1;
      // The generated encoder writes what encode writes, or hands over; it never throws.
      if (generated !== undefined) {
        const direct = generated.encode(input.mti, valuesOf(input, allIds));
        if (direct !== undefined) expectSameOutcome({ ok: true, value: direct }, encoded, what);
      }
    }
    // Both roads are exercised: the mutations make bad messages and leave good ones.
    expect(refused).toBeGreaterThan(MUTATED_MESSAGES / 10);
    expect(written).toBeGreaterThan(MUTATED_MESSAGES / 10);
  });

  it.each(ENGINES)('its own rules (%s): unknown or repeated ids, values of another length, bad MTI, undefined values', (engine) => {
    const codec = compileSpec(spec, { engine });
    expect(failure(() => codec.layout([3, 999]))).toEqual(failure(() => codec.encode({ mti: '0100', fields: { 999: '1' } })));
    for (const id of [1, 0, -1, 2.5, Number.NaN, 1e9]) expect(failure(() => codec.layout([id]))).toMatchObject({ code: 'field_unknown', path: String(id), offset: 0 });
    expect(failure(() => codec.layout([3, 11, 3]))).toMatchObject({ code: 'field_duplicate', path: '3', offset: 0 });
    const layout = codec.layout([3, 11]);
    expect(failure(() => layout.encode('0100', ['000000']))).toMatchObject({ code: 'input_invalid' });
    expect(failure(() => layout.encode('0100', ['000000', '000001', '1']))).toMatchObject({ code: 'input_invalid' });
    expect(failure(() => layout.encode('0100', null as unknown as string[]))).toMatchObject({ code: 'input_invalid' });
    for (const mti of ['010', '01A0', '', 100 as unknown as string]) {
      expect(failure(() => layout.encode(mti, ['000000', '000001']))).toEqual(failure(() => codec.encode({ mti, fields: { 3: '000000', 11: '000001' } })));
    }
    expect(failure(() => layout.encode('0100', ['ABC', '000001']))).toEqual(failure(() => codec.encode({ mti: '0100', fields: { 3: 'ABC', 11: '000001' } })));
    expect(layout.encode('0100', [undefined, '000001']).equals(codec.encode({ mti: '0100', fields: { 11: '000001' } }))).toBe(true);
    expect(layout.encode('0800', [undefined, undefined]).equals(codec.encode({ mti: '0800', fields: {} }))).toBe(true);
    expect(codec.layout([]).encode('0800', []).equals(codec.encode({ mti: '0800', fields: {} }))).toBe(true);
    // A layout is made once per field list: the same list gives the same layout, up to the bound.
    expect(codec.layout([3, 11])).toBe(layout);
    expect(codec.layout([11, 3])).not.toBe(layout);
  });

  it.each(ENGINES)('BER-TLV tags of every length and form, and values with bad characters (%s): the bytes or the error the interpreted codec gives', (engine) => {
    const codec = compileSpec(spec, { engine });
    // The reference is the interpreted codec: the compiled engine's encode shares the generated tag code.
    const interpreted = compileSpec(spec, { engine: 'interpreted' });
    const base = sampleAuthorization();
    expect(spec.fields[55]?.subfields?.kind).toBe('ber-tlv');
    const ids = idsOf(base);
    const layout = codec.layout(ids);
    const tags = ['5A', '9A', '9F26', '9F01', 'DF8101', '9F818001', '9F', '1F', '9F80', '9F8181', '9F818181', '5A01', '', '9', '9f26', 'ZZ', '9F2', '9F2G', 'GG26'];
    for (const tag of tags) {
      const m: Message = { mti: base.mti, fields: { ...base.fields, 55: [{ tag: '9F36', value: '0042' }, { tag, value: '0102' }] } };
      const expected = outcome(() => interpreted.encode(m));
      expectSameOutcome(outcome(() => layout.encode(m.mti, valuesOf(m, ids))), expected, () => `tag ${JSON.stringify(tag)}`);
      expectSameOutcome(outcome(() => codec.encode(m)), expected, () => `tag ${JSON.stringify(tag)}, encode`);
    }
    // Values: hex digits only, uppercase, whole bytes; characters beyond ASCII must not alias a digit.
    const values = ['', '00', 'FF', '0A1B', 'ab', '0g', 'G0', '0', '\u00C90', '0\u0130', '\u01300', '\u0080\u0030', '\uFF10\uFF10'];
    for (const value of values) {
      const m: Message = { mti: base.mti, fields: { ...base.fields, 55: [{ tag: '9F36', value }, { tag: '5A', value: '01' }] } };
      const expected = outcome(() => interpreted.encode(m));
      expectSameOutcome(outcome(() => layout.encode(m.mti, valuesOf(m, ids))), expected, () => `value ${JSON.stringify(value)}`);
      expectSameOutcome(outcome(() => codec.encode(m)), expected, () => `value ${JSON.stringify(value)}, encode`);
    }
  });

  it('secondary bitmap fields, listed first or last, present or not', () => {
    const reversal = sampleReversal();
    const codec = compileSpec(spec);
    const expected = compileSpec(spec, { engine: 'interpreted' }).encode(reversal);
    const ids = idsOf(reversal);
    const secondaryFirst = [...ids.slice(-2), ...ids.slice(0, -2)];
    expect(codec.generated!.layout(secondaryFirst).encode(reversal.mti, valuesOf(reversal, secondaryFirst))?.equals(expected)).toBe(true);
    const withoutSecondary = valuesOf(reversal, secondaryFirst).map((value, i) => (i < 2 ? undefined : value));
    const { 90: _de90, 128: _de128, ...primaryOnly } = reversal.fields;
    expect(codec.layout(secondaryFirst).encode(reversal.mti, withoutSecondary).equals(codec.encode({ mti: reversal.mti, fields: primaryOnly }))).toBe(true);
  });
});

describe('message layouts and the encode pool', () => {
  const { spec } = dialect('iso87-ascii');

  it('layout and encode take turns across pool renewals and leave every message intact', () => {
    const codec = compileSpec(spec);
    const interpreted = compileSpec(spec, { engine: 'interpreted' });
    const m = sampleAuthorization();
    const ids = idsOf(m);
    const layout = codec.layout(ids);
    const values = valuesOf(m, ids);
    const expected = interpreted.encode(m);
    const kept: Buffer[] = [];
    const memories = new Set<ArrayBufferLike>();
    const rounds = Math.ceil((3 * ENCODE_POOL_BYTES) / expected.length);
    for (let i = 0; i < rounds; i += 1) {
      const bytes = i % 3 === 0 ? codec.encode(m) : layout.encode(m.mti, values);
      expect(bytes.equals(expected)).toBe(true);
      memories.add(bytes.buffer);
      if (i % 97 === 0) kept.push(bytes);
    }
    expect(memories.size).toBeGreaterThanOrEqual(3);
    for (const bytes of kept) expect(bytes.equals(expected)).toBe(true);
  });

  it(`a codec keeps at most ${LAYOUTS_KEPT_MAX} layouts; more still work`, () => {
    const codec = compileSpec(spec);
    const m = sampleAuthorization();
    // Distinct lists: DE 11 and one other field, then DE 41 and one other.
    const others = Object.keys(spec.fields).map(Number).filter((id) => id !== 11 && id !== 41);
    const lists = [...others.map((id) => [11, id]), ...others.map((id) => [41, id])].slice(0, LAYOUTS_KEPT_MAX + 3);
    expect(lists.length).toBe(LAYOUTS_KEPT_MAX + 3);
    const made = lists.map((ids) => codec.layout(ids));
    expect(codec.layout(lists[0]!)).toBe(made[0]);
    expect(codec.layout(lists.at(-1)!)).not.toBe(made.at(-1));
    for (const layout of [made[0]!, made.at(-1)!]) {
      const values = layout.ids.map((id) => m.fields[id]);
      const fields: Message['fields'] = Object.fromEntries(layout.ids.flatMap((id, i) => (values[i] === undefined ? [] : [[id, values[i]]])));
      expect(layout.encode(m.mti, values).equals(codec.encode({ mti: m.mti, fields }))).toBe(true);
    }
  });
});
