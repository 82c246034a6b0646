/**
 * Length prefixes (L, LL, LLL, LLLL) in ASCII, EBCDIC, BCD or binary. The prefix of an
 * empty value is always written and read: skipping it is a classic bug that shifts every
 * following field.
 */
import { assert } from '../core/index.js';
import type { EbcdicTables } from './encoding.js';
import { Iso8583Error } from './errors.js';
import type { Reader } from './io.js';
import type { LengthPrefix } from './spec.js';

/** Bytes a prefix occupies on the wire. */
export function prefixSize(prefix: LengthPrefix): number {
  switch (prefix.encoding) {
    case 'ascii':
    case 'ebcdic':
      return prefix.digits;
    case 'bcd':
      return Math.ceil(prefix.digits / 2);
    case 'binary':
      return prefix.digits <= 2 ? 1 : 2;
  }
}

/** The largest length a prefix can express at all (before the field's own maximum). */
const DECIMAL_CAPACITY = [0, 9, 99, 999, 9_999] as const;

export function prefixCapacity(prefix: LengthPrefix): number {
  if (prefix.encoding === 'binary') return prefix.digits <= 2 ? 255 : 65_535;
  return DECIMAL_CAPACITY[prefix.digits];
}

export function readPrefix(reader: Reader, prefix: LengthPrefix, ebcdic: EbcdicTables | undefined, path: string): number {
  const size = prefixSize(prefix);
  const start = reader.take(size, path, 'length prefix');
  const buf = reader.buf;
  let length = 0;
  if (prefix.encoding === 'binary') {
    length = size === 1 ? (buf[start] ?? 0) : ((buf[start] ?? 0) << 8) | (buf[start + 1] ?? 0);
  } else if (prefix.encoding === 'bcd') {
    for (let i = 0; i < size; i += 1) {
      const byte = buf[start + i] ?? 0;
      const high = byte >> 4;
      const low = byte & 0x0f;
      if (high > 9 || low > 9) throw new Iso8583Error('length_invalid', `BCD length prefix has a non-decimal nibble (0x${byte.toString(16).toUpperCase().padStart(2, '0')})`, path, start + i);
      length = length * 100 + high * 10 + low;
    }
  } else {
    for (let i = 0; i < size; i += 1) {
      let code = buf[start + i] ?? 0;
      if (prefix.encoding === 'ebcdic') code = ebcdic?.toLatin1[code] ?? 0;
      if (code < 0x30 || code > 0x39) throw new Iso8583Error('length_invalid', `length prefix has a non-digit byte 0x${(buf[start + i] ?? 0).toString(16).toUpperCase().padStart(2, '0')}`, path, start + i);
      length = length * 10 + (code - 0x30);
    }
  }
  if (length > prefixCapacity(prefix)) {
    throw new Iso8583Error('length_invalid', `length prefix ${length} does not fit ${'L'.repeat(prefix.digits)}`, path, start);
  }
  return length;
}

export function writePrefix(buf: Buffer, offset: number, prefix: LengthPrefix, length: number, ebcdic: EbcdicTables | undefined): void {
  assert(length >= 0 && length <= prefixCapacity(prefix), 'prefix length out of range');
  if (prefix.encoding === 'ascii' && prefix.digits === 2) {
    // LL in ASCII is the most common prefix of all: two digit characters.
    buf[offset] = 0x30 + ((length / 10) | 0);
    buf[offset + 1] = 0x30 + (length % 10);
    return;
  }
  const size = prefixSize(prefix);
  if (prefix.encoding === 'binary') {
    if (size === 1) buf[offset] = length;
    else buf.writeUInt16BE(length, offset);
    return;
  }
  if (prefix.encoding === 'bcd') {
    let rest = length;
    for (let i = size - 1; i >= 0; i -= 1) {
      const pair = rest % 100;
      rest = Math.floor(rest / 100);
      buf[offset + i] = ((Math.floor(pair / 10)) << 4) | (pair % 10);
    }
    return;
  }
  let rest = length;
  for (let i = size - 1; i >= 0; i -= 1) {
    const code = 0x30 + (rest % 10);
    rest = Math.floor(rest / 10);
    buf[offset + i] = prefix.encoding === 'ebcdic' ? (ebcdic?.fromLatin1[code] ?? 0) : code;
  }
}
