/**
 * iso8583: the ISO 8583 codec. Specs are data (`MessageSpec`, see `specs/`), compiled once
 * into a `MessageCodec`:
 *
 * ```ts
 * const codec = compileSpec(iso87Ascii);
 * const bytes = codec.encode({ mti: '0800', fields: { 7: '1124101500', 11: '000001', 70: '001' } });
 * const { mti, fields } = codec.decode(bytes);
 * ```
 *
 * A request the switch makes again and again has a fixed set of fields: a layout made once
 * encodes it from the values alone, faster (layout.ts):
 * `codec.layout([7, 11, 70]).encode('0800', ['1124101500', '000001', '001'])`.
 *
 * Every failure is an `Iso8583Error` with a code, a field path and a byte offset.
 *
 * By default the codec is compiled: an encoder and a decoder are generated per spec
 * (generate.ts) for the common case, with the table-driven (interpreted) codec behind them for
 * every error and rare form, so both give the same bytes, messages and errors. Read the
 * generated code with `generatedSource(spec)`, e.g.
 * `npx tsx -e "import('./iso8583/index.ts').then(async (m) => console.log(m.generatedSource((await import('./specs/index.ts')).dialect('iso87-ascii').spec)))"`;
 * `compileSpec(spec, { engine: 'interpreted' })` gives the interpreted codec alone.
 */
export { compileSpec, generatedSource, type CodecEngine, type MessageCodec } from './message.js';
export { Iso8583Error, type Iso8583ErrorCode } from './errors.js';
export { LAYOUTS_KEPT_MAX, type MessageLayout } from './layout.js';
export { encodeFrame, framedSize, FrameDecoder, lengthPrefixSize, type Frame, type Framing } from './framing.js';
export { validateMessage } from './validate.js';
export { maskMessage, formatMessage, describeSpec } from './pretty.js';
export { ebcdicTables, bytesToHex, isHex, type EbcdicCodePage } from './encoding.js';
export { MESSAGE_SIZE_BYTES_MAX } from './io.js';
export { TLV_ENTRIES_MAX } from './composite.js';
export type {
  BcdPad, BerTlvComposite, BitmapEncoding, BitmappedComposite, CompositeSpec, ContentEncoding, ContentType,
  FieldSpec, FieldValue, FieldValues, LengthPrefix, LengthUnit, Message, MessageSpec, MessageTypeRule,
  MtiEncoding, PositionalComposite, PrefixEncoding, Sensitivity, TlvComposite, TlvEntry,
} from './spec.js';
