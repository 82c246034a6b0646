/**
 * The tables and scratch space the generated codecs (generate.ts, generate-ber.ts) use. All
 * byte loops, BER-TLV's included, are written into each spec's own generated code, so how
 * fast a spec runs never depends on what other specs taught a shared helper.
 */
import { CHAR_CLASS, MESSAGE_SIZE_BYTES_MAX } from './io.js';

/**
 * A decoded message's characters, before they become one string, and a copy of the frame they
 * are decoded from (generate.ts, copyFrame: before them, or after room for them). Binary bytes
 * double as hex, and a hex run starts at an even index (a gap of at most one character before a
 * field that takes at least one byte), so three characters a byte bound the written ones.
 */
export const DECODE_CHARS_MAX = 4 * MESSAGE_SIZE_BYTES_MAX + 32;
/** Its own memory, at offset 0, so that the 16-bit view below lines up with it. */
export const decodeChars = Buffer.allocUnsafeSlow(DECODE_CHARS_MAX);
/** decodeChars as 16-bit units: a byte's two hex characters stored at once (HEX_PAIRS16). */
export const decodeChars16 = new Uint16Array(decodeChars.buffer, 0, DECODE_CHARS_MAX >> 1);

/** Entries a BER-TLV field may hold, and the Int32 slots one field's entry positions take. */
export const BER_ENTRIES_MAX = 256;
export const BER_SLOTS_PER_FIELD = 2 + 2 * BER_ENTRIES_MAX;
export const BER_TAG_BYTES_MAX = 4;
export const BER_LENGTH_BYTES_MAX = 3;

/** Character codes of the uppercase hex digits, by value. */
export const HEX_CODES = Uint8Array.from('0123456789ABCDEF', (digit) => digit.charCodeAt(0));
/** Value of an uppercase hex digit by character code, -1 otherwise (lowercase is refused). */
export const HEX_UPPER = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i += 1) HEX_UPPER[HEX_CODES[i]!] = i;

/**
 * The character classes indexed by any UTF-16 code unit (0 above 255), so an encoder's
 * per-character check is one load with no separate "above 255?" branch.
 */
export const CODE_UNITS = 0x10000;
export const CHAR_CLASS_WIDE = new Uint8Array(CODE_UNITS);
CHAR_CLASS_WIDE.set(CHAR_CLASS);

/**
 * Two uppercase hex digits' character codes `h`, `l` (both below 128) to their byte at
 * `(h << 7) | l`, -1 otherwise: one lookup a byte where the encoders took one a digit.
 */
export const HEX_PAIR_VALUES = new Int16Array(128 * 128).fill(-1);
for (let h = 0; h < 16; h += 1) for (let l = 0; l < 16; l += 1) HEX_PAIR_VALUES[(HEX_CODES[h]! << 7) | HEX_CODES[l]!] = (h << 4) | l;

/** Each byte's two uppercase hex characters as one 16-bit unit, in the platform's byte order. */
export const HEX_PAIRS16 = new Uint16Array(256);
const hexPairBytes = new Uint8Array(HEX_PAIRS16.buffer);
for (let byte = 0; byte < 256; byte += 1) {
  hexPairBytes[2 * byte] = HEX_CODES[byte >> 4]!;
  hexPairBytes[2 * byte + 1] = HEX_CODES[byte & 15]!;
}

/** Each byte as its two uppercase hex characters. */
export const HEX_PAIRS: readonly string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).toUpperCase().padStart(2, '0'));

/**
 * Decoded BER-TLV tags of one and two bytes, as strings made once: EMV uses a small fixed
 * set of tags, so a message's tags need no new strings. Bounded by construction: a one-byte
 * tag is any byte (256 slots); a two-byte tag is a first byte ending in 0x1F (8 of them) and a
 * last byte below 0x80 (128), 1,024 slots. Longer tags are made per message.
 */
export const BER_TAG1_SLOTS = 256;
export const BER_TAG2_SLOTS = 8 * 128;
export const berTags1 = new Array<string | undefined>(BER_TAG1_SLOTS).fill(undefined);
export const berTags2 = new Array<string | undefined>(BER_TAG2_SLOTS).fill(undefined);

/**
 * Every string of 1 to DIGIT_STRINGS_LENGTH_MAX decimal digits, made once (11,110 strings,
 * about 0.4 MB): the decoded value of a short fixed numeric field (generate.ts, shortDigits),
 * so that dates, times, codes and currency numbers need no new string per message.
 */
export const DIGIT_STRINGS_LENGTH_MAX = 4;
export const DIGIT_STRINGS: readonly (readonly string[])[] = Array.from({ length: DIGIT_STRINGS_LENGTH_MAX + 1 }, (_, digits) =>
  Array.from({ length: digits === 0 ? 0 : 10 ** digits }, (_, n) => String(n).padStart(digits, '0')));
