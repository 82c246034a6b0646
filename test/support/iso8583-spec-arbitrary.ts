/**
 * fast-check generators of valid message specs, for testing the codec on dialects nobody has
 * written yet: the compiled engine's generator (generate*.ts) has a branch per field form
 * (BCD pad rules, prefixes of 1 to 4 digits in four encodings, EBCDIC code pages, hex and
 * tertiary bitmaps, short digit fields, BER-TLV, delegated forms), and the four dialects in
 * specs/ reach only some of them.
 *
 * Valid means: compileSpec accepts the spec (field.ts, composite.ts, message.ts check it), and
 * `message(spec)` (iso8583-arbitrary.ts) makes only messages the spec can encode. The second
 * needs more than the first: a fixed composite's subfields must fill it exactly, a prefixed
 * one's maximum must hold the largest value that arbitrary makes, and every EBCDIC element
 * (text, prefix, MTI, bitmap) needs the spec's code page. Forms that arbitrary cannot make
 * values for (hex text whose length counts characters) are left out.
 */
import fc from 'fast-check';
import type {
  BcdPad, BitmapEncoding, CompositeSpec, ContentType, EbcdicCodePage, FieldSpec, LengthPrefix, LengthUnit, MessageSpec, MessageTypeRule, MtiEncoding, PrefixEncoding,
} from '../../iso8583/index.js';

const CODE_PAGES: readonly EbcdicCodePage[] = ['037', '500', '1047'];
const PREFIX_ENCODINGS: readonly PrefixEncoding[] = ['ascii', 'ebcdic', 'bcd', 'binary'];
const BCD_PADS: readonly BcdPad[] = ['left-0', 'left-F', 'right-0', 'right-F'];
const BITMAP_ENCODINGS: readonly BitmapEncoding[] = ['binary', 'hex-ascii', 'hex-ebcdic'];
const MTI_ENCODINGS: readonly MtiEncoding[] = ['ascii', 'bcd', 'ebcdic'];

/** The largest value of a generated field, in its length unit: keeps a message well below MESSAGE_SIZE_BYTES_MAX. */
const FIELD_LENGTH_MAX = 400;
/** Fields per spec: enough to need secondary and tertiary bitmaps, few enough to compile fast. */
const FIELDS_PER_SPEC_MAX = 32;
/**
 * The most bytes `message(spec)` puts in a TLV field (iso8583-arbitrary.ts): at most 5
 * entries, values of at most 30 bytes (BER-TLV: tags of at most 2 bytes, 1-byte lengths).
 */
const ARBITRARY_TLV_ENTRIES_MAX = 5;
const ARBITRARY_TLV_VALUE_MAX = 30;
const BER_CONTENT_BYTES_MAX = ARBITRARY_TLV_ENTRIES_MAX * (2 + 1 + ARBITRARY_TLV_VALUE_MAX);

/** Bytes a prefix takes and the largest length it can state (the rules of prefix.ts, restated). */
export function prefixBytes(prefix: LengthPrefix): number {
  if (prefix.encoding === 'binary') return prefix.digits <= 2 ? 1 : 2;
  return prefix.encoding === 'bcd' ? Math.ceil(prefix.digits / 2) : prefix.digits;
}
export function prefixCapacity(prefix: LengthPrefix): number {
  if (prefix.encoding === 'binary') return prefix.digits <= 2 ? 255 : 65_535;
  return 10 ** prefix.digits - 1;
}

const prefixArbitrary: fc.Arbitrary<LengthPrefix> = fc.record({
  digits: fc.constantFrom<LengthPrefix['digits']>(1, 2, 3, 4),
  encoding: fc.constantFrom(...PREFIX_ENCODINGS),
});

/** A prefix able to state `needed`: its capacity decides, so L and LL drop out for large contents. */
function prefixFor(needed: number): fc.Arbitrary<LengthPrefix> {
  return prefixArbitrary.filter((prefix) => prefixCapacity(prefix) >= needed);
}

/** Fixed lengths: mostly short (1-4 digits are decoded from a table, up to 16 characters unrolled), some longer. */
const fixedLength = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 4 }) },
  { weight: 4, arbitrary: fc.integer({ min: 5, max: 17 }) },
  { weight: 2, arbitrary: fc.integer({ min: 18, max: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 41, max: 120 }) },
);

