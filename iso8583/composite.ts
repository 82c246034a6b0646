/**
 * Composite fields: positional subfields, decimal-text TLV (tag-length or length-tag),
 * BER-TLV for EMV data, and bitmapped sub-messages. The enclosing field's length bounds the
 * subfields: they are decoded from a reader that ends where the field ends, and must use
 * it exactly, so a bad subfield can never shift the next field of the message.
 */
import { assert } from '../core/index.js';
import type { EbcdicTables } from './encoding.js';
import { bytesToHex } from './encoding.js';
import { Iso8583Error } from './errors.js';
import { isBitSet, readBitmap, setBit, writeBitmap } from './bitmap.js';
import { allowedClasses, readText, writeHexAsBytes, writeText } from './content.js';
import { compileField, type FieldCodec } from './field.js';
import { Reader, type Writer } from './io.js';
import { prefixSize, readPrefix, writePrefix } from './prefix.js';
import type { BerTlvComposite, BitmappedComposite, CompositeSpec, FieldSpec, FieldValue, FieldValues, TlvComposite, TlvEntry } from './spec.js';

/** A TLV field holds at most this many entries: a bound on the decode loop. */
export const TLV_ENTRIES_MAX = 256;
const BER_TAG_BYTES_MAX = 4;
const BER_LENGTH_BYTES_MAX = 3;

interface ContentCodec {
  encode(value: FieldValue, writer: Writer): void;
  decode(reader: Reader): FieldValue;
}

export function compileComposite(spec: FieldSpec, composite: CompositeSpec, path: string, ebcdic: EbcdicTables | undefined, depth: number): FieldCodec {
  assert(spec.lengthUnit === undefined || spec.lengthUnit === 'bytes', `spec for field ${path}: composite lengths count bytes`);
  const content = compileContent(composite, path, ebcdic, depth);
  return {
    spec,
    path,
    decode(reader: Reader): FieldValue {
      const prefixStart = reader.pos;
      const length = spec.prefix ? readPrefix(reader, spec.prefix, ebcdic, path) : spec.length;
      if (length > spec.length) throw new Iso8583Error('length_exceeds_max', `length ${length} exceeds the maximum ${spec.length}`, path, prefixStart);
      const start = reader.take(length, path, 'field content');
      const inner = new Reader(reader.buf, start, start + length);
      const value = content.decode(inner);
      if (inner.pos !== inner.end) throw new Iso8583Error('length_mismatch', `subfields end ${inner.end - inner.pos} bytes before the field does`, path, inner.pos);
      return value;
    },
    encode(value: FieldValue, writer: Writer): void {
      const prefixAt = spec.prefix ? writer.reserve(prefixSize(spec.prefix), path) : -1;
      const start = writer.pos;
      content.encode(value, writer);
      const length = writer.pos - start;
      if (length > spec.length) throw new Iso8583Error('length_exceeds_max', `subfields take ${length} bytes, the maximum is ${spec.length}`, path, start);
      if (spec.prefix) writePrefix(writer.buf, prefixAt, spec.prefix, length, ebcdic);
      else if (length !== spec.length) throw new Iso8583Error('length_mismatch', `fixed length is ${spec.length}, subfields take ${length}`, path, start);
    },
  };
}

function compileContent(composite: CompositeSpec, path: string, ebcdic: EbcdicTables | undefined, depth: number): ContentCodec {
  switch (composite.kind) {
    case 'positional': return positional(composite.subfields, path, ebcdic, depth);
    case 'bitmapped': return bitmapped(composite, path, ebcdic, depth);
    case 'tlv': return decimalTlv(composite, path, ebcdic);
    case 'ber-tlv': return berTlv(composite, path);
  }
}

function compileSubfields(subfields: Readonly<Record<number, FieldSpec>>, path: string, ebcdic: EbcdicTables | undefined, depth: number): Map<number, FieldCodec> {
  const ids = Object.keys(subfields).map(Number).sort((a, b) => a - b);
  const codecs = new Map<number, FieldCodec>();
  for (const id of ids) codecs.set(id, compileField(subfields[id]!, `${path}.${id}`, ebcdic, depth + 1));
  return codecs;
}

