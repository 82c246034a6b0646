/**
 * The ISO 8583:1987 data elements the switch uses, as one table of formats (type, length,
 * fixed or LL/LLL). A dialect is this table seen through an encoding profile — which bytes
 * carry numerics, text, length prefixes and track data — plus its own composite fields and
 * message-type rules. Field meanings the switch relies on are documented where they are set.
 */
import { Iso8583Error, type BcdPad, type ContentType, type FieldSpec, type PrefixEncoding, type Sensitivity } from '../iso8583/index.js';

export interface EncodingProfile {
  readonly numeric: 'ascii' | 'ebcdic' | 'bcd';
  readonly text: 'ascii' | 'ebcdic';
  readonly prefix: PrefixEncoding;
  /** The pad rule for BCD numerics with an odd digit count. */
  readonly numericPad: BcdPad;
  /** The pad rule for BCD track 2 data with an odd digit count. */
  readonly trackPad: BcdPad;
  /**
   * Binary length prefixes are one byte (Visa style): every variable field is then limited
   * to 255 units, so LLL fields are declared with that maximum.
   */
  readonly variableLengthMax?: number;
}

type Row = readonly [id: number, name: string, type: ContentType, length: number, prefixDigits: 0 | 2 | 3, sensitive?: Sensitivity];

// ISO 8583:1987 Annex A formats for the elements the switch sends or expects.
const ROWS: readonly Row[] = [
  [2, 'Primary account number (token PAN)', 'n', 19, 2, 'pan'],
  [3, 'Processing code', 'n', 6, 0],
  [4, 'Amount, transaction', 'n', 12, 0],
  [5, 'Amount, settlement', 'n', 12, 0],
  [6, 'Amount, cardholder billing', 'n', 12, 0],
  [7, 'Transmission date and time (MMDDhhmmss, UTC)', 'n', 10, 0],
  [9, 'Conversion rate, settlement', 'n', 8, 0],
  [10, 'Conversion rate, cardholder billing', 'n', 8, 0],
  [11, 'System trace audit number (STAN)', 'n', 6, 0],
  [12, 'Time, local transaction (hhmmss)', 'n', 6, 0],
  [13, 'Date, local transaction (MMDD)', 'n', 4, 0],
  [14, 'Date, expiration (YYMM)', 'n', 4, 0, 'secret'],
  [15, 'Date, settlement (MMDD)', 'n', 4, 0],
  [16, 'Date, conversion (MMDD)', 'n', 4, 0],
  [18, 'Merchant type (MCC)', 'n', 4, 0],
  [19, 'Acquiring institution country code', 'n', 3, 0],
  [22, 'POS entry mode', 'n', 3, 0],
  [23, 'Card sequence number', 'n', 3, 0],
  [25, 'POS condition code', 'n', 2, 0],
  [26, 'POS PIN capture code', 'n', 2, 0],
  [28, 'Amount, transaction fee (C/D + 8 digits)', 'an', 9, 0],
  [32, 'Acquiring institution identification code', 'n', 11, 2],
  [33, 'Forwarding institution identification code', 'n', 11, 2],
  [35, 'Track 2 data', 'z', 37, 2, 'track'],
  [37, 'Retrieval reference number (RRN)', 'an', 12, 0],
  [38, 'Authorization identification response', 'an', 6, 0],
  [39, 'Response code', 'an', 2, 0],
  [41, 'Card acceptor terminal identification', 'ans', 8, 0],
  [42, 'Card acceptor identification code', 'ans', 15, 0],
  [43, 'Card acceptor name/location', 'ans', 40, 0],
  [44, 'Additional response data', 'ans', 25, 2],
  [45, 'Track 1 data', 'ans', 76, 2, 'secret'],
  [48, 'Additional data, private', 'ans', 999, 3],
  [49, 'Currency code, transaction (ISO 4217 numeric)', 'n', 3, 0],
  [50, 'Currency code, settlement', 'n', 3, 0],
  [51, 'Currency code, cardholder billing', 'n', 3, 0],
  [52, 'PIN data', 'b', 8, 0, 'secret'],
  [53, 'Security related control information', 'n', 16, 0],
  [54, 'Additional amounts', 'an', 120, 3],
  [55, 'ICC / token data (BER-TLV)', 'b', 255, 3],
  [60, 'Reserved national', 'ans', 999, 3],
  [61, 'Reserved private', 'ans', 999, 3],
  [62, 'Reserved private', 'ans', 999, 3],
  [63, 'Reserved private', 'ans', 999, 3],
  [64, 'Message authentication code (MAC)', 'b', 8, 0],
  [66, 'Settlement code', 'n', 1, 0],
  [70, 'Network management information code', 'n', 3, 0],
  [74, 'Credits, number', 'n', 10, 0],
  [75, 'Credits, reversal number', 'n', 10, 0],
  [76, 'Debits, number', 'n', 10, 0],
  [77, 'Debits, reversal number', 'n', 10, 0],
  [86, 'Credits, amount', 'n', 16, 0],
  [87, 'Credits, reversal amount', 'n', 16, 0],
  [88, 'Debits, amount', 'n', 16, 0],
  [89, 'Debits, reversal amount', 'n', 16, 0],
  [90, 'Original data elements', 'n', 42, 0],
  [95, 'Replacement amounts', 'an', 42, 0],
  [97, 'Amount, net settlement (C/D + 16 digits)', 'an', 17, 0],
  [99, 'Settlement institution identification code', 'n', 11, 2],
  [100, 'Receiving institution identification code', 'n', 11, 2],
  [102, 'Account identification 1', 'ans', 28, 2],
  [103, 'Account identification 2', 'ans', 28, 2],
  [123, 'Reserved private', 'ans', 999, 3],
  [128, 'Message authentication code (MAC)', 'b', 8, 0],
];

