/**
 * The shape of a message spec: a table with, per field, a content type, a length rule,
 * an encoding and padding — plus the MTI and bitmap encodings. Dialects are data built from
 * these types (see `specs/`); the codec compiles them once into fast encoders/decoders.
 */
import type { EbcdicCodePage } from './encoding.js';

/**
 * Content types of ISO 8583:1987 §4.1: `n` digits, `a` letters, `an` letters and digits,
 * `ans` printable, `b` binary (bytes), `z` track 2/3 data (digits and the `D`/`=` separator).
 * `a`/`an` also admit a space, since fixed fields are space-padded.
 */
export type ContentType = 'n' | 'a' | 'an' | 'ans' | 'b' | 'z';

/** How the content bytes are written. `hex` writes binary data as hexadecimal text. */
export type ContentEncoding = 'ascii' | 'ebcdic' | 'bcd' | 'binary' | 'hex';

/** How a length prefix is written. Binary prefixes are 1 byte for L/LL, 2 bytes for LLL/LLLL. */
export type PrefixEncoding = 'ascii' | 'ebcdic' | 'bcd' | 'binary';

export interface LengthPrefix {
  /** 1 = L, 2 = LL, 3 = LLL, 4 = LLLL: the number of decimal digits of the length. */
  readonly digits: 1 | 2 | 3 | 4;
  readonly encoding: PrefixEncoding;
}

/**
 * For packed BCD with an odd number of digits: which side gets the pad nibble and its
 * value. Networks disagree (Visa pads numerics on the left with 0, track 2 on the right with
 * F), which is why every BCD field states its rule instead of inheriting a default.
 */
export type BcdPad = 'left-0' | 'left-F' | 'right-0' | 'right-F';

/** What the prefix (or fixed length) counts for BCD and hex content. */
export type LengthUnit = 'digits' | 'bytes';

/** What the pretty-printer and JSON output must hide unless told otherwise. */
export type Sensitivity = 'pan' | 'track' | 'secret';

export interface FieldSpec {
  readonly name: string;
  readonly type: ContentType;
  /** The fixed length, or the maximum length of a variable field, in `lengthUnit`s. */
  readonly length: number;
  /** Absent for fixed-length fields. */
  readonly prefix?: LengthPrefix;
  readonly encoding: ContentEncoding;
  /** Defaults: `digits` for BCD and `z`, `bytes` for `b`; characters for text. */
  readonly lengthUnit?: LengthUnit;
  /** Required for BCD content that can have an odd number of digits. */
  readonly bcdPad?: BcdPad;
  /**
   * Justification for a shorter value in a fixed field on encode (e.g. `n` right-justified
   * with zeros). Decoding never trims: what was on the wire is what you get.
   */
  readonly pad?: { readonly char: string; readonly side: 'left' | 'right' };
  readonly sensitive?: Sensitivity;
  /** Present for composite fields: how the content splits into subfields. */
  readonly subfields?: CompositeSpec;
}

/** Subfields at fixed positions, in ascending id order (e.g. DE 90 original data elements). */
export interface PositionalComposite {
  readonly kind: 'positional';
  readonly subfields: Readonly<Record<number, FieldSpec>>;
}

/**
 * Tag-length-value subelements with decimal text tags and lengths, as in Mastercard DE 48
 * (`tag-length`) or in dialects that write the length first (`length-tag`).
 */
export interface TlvComposite {
  readonly kind: 'tlv';
  readonly order: 'tag-length' | 'length-tag';
  readonly tagLength: number;
  readonly lengthDigits: number;
  readonly encoding: 'ascii' | 'ebcdic';
  /** Known tags with names and sensitivity; unknown tags are kept as they are. */
  readonly tags?: Readonly<Record<string, { readonly name: string; readonly sensitive?: Sensitivity }>>;
  readonly valueLengthMax: number;
}

/** BER-TLV (ISO/IEC 8825-1) as used for EMV data in DE 55: binary tags and lengths. */
export interface BerTlvComposite {
  readonly kind: 'ber-tlv';
  readonly tags?: Readonly<Record<string, { readonly name: string; readonly sensitive?: Sensitivity }>>;
}

/** A sub-message with its own bitmap (as in DE 126/127 private-use fields). */
export interface BitmappedComposite {
  readonly kind: 'bitmapped';
  readonly bitmapEncoding: BitmapEncoding;
  /** 8 bytes: subfields 1..64. */
  readonly subfields: Readonly<Record<number, FieldSpec>>;
}

export type CompositeSpec = PositionalComposite | TlvComposite | BerTlvComposite | BitmappedComposite;

export type BitmapEncoding = 'binary' | 'hex-ascii' | 'hex-ebcdic';

export type MtiEncoding = 'ascii' | 'bcd' | 'ebcdic';

/** Which fields a message type carries, for validation against the message type. */
export interface MessageTypeRule {
  readonly description: string;
  readonly mandatory: readonly number[];
  readonly optional: readonly number[];
}

export interface MessageSpec {
  readonly name: string;
  readonly description: string;
  readonly mti: { readonly encoding: MtiEncoding };
  readonly bitmap: { readonly encoding: BitmapEncoding; readonly tertiary?: boolean };
  /** The code page of every EBCDIC element of this spec. */
  readonly ebcdicCodePage?: EbcdicCodePage;
  readonly fields: Readonly<Record<number, FieldSpec>>;
  readonly messageTypes: Readonly<Record<string, MessageTypeRule>>;
}

/** A decoded TLV subelement. Arrays, not objects, keep wire order and duplicates. */
export interface TlvEntry {
  readonly tag: string;
  readonly value: string;
}

export type FieldValue = string | TlvEntry[] | FieldValues;

export interface FieldValues {
  [id: string]: FieldValue;
}

/** A message as the codec takes and returns it; binary content is uppercase hex. */
export interface Message {
  mti: string;
  fields: FieldValues;
}
