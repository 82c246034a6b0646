/**
 * The link's view of a dialect: codec, framing, the visa-like network header on every
 * request, where the token requestor id and the key-change data travel, and the MAC
 * convention shared with the networks (the MAC is the last field — DE 64, or DE 128 when a
 * secondary bitmap is present — and covers every message byte before it).
 */
import { compileSpec, framedSize, lengthPrefixSize, type FieldValue, type FieldValues, type Framing, type MessageCodec } from '../../iso8583/index.js';
import { dialect, encodeVisaLikeHeader, isDialectName, type DialectName } from '../../specs/index.js';

// The MAC and response-MTI rules are shared with the other end of the link.
export { MAC_SIZE_BYTES, macFieldFor, encodeForMac, responseMti } from '../../specs/index.js';
import { NetworkLinkError } from './errors.js';
import { assert } from '../../core/index.js';

/** Station ids of the visa-like header: ours (source) and the network's (destination). */
const ACQUIRER_STATION = '100001';
const NETWORK_STATION = '400000';

export interface LinkWire {
  readonly name: DialectName;
  readonly codec: MessageCodec;
  readonly framing: Framing;
  /** Bytes the frame of a `length`-byte message takes (length prefix + network header + message); throws `frame_too_large` above the framing's bound. */
  frameSize(length: number): number;
  /** Writes the frame of `message` into `target` at `offset` (frameSize bytes, checked before); returns the offset after it. */
  writeFrame(message: Buffer, target: Buffer, offset: number): number;
  /** The field that carries the token requestor id (and the palm indicator) in this dialect, and its value (shared: never change it in place). */
  tridField(trid: string): { readonly id: 48 | 126; readonly value: FieldValue };
  keyChangeField(keyId: string, kcv: string): FieldValues;
}

export function createLinkWire(name: string): LinkWire {
  if (!isDialectName(name)) throw new NetworkLinkError('link_option_invalid', `unknown spec ${JSON.stringify(name)}`);
  const { spec, framing } = dialect(name);
  const codec = compileSpec(spec);
  let tridValue: { readonly trid: string; readonly id: 48 | 126; readonly value: FieldValue } | undefined;
  return {
    name, codec, framing,
    frameSize: (length) => framedSize(framing, length),
    writeFrame: (message, target, offset) => writeFrame(framing, message, target, offset),
    tridField: (trid) => {
      // A link has one requestor id: its field value is built once and shared by every message (the codec only reads it).
      if (tridValue === undefined || tridValue.trid !== trid) tridValue = { trid, id: name === 'visa-like' ? 126 : 48, value: tridFieldValue(name, trid) };
      return tridValue;
    },
    keyChangeField: (keyId, kcv) => (name === 'mastercard-like' ? { 48: [{ tag: '11', value: `${keyId}:${kcv}` }] } : { 48: `${keyId}:${kcv}` }),
  };
}

/** Where each dialect carries the token requestor id (and the palm indicator); shared, so never to be changed in place. */
function tridFieldValue(name: DialectName, trid: string): FieldValue {
  if (name === 'visa-like') return { 10: 'P01', 20: trid };
  if (name === 'mastercard-like') return [{ tag: '33', value: trid }, { tag: '61', value: 'P0000' }];
  return trid;
}

const HEADER_TEMPLATE = encodeVisaLikeHeader({ destinationStationId: NETWORK_STATION, sourceStationId: ACQUIRER_STATION, roundTripInfo: 0, baseFlags: 0, messageStatusFlags: 0, batchNumber: 0, userInfo: 0 }, 0);

/**
 * Frames straight into the connection's outgoing chunk: no per-frame buffers, one copy of the
 * message. Every request header is the same but for the total length (bytes 3..4).
 */
function writeFrame(framing: Framing, message: Buffer, target: Buffer, offset: number): number {
  const size = framing.headerLength + message.length;
  assert(size <= framing.frameSizeMax && offset + lengthPrefixSize(framing) + size <= target.length, 'a frame fits its bound and its chunk');
  let at = offset;
  if (framing.length === 'binary2') at = target.writeUInt16BE(size, at);
  else at += target.write(String(size).padStart(4, '0'), at, 4, 'latin1');
  if (framing.headerLength > 0) {
    assert(framing.headerLength === HEADER_TEMPLATE.length, 'the visa-like header is the only network header');
    HEADER_TEMPLATE.copy(target, at);
    target.writeUInt16BE(HEADER_TEMPLATE.length + message.length, at + 3);
    at += HEADER_TEMPLATE.length;
  }
  return at + message.copy(target, at);
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