function expectObject(value: FieldValue, path: string, offset: number): FieldValues {
  if (typeof value !== 'object' || Array.isArray(value)) throw new Iso8583Error('value_invalid', 'expected an object of subfields', path, offset);
  return value;
}

function rejectUnknownKeys(values: FieldValues, known: Map<number, FieldCodec>, path: string, offset: number): void {
  for (const key in values) {
    const id = Number(key);
    if (!known.has(id) || String(id) !== key) throw new Iso8583Error('field_unknown', `no subfield ${key} in the spec`, `${path}.${key}`, offset);
  }
}

function positional(subfields: Readonly<Record<number, FieldSpec>>, path: string, ebcdic: EbcdicTables | undefined, depth: number): ContentCodec {
  const codecs = compileSubfields(subfields, path, ebcdic, depth);
  return {
    decode(reader) {
      const values: FieldValues = {};
      for (const [id, codec] of codecs) values[id] = codec.decode(reader);
      return values;
    },
    encode(value, writer) {
      const values = expectObject(value, path, writer.pos);
      rejectUnknownKeys(values, codecs, path, writer.pos);
      for (const [id, codec] of codecs) {
        const sub = values[id];
        if (sub === undefined) throw new Iso8583Error('field_missing', 'positional subfield missing', codec.path, writer.pos);
        codec.encode(sub, writer);
      }
    },
  };
}

function bitmapped(composite: BitmappedComposite, path: string, ebcdic: EbcdicTables | undefined, depth: number): ContentCodec {
  const codecs = compileSubfields(composite.subfields, path, ebcdic, depth);
  for (const id of codecs.keys()) assert(id >= 1 && id <= 64, `spec for ${path}: bitmapped subfields are 1..64`);
  const bitmapPath = `${path}.bitmap`;
  return {
    decode(reader) {
      const bitmap = new Uint8Array(8);
      const bitmapAt = reader.pos;
      readBitmap(reader, composite.bitmapEncoding, ebcdic, bitmapPath, bitmap);
      const values: FieldValues = {};
      for (let id = 1; id <= 64; id += 1) {
        if (!isBitSet(bitmap, id)) continue;
        const codec = codecs.get(id);
        if (!codec) throw new Iso8583Error('field_unknown', 'bitmap names a subfield the spec does not define', `${path}.${id}`, bitmapAt);
        values[id] = codec.decode(reader);
      }
      return values;
    },
    encode(value, writer) {
      const values = expectObject(value, path, writer.pos);
      rejectUnknownKeys(values, codecs, path, writer.pos);
      const bitmap = new Uint8Array(8);
      for (const id of codecs.keys()) if (values[id] !== undefined) setBit(bitmap, id);
      writeBitmap(writer, composite.bitmapEncoding, ebcdic, bitmapPath, bitmap);
      for (const [id, codec] of codecs) {
        const sub = values[id];
        if (sub !== undefined) codec.encode(sub, writer);
      }
    },
  };
}

function expectEntries(value: FieldValue, path: string, offset: number): TlvEntry[] {
  if (!Array.isArray(value)) throw new Iso8583Error('value_invalid', 'expected an array of { tag, value } entries', path, offset);
  if (value.length > TLV_ENTRIES_MAX) throw new Iso8583Error('value_invalid', `more than ${TLV_ENTRIES_MAX} entries`, path, offset);
  return value;
}

/** Each entry is checked as it is written (one pass): `{ tag: string, value: string }`. */
function expectEntry(entry: unknown, path: string, offset: number): TlvEntry {
  const ok = typeof entry === 'object' && entry !== null && typeof (entry as TlvEntry).tag === 'string' && typeof (entry as TlvEntry).value === 'string';
  if (!ok) throw new Iso8583Error('value_invalid', 'each entry must be { tag: string, value: string }', path, offset);
  return entry as TlvEntry;
}

