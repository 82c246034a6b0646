/**
 * What the simulator needs of a dialect on the wire: the compiled codec, the framing, the
 * visa-like network header (answered with source and destination swapped), where the token
 * requestor id travels (visa-like DE 126.20, mastercard-like DE 48.33, generic DE 48) and
 * the MAC convention shared with the gateway: the MAC is the last field (DE 64, or DE 128
 * when a secondary bitmap is present) and covers every byte of the message before it.
 */
import { compileSpec, framedSize, lengthPrefixSize, type FieldValues, type Framing, type Message, type MessageCodec } from '../iso8583/index.js';
import { dialect, encodeVisaLikeHeader, isDialectName, MAC_SIZE_BYTES, VISA_HEADER_LENGTH, type DialectName } from '../specs/index.js';
import { assert } from '../core/index.js';

// The MAC and response-MTI rules are shared with the other end of the link.
export { MAC_SIZE_BYTES, macFieldFor, encodeForMac, responseMti } from '../specs/index.js';
import { NetworkSimError } from './errors.js';


export interface Wire {
  readonly name: DialectName;
  readonly codec: MessageCodec;
  readonly framing: Framing;
  /** Bytes the frame of a `length`-byte message takes (length prefix + network header + message); throws `frame_too_large` above the framing's bound. */
  frameSize(length: number): number;
  /**
   * Writes the frame of an encoded message into `target` at `offset` (frameSize bytes) and
   * returns the offset after it; `replyTo` is the request header (visa-like) to answer.
   */
  writeFrame(message: Buffer, replyTo: Buffer | undefined, target: Buffer, offset: number): number;
  tridOf(fields: FieldValues): string | undefined;
  keyChangeOf(fields: FieldValues): string | undefined;
}

export function createWire(name: string): Wire {
  if (!isDialectName(name)) throw new NetworkSimError('netsim_option_invalid', `unknown spec ${JSON.stringify(name)}`);
  const { spec, framing } = dialect(name);
  const codec = compileSpec(spec);
  return {
    name, codec, framing,
    frameSize: (length) => framedSize(framing, length),
    writeFrame: (message, replyTo, target, offset) => writeFrame(framing, message, replyTo, target, offset),
    tridOf: (fields) => tridOf(name, fields),
    keyChangeOf: (fields) => textOfDe48(name, fields, '11'),
  };
}

/** Bytes 5..7 and 8..10 of the visa-like header: destination and source station ids. */
const STATION_AT = { destination: 5, source: 8, size: 3 } as const;

/** Frames straight into the connection's outgoing chunk: no per-frame buffers, one copy of the message. */
function writeFrame(framing: Framing, message: Buffer, replyTo: Buffer | undefined, target: Buffer, offset: number): number {
  const size = framing.headerLength + message.length;
  assert(size <= framing.frameSizeMax && offset + lengthPrefixSize(framing) + size <= target.length, 'a frame fits its bound and its chunk');
  let at = offset;
  if (framing.length === 'binary2') at = target.writeUInt16BE(size, at);
  else at += target.write(String(size).padStart(4, '0'), at, 4, 'latin1');
  if (framing.headerLength > 0) at = writeReplyHeader(message.length, replyTo, target, at);
  return at + message.copy(target, at);
}

/** The visa-like header of an answer: the request's, with the stations swapped and our length. */
function writeReplyHeader(length: number, replyTo: Buffer | undefined, target: Buffer, at: number): number {
  // A request header was checked on arrival; an unprompted message gets the network's own header.
  const header = replyTo ?? NETWORK_HEADER;
  assert(header.length === VISA_HEADER_LENGTH, 'a visa-like header');
  header.copy(target, at);
  if (replyTo) {
    // Three bytes each way, copied by hand (Buffer#copy with a range makes a view per call).
    for (let i = 0; i < STATION_AT.size; i += 1) {
      target[at + STATION_AT.destination + i] = replyTo[STATION_AT.source + i]!;
      target[at + STATION_AT.source + i] = replyTo[STATION_AT.destination + i]!;
    }
  }
  target.writeUInt16BE(VISA_HEADER_LENGTH + length, at + 3);
  return at + VISA_HEADER_LENGTH;
}

const NETWORK_HEADER = encodeVisaLikeHeader({ destinationStationId: '100001', sourceStationId: '400000', roundTripInfo: 0, baseFlags: 0, messageStatusFlags: 0, batchNumber: 0, userInfo: 0 }, 0);

function tridOf(name: DialectName, fields: FieldValues): string | undefined {
  if (name === 'visa-like') {
    const de126 = fields[126];
    if (typeof de126 === 'object' && !Array.isArray(de126)) {
      const trid = de126[20];
      return typeof trid === 'string' ? trid : undefined;
    }
    return undefined;
  }
  return textOfDe48(name, fields, '33');
}

/** mastercard-like DE 48 is TLV (tag `tag`); the other dialects carry plain text there. */
function textOfDe48(name: DialectName, fields: FieldValues, tag: string): string | undefined {
  const de48 = fields[48];
  if (name === 'mastercard-like') return Array.isArray(de48) ? de48.find((entry) => entry.tag === tag)?.value : undefined;
  return typeof de48 === 'string' ? de48 : undefined;
}

/** The bytes a MAC covers and the MAC itself, or undefined when the message carries none. */
export function macParts(message: Message, bytes: Buffer): { data: Buffer; mac: Buffer } | undefined {
  const has64 = message.fields[64] !== undefined;
  const has128 = message.fields[128] !== undefined;
  if (!has64 && !has128) return undefined;
  return { data: bytes.subarray(0, bytes.length - MAC_SIZE_BYTES), mac: bytes.subarray(bytes.length - MAC_SIZE_BYTES) };
}

