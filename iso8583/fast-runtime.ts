/**
 * The tables and scratch space the generated codecs (generate.ts, generate-ber.ts) use. All
 * byte loops, BER-TLV's included, are written into each spec's own generated code, so how
 * fast a spec runs never depends on what other specs taught a shared helper.
 */
import { MESSAGE_SIZE_BYTES_MAX } from './io.js';

/** A decoded message's characters, before they become one string (binary fields double as hex). */
export const DECODE_CHARS_MAX = 2 * MESSAGE_SIZE_BYTES_MAX + 16;
export const decodeChars = Buffer.allocUnsafe(DECODE_CHARS_MAX);

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