function decimalTlv(composite: TlvComposite, path: string, ebcdic: EbcdicTables | undefined): ContentCodec {
  const tables = composite.encoding === 'ebcdic' ? ebcdic : undefined;
  assert(composite.encoding === 'ascii' || tables !== undefined, `spec for ${path}: EBCDIC TLV needs a code page`);
  assert(composite.valueLengthMax <= 10 ** composite.lengthDigits - 1, `spec for ${path}: TLV length digits too few`);
  const tagClasses = allowedClasses('an', composite.encoding);
  const digitClasses = allowedClasses('n', composite.encoding);
  const valueClasses = allowedClasses('ans', composite.encoding);
  const tagFirst = composite.order === 'tag-length';
  return {
    decode(reader) {
      const entries: TlvEntry[] = [];
      while (reader.pos < reader.end) {
        if (entries.length === TLV_ENTRIES_MAX) throw new Iso8583Error('tlv_invalid', `more than ${TLV_ENTRIES_MAX} entries`, path, reader.pos);
        const entryAt = reader.pos;
        let tag = '';
        if (tagFirst) tag = readText(reader.buf, reader.take(composite.tagLength, path, 'TLV tag'), composite.tagLength, tagClasses, tables, path);
        const lengthText = readText(reader.buf, reader.take(composite.lengthDigits, path, 'TLV length'), composite.lengthDigits, digitClasses, tables, path);
        if (!tagFirst) tag = readText(reader.buf, reader.take(composite.tagLength, path, 'TLV tag'), composite.tagLength, tagClasses, tables, path);
        const tagPath = `${path}.${tag}`;
        const length = Number(lengthText);
        if (length > composite.valueLengthMax) throw new Iso8583Error('length_exceeds_max', `length ${length} exceeds ${composite.valueLengthMax}`, tagPath, entryAt);
        const valueAt = reader.take(length, tagPath, 'TLV value');
        entries.push({ tag, value: readText(reader.buf, valueAt, length, valueClasses, tables, tagPath) });
      }
      return entries;
    },
    encode(value, writer) {
      for (const unchecked of expectEntries(value, path, writer.pos)) {
        const entry = expectEntry(unchecked, path, writer.pos);
        const tagPath = `${path}.${entry.tag}`;
        if (entry.tag.length !== composite.tagLength) throw new Iso8583Error('value_invalid', `tag must be ${composite.tagLength} characters`, tagPath, writer.pos);
        if (entry.value.length > composite.valueLengthMax) throw new Iso8583Error('length_exceeds_max', `length ${entry.value.length} exceeds ${composite.valueLengthMax}`, tagPath, writer.pos);
        const lengthText = String(entry.value.length).padStart(composite.lengthDigits, '0');
        const writeTag = (): void => writeText(writer.buf, writer.reserve(entry.tag.length, tagPath), entry.tag, tagClasses, tables, tagPath);
        if (tagFirst) writeTag();
        writeText(writer.buf, writer.reserve(lengthText.length, tagPath), lengthText, digitClasses, tables, tagPath);
        if (!tagFirst) writeTag();
        writeText(writer.buf, writer.reserve(entry.value.length, tagPath), entry.value, valueClasses, tables, tagPath);
      }
    },
  };
}