/** A variable field's maximum under `prefix`: 0 to the prefix's capacity, mostly small, sometimes exactly the capacity. */
function variableMax(prefix: LengthPrefix, unitMax = FIELD_LENGTH_MAX): fc.Arbitrary<number> {
  const top = Math.min(prefixCapacity(prefix), unitMax);
  return fc.oneof(
    { weight: 5, arbitrary: fc.integer({ min: 0, max: Math.min(top, 40) }) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: top }) },
    { weight: 1, arbitrary: fc.constant(top) },
  );
}

interface Sizing { readonly length: number; readonly prefix?: LengthPrefix }

/** Fixed (`fixed` lengths) or behind any prefix, with a maximum of at most `unitMax`. */
function sizing(fixed: fc.Arbitrary<number>, unitMax = FIELD_LENGTH_MAX): fc.Arbitrary<Sizing> {
  return fc.oneof(
    fixed.map((length) => ({ length })),
    prefixArbitrary.chain((prefix) => variableMax(prefix, unitMax).map((length) => ({ length, prefix }))),
  );
}

const withPrefix = (s: Sizing): Partial<FieldSpec> => (s.prefix === undefined ? { length: s.length } : { length: s.length, prefix: s.prefix });
const optional = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arbitrary, { nil: undefined });

/** Whether a BCD field can hold an odd digit count, so that field.ts requires a pad rule. */
function bcdCanBeOdd(s: Sizing, unit: LengthUnit): boolean {
  return s.prefix !== undefined ? unit === 'digits' : s.length % 2 === 1;
}

/** A pad rule where one is required, else sometimes one anyway (it must then be harmless). */
function bcdPadFor(required: boolean): fc.Arbitrary<BcdPad | undefined> {
  return required ? fc.constantFrom(...BCD_PADS) : optional(fc.constantFrom(...BCD_PADS));
}

function field(name: string, parts: Record<string, unknown>): FieldSpec {
  // Leaves out undefined members: a spec as a dialect file would write it.
  return Object.fromEntries(Object.entries({ name, ...parts }).filter(([, value]) => value !== undefined)) as unknown as FieldSpec;
}

/** Text in ASCII or EBCDIC: the generated code's `text` plan, and its short-digits table for n of 1-4. */
const textField = fc.record({
  type: fc.oneof(fc.constant<ContentType>('n'), fc.constantFrom<ContentType>('n', 'a', 'an', 'ans', 'z')),
  encoding: fc.constantFrom('ascii' as const, 'ebcdic' as const),
  size: sizing(fixedLength),
  pad: optional(fc.record({ char: fc.constantFrom(' ', '0', 'F'), side: fc.constantFrom('left' as const, 'right' as const) })),
}).map(({ type, encoding, size, pad }) => field('text', { type, encoding, ...withPrefix(size), pad: size.prefix === undefined ? pad : undefined }));

/** Packed BCD numerics counted in digits: the generated `bcd` plan (odd counts with each pad rule). */
const bcdField = fc.record({ size: sizing(fixedLength), explicitUnit: fc.boolean() }).chain(({ size, explicitUnit }) =>
  bcdPadFor(bcdCanBeOdd(size, 'digits')).map((bcdPad) => field('bcd', { type: 'n', encoding: 'bcd', ...withPrefix(size), lengthUnit: explicitUnit ? 'digits' : undefined, bcdPad })));

/** Raw bytes counted in bytes: the generated `binary` plan. */
const binaryField = fc.record({ size: sizing(fixedLength), explicitUnit: fc.boolean() })
  .map(({ size, explicitUnit }) => field('binary', { type: 'b', encoding: 'binary', ...withPrefix(size), lengthUnit: explicitUnit ? 'bytes' : undefined }));

/** Forms the generated code hands to the interpreted field codec: track 2 in BCD, byte-counted BCD, hex text. */
const trackBcdField = fc.record({ size: sizing(fixedLength), unit: fc.constantFrom<LengthUnit | undefined>(undefined, 'digits', 'bytes') }).chain(({ size, unit }) =>
  bcdPadFor(bcdCanBeOdd(size, unit ?? 'digits')).map((bcdPad) => field('track', { type: 'z', encoding: 'bcd', ...withPrefix(size), lengthUnit: unit, bcdPad })));

