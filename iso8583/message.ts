/**
 * Messages: MTI, primary/secondary/tertiary bitmaps and the fields they name. A spec is
 * compiled once into a `MessageCodec`; encoding writes into a bounded scratch buffer and
 * returns a copy, decoding is all-or-nothing (no partial results) and must use every byte.
 */
import { assert } from '../core/index.js';
import { ebcdicTables, type EbcdicTables } from './encoding.js';
import { Iso8583Error } from './errors.js';
import { isBitSet, readBitmap, setBit, writeBitmap } from './bitmap.js';
import { compileField, type FieldCodec } from './field.js';
import { decodePrimitive, encodePrimitive, encodeTextFixed, encodeTextVariable, HANDLER_TEXT_FIXED, HANDLER_TEXT_VARIABLE } from './primitive.js';
import { MESSAGE_SIZE_BYTES_MAX, Reader, Writer } from './io.js';
import { compileGenerated, sourceFor, type CompiledParts } from './compiled.js';
import { layoutMaker, type MessageLayout } from './layout.js';
import type { FieldSpec, FieldValue, FieldValues, Message, MessageSpec, MtiEncoding } from './spec.js';

export interface MessageCodec {
  readonly spec: MessageSpec;
  /** Which engine this codec runs (see compileSpec). */
  readonly engine: CodecEngine;
  /**
   * The compiled engine's generated functions alone, without the interpreted codec behind
   * them (undefined: "not this way"), and their source: for tests and for reading the code.
   */
  readonly generated?: CompiledParts;
  encode(message: Message): Buffer;
  /**
   * A layout of these fields (layout.ts): `codec.layout([2, 4, 11]).encode('0100', [pan, amount, stan])`
   * gives the bytes (or the error) encode gives for the same fields, without a fields object.
   * Make it once per message shape: it compiles code.
   */
  layout(ids: readonly number[]): MessageLayout;
  /** Decodes `frame[start, end)`; the whole range must be one message. */
  decode(frame: Buffer, start?: number, end?: number): Message;
  field(id: number): FieldCodec | undefined;
}

function isDigits(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code < 0x30 || code > 0x39) return false;
  }
  return true;
}

/**
 * `compiled` (the default): the spec's generated encoder/decoder (generate.ts, compiled.ts)
 * with the interpreted codec behind it for everything unusual and every error.
 * `interpreted`: the table-driven codec alone; the reference the compiled one is tested against.
 */
export type CodecEngine = 'compiled' | 'interpreted';

export function compileSpec(spec: MessageSpec, options: { engine?: CodecEngine } = {}): MessageCodec {
  const interpreted = compileInterpreted(spec);
  if (options.engine === 'interpreted') return interpreted;
  const fast = compileGenerated(spec, interpreted.codecs, interpreted.ebcdic);
  const encode = (message: Message): Buffer => fast.encode(message) ?? interpreted.encode(message);
  const layout = layoutMaker(isDefinedIn(interpreted.codecs), encode, (ids) => {
    const compiled = fast.layout(ids);
    return (mti, values) => compiled.encode(mti, values);
  });
  return {
    spec,
    engine: 'compiled',
    generated: fast,
    field: (id) => interpreted.field(id),
    encode,
    layout,
    decode(frame, start = 0, end = frame.length) {
      assert(start >= 0 && start <= end && end <= frame.length, 'decode range outside the frame');
      if (end - start > MESSAGE_SIZE_BYTES_MAX) throw new Iso8583Error('frame_too_large', `message of ${end - start} bytes exceeds ${MESSAGE_SIZE_BYTES_MAX}`, '', start);
      return fast.decode(frame, start, end) ?? interpreted.decode(frame, start, end);
    },
  };
}

/** The generated source of a spec's compiled codec, for reading and auditing. */
export function generatedSource(spec: MessageSpec): string {
  const interpreted = compileInterpreted(spec);
  return sourceFor(spec, interpreted.codecs);
}

