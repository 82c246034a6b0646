/**
 * Reading and writing the content of a primitive field once its length is known: text
 * (ASCII or EBCDIC), packed BCD (with the field's own odd-length rule), raw binary and hex
 * text. Every byte is checked against the field's content type in both directions, and
 * nothing is trimmed on decode.
 */
import { assert } from '../core/index.js';
import type { EbcdicTables } from './encoding.js';
import { latin1String } from './strings.js';
import { Iso8583Error } from './errors.js';
import {
  CHAR_CLASS, CLASS_ALPHA, CLASS_DIGIT, CLASS_HEX_UPPER, CLASS_PRINT_ASCII, CLASS_PRINT_LATIN1,
  CLASS_SPACE, CLASS_TRACK_SEPARATOR, describeChar,
} from './io.js';
import type { BcdPad, ContentEncoding, ContentType } from './spec.js';

/** The character classes a content type admits, per text encoding. */
export function allowedClasses(type: ContentType, encoding: ContentEncoding): number {
  switch (type) {
    case 'n': return CLASS_DIGIT;
    case 'a': return CLASS_ALPHA | CLASS_SPACE;
    case 'an': return CLASS_ALPHA | CLASS_DIGIT | CLASS_SPACE;
    case 'ans': return encoding === 'ebcdic' ? CLASS_PRINT_LATIN1 : CLASS_PRINT_ASCII;
    case 'z': return CLASS_DIGIT | CLASS_TRACK_SEPARATOR;
    case 'b': return CLASS_HEX_UPPER;
  }
}

const scratch = Buffer.allocUnsafe(65_536);

/** Decodes `count` text bytes at `start`, checking each against `classes`. */
export function readText(buf: Buffer, start: number, count: number, classes: number, ebcdic: EbcdicTables | undefined, path: string): string {
  if (ebcdic) {
    const table = ebcdic.toLatin1;
    for (let i = 0; i < count; i += 1) {
      const code = table[buf[start + i] ?? 0] ?? 0;
      if ((CHAR_CLASS[code]! & classes) === 0) throw charError(code, start + i, path, true);
      scratch[i] = code;
    }
    return latin1String(scratch, 0, count);
  }
  for (let i = start; i < start + count; i += 1) {
    const code = buf[i] ?? 0;
    if ((CHAR_CLASS[code]! & classes) === 0) throw charError(code, i, path, false);
  }
  return latin1String(buf, start, count);
}

/** Writes text at `offset` after checking every character; the caller reserved `value.length` bytes. */
export function writeText(buf: Buffer, offset: number, value: string, classes: number, ebcdic: EbcdicTables | undefined, path: string): void {
  const table = ebcdic?.fromLatin1;
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if (code > 0xff || (CHAR_CLASS[code]! & classes) === 0) throw charError(code, offset + i, path, false);
    buf[offset + i] = table ? table[code]! : code;
  }
}

function charError(code: number, offset: number, path: string, ebcdic: boolean): Iso8583Error {
  const shown = code > 0xff ? `U+${code.toString(16).toUpperCase()}` : describeChar(code);
  return new Iso8583Error('char_invalid', `character ${shown}${ebcdic ? ' (after EBCDIC translation)' : ''} is not allowed here`, path, offset);
}

/**
 * Reads packed BCD: `digits` digits in `bytes` bytes. With an odd digit count the pad
 * nibble sits where `pad` says and must hold the declared value (0 or F), so a frame that
 * pads differently is reported rather than silently re-encoded into other bytes.
 */
export function readBcd(buf: Buffer, start: number, bytes: number, digits: number, pad: BcdPad | undefined, track: boolean, path: string): string {
  if (!track && digits === bytes * 2) {
    const text = readBcdPairs(buf, start, bytes);
    if (text !== undefined) return text;
  }
  return readBcdNibbles(buf, start, bytes, digits, pad, track, path);
}

/** Whole bytes of two decimal digits, the common case; undefined if any nibble is not one. */
function readBcdPairs(buf: Buffer, start: number, bytes: number): string | undefined {
  for (let i = 0; i < bytes; i += 1) {
    const byte = buf[start + i]!;
    if (byte > 0x99 || (byte & 0x0f) > 9) return undefined;
    scratch[2 * i] = 0x30 + (byte >> 4);
    scratch[2 * i + 1] = 0x30 + (byte & 0x0f);
  }
  return latin1String(scratch, 0, bytes * 2);
}

