/**
 * `visa-like`: modelled on the BASE I style — a 22-byte network header before the message,
 * BCD MTI, binary bitmaps, packed BCD numerics (leading 0 nibble for odd counts), text in
 * EBCDIC code page 037, and one-byte binary length prefixes, so no variable field exceeds 255.
 * Track 2 is BCD, separator nibble D, padded right with F.
 *
 * DE 126 is a bitmapped private field; the switch uses 126.10 for the palm-payment
 * indicator (`P` + biometric method) and 126.20 for the token requestor id (TRID).
 */
import type { FieldSpec, MessageSpec } from '../iso8583/index.js';
import { iso87Fields } from './iso87-fields.js';
import { SWITCH_MESSAGE_TYPES } from './message-types.js';

const fields = iso87Fields({ numeric: 'bcd', text: 'ebcdic', prefix: 'binary', numericPad: 'left-0', trackPad: 'right-F', variableLengthMax: 255 });

const de126: FieldSpec = {
  name: 'Visa-like private use fields',
  type: 'b',
  length: 255,
  prefix: { digits: 2, encoding: 'binary' },
  encoding: 'binary',
  subfields: {
    kind: 'bitmapped',
    bitmapEncoding: 'binary',
    subfields: {
      10: { name: 'Palm payment indicator', type: 'ans', length: 3, encoding: 'ebcdic', pad: { char: ' ', side: 'right' } },
      13: { name: 'POS environment', type: 'an', length: 1, encoding: 'ebcdic' },
      20: { name: 'Token requestor id (TRID)', type: 'n', length: 11, encoding: 'bcd', bcdPad: 'left-0' },
    },
  },
};

export const visaLike: MessageSpec = {
  name: 'visa-like',
  description: 'BASE I style: network header, BCD numerics, EBCDIC (037) text, binary prefixes',
  mti: { encoding: 'bcd' },
  bitmap: { encoding: 'binary' },
  ebcdicCodePage: '037',
  fields: { ...fields, 126: de126 },
  messageTypes: withPrivateField(SWITCH_MESSAGE_TYPES, 126),
};

function withPrivateField(types: MessageSpec['messageTypes'], id: number): MessageSpec['messageTypes'] {
  const extended: Record<string, MessageSpec['messageTypes'][string]> = {};
  for (const [mti, rule] of Object.entries(types)) {
    extended[mti] = mti.startsWith('08') || mti.startsWith('05') ? rule : { ...rule, optional: [...rule.optional, id] };
  }
  return extended;
}