interface InterpretedCodec extends MessageCodec {
  readonly codecs: readonly (FieldCodec | undefined)[];
  readonly ebcdic: EbcdicTables | undefined;
}

/** Where a field (or a subfield within it) is written in EBCDIC: its path, else undefined. */
function ebcdicElementIn(field: FieldSpec, path: string): string | undefined {
  if (field.encoding === 'ebcdic' || field.prefix?.encoding === 'ebcdic') return path;
  const composite = field.subfields;
  if (composite === undefined || composite.kind === 'ber-tlv') return undefined;
  if (composite.kind === 'tlv') return composite.encoding === 'ebcdic' ? path : undefined;
  if (composite.kind === 'bitmapped' && composite.bitmapEncoding === 'hex-ebcdic') return path;
  for (const [key, subfield] of Object.entries(composite.subfields)) {
    const found = ebcdicElementIn(subfield, `${path}.${key}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The first element of `spec` written in EBCDIC (MTI, bitmap, a prefix, content, a sub-bitmap),
 * else undefined. Such a spec must name its code page: without one, an EBCDIC prefix or MTI
 * would go out in another alphabet (and the compiled codec would read a table that is not there).
 */
function firstEbcdicElement(spec: MessageSpec): string | undefined {
  if (spec.mti.encoding === 'ebcdic') return 'mti';
  if (spec.bitmap.encoding === 'hex-ebcdic') return 'bitmap';
  for (const [key, field] of Object.entries(spec.fields)) {
    const found = ebcdicElementIn(field, key);
    if (found !== undefined) return found;
  }
  return undefined;
}

function compileInterpreted(spec: MessageSpec): InterpretedCodec {
  const ebcdicElement = firstEbcdicElement(spec);
  assert(ebcdicElement === undefined || spec.ebcdicCodePage !== undefined, `spec ${spec.name}: ${ebcdicElement ?? ''} is EBCDIC, so the spec needs an ebcdicCodePage`);
  const ebcdic = spec.ebcdicCodePage ? ebcdicTables(spec.ebcdicCodePage) : undefined;
  const fieldCountMax = spec.bitmap.tertiary ? 192 : 128;
  const codecs: (FieldCodec | undefined)[] = new Array<FieldCodec | undefined>(fieldCountMax + 1);
  for (const key of Object.keys(spec.fields)) {
    const id = Number(key);
    const bitmapSlot = id === 65 && spec.bitmap.tertiary === true;
    assert(Number.isInteger(id) && id >= 2 && id <= fieldCountMax && !bitmapSlot, `spec ${spec.name}: field ${key} out of range`);
    codecs[id] = compileField(spec.fields[id]!, String(id), ebcdic);
  }
  const primitives = codecs.map((codec) => codec?.primitive);
  const writer = new Writer(MESSAGE_SIZE_BYTES_MAX);
  const bitmaps = new Uint8Array(24);
  const presence = new Uint8Array(24);
  const ids: number[] = [];
  const values: FieldValue[] = [];
  const layout = layoutMaker(isDefinedIn(codecs), (message) => codec.encode(message));

  const codec: InterpretedCodec = {
    spec,
    engine: 'interpreted',
    codecs,
    ebcdic,
    field: (id) => codecs[id],
    layout,
    encode(message) {
      writer.pos = 0;
      writeMti(writer, message.mti, spec.mti.encoding, ebcdic);
      presentFieldIds(message.fields, codecs, ids, values);
      bitmaps.fill(0);
      for (const id of ids) setBit(bitmaps, id);
      const last = ids[ids.length - 1] ?? 0;
      if (last > 64) setBit(bitmaps, 1);
      if (last > 128) setBit(bitmaps, 65);
      writeBitmap(writer, spec.bitmap.encoding, ebcdic, 'bitmap', bitmaps, 0);
      // Bitmaps travel together up front: primary, secondary (bit 1), tertiary (bit 65).
      if (last > 64) writeBitmap(writer, spec.bitmap.encoding, ebcdic, '1', bitmaps, 8);
      if (last > 128) writeBitmap(writer, spec.bitmap.encoding, ebcdic, '65', bitmaps, 16);
      for (let i = 0; i < ids.length; i += 1) {
        const id = ids[i]!;
        const primitive = primitives[id];
        if (primitive === undefined) codecs[id]!.encode(values[i]!, writer);
        else if (primitive.handler === HANDLER_TEXT_FIXED) encodeTextFixed(primitive, values[i]!, writer);
        else if (primitive.handler === HANDLER_TEXT_VARIABLE) encodeTextVariable(primitive, values[i]!, writer);
        else encodePrimitive(primitive, values[i]!, writer);
      }
      return writer.result();
    },
    decode(frame, start = 0, end = frame.length) {
      assert(start >= 0 && start <= end && end <= frame.length, 'decode range outside the frame');
      if (end - start > MESSAGE_SIZE_BYTES_MAX) throw new Iso8583Error('frame_too_large', `message of ${end - start} bytes exceeds ${MESSAGE_SIZE_BYTES_MAX}`, '', start);
      const reader = new Reader(frame, start, end);
      const mti = readMti(reader, spec.mti.encoding, ebcdic);
      const map = presence.fill(0);
      readPresence(reader, spec, ebcdic, map);
      const fields: FieldValues = {};
      // Creating the highest key first sizes the object's element store once, instead of
      // growing it field by field (a third of the decode time otherwise).
      const highest = highestField(map, fieldCountMax);
      if (highest > 0) fields[highest] = '';
      const bitmapEnd = reader.pos;
      // Walk the bitmaps byte by byte: most bytes are zero and are skipped whole.
      for (let byteIndex = 0; byteIndex < fieldCountMax / 8; byteIndex += 1) {
        const byte = map[byteIndex]!;
        if (byte === 0) continue;
        for (let bit = 0; bit < 8; bit += 1) {
          if ((byte & (0x80 >> bit)) === 0) continue;
          const id = byteIndex * 8 + bit + 1;
          if (id === 1 || (id === 65 && spec.bitmap.tertiary === true)) continue;
          const codec = codecs[id];
          if (!codec) throw new Iso8583Error('field_unknown', `the bitmap names field ${id}, which spec ${spec.name} does not define`, String(id), bitmapEnd);
          const primitive = primitives[id];
          fields[id] = primitive !== undefined ? decodePrimitive(primitive, reader) : codec.decode(reader);
        }
      }
      if (reader.pos !== end) throw new Iso8583Error('trailing_bytes', `${end - reader.pos} bytes left after the last field`, '', reader.pos);
      return { mti, fields };
    },
  };
  return codec;
}

/** Whether the spec defines field `id` (`codecs` indexed by field id). */
function isDefinedIn(codecs: readonly (FieldCodec | undefined)[]): (id: number) => boolean {
  return (id) => id >= 0 && id < codecs.length && codecs[id] !== undefined;
}

/**
 * Field ids present in `fields`, ascending. Integer-like keys come first and in ascending
 * order from Object.keys (ECMAScript OrdinaryOwnPropertyKeys), so one pass suffices; a key
 * that is not a field the spec defines is an error, never silently dropped.
 */
function presentFieldIds(fields: FieldValues, codecs: readonly (FieldCodec | undefined)[], ids: number[], values: FieldValue[]): void {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) throw new Iso8583Error('input_invalid', 'fields must be an object keyed by field number', '', 0);
  const keys = Object.keys(fields);
  let previous = 0;
  ids.length = 0;
  values.length = 0;
  for (const key of keys) {
    const id = fieldNumber(key);
    if (id < 0 || codecs[id] === undefined) {
      if (fields[key] === undefined) continue;
      throw new Iso8583Error('field_unknown', `field ${key} is not defined by this spec`, key, 0);
    }
    const value = fields[id];
    if (value === undefined) continue;
    assert(id > previous, 'integer keys enumerate in ascending order');
    previous = id;
    ids.push(id);
    values.push(value);
  }
}

/** The field number a key names (`"2"`..`"192"`), or -1; no leading zeros, no signs. */
function fieldNumber(key: string): number {
  if (key.length === 0 || key.length > 3 || key.charCodeAt(0) === 0x30) return -1;
  let id = 0;
  for (let i = 0; i < key.length; i += 1) {
    const digit = key.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    id = id * 10 + digit;
  }
  return id;
}

/** Reads the primary bitmap and, when flagged, the secondary (bit 1) and tertiary (bit 65). */
function readPresence(reader: Reader, spec: MessageSpec, ebcdic: EbcdicTables | undefined, map: Uint8Array): void {
  readBitmap(reader, spec.bitmap.encoding, ebcdic, 'bitmap', map, 0);
  if (!isBitSet(map, 1)) return;
  const secondaryAt = reader.pos;
  if (!readBitmap(reader, spec.bitmap.encoding, ebcdic, '1', map, 8)) {
    throw new Iso8583Error('bitmap_invalid', 'secondary bitmap flagged but empty (it must be sent only when a field above 64 is)', '1', secondaryAt);
  }
  if (spec.bitmap.tertiary === true && isBitSet(map, 65)) {
    const tertiaryAt = reader.pos;
    if (!readBitmap(reader, spec.bitmap.encoding, ebcdic, '65', map, 16)) throw new Iso8583Error('bitmap_invalid', 'tertiary bitmap flagged but empty', '65', tertiaryAt);
  }
}

/** The highest field number set in the bitmaps (0 if none): the lowest set bit of the last non-zero byte. */
function highestField(map: Uint8Array, fieldCountMax: number): number {
  for (let byteIndex = fieldCountMax / 8 - 1; byteIndex >= 0; byteIndex -= 1) {
    const byte = map[byteIndex]!;
    if (byte !== 0) return byteIndex * 8 + 8 - (31 - Math.clz32(byte & -byte));
  }
  return 0;
}

function writeMti(writer: Writer, mti: string, encoding: MtiEncoding, ebcdic: EbcdicTables | undefined): void {
  if (typeof mti !== 'string' || mti.length !== 4 || !isDigits(mti)) throw new Iso8583Error('mti_invalid', `MTI must be four digits, got ${JSON.stringify(mti)}`, 'mti', 0);
  if (encoding === 'bcd') {
    const at = writer.reserve(2, 'mti');
    writer.buf[at] = ((mti.charCodeAt(0) - 0x30) << 4) | (mti.charCodeAt(1) - 0x30);
    writer.buf[at + 1] = ((mti.charCodeAt(2) - 0x30) << 4) | (mti.charCodeAt(3) - 0x30);
    return;
  }
  const at = writer.reserve(4, 'mti');
  for (let i = 0; i < 4; i += 1) {
    const code = mti.charCodeAt(i);
    writer.buf[at + i] = encoding === 'ebcdic' ? (ebcdic?.fromLatin1[code] ?? 0) : code;
  }
}

function readMti(reader: Reader, encoding: MtiEncoding, ebcdic: EbcdicTables | undefined): string {
  const size = encoding === 'bcd' ? 2 : 4;
  const at = reader.take(size, 'mti', 'MTI');
  let mti = '';
  for (let i = 0; i < size; i += 1) {
    const byte = reader.buf[at + i] ?? 0;
    if (encoding === 'bcd') {
      if ((byte >> 4) > 9 || (byte & 0x0f) > 9) throw new Iso8583Error('mti_invalid', `MTI byte 0x${byte.toString(16).toUpperCase().padStart(2, '0')} is not BCD`, 'mti', at + i);
      mti += String(byte >> 4) + String(byte & 0x0f);
    } else {
      const code = encoding === 'ebcdic' ? (ebcdic?.toLatin1[byte] ?? 0) : byte;
      if (code < 0x30 || code > 0x39) throw new Iso8583Error('mti_invalid', `MTI byte 0x${byte.toString(16).toUpperCase().padStart(2, '0')} is not a digit`, 'mti', at + i);
      mti += String.fromCharCode(code);
    }
  }
  return mti;
}
