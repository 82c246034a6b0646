/**
 * Compiles a field spec into an encoder/decoder pair. Compilation checks the spec itself
 * (a BCD field that can be odd must say how it pads, a prefix must be able to express the
 * maximum, ...) so a bad dialect table fails at load time, not on the first live message.
 */
import { assert } from '../core/index.js';
import { bytesToHex, type EbcdicTables } from './encoding.js';
import { Iso8583Error } from './errors.js';
import { allowedClasses, hexByteLength, readBcd, readText, writeBcd, writeHexAsBytes, writeText } from './content.js';
import type { Reader, Writer } from './io.js';
import { prefixCapacity, prefixSize, readPrefix, writePrefix } from './prefix.js';
import type { FieldSpec, FieldValue, LengthUnit } from './spec.js';
import { compileComposite } from './composite.js';

export interface FieldCodec {
  readonly spec: FieldSpec;
  readonly path: string;
  encode(value: FieldValue, writer: Writer): void;
  decode(reader: Reader): FieldValue;
}

/** Field lengths above this are a spec error: no ISO 8583 field is longer than LLLL allows. */
const FIELD_LENGTH_MAX = 9_999;
/** Composite specs nest at most this deep (DE 127.25.x is three levels). */
export const COMPOSITE_DEPTH_MAX = 4;

export function compileField(spec: FieldSpec, path: string, ebcdic: EbcdicTables | undefined, depth = 0): FieldCodec {
  checkSpec(spec, path);
  assert(depth <= COMPOSITE_DEPTH_MAX, `spec nests deeper than ${COMPOSITE_DEPTH_MAX} at ${path}`);
  if (spec.subfields) return compileComposite(spec, spec.subfields, path, ebcdic, depth);
  return compilePrimitive(spec, path, ebcdic);
}

function unitOf(spec: FieldSpec): LengthUnit | 'chars' {
  if (spec.lengthUnit) return spec.lengthUnit;
  if (spec.type === 'b') return 'bytes';
  if (spec.encoding === 'bcd') return 'digits';
  return 'chars';
}

function checkSpec(spec: FieldSpec, path: string): void {
  const where = `spec for field ${path}`;
  assert(Number.isInteger(spec.length) && spec.length >= 0 && spec.length <= FIELD_LENGTH_MAX, `${where}: bad length`);
  assert(spec.prefix !== undefined || spec.length > 0, `${where}: a fixed field needs a positive length`);
  if (spec.prefix) assert(spec.length <= prefixCapacity(spec.prefix), `${where}: the prefix cannot express the maximum length`);
  if (spec.subfields) return;
  const textual = spec.encoding === 'ascii' || spec.encoding === 'ebcdic';
  if (spec.type === 'b') assert(spec.encoding === 'binary' || spec.encoding === 'hex', `${where}: binary content needs binary or hex encoding`);
  else if (spec.type === 'n' || spec.type === 'z') assert(textual || spec.encoding === 'bcd', `${where}: numeric content needs ascii, ebcdic or bcd`);
  else assert(textual, `${where}: text content needs ascii or ebcdic`);
  if (spec.encoding === 'bcd') {
    const canBeOdd = spec.prefix !== undefined ? unitOf(spec) === 'digits' : spec.length % 2 === 1;
    if (canBeOdd) assert(spec.bcdPad !== undefined, `${where}: BCD with odd lengths needs a bcdPad rule`);
  }
  if (spec.pad) assert(spec.prefix === undefined && spec.pad.char.length === 1, `${where}: padding applies to fixed fields, one character`);
}

