/**
 * Primitive fields compiled into one uniform record each (`PrimitiveField`) and handled by
 * two plain functions with a switch on the content kind. One record shape and no per-field
 * closures keep every property access and call monomorphic, which is what lets the message
 * loop run at several hundred thousand messages a second.
 */
import { bytesToHex, type EbcdicTables } from './encoding.js';
import { Iso8583Error } from './errors.js';
import { allowedClasses, readBcd, readText, writeBcd, writeHexAsBytes, writeText } from './content.js';
import { CHAR_CLASS, type Reader, type Writer } from './io.js';
import { prefixSize, readPrefix, writePrefix } from './prefix.js';
import type { BcdPad, FieldSpec, FieldValue, LengthPrefix, LengthUnit } from './spec.js';

const KIND_TEXT = 0;
const KIND_BCD = 1;
const KIND_BINARY = 2;
const KIND_HEX = 3;

export class PrimitiveField {
  readonly kind: number;
  readonly prefix: LengthPrefix | null;
  readonly prefixBytes: number;
  readonly lengthMax: number;
  readonly classes: number;
  /** EBCDIC tables for text content, null for ASCII. */
  readonly textTables: EbcdicTables | null;
  /** EBCDIC tables for the prefix (EBCDIC prefixes only). */
  readonly ebcdic: EbcdicTables | undefined;
  readonly padChar: string;
  readonly padLeft: boolean;
  readonly bcdPad: BcdPad | undefined;
  readonly track: boolean;
  /** BCD and hex lengths counted in bytes rather than digits. */
  readonly byBytes: boolean;
  /** Which encoder handles this field: a small specialised one for the common shapes. */
  readonly handler: number;

  constructor(spec: FieldSpec, unit: LengthUnit | 'chars', readonly path: string, ebcdic: EbcdicTables | undefined) {
    this.kind = spec.encoding === 'bcd' ? KIND_BCD : spec.encoding === 'binary' ? KIND_BINARY : spec.encoding === 'hex' ? KIND_HEX : KIND_TEXT;
    this.prefix = spec.prefix ?? null;
    this.prefixBytes = spec.prefix ? prefixSize(spec.prefix) : 0;
    this.lengthMax = spec.length;
    this.classes = allowedClasses(spec.type, spec.encoding);
    this.textTables = spec.encoding === 'ebcdic' ? (ebcdic ?? null) : null;
    this.ebcdic = ebcdic;
    this.padChar = !spec.prefix && spec.pad ? spec.pad.char : '';
    this.padLeft = spec.pad?.side === 'left';
    this.bcdPad = spec.bcdPad;
    this.track = spec.type === 'z';
    this.byBytes = unit === 'bytes';
    this.handler = this.kind !== KIND_TEXT ? HANDLER_GENERAL
      : this.prefix === null ? HANDLER_TEXT_FIXED
      : this.prefix.encoding === 'ascii' || this.prefix.encoding === 'ebcdic' ? HANDLER_TEXT_VARIABLE
      : HANDLER_GENERAL;
  }
}

export const HANDLER_GENERAL = 0;
export const HANDLER_TEXT_FIXED = 1;
export const HANDLER_TEXT_VARIABLE = 2;

/**
 * Fixed-length text (ASCII or EBCDIC): the commonest field of all, kept small enough for the
 * message loop to inline. Anything unusual falls back to the general encoder, which reports it.
 */
export function encodeTextFixed(field: PrimitiveField, value: FieldValue, writer: Writer): void {
  const length = field.lengthMax;
  const at = writer.pos;
  if (typeof value !== 'string' || value.length !== length || at + length > writer.buf.length) {
    encodePrimitive(field, value, writer);
    return;
  }
  writeChars(writer.buf, at, value, field);
  writer.pos = at + length;
}

/** Variable-length text behind a decimal ASCII or EBCDIC prefix. */
export function encodeTextVariable(field: PrimitiveField, value: FieldValue, writer: Writer): void {
  const at = writer.pos;
  const digits = field.prefixBytes;
  if (typeof value !== 'string' || value.length > field.lengthMax || at + digits + value.length > writer.buf.length) {
    encodePrimitive(field, value, writer);
    return;
  }
  const buf = writer.buf;
  const table = field.textTables ?? field.ebcdic;
  let rest = value.length;
  for (let i = digits - 1; i >= 0; i -= 1) {
    const code = 0x30 + (rest % 10);
    rest = (rest / 10) | 0;
    buf[at + i] = field.prefix !== null && field.prefix.encoding === 'ebcdic' && table !== undefined ? table.fromLatin1[code]! : code;
  }
  writeChars(buf, at + digits, value, field);
  writer.pos = at + digits + value.length;
}

/** Checks and writes each character; the first bad one is reported by the general text writer. */
function writeChars(buf: Buffer, offset: number, value: string, field: PrimitiveField): void {
  const classes = field.classes;
  const table = field.textTables;
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if (code > 0xff || (CHAR_CLASS[code]! & classes) === 0) writeText(buf, offset, value, classes, table ?? undefined, field.path);
    buf[offset + i] = table === null ? code : table.fromLatin1[code]!;
  }
}

