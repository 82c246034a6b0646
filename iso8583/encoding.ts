/**
 * Byte encodings of ISO 8583 content: ASCII, EBCDIC (an explicit code page), packed BCD,
 * raw binary and hex text. Text is handled as Latin-1 internally: every supported EBCDIC
 * code page maps onto the Latin-1 repertoire, so EBCDIC becomes a 256-byte translation.
 */

import { latin1String } from './strings.js';

export type EbcdicCodePage = '037' | '500' | '1047';

// Byte -> Latin-1 code point, generated from the IBM code page charts. 037 and 500 differ
// on seven punctuation positions, 1047 from 037 on six (`[`, `]`, `^`, `¬`, `Ý`, `¨`).
const EBCDIC_TO_LATIN1_HEX: Record<EbcdicCodePage, string> = {
  '037':
    '000102039C09867F978D8E0B0C0D0E0F101112139D8508871819928F1C1D1E1F' +
    '80818283840A171B88898A8B8C050607909116939495960498999A9B14159E1A' +
    '20A0E2E4E0E1E3E5E7F1A22E3C282B7C26E9EAEBE8EDEEEFECDF21242A293BAC' +
    '2D2FC2C4C0C1C3C5C7D1A62C255F3E3FF8C9CACBC8CDCECFCC603A2340273D22' +
    'D8616263646566676869ABBBF0FDFEB1B06A6B6C6D6E6F707172AABAE6B8C6A4' +
    'B57E737475767778797AA1BFD0DDDEAE5EA3A5B7A9A7B6BCBDBE5B5DAFA8B4D7' +
    '7B414243444546474849ADF4F6F2F3F57D4A4B4C4D4E4F505152B9FBFCF9FAFF' +
    '5CF7535455565758595AB2D4D6D2D3D530313233343536373839B3DBDCD9DA9F',
  '500':
    '000102039C09867F978D8E0B0C0D0E0F101112139D8508871819928F1C1D1E1F' +
    '80818283840A171B88898A8B8C050607909116939495960498999A9B14159E1A' +
    '20A0E2E4E0E1E3E5E7F15B2E3C282B2126E9EAEBE8EDEEEFECDF5D242A293B5E' +
    '2D2FC2C4C0C1C3C5C7D1A62C255F3E3FF8C9CACBC8CDCECFCC603A2340273D22' +
    'D8616263646566676869ABBBF0FDFEB1B06A6B6C6D6E6F707172AABAE6B8C6A4' +
    'B57E737475767778797AA1BFD0DDDEAEA2A3A5B7A9A7B6BCBDBEAC7CAFA8B4D7' +
    '7B414243444546474849ADF4F6F2F3F57D4A4B4C4D4E4F505152B9FBFCF9FAFF' +
    '5CF7535455565758595AB2D4D6D2D3D530313233343536373839B3DBDCD9DA9F',
  '1047':
    '000102039C09867F978D8E0B0C0D0E0F101112139D8508871819928F1C1D1E1F' +
    '80818283840A171B88898A8B8C050607909116939495960498999A9B14159E1A' +
    '20A0E2E4E0E1E3E5E7F1A22E3C282B7C26E9EAEBE8EDEEEFECDF21242A293B5E' +
    '2D2FC2C4C0C1C3C5C7D1A62C255F3E3FF8C9CACBC8CDCECFCC603A2340273D22' +
    'D8616263646566676869ABBBF0FDFEB1B06A6B6C6D6E6F707172AABAE6B8C6A4' +
    'B57E737475767778797AA1BFD05BDEAEACA3A5B7A9A7B6BCBDBEDDA8AF5DB4D7' +
    '7B414243444546474849ADF4F6F2F3F57D4A4B4C4D4E4F505152B9FBFCF9FAFF' +
    '5CF7535455565758595AB2D4D6D2D3D530313233343536373839B3DBDCD9DA9F',
};

export interface EbcdicTables {
  readonly toLatin1: Uint8Array;
  readonly fromLatin1: Uint8Array;
}

const tableCache = new Map<EbcdicCodePage, EbcdicTables>();

/** Translation tables for a code page; both directions are bijections over 0..255. */
export function ebcdicTables(codePage: EbcdicCodePage): EbcdicTables {
  const cached = tableCache.get(codePage);
  if (cached) return cached;
  const toLatin1 = Uint8Array.from(Buffer.from(EBCDIC_TO_LATIN1_HEX[codePage], 'hex'));
  const fromLatin1 = new Uint8Array(256);
  for (let byte = 0; byte < 256; byte += 1) fromLatin1[toLatin1[byte] ?? 0] = byte;
  const tables = { toLatin1, fromLatin1 };
  tableCache.set(codePage, tables);
  return tables;
}

const HEX_DIGITS = '0123456789ABCDEF';
const HEX_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i += 1) {
  HEX_VALUE[HEX_DIGITS.charCodeAt(i)] = i;
  HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
}

/** The value of one hex digit character code, or -1. */
export function hexDigitValue(charCode: number): number {
  return charCode < 256 ? (HEX_VALUE[charCode] ?? -1) : -1;
}

const HEX_CODES = Uint8Array.from(HEX_DIGITS, (digit) => digit.charCodeAt(0));
const hexScratch = Buffer.allocUnsafe(2 * 65_536);

/** Uppercase hex of a byte range (binary fields appear as uppercase hex in JSON). */
export function bytesToHex(bytes: Uint8Array, start = 0, end = bytes.length): string {
  // Hex digits into a scratch buffer, then one string: no toUpperCase, no cons strings.
  let at = 0;
  for (let i = start; i < end; i += 1) {
    const byte = bytes[i]!;
    hexScratch[at] = HEX_CODES[byte >> 4]!;
    hexScratch[at + 1] = HEX_CODES[byte & 0x0f]!;
    at += 2;
  }
  return latin1String(hexScratch, 0, at);
}

/** True when `text` is an even-length string of hex digits (either case). */
export function isHex(text: string): boolean {
  if (text.length % 2 !== 0) return false;
  for (let i = 0; i < text.length; i += 1) if (hexDigitValue(text.charCodeAt(i)) < 0) return false;
  return true;
}