const bcdBytesField = sizing(fixedLength).chain((size) =>
  bcdPadFor(bcdCanBeOdd(size, 'bytes')).map((bcdPad) => field('bcd-bytes', { type: 'n', encoding: 'bcd', ...withPrefix(size), lengthUnit: 'bytes', bcdPad })));

const hexField = fc.record({ size: sizing(fixedLength), explicitUnit: fc.boolean() })
  .map(({ size, explicitUnit }) => field('hex', { type: 'b', encoding: 'hex', ...withPrefix(size), lengthUnit: explicitUnit ? 'bytes' : undefined }));

/** Dates, times, codes: fixed text digits of 1-4, which the generated decoder reads from its table of digit strings. */
const shortDigitsField = fc.record({ length: fc.integer({ min: 1, max: 4 }), encoding: fc.constantFrom('ascii' as const, 'ebcdic' as const) })
  .map(({ length, encoding }) => field('digits', { type: 'n', encoding, length }));

const primitiveField: fc.Arbitrary<FieldSpec> = fc.oneof(
  { weight: 6, arbitrary: textField },
  { weight: 2, arbitrary: shortDigitsField },
  { weight: 4, arbitrary: bcdField },
  { weight: 2, arbitrary: binaryField },
  { weight: 1, arbitrary: trackBcdField },
  { weight: 1, arbitrary: bcdBytesField },
  { weight: 1, arbitrary: hexField },
);

/** Bytes a primitive field's content takes for a value of `length` units (the unit rules of field.ts). */
function contentBytes(spec: FieldSpec, length: number): number {
  const unit = spec.lengthUnit ?? (spec.type === 'b' ? 'bytes' : spec.encoding === 'bcd' ? 'digits' : undefined);
  switch (spec.encoding) {
    case 'bcd': return unit === 'bytes' ? length : Math.ceil(length / 2);
    case 'hex': return unit === 'bytes' ? 2 * length : length;
    default: return length;
  }
}

/** The most bytes a primitive field takes on the wire (prefix included); for fixed fields, exactly what it takes. */
export function fieldBytesMax(spec: FieldSpec): number {
  return (spec.prefix ? prefixBytes(spec.prefix) : 0) + contentBytes(spec, spec.length);
}

/** A composite around `content`: fixed at exactly `exact` bytes when given, else behind a prefix that holds `needed` and some slack. */
function composite(name: string, subfields: CompositeSpec, needed: number, exact?: number): fc.Arbitrary<FieldSpec> {
  const prefixed = prefixFor(needed).chain((prefix) => fc.integer({ min: needed, max: Math.max(needed, Math.min(prefixCapacity(prefix), needed + 100)) })
    .map((length) => field(name, { type: 'b', encoding: 'binary', length, prefix, subfields })));
  if (exact === undefined || exact === 0) return prefixed;
  return fc.oneof(fc.constant(field(name, { type: 'b', encoding: 'binary', length: exact, subfields })), prefixed);
}

/** BER-TLV (EMV data): the generated `ber` plan, under every prefix form that can hold what message(spec) writes. */
const berField = composite('ber-tlv', { kind: 'ber-tlv' }, BER_CONTENT_BYTES_MAX);

const decimalTlvField = fc.record({
  order: fc.constantFrom('tag-length' as const, 'length-tag' as const),
  tagLength: fc.integer({ min: 1, max: 4 }),
  lengthDigits: fc.integer({ min: 1, max: 3 }),
  encoding: fc.constantFrom('ascii' as const, 'ebcdic' as const),
}).chain((tlv) => fc.integer({ min: 0, max: 10 ** tlv.lengthDigits - 1 }).chain((valueLengthMax) => {
  const entryMax = tlv.tagLength + tlv.lengthDigits + Math.min(ARBITRARY_TLV_VALUE_MAX, valueLengthMax);
  return composite('tlv', { kind: 'tlv', ...tlv, valueLengthMax }, ARBITRARY_TLV_ENTRIES_MAX * entryMax);
}));

/** Positional subfields 1..k: all fixed (the composite may then be fixed, their exact sum) or any. */
const positionalField = fc.boolean().chain((allFixed) => {
  const sub = allFixed ? primitiveField.filter((spec) => spec.prefix === undefined) : primitiveField;
  return fc.array(sub, { minLength: 1, maxLength: 5 }).chain((subs) => {
    const subfields = Object.fromEntries(subs.map((spec, i) => [i + 1, spec]));
    const total = subs.reduce((sum, spec) => sum + fieldBytesMax(spec), 0);
    return composite('positional', { kind: 'positional', subfields }, total, allFixed ? total : undefined);
  });
});

