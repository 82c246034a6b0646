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

/** Reads or writes a primitive field's content once its length (in the field's unit) is known. */
interface ContentIo {
  read(reader: Reader, length: number): string;
  /** Checks the value and returns its length in the field's unit. */
  measure(value: string, offset: number): number;
  write(writer: Writer, value: string, length: number): void;
}

/**
 * Every spec property is copied into locals here, once: spec objects come in many shapes,
 * and reading them per message would make every property access megamorphic.
 */
function compilePrimitive(spec: FieldSpec, path: string, ebcdic: EbcdicTables | undefined): FieldCodec {
  assert(spec.encoding !== 'ebcdic' || ebcdic !== undefined, `spec for field ${path}: EBCDIC needs a code page`);
  const io = contentIo(spec, unitOf(spec), path, ebcdic);
  const prefix = spec.prefix;
  const prefixBytes = prefix ? prefixSize(prefix) : 0;
  const lengthMax = spec.length;
  const pad = !prefix ? spec.pad : undefined;
  return {
    spec,
    path,
    decode(reader: Reader): FieldValue {
      if (!prefix) return io.read(reader, lengthMax);
      const length = readPrefix(reader, prefix, ebcdic, path);
      if (length > lengthMax) throw new Iso8583Error('length_exceeds_max', `length ${length} exceeds the maximum ${lengthMax}`, path, reader.pos - prefixBytes);
      return io.read(reader, length);
    },
    encode(value: FieldValue, writer: Writer): void {
      if (typeof value !== 'string') throw new Iso8583Error('value_invalid', `expected a string, got ${Array.isArray(value) ? 'an array' : typeof value}`, path, writer.pos);
      const text = pad !== undefined && value.length < lengthMax ? justify(value, lengthMax, pad) : value;
      const length = io.measure(text, writer.pos);
      if (prefix) {
        if (length > lengthMax) throw new Iso8583Error('length_exceeds_max', `length ${length} exceeds the maximum ${lengthMax}`, path, writer.pos);
        writePrefix(writer.buf, writer.reserve(prefixBytes, path), prefix, length, ebcdic);
      } else if (length !== lengthMax) {
        throw new Iso8583Error('length_mismatch', `fixed length is ${lengthMax}, value has ${length}`, path, writer.pos);
      }
      io.write(writer, text, length);
    },
  };
}

function contentIo(spec: FieldSpec, unit: LengthUnit | 'chars', path: string, ebcdic: EbcdicTables | undefined): ContentIo {
  const classes = allowedClasses(spec.type, spec.encoding);
  switch (spec.encoding) {
    case 'ascii':
    case 'ebcdic': {
      const tables = spec.encoding === 'ebcdic' ? ebcdic : undefined;
      return {
        read: (reader, length) => readText(reader.buf, reader.take(length, path, 'field content'), length, classes, tables, path),
        measure: (value) => value.length,
        write: (writer, value) => writeText(writer.buf, writer.reserve(value.length, path), value, classes, tables, path),
      };
    }
    case 'bcd': {
      const pad = spec.bcdPad;
      const track = spec.type === 'z';
      const byBytes = unit === 'bytes';
      return {
        read(reader, length) {
          const bytes = byBytes ? length : (length + 1) >> 1;
          const start = reader.take(bytes, path, 'field content');
          const digits = byBytes ? bcdDigitsFromBytes(reader.buf, start, bytes, pad) : length;
          return readBcd(reader.buf, start, bytes, digits, pad, track, path);
        },
        measure: (value) => (byBytes ? (value.length + 1) >> 1 : value.length),
        write(writer, value, length) {
          const bytes = byBytes ? length : (length + 1) >> 1;
          writeBcd(writer.buf, writer.reserve(bytes, path), bytes, value, pad, track, path);
        },
      };
    }
    case 'binary':
      return {
        read(reader, length) {
          const start = reader.take(length, path, 'field content');
          return bytesToHex(reader.buf, start, start + length);
        },
        measure: (value, offset) => hexByteLength(value, path, offset),
        write: (writer, value, length) => { writeHexAsBytes(writer.buf, writer.reserve(length, path), value, path); },
      };
    case 'hex': {
      const byBytes = unit === 'bytes';
      return {
        read(reader, length) {
          if (!byBytes && length % 2 !== 0) throw new Iso8583Error('length_invalid', `hex content length ${length} is odd`, path, reader.pos);
          const chars = byBytes ? length * 2 : length;
          return readText(reader.buf, reader.take(chars, path, 'field content'), chars, classes, undefined, path);
        },
        measure: (value, offset) => (byBytes ? hexByteLength(value, path, offset) : (hexByteLength(value, path, offset), value.length)),
        write: (writer, value) => writeText(writer.buf, writer.reserve(value.length, path), value, classes, undefined, path),
      };
    }
  }
}

/** Digits held by a byte-counted BCD field: an F pad nibble marks an odd count. */
function bcdDigitsFromBytes(buf: Buffer, start: number, bytes: number, pad: FieldSpec['bcdPad']): number {
  if (bytes === 0) return 0;
  if (pad === 'left-F') return ((buf[start] ?? 0) >> 4) === 0xf ? bytes * 2 - 1 : bytes * 2;
  if (pad === 'right-F') return ((buf[start + bytes - 1] ?? 0) & 0x0f) === 0xf ? bytes * 2 - 1 : bytes * 2;
  return bytes * 2;
}

function justify(value: string, length: number, pad: NonNullable<FieldSpec['pad']>): string {
  const fill = pad.char.repeat(length - value.length);
  return pad.side === 'left' ? fill + value : value + fill;
}