function compilePrimitive(spec: FieldSpec, path: string, ebcdic: EbcdicTables | undefined): FieldCodec {
  const unit = unitOf(spec);
  const textTables = spec.encoding === 'ebcdic' ? ebcdic : undefined;
  assert(spec.encoding !== 'ebcdic' || ebcdic !== undefined, `spec for field ${path}: EBCDIC needs a code page`);
  const classes = allowedClasses(spec.type, spec.encoding);
  const track = spec.type === 'z';

  const decodeContent = (reader: Reader, length: number): string => {
    const buf = reader.buf;
    switch (spec.encoding) {
      case 'ascii':
      case 'ebcdic': {
        const start = reader.take(length, path, 'field content');
        return readText(buf, start, length, classes, textTables, path);
      }
      case 'bcd': {
        const bytes = unit === 'bytes' ? length : Math.ceil(length / 2);
        const start = reader.take(bytes, path, 'field content');
        const digits = unit === 'bytes' ? bcdDigitsFromBytes(buf, start, bytes, spec) : length;
        return readBcd(buf, start, bytes, digits, spec.bcdPad, track, path);
      }
      case 'binary': {
        const start = reader.take(length, path, 'field content');
        return bytesToHex(buf, start, start + length);
      }
      case 'hex': {
        const chars = unit === 'bytes' ? length * 2 : length;
        const start = reader.take(chars, path, 'field content');
        return readText(buf, start, chars, classes, undefined, path);
      }
    }
  };

  return {
    spec,
    path,
    decode(reader: Reader): FieldValue {
      const length = spec.prefix ? readPrefix(reader, spec.prefix, ebcdic, path) : spec.length;
      if (length > spec.length) throw new Iso8583Error('length_exceeds_max', `length ${length} exceeds the maximum ${spec.length}`, path, reader.pos - (spec.prefix ? prefixSize(spec.prefix) : 0));
      if (spec.encoding === 'hex' && unit !== 'bytes' && length % 2 !== 0) throw new Iso8583Error('length_invalid', `hex content length ${length} is odd`, path, reader.pos);
      return decodeContent(reader, length);
    },
    encode(value: FieldValue, writer: Writer): void {
      if (typeof value !== 'string') throw new Iso8583Error('value_invalid', `expected a string, got ${Array.isArray(value) ? 'an array' : typeof value}`, path, writer.pos);
      const text = spec.pad && !spec.prefix ? justify(value, spec) : value;
      const length = unitLength(text, spec.encoding, unit, path, writer.pos);
      if (spec.prefix) {
        if (length > spec.length) throw new Iso8583Error('length_exceeds_max', `length ${length} exceeds the maximum ${spec.length}`, path, writer.pos);
      } else if (length !== spec.length) {
        throw new Iso8583Error('length_mismatch', `fixed length is ${spec.length}, value has ${length}`, path, writer.pos);
      }
      if (spec.prefix) writePrefix(writer.buf, writer.reserve(prefixSize(spec.prefix), path), spec.prefix, length, ebcdic);
      encodeContent(writer, text, length, unit, spec, classes, textTables, path);
    },
  };
}

/** Digits held by a byte-counted BCD field: an F pad nibble marks an odd count. */
function bcdDigitsFromBytes(buf: Buffer, start: number, bytes: number, spec: FieldSpec): number {
  if (bytes === 0) return 0;
  if (spec.bcdPad === 'left-F') return ((buf[start] ?? 0) >> 4) === 0xf ? bytes * 2 - 1 : bytes * 2;
  if (spec.bcdPad === 'right-F') return ((buf[start + bytes - 1] ?? 0) & 0x0f) === 0xf ? bytes * 2 - 1 : bytes * 2;
  return bytes * 2;
}

function unitLength(text: string, encoding: FieldSpec['encoding'], unit: LengthUnit | 'chars', path: string, offset: number): number {
  if (encoding === 'binary') return hexByteLength(text, path, offset);
  if (encoding === 'hex') return unit === 'bytes' ? hexByteLength(text, path, offset) : (hexByteLength(text, path, offset), text.length);
  if (encoding === 'bcd' && unit === 'bytes') return Math.ceil(text.length / 2);
  return text.length;
}

function justify(value: string, spec: FieldSpec): string {
  const pad = spec.pad;
  if (!pad || value.length >= spec.length) return value;
  const fill = pad.char.repeat(spec.length - value.length);
  return pad.side === 'left' ? fill + value : value + fill;
}

function encodeContent(writer: Writer, text: string, length: number, unit: LengthUnit | 'chars', spec: FieldSpec, classes: number, tables: EbcdicTables | undefined, path: string): void {
  switch (spec.encoding) {
    case 'ascii':
    case 'ebcdic':
      writeText(writer.buf, writer.reserve(text.length, path), text, classes, tables, path);
      return;
    case 'bcd': {
      const bytes = unit === 'bytes' ? length : Math.ceil(length / 2);
      writeBcd(writer.buf, writer.reserve(bytes, path), bytes, text, spec.bcdPad, spec.type === 'z', path);
      return;
    }
    case 'binary':
      writeHexAsBytes(writer.buf, writer.reserve(length, path), text);
      return;
    case 'hex':
      writeText(writer.buf, writer.reserve(text.length, path), text, classes, undefined, path);
      return;
  }
}
