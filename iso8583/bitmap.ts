/**
 * Bitmaps: 8 bytes saying which of 64 fields follow, written as raw bytes or as 16 hex
 * characters (ASCII or EBCDIC). Hex must be uppercase so re-encoding is byte-exact.
 */
import type { EbcdicTables } from './encoding.js';
import { hexDigitValue } from './encoding.js';
import { Iso8583Error } from './errors.js';
import type { Reader, Writer } from './io.js';
import { describeChar } from './io.js';
import type { BitmapEncoding } from './spec.js';

export const BITMAP_BYTES = 8;

export function bitmapWireSize(encoding: BitmapEncoding): number {
  return encoding === 'binary' ? BITMAP_BYTES : BITMAP_BYTES * 2;
}

/**
 * Reads one 8-byte bitmap into `into[at, at + 8)` (a reused array: no allocation per
 * message) and returns whether any bit is set.
 */
export function readBitmap(reader: Reader, encoding: BitmapEncoding, ebcdic: EbcdicTables | undefined, path: string, into: Uint8Array, at = 0): boolean {
  const start = reader.take(bitmapWireSize(encoding), path, 'bitmap');
  const buf = reader.buf;
  let any = 0;
  for (let i = 0; i < BITMAP_BYTES; i += 1) {
    const byte = encoding === 'binary'
      ? buf[start + i]!
      : (hexCharAt(buf, start + i * 2, encoding, ebcdic, path) << 4) | hexCharAt(buf, start + i * 2 + 1, encoding, ebcdic, path);
    into[at + i] = byte;
    any |= byte;
  }
  return any !== 0;
}

function hexCharAt(buf: Buffer, offset: number, encoding: BitmapEncoding, ebcdic: EbcdicTables | undefined, path: string): number {
  const raw = buf[offset] ?? 0;
  const code = encoding === 'hex-ebcdic' ? (ebcdic?.toLatin1[raw] ?? 0) : raw;
  const value = code >= 0x61 ? -1 : hexDigitValue(code);
  if (value < 0) throw new Iso8583Error('bitmap_invalid', `bitmap character ${describeChar(code)} is not an uppercase hex digit`, path, offset);
  return value;
}

const HEX_UPPER = '0123456789ABCDEF';

/** Writes `bitmap[at, at + 8)`. */
export function writeBitmap(writer: Writer, encoding: BitmapEncoding, ebcdic: EbcdicTables | undefined, path: string, bitmap: Uint8Array, at = 0): void {
  const start = writer.reserve(bitmapWireSize(encoding), path);
  const buf = writer.buf;
  if (encoding === 'binary') {
    for (let i = 0; i < BITMAP_BYTES; i += 1) buf[start + i] = bitmap[at + i]!;
    return;
  }
  for (let i = 0; i < BITMAP_BYTES * 2; i += 1) {
    const byte = bitmap[at + (i >> 1)]!;
    const code = HEX_UPPER.charCodeAt(i % 2 === 0 ? byte >> 4 : byte & 0x0f);
    buf[start + i] = encoding === 'hex-ebcdic' ? (ebcdic?.fromLatin1[code] ?? 0) : code;
  }
}

/** Field number `bit` (1-based within this bitmap) is present. */
export function isBitSet(bitmap: Uint8Array, bit: number): boolean {
  return ((bitmap[(bit - 1) >> 3] ?? 0) & (0x80 >> ((bit - 1) & 7))) !== 0;
}

export function setBit(bitmap: Uint8Array, bit: number): void {
  const index = (bit - 1) >> 3;
  bitmap[index] = (bitmap[index] ?? 0) | (0x80 >> ((bit - 1) & 7));
}