export function decodePrimitive(field: PrimitiveField, reader: Reader): string {
  let length = field.lengthMax;
  if (field.prefix !== null) {
    length = readPrefix(reader, field.prefix, field.ebcdic, field.path);
    if (length > field.lengthMax) throw new Iso8583Error('length_exceeds_max', `length ${length} exceeds the maximum ${field.lengthMax}`, field.path, reader.pos - field.prefixBytes);
  }
  const buf = reader.buf;
  switch (field.kind) {
    case KIND_TEXT:
      return readText(buf, reader.take(length, field.path, 'field content'), length, field.classes, field.textTables ?? undefined, field.path);
    case KIND_BCD: {
      const bytes = field.byBytes ? length : (length + 1) >> 1;
      const start = reader.take(bytes, field.path, 'field content');
      const digits = field.byBytes ? bcdDigitsFromBytes(buf, start, bytes, field.bcdPad) : length;
      return readBcd(buf, start, bytes, digits, field.bcdPad, field.track, field.path);
    }
    case KIND_BINARY: {
      const start = reader.take(length, field.path, 'field content');
      return bytesToHex(buf, start, start + length);
    }
    default: {
      if (!field.byBytes && length % 2 !== 0) throw new Iso8583Error('length_invalid', `hex content length ${length} is odd`, field.path, reader.pos);
      const chars = field.byBytes ? length * 2 : length;
      return readText(buf, reader.take(chars, field.path, 'field content'), chars, field.classes, undefined, field.path);
    }
  }
}

export function encodePrimitive(field: PrimitiveField, value: FieldValue, writer: Writer): void {
  if (typeof value !== 'string') throw new Iso8583Error('value_invalid', `expected a string, got ${Array.isArray(value) ? 'an array' : typeof value}`, field.path, writer.pos);
  const text = field.padChar !== '' && value.length < field.lengthMax ? justify(value, field) : value;
  const length = measure(field, text);
  if (field.prefix !== null) {
    if (length > field.lengthMax) throw new Iso8583Error('length_exceeds_max', `length ${length} exceeds the maximum ${field.lengthMax}`, field.path, writer.pos);
  } else if (length !== field.lengthMax) {
    throw new Iso8583Error('length_mismatch', `fixed length is ${field.lengthMax}, value has ${length}`, field.path, writer.pos);
  }
  const contentBytes = field.kind === KIND_BCD ? (field.byBytes ? length : (length + 1) >> 1) : field.kind === KIND_BINARY ? length : text.length;
  // One reservation for prefix and content: the field is written whole or not at all.
  const at = writer.reserve(field.prefixBytes + contentBytes, field.path);
  if (field.prefix !== null) writePrefix(writer.buf, at, field.prefix, length, field.ebcdic);
  const contentAt = at + field.prefixBytes;
  switch (field.kind) {
    case KIND_TEXT:
      if (field.textTables === null) writeAscii(writer.buf, contentAt, text, field);
      else writeText(writer.buf, contentAt, text, field.classes, field.textTables, field.path);
      return;
    case KIND_BCD:
      writeBcd(writer.buf, contentAt, contentBytes, text, field.bcdPad, field.track, field.path);
      return;
    case KIND_BINARY:
      writeHexAsBytes(writer.buf, contentAt, text, field.path);
      return;
    default:
      // The uppercase-hex character class checks every digit as it is written.
      writeText(writer.buf, contentAt, text, field.classes, undefined, field.path);
  }
}

/** ASCII text, the commonest case, checked and written in one loop. */
function writeAscii(buf: Buffer, offset: number, text: string, field: PrimitiveField): void {
  const classes = field.classes;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code > 0xff || (CHAR_CLASS[code]! & classes) === 0) writeText(buf, offset, text, classes, undefined, field.path);
    buf[offset + i] = code;
  }
}

/** The value's length in the field's unit (binary values are checked for even length here). */
function measure(field: PrimitiveField, text: string): number {
  switch (field.kind) {
    case KIND_BCD: return field.byBytes ? (text.length + 1) >> 1 : text.length;
    case KIND_BINARY:
      if (text.length % 2 !== 0) throw new Iso8583Error('value_invalid', `binary value must be an even number of hex digits, got ${text.length}`, field.path, 0);
      return text.length >> 1;
    case KIND_HEX:
      if (text.length % 2 !== 0) throw new Iso8583Error('value_invalid', `binary value must be an even number of hex digits, got ${text.length}`, field.path, 0);
      return field.byBytes ? text.length >> 1 : text.length;
    default: return text.length;
  }
}

function justify(value: string, field: PrimitiveField): string {
  const fill = field.padChar.repeat(field.lengthMax - value.length);
  return field.padLeft ? fill + value : value + fill;
}

/** Digits held by a byte-counted BCD field: an F pad nibble marks an odd count. */
function bcdDigitsFromBytes(buf: Buffer, start: number, bytes: number, pad: BcdPad | undefined): number {
  if (bytes === 0) return 0;
  if (pad === 'left-F') return (buf[start]! >> 4) === 0xf ? bytes * 2 - 1 : bytes * 2;
  if (pad === 'right-F') return (buf[start + bytes - 1]! & 0x0f) === 0xf ? bytes * 2 - 1 : bytes * 2;
  return bytes * 2;
}
