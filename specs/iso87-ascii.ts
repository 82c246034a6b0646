/**
 * `iso87-ascii`: generic ISO 8583:1987 with everything in ASCII — MTI, hex-text bitmaps,
 * numerics, text and LL/LLL prefixes — the dialect of many acquirer hosts and test tools.
 * Binary elements (PIN block, MAC, DE 55) travel as raw bytes.
 */
import type { MessageSpec } from '../iso8583/index.js';
import { iso87Fields } from './iso87-fields.js';
import { SWITCH_MESSAGE_TYPES } from './message-types.js';

export const iso87Ascii: MessageSpec = {
  name: 'iso87-ascii',
  description: 'ISO 8583:1987, ASCII throughout, hex-text bitmaps',
  mti: { encoding: 'ascii' },
  bitmap: { encoding: 'hex-ascii' },
  fields: iso87Fields({ numeric: 'ascii', text: 'ascii', prefix: 'ascii', numericPad: 'left-0', trackPad: 'right-F' }),
  messageTypes: SWITCH_MESSAGE_TYPES,
};
