/**
 * `iso87-binary`: ISO 8583:1987 with a binary bitmap, BCD MTI, packed BCD numerics (an odd
 * digit count padded with a leading 0 nibble), BCD length prefixes (LL in one byte, LLL in
 * two) and ASCII text. Track 2 is BCD with the separator as nibble D, padded right with F.
 */
import type { MessageSpec } from '../iso8583/index.js';
import { iso87Fields } from './iso87-fields.js';
import { SWITCH_MESSAGE_TYPES } from './message-types.js';

export const iso87Binary: MessageSpec = {
  name: 'iso87-binary',
  description: 'ISO 8583:1987, binary bitmap, BCD numerics and prefixes, ASCII text',
  mti: { encoding: 'bcd' },
  bitmap: { encoding: 'binary' },
  fields: iso87Fields({ numeric: 'bcd', text: 'ascii', prefix: 'bcd', numericPad: 'left-0', trackPad: 'right-F' }),
  messageTypes: SWITCH_MESSAGE_TYPES,
};
