/**
 * fast-check generators of valid messages for any spec, derived from the spec itself: each
 * field gets values of its content type and length rule, composites get valid subfields.
 * Fixed fields get full-length values, so a valid message round-trips byte-exact.
 */
import fc from 'fast-check';
import type { FieldSpec, FieldValue, Message, MessageSpec, TlvComposite } from '../../iso8583/index.js';

const DIGITS = '0123456789';
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const PRINTABLE_ASCII = Array.from({ length: 0x5f }, (_, i) => String.fromCharCode(0x20 + i)).join('');
const PRINTABLE_LATIN1_HIGH = Array.from({ length: 0x60 }, (_, i) => String.fromCharCode(0xa0 + i)).join('');
const HEX = '0123456789ABCDEF';

function charsOf(alphabet: string, minLength: number, maxLength: number): fc.Arbitrary<string> {
  return fc.array(fc.constantFrom(...alphabet), { minLength, maxLength }).map((chars) => chars.join(''));
}

function alphabetFor(spec: FieldSpec): string {
  switch (spec.type) {
    case 'n': return DIGITS;
    case 'a': return LETTERS + ' ';
    case 'an': return LETTERS + DIGITS + ' ';
    case 'ans': return spec.encoding === 'ebcdic' ? PRINTABLE_ASCII + PRINTABLE_LATIN1_HIGH : PRINTABLE_ASCII;
    case 'z': return DIGITS;
    case 'b': return HEX;
  }
}

function primitive(spec: FieldSpec): fc.Arbitrary<string> {
  const min = spec.prefix ? 0 : spec.length;
  const max = spec.length;
  if (spec.type === 'b') return fc.uint8Array({ minLength: min, maxLength: max }).map((bytes) => Buffer.from(bytes).toString('hex').toUpperCase());
  const byBytesBcd = spec.encoding === 'bcd' && spec.lengthUnit === 'bytes';
  const text = byBytesBcd ? charsOf(DIGITS, min * 2, max * 2).map((s) => (s.length % 2 === 0 ? s : s + '0')) : charsOf(alphabetFor(spec), min, max);
  if (spec.type !== 'z') return text;
  // Track data: digits with one separator somewhere inside when there is room for it.
  return text.chain((digits) => (digits.length < 3 ? fc.constant(digits) : fc.integer({ min: 1, max: digits.length - 2 }).map((at) => digits.slice(0, at) + 'D' + digits.slice(at + 1))));
}

const berTag = fc.oneof(
  fc.integer({ min: 0, max: 255 }).filter((b) => (b & 0x1f) !== 0x1f).map((b) => HEX[b >> 4]! + HEX[b & 15]!),
  fc.tuple(fc.constantFrom('5F', '9F', 'DF', 'BF'), fc.integer({ min: 0, max: 0x7f })).map(([first, second]) => first + second.toString(16).toUpperCase().padStart(2, '0')),
);

function berTlv(): fc.Arbitrary<FieldValue> {
  return fc.array(fc.record({ tag: berTag, value: fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b).toString('hex').toUpperCase()) }), { maxLength: 5 });
}

function decimalTlv(composite: TlvComposite): fc.Arbitrary<FieldValue> {
  const valueAlphabet = composite.encoding === 'ebcdic' ? PRINTABLE_ASCII + PRINTABLE_LATIN1_HIGH : PRINTABLE_ASCII;
  return fc.array(fc.record({ tag: charsOf(DIGITS + LETTERS, composite.tagLength, composite.tagLength), value: charsOf(valueAlphabet, 0, Math.min(30, composite.valueLengthMax)) }), { maxLength: 5 });
}

export function fieldValue(spec: FieldSpec): fc.Arbitrary<FieldValue> {
  const composite = spec.subfields;
  if (!composite) return primitive(spec);
  switch (composite.kind) {
    case 'ber-tlv': return berTlv();
    case 'tlv': return decimalTlv(composite);
    case 'positional':
      return fc.record(Object.fromEntries(Object.entries(composite.subfields).map(([id, sub]) => [id, fieldValue(sub)])));
    case 'bitmapped':
      // Absent subfields are left out of the object (not set to undefined), as a decoder returns them.
      return fc.record(Object.fromEntries(Object.entries(composite.subfields).map(([id, sub]) => [id, fieldValue(sub)])), { requiredKeys: [] }) as fc.Arbitrary<FieldValue>;
  }
}

/** Any valid message of the spec: one of its MTIs and any subset of its fields. */
export function message(spec: MessageSpec): fc.Arbitrary<Message> {
  const arbitraries = Object.fromEntries(Object.entries(spec.fields).map(([id, field]) => [id, fieldValue(field)]));
  return fc.record({
    mti: fc.constantFrom(...Object.keys(spec.messageTypes)),
    fields: fc.record(arbitraries, { requiredKeys: [] }),
  }) as fc.Arbitrary<Message>;
}