function readBcdNibbles(buf: Buffer, start: number, bytes: number, digits: number, pad: BcdPad | undefined, track: boolean, path: string): string {
  const nibbles = bytes * 2;
  assert(digits === nibbles || digits === nibbles - 1, 'BCD digit count must fill the bytes');
  const odd = digits !== nibbles;
  const padIndex = !odd ? -1 : pad === 'left-0' || pad === 'left-F' ? 0 : nibbles - 1;
  const padValue = pad === 'left-F' || pad === 'right-F' ? 0xf : 0;
  let at = 0;
  for (let n = 0; n < nibbles; n += 1) {
    const byte = buf[start + (n >> 1)]!;
    const nibble = (n & 1) === 0 ? byte >> 4 : byte & 0x0f;
    if (n === padIndex) {
      if (nibble !== padValue) throw new Iso8583Error('pad_invalid', `BCD pad nibble is ${nibble.toString(16).toUpperCase()}, expected ${padValue.toString(16).toUpperCase()}`, path, start + (n >> 1));
      continue;
    }
    if (nibble <= 9) scratch[at] = 0x30 + nibble;
    else if (track && nibble === 0xd) scratch[at] = 0x44;
    else throw new Iso8583Error('bcd_invalid', `nibble ${nibble.toString(16).toUpperCase()} is not a ${track ? 'track 2' : 'decimal'} digit`, path, start + (n >> 1));
    at += 1;
  }
  return latin1String(scratch, 0, at);
}

/** The nibble of one digit character (`D`/`=` for track data), or -1. */
function nibbleOf(code: number, track: boolean): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  return track && (code === 0x44 || code === 0x3d) ? 0xd : -1;
}

/** Writes `value` (digits, and `D`/`=` for track data) as packed BCD in `bytes` bytes. */
export function writeBcd(buf: Buffer, offset: number, bytes: number, value: string, pad: BcdPad | undefined, track: boolean, path: string): void {
  const nibbles = bytes * 2;
  assert(value.length === nibbles || value.length === nibbles - 1, 'BCD value must fill the bytes');
  const odd = value.length !== nibbles;
  if (odd && pad === undefined) throw new Iso8583Error('length_invalid', 'odd number of digits but the field has no BCD pad rule', path, offset);
  const padAtLeft = pad === 'left-0' || pad === 'left-F';
  const padValue = pad === 'left-F' || pad === 'right-F' ? 0xf : 0;
  // Nibble n of the output comes from character n - shift of the value.
  const shift = odd && padAtLeft ? 1 : 0;
  for (let i = 0; i < bytes; i += 1) {
    const highIndex = 2 * i - shift;
    const high = highIndex < 0 ? padValue : nibbleOf(value.charCodeAt(highIndex), track);
    const low = highIndex + 1 >= value.length ? padValue : nibbleOf(value.charCodeAt(highIndex + 1), track);
    if ((high | low) < 0) throw charError(value.charCodeAt(high < 0 ? highIndex : highIndex + 1), offset + i, path, false);
    buf[offset + i] = (high << 4) | low;
  }
}

/** Checks uppercase hex text (binary values in JSON) and returns its byte count. */
export function hexByteLength(value: string, path: string, offset: number): number {
  if (value.length % 2 !== 0) throw new Iso8583Error('value_invalid', `binary value must be an even number of hex digits, got ${value.length}`, path, offset);
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if (code > 0xff || (CHAR_CLASS[code]! & CLASS_HEX_UPPER) === 0) {
      throw new Iso8583Error('value_invalid', `binary value must be uppercase hex, found ${describeChar(code)} at position ${i}`, path, offset);
    }
  }
  return value.length / 2;
}

const HEX_UPPER_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i += 1) HEX_UPPER_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i;

function joinPath(path: string, tag: string | undefined): string {
  return tag === undefined ? path : `${path}.${tag}`;
}

/** Writes uppercase hex text as bytes, checking each digit as it goes; returns the byte count. */
export function writeHexAsBytes(buf: Buffer, offset: number, value: string, fieldPath = '', errorOffset = offset, tag?: string): number {
  if (value.length % 2 !== 0) throw new Iso8583Error('value_invalid', `binary value must be an even number of hex digits, got ${value.length}`, joinPath(fieldPath, tag), errorOffset);
  for (let i = 0; i < value.length; i += 2) {
    const high = value.charCodeAt(i);
    const low = value.charCodeAt(i + 1);
    const highValue = high < 256 ? HEX_UPPER_VALUE[high]! : -1;
    const lowValue = low < 256 ? HEX_UPPER_VALUE[low]! : -1;
    if ((highValue | lowValue) < 0) throw new Iso8583Error('value_invalid', `binary value must be uppercase hex, found ${describeChar(highValue < 0 ? high : low)} at position ${highValue < 0 ? i : i + 1}`, joinPath(fieldPath, tag), errorOffset);
    buf[offset + (i >> 1)] = (highValue << 4) | lowValue;
  }
  return value.length >> 1;
}
