/**
 * The helpers and tables the generated codecs (generate.ts) call: the tables, and BER-TLV
 * (DE 55), whose loops are too involved to write out per spec. Byte loops of plain fields are
 * written into each spec's generated code instead. Each helper answers only
 * "done" or "not this way" (false / -1): the compiled codec then hands the whole message to
 * the interpreted codec, which either does it or throws the precise Iso8583Error. So these
 * helpers never build error messages, and they must never accept what the interpreted codec
 * refuses or produce other bytes or values than it does (the differential test checks this).
 */
import { MESSAGE_SIZE_BYTES_MAX } from './io.js';

/** A decoded message's characters, before they become one string (binary fields double as hex). */
export const DECODE_CHARS_MAX = 2 * MESSAGE_SIZE_BYTES_MAX + 16;
export const decodeChars = Buffer.allocUnsafe(DECODE_CHARS_MAX);

/** Entries a BER-TLV field may hold, and the Int32 slots one field's entry positions take. */
export const BER_ENTRIES_MAX = 256;
export const BER_SLOTS_PER_FIELD = 2 + 2 * BER_ENTRIES_MAX;
const BER_TAG_BYTES_MAX = 4;
const BER_LENGTH_BYTES_MAX = 3;

/** Character codes of the uppercase hex digits, by value. */
export const HEX_CODES = Uint8Array.from('0123456789ABCDEF', (digit) => digit.charCodeAt(0));
/** Value of an uppercase hex digit by character code, -1 otherwise (lowercase is refused). */
export const HEX_UPPER = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i += 1) HEX_UPPER[HEX_CODES[i]!] = i;

/** Uppercase hex text as bytes at `p`; false on an odd length or a character that is not a digit. */
export function hexToBytes(out: Buffer, p: number, value: string): boolean {
  const n = value.length;
  if ((n & 1) !== 0) return false;
  for (let i = 0; i < n; i += 2) {
    const high = value.charCodeAt(i);
    const low = value.charCodeAt(i + 1);
    const highValue = high < 256 ? HEX_UPPER[high]! : -1;
    const lowValue = low < 256 ? HEX_UPPER[low]! : -1;
    if ((highValue | lowValue) < 0) return false;
    out[p + (i >> 1)] = (highValue << 4) | lowValue;
  }
  return true;
}

/** Bytes `[p, end)` as uppercase hex characters into `decodeChars` at `q`; returns the new `q`. */
function hexChars(buf: Buffer, p: number, end: number, q: number): number {
  const out = decodeChars;
  let at = q;
  for (let i = p; i < end; i += 1) {
    const byte = buf[i]!;
    out[at] = HEX_CODES[byte >> 4]!;
    out[at + 1] = HEX_CODES[byte & 0x0f]!;
    at += 2;
  }
  return at;
}

/**
 * BER-TLV entries of `buf[p, end)` (ISO/IEC 8825-1: multi-byte tags, minimal long-form
 * lengths, as composite.ts reads them) as hex characters into `decodeChars` at `q`. Entry
 * positions go to `slots[t..]`: the count, then each entry's tag and value start, then the end.
 * Returns the new `q`, or -1.
 */
export function berDecode(buf: Buffer, p: number, end: number, q: number, slots: Int32Array, t: number): number {
  let at = p;
  let chars = q;
  let count = 0;
  while (at < end) {
    if (count === BER_ENTRIES_MAX) return -1;
    slots[t + 1 + 2 * count] = chars;
    const tagStart = at;
    const first = buf[at]!;
    at += 1;
    if ((first & 0x1f) === 0x1f) {
      let more = true;
      while (more) {
        if (at - tagStart >= BER_TAG_BYTES_MAX || at >= end) return -1;
        more = (buf[at]! & 0x80) !== 0;
        at += 1;
      }
    }
    chars = hexChars(buf, tagStart, at, chars);
    slots[t + 2 + 2 * count] = chars;
    if (at >= end) return -1;
    const form = buf[at]!;
    at += 1;
    let length = form;
    if (form >= 0x80) {
      const lengthBytes = form & 0x7f;
      if (lengthBytes === 0 || lengthBytes > BER_LENGTH_BYTES_MAX || end - at < lengthBytes) return -1;
      length = 0;
      for (let i = 0; i < lengthBytes; i += 1) length = length * 256 + buf[at + i]!;
      if (lengthBytes === 1 ? length < 0x80 : buf[at] === 0) return -1;
      at += lengthBytes;
    }
    if (end - at < length) return -1;
    chars = hexChars(buf, at, at + length, chars);
    at += length;
    count += 1;
  }
  slots[t] = count;
  slots[t + 1 + 2 * count] = chars;
  return chars;
}

export interface BerEntry { tag: string; value: string }

/** The `{ tag, value }` entries berDecode recorded at `slots[t..]`, cut from the message's characters. */
export function berEntries(chars: string, slots: Int32Array, t: number): BerEntry[] {
  const entries: BerEntry[] = [];
  const count = slots[t]!;
  for (let e = 0; e < count; e += 1) {
    const tagStart = slots[t + 1 + 2 * e]!;
    const valueStart = slots[t + 2 + 2 * e]!;
    entries.push({ tag: chars.substring(tagStart, valueStart), value: chars.substring(valueStart, slots[t + 3 + 2 * e]) });
  }
  return entries;
}

/** A tag just written at `p` is one well-formed BER tag of `count` bytes. */
function berTagWellFormed(out: Buffer, p: number, count: number): boolean {
  const multiByte = (out[p]! & 0x1f) === 0x1f;
  if (multiByte ? count < 2 : count !== 1) return false;
  for (let i = 1; i < count; i += 1) if ((out[p + i]! & 0x80) !== (i === count - 1 ? 0 : 0x80)) return false;
  return true;
}

/** `{ tag, value }` entries as BER-TLV at `p`, no further than `limit`; returns the end, or -1. */
export function berEncode(out: Buffer, p: number, limit: number, entries: unknown): number {
  if (!Array.isArray(entries) || entries.length > BER_ENTRIES_MAX) return -1;
  let at = p;
  for (let e = 0; e < entries.length; e += 1) {
    const entry: unknown = entries[e];
    if (typeof entry !== 'object' || entry === null) return -1;
    const { tag, value } = entry as { tag: unknown; value: unknown };
    if (typeof tag !== 'string' || typeof value !== 'string') return -1;
    const tagBytes = tag.length >> 1;
    if (tagBytes < 1 || tagBytes > BER_TAG_BYTES_MAX || at + tagBytes > limit || !hexToBytes(out, at, tag) || !berTagWellFormed(out, at, tagBytes)) return -1;
    at += tagBytes;
    const length = value.length >> 1;
    const lengthBytes = length < 0x80 ? 0 : length <= 0xff ? 1 : length <= 0xffff ? 2 : 3;
    if (at + 1 + lengthBytes + length > limit) return -1;
    if (lengthBytes === 0) out[at] = length;
    else {
      out[at] = 0x80 | lengthBytes;
      for (let i = 0; i < lengthBytes; i += 1) out[at + 1 + i] = (length >> (8 * (lengthBytes - 1 - i))) & 0xff;
    }
    at += 1 + lengthBytes;
    if (!hexToBytes(out, at, value)) return -1;
    at += length;
  }
  return at;
}
