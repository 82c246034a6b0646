/**
 * The link's view of a dialect: codec, framing, the visa-like network header on every
 * request, where the token requestor id and the key-change data travel, and the MAC
 * convention shared with the networks (the MAC is the last field — DE 64, or DE 128 when a
 * secondary bitmap is present — and covers every message byte before it).
 */
import { compileSpec, encodeFrame, type FieldValues, type Framing, type MessageCodec } from '../../iso8583/index.js';
import { dialect, encodeVisaLikeHeader, isDialectName, type DialectName } from '../../specs/index.js';

// The MAC and response-MTI rules are shared with the other end of the link.
export { MAC_SIZE_BYTES, macFieldFor, encodeForMac, responseMti } from '../../specs/index.js';
import { NetworkLinkError } from './errors.js';

/** Station ids of the visa-like header: ours (source) and the network's (destination). */
const ACQUIRER_STATION = '100001';
const NETWORK_STATION = '400000';

export interface LinkWire {
  readonly name: DialectName;
  readonly codec: MessageCodec;
  readonly framing: Framing;
  frame(message: Buffer): Buffer;
  /** Puts the token requestor id (and the palm indicator) where this dialect carries it. */
  withTrid(fields: FieldValues, trid: string): void;
  keyChangeField(keyId: string, kcv: string): FieldValues;
}

export function createLinkWire(name: string): LinkWire {
  if (!isDialectName(name)) throw new NetworkLinkError('link_option_invalid', `unknown spec ${JSON.stringify(name)}`);
  const { spec, framing } = dialect(name);
  const codec = compileSpec(spec);
  return {
    name, codec, framing,
    frame: (message) => encodeFrame(framing, message, framing.headerLength > 0 ? requestHeader(message.length) : undefined),
    withTrid: (fields, trid) => {
      if (name === 'visa-like') fields[126] = { 10: 'P01', 20: trid };
      else if (name === 'mastercard-like') fields[48] = [{ tag: '33', value: trid }, { tag: '61', value: 'P0000' }];
      else fields[48] = trid;
    },
    keyChangeField: (keyId, kcv) => (name === 'mastercard-like' ? { 48: [{ tag: '11', value: `${keyId}:${kcv}` }] } : { 48: `${keyId}:${kcv}` }),
  };
}

const HEADER_TEMPLATE = encodeVisaLikeHeader({ destinationStationId: NETWORK_STATION, sourceStationId: ACQUIRER_STATION, roundTripInfo: 0, baseFlags: 0, messageStatusFlags: 0, batchNumber: 0, userInfo: 0 }, 0);

/** Every request header is the same but for the total length (bytes 3..4). */
function requestHeader(length: number): Buffer {
  const header = Buffer.from(HEADER_TEMPLATE);
  header.writeUInt16BE(HEADER_TEMPLATE.length + length, 3);
  return header;
}

/** A field's text, or '' when it is absent or not text (composite fields are never keys). */
export function fieldText(fields: FieldValues, id: number): string {
  const value = fields[id];
  return typeof value === 'string' ? value : '';
}

/** What pairs a response with its request: response MTI + STAN + terminal + DE 7. */
export function matchKey(responseMtiText: string, fields: FieldValues): string {
  const stan = fields[11];
  const terminal = fields[41];
  const transmission = fields[7];
  return `${responseMtiText}|${typeof stan === 'string' ? stan : ''}|${typeof terminal === 'string' ? terminal.trimEnd() : ''}|${typeof transmission === 'string' ? transmission : ''}`;
}