/** EMV tags the switch puts in DE 55 for a palm/token payment (EMV Book 3, Annex A). */
export const EMV_TAGS = {
  '9F26': { name: 'Application cryptogram (token cryptogram)' },
  '9F27': { name: 'Cryptogram information data' },
  '9F36': { name: 'Application transaction counter (ATC)' },
  '9F37': { name: 'Unpredictable number' },
  '9F02': { name: 'Amount, authorised' },
  '5F2A': { name: 'Transaction currency code' },
  '9A': { name: 'Transaction date (YYMMDD)' },
  '9C': { name: 'Transaction type' },
  '9F1A': { name: 'Terminal country code' },
  '95': { name: 'Terminal verification results' },
  '82': { name: 'Application interchange profile' },
  '5A': { name: 'Application PAN', sensitive: 'pan' },
  '57': { name: 'Track 2 equivalent data', sensitive: 'track' },
  '5F24': { name: 'Application expiration date', sensitive: 'secret' },
} as const;

/** The five parts of DE 90 (original data elements), so a reversal names what it reverses. */
export interface OriginalDataElements {
  readonly mti: string;
  readonly stan: string;
  readonly transmissionDateTime: string;
  readonly acquiringInstitutionId: string;
  readonly forwardingInstitutionId: string;
}

const DE90_PARTS = [['mti', 4], ['stan', 6], ['transmissionDateTime', 10], ['acquiringInstitutionId', 11], ['forwardingInstitutionId', 11]] as const;

/**
 * DE 90 is one n42 field on the wire: 42 digits pack into 21 BCD bytes only as a whole, so
 * it is not a composite; these two functions give it its parts.
 */
export function joinOriginalDataElements(parts: OriginalDataElements): string {
  let text = '';
  for (const [key, length] of DE90_PARTS) {
    const value = parts[key];
    if (!/^\d*$/.test(value) || value.length > length) throw new Iso8583Error('value_invalid', `DE 90 part ${key} must be at most ${length} digits`, '90', 0);
    text += value.padStart(length, '0');
  }
  return text;
}

export function splitOriginalDataElements(de90: string): OriginalDataElements {
  if (!/^\d{42}$/.test(de90)) throw new Iso8583Error('value_invalid', 'DE 90 must be 42 digits', '90', 0);
  const parts: Record<string, string> = {};
  let offset = 0;
  for (const [key, length] of DE90_PARTS) {
    parts[key] = de90.slice(offset, offset + length);
    offset += length;
  }
  return parts as unknown as OriginalDataElements;
}

function row(profile: EncodingProfile, [, name, type, length, prefixDigits, sensitive]: Row): FieldSpec {
  const variable = prefixDigits > 0;
  const max = variable && profile.variableLengthMax !== undefined ? Math.min(length, profile.variableLengthMax) : length;
  const prefix = variable ? { digits: (profile.prefix === 'binary' ? 2 : prefixDigits) as 2 | 3, encoding: profile.prefix } : undefined;
  const numericLike = type === 'n' || type === 'z';
  const encoding = type === 'b' ? 'binary' : numericLike && type === 'n' ? profile.numeric : type === 'z' ? profile.numeric : profile.text;
  const spec: FieldSpec = {
    name, type, length: max, encoding,
    ...(prefix ? { prefix } : {}),
    ...(encoding === 'bcd' ? { bcdPad: type === 'z' ? profile.trackPad : profile.numericPad } : {}),
    ...(!variable && type === 'n' ? { pad: { char: '0', side: 'left' as const } } : {}),
    ...(!variable && (type === 'an' || type === 'ans' || type === 'a') ? { pad: { char: ' ', side: 'right' as const } } : {}),
    ...(sensitive ? { sensitive } : {}),
  };
  return spec;
}

/** The 1987 field table in a given encoding profile, with DE 55 as BER-TLV. */
export function iso87Fields(profile: EncodingProfile): Record<number, FieldSpec> {
  const fields: Record<number, FieldSpec> = {};
  for (const entry of ROWS) fields[entry[0]] = row(profile, entry);
  fields[55] = { ...fields[55]!, subfields: { kind: 'ber-tlv', tags: EMV_TAGS } };
  return fields;
}
