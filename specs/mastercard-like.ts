/**
 * `mastercard-like`: modelled on the CIS style — EBCDIC throughout (code page 1047): MTI,
 * numerics, text and LL/LLL length prefixes are EBCDIC characters; bitmaps are binary, as on
 * the real network. DE 48 holds tag-length-value subelements (2-digit tag, 2-digit length)
 * in wire order; this dialect carries no leading transaction category code in DE 48.
 *
 * Subelements the switch uses: 48.33 the token requestor id, 48.43 the token cryptogram
 * copy (base64 of DE 55 9F26 for networks that read it here), 48.61 POS data extended
 * condition codes (palm payment: `P0000`).
 */
import type { MessageSpec } from '../iso8583/index.js';
import { iso87Fields } from './iso87-fields.js';
import { SWITCH_MESSAGE_TYPES } from './message-types.js';

const fields = iso87Fields({ numeric: 'ebcdic', text: 'ebcdic', prefix: 'ebcdic', numericPad: 'left-0', trackPad: 'right-F' });

export const mastercardLike: MessageSpec = {
  name: 'mastercard-like',
  description: 'CIS style: EBCDIC (1047) throughout, binary bitmaps, DE 48 TLV subelements',
  mti: { encoding: 'ebcdic' },
  bitmap: { encoding: 'binary' },
  ebcdicCodePage: '1047',
  fields: {
    ...fields,
    48: {
      ...fields[48]!,
      subfields: {
        kind: 'tlv',
        order: 'tag-length',
        tagLength: 2,
        lengthDigits: 2,
        encoding: 'ebcdic',
        valueLengthMax: 99,
        tags: {
          '33': { name: 'Token requestor id' },
          '42': { name: 'Electronic commerce indicators' },
          '43': { name: 'Token cryptogram (base64)' },
          '61': { name: 'POS data extended condition codes' },
        },
      },
    },
  },
  messageTypes: SWITCH_MESSAGE_TYPES,
};