function berTlv(_composite: BerTlvComposite, path: string): ContentCodec {
  return {
    decode(reader) {
      const entries: TlvEntry[] = [];
      while (reader.pos < reader.end) {
        if (entries.length === TLV_ENTRIES_MAX) throw new Iso8583Error('tlv_invalid', `more than ${TLV_ENTRIES_MAX} entries`, path, reader.pos);
        const tag = readBerTag(reader, path);
        const length = readBerLength(reader, path, tag);
        const valueAt = reader.take(length, path, 'TLV value', tag);
        entries.push({ tag, value: bytesToHex(reader.buf, valueAt, valueAt + length) });
      }
      return entries;
    },
    encode(value, writer) {
      const entries = expectEntries(value, path, writer.pos);
      for (let i = 0; i < entries.length; i += 1) {
        const entry = expectEntry(entries[i], path, writer.pos);
        const tagAt = writer.pos;
        const tagBytes = writeHexAsBytes(writer.buf, writer.reserve(entry.tag.length >> 1, path), entry.tag, path, tagAt);
        checkBerTag(writer.buf, tagAt, tagBytes, entry.tag, path);
        const length = entry.value.length >> 1;
        writeBerLength(writer, length, path);
        writeHexAsBytes(writer.buf, writer.reserve(length, path), entry.value, path, tagAt, entry.tag);
      }
    },
  };
}

/** ISO/IEC 8825-1 §8.1.2: low five bits all set means the tag continues while bit 8 is set. */
function readBerTag(reader: Reader, path: string): string {
  const start = reader.pos;
  const first = reader.buf[reader.take(1, path, 'BER-TLV tag')] ?? 0;
  if ((first & 0x1f) === 0x1f) {
    let more = true;
    while (more) {
      if (reader.pos - start >= BER_TAG_BYTES_MAX) throw new Iso8583Error('tlv_invalid', `BER-TLV tag longer than ${BER_TAG_BYTES_MAX} bytes`, path, start);
      const next = reader.buf[reader.take(1, path, 'BER-TLV tag')] ?? 0;
      more = (next & 0x80) !== 0;
    }
  }
  return bytesToHex(reader.buf, start, reader.pos);
}

/** The tag just written at `at` must be one BER tag, or it would not decode the same way. */
function checkBerTag(buf: Buffer, at: number, count: number, tag: string, path: string): void {
  const multiByte = (buf[at]! & 0x1f) === 0x1f;
  let ok = count >= 1 && count <= BER_TAG_BYTES_MAX && (multiByte ? count >= 2 : count === 1);
  for (let i = 1; ok && i < count; i += 1) ok = (buf[at + i]! & 0x80) === (i === count - 1 ? 0 : 0x80);
  if (!ok) throw new Iso8583Error('tlv_invalid', `${JSON.stringify(tag)} is not a well-formed BER-TLV tag`, `${path}.${tag}`, at);
}

/**
 * §8.1.3: short form below 128, else 0x8N followed by N length bytes. Only the minimal
 * form is accepted, since a non-minimal length could not be re-encoded byte for byte.
 */
function readBerLength(reader: Reader, fieldPath: string, tag: string): number {
  const at = reader.pos;
  const first = reader.buf[reader.take(1, fieldPath, 'BER-TLV length', tag)]!;
  if (first < 0x80) return first;
  const path = `${fieldPath}.${tag}`;
  const count = first & 0x7f;
  if (count === 0 || count > BER_LENGTH_BYTES_MAX) throw new Iso8583Error('tlv_invalid', `BER-TLV length form 0x${first.toString(16).toUpperCase()} is not supported`, path, at);
  const start = reader.take(count, path, 'BER-TLV length');
  let length = 0;
  for (let i = 0; i < count; i += 1) length = length * 256 + (reader.buf[start + i] ?? 0);
  const minimal = count === 1 ? length >= 0x80 : (reader.buf[start] ?? 0) !== 0;
  if (!minimal) throw new Iso8583Error('tlv_invalid', 'BER-TLV length is not in its shortest form', path, at);
  return length;
}

function writeBerLength(writer: Writer, length: number, path: string): void {
  if (length < 0x80) {
    writer.buf[writer.reserve(1, path)] = length;
    return;
  }
  const count = length <= 0xff ? 1 : length <= 0xffff ? 2 : 3;
  const at = writer.reserve(1 + count, path);
  writer.buf[at] = 0x80 | count;
  for (let i = 0; i < count; i += 1) writer.buf[at + 1 + i] = (length >> (8 * (count - 1 - i))) & 0xff;
}
