/**
 * specs: the network dialects, as data. Each dialect is a message spec, the framing its
 * TCP links use, and (visa-like) a network header codec.
 *
 * ```ts
 * const { spec, framing } = dialect('visa-like');
 * ```
 */
import { Iso8583Error, type Framing, type MessageSpec } from '../iso8583/index.js';
import { iso87Ascii } from './iso87-ascii.js';
import { iso87Binary } from './iso87-binary.js';
import { mastercardLike } from './mastercard-like.js';
import { visaLike } from './visa-like.js';
import { VISA_HEADER_LENGTH } from './visa-like-header.js';

export interface Dialect {
  readonly spec: MessageSpec;
  readonly framing: Framing;
}

export const DIALECTS = {
  'iso87-ascii': { spec: iso87Ascii, framing: { length: 'ascii4', headerLength: 0, frameSizeMax: 9_999 } },
  'iso87-binary': { spec: iso87Binary, framing: { length: 'binary2', headerLength: 0, frameSizeMax: 8_192 } },
  'visa-like': { spec: visaLike, framing: { length: 'binary2', headerLength: VISA_HEADER_LENGTH, frameSizeMax: 8_192 } },
  'mastercard-like': { spec: mastercardLike, framing: { length: 'binary2', headerLength: 0, frameSizeMax: 8_192 } },
} as const satisfies Record<string, Dialect>;

export type DialectName = keyof typeof DIALECTS;

export const DIALECT_NAMES = Object.keys(DIALECTS) as DialectName[];

export function isDialectName(name: string): name is DialectName {
  return Object.hasOwn(DIALECTS, name);
}

export function dialect(name: string): Dialect {
  if (!isDialectName(name)) throw new Iso8583Error('spec_unknown', `unknown spec ${JSON.stringify(name)}; known: ${DIALECT_NAMES.join(', ')}`, '', 0);
  return DIALECTS[name];
}

export { iso87Ascii, iso87Binary, visaLike, mastercardLike };
export { SWITCH_MESSAGE_TYPES } from './message-types.js';
export { EMV_TAGS, joinOriginalDataElements, splitOriginalDataElements, type OriginalDataElements } from './iso87-fields.js';
export { encodeVisaLikeHeader, decodeVisaLikeHeader, VISA_HEADER_LENGTH, type VisaLikeHeader } from './visa-like-header.js';
export {
  SAMPLE_MESSAGES, sampleAuthorization, sampleAuthorizationResponse, sampleReversal, sampleAdvice, sampleSignOn, sampleReconciliation,
} from './samples.js';
export { MAC_SIZE_BYTES, macFieldFor, encodeForMac, responseMti } from './mac.js';