/** A sub-message with its own bitmap (DE 126/127 style), subfields anywhere in 1..64. */
const bitmappedField = fc.record({
  bitmapEncoding: fc.constantFrom(...BITMAP_ENCODINGS),
  ids: fc.uniqueArray(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 5 }),
}).chain(({ bitmapEncoding, ids }) => fc.array(primitiveField, { minLength: ids.length, maxLength: ids.length }).chain((subs) => {
  const subfields = Object.fromEntries(ids.map((id, i) => [id, subs[i]!]));
  const needed = (bitmapEncoding === 'binary' ? 8 : 16) + subs.reduce((sum, spec) => sum + fieldBytesMax(spec), 0);
  return composite('bitmapped', { kind: 'bitmapped', bitmapEncoding, subfields }, needed);
}));

export const fieldSpec: fc.Arbitrary<FieldSpec> = fc.oneof(
  { weight: 12, arbitrary: primitiveField },
  { weight: 2, arbitrary: berField },
  { weight: 1, arbitrary: positionalField },
  { weight: 1, arbitrary: decimalTlvField },
  { weight: 1, arbitrary: bitmappedField },
);

/** Field ids over 2..top, without 65 when it is the tertiary bitmap's indicator. */
function fieldIds(tertiary: boolean): fc.Arbitrary<number[]> {
  return fc.constantFrom(...(tertiary ? [64, 128, 192] : [64, 128])).chain((top) => {
    const slots = tertiary && top > 64 ? top - 2 : top - 1; // ids 2..top, less 65
    const count = fc.integer({ min: 1, max: Math.min(FIELDS_PER_SPEC_MAX, slots) });
    const ids = count.chain((n) => fc.uniqueArray(fc.integer({ min: 2, max: slots + 1 }).map((id) => (tertiary && id >= 65 ? id + 1 : id)), { minLength: n, maxLength: n }));
    // Without a tertiary bitmap, 65 is a field like any other: often enough to be tried.
    if (tertiary || top < 65) return ids;
    return fc.tuple(ids, fc.boolean()).map(([list, with65]) => (with65 && !list.includes(65) ? [65, ...list.slice(1)] : list));
  });
}

const messageTypes = fc.uniqueArray(fc.integer({ min: 0, max: 9999 }).map((n) => String(n).padStart(4, '0')), { minLength: 1, maxLength: 3 })
  .map((mtis) => Object.fromEntries(mtis.map((mti): [string, MessageTypeRule] => [mti, { description: `type ${mti}`, mandatory: [], optional: [] }])));

/**
 * Any valid spec. The code page is set whenever an EBCDIC element needs it, and sometimes when
 * none does (it must then change nothing).
 */
export const messageSpec: fc.Arbitrary<MessageSpec> = fc.record({
  mti: fc.constantFrom(...MTI_ENCODINGS),
  bitmap: fc.constantFrom(...BITMAP_ENCODINGS),
  tertiary: fc.boolean(),
  codePage: fc.constantFrom(...CODE_PAGES),
  codePageAlways: fc.boolean(),
  messageTypes,
}).chain((base) => fieldIds(base.tertiary).chain((ids) => fc.array(fieldSpec, { minLength: ids.length, maxLength: ids.length }).map((specs) => {
  const fields = Object.fromEntries(ids.map((id, i) => [id, { ...specs[i]!, name: `${specs[i]!.name} ${id}` }]));
  const spec: MessageSpec = {
    name: 'random',
    description: 'a random spec (test/support/iso8583-spec-arbitrary.ts)',
    mti: { encoding: base.mti },
    bitmap: base.tertiary ? { encoding: base.bitmap, tertiary: true } : { encoding: base.bitmap },
    fields,
    messageTypes: base.messageTypes,
  };
  // Field names hold no "ebcdic": only encodings do.
  const needsCodePage = JSON.stringify(spec).includes('ebcdic');
  return needsCodePage || base.codePageAlways ? { ...spec, ebcdicCodePage: base.codePage } : spec;
})));
