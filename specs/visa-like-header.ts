/**
 * The visa-like 22-byte network header (BASE I style) that precedes every message inside
 * the frame: header length, format flags, total length, destination and source station ids
 * (BCD), round-trip and status flags, batch number and user information.
 */
import { Iso8583Error } from '../iso8583/index.js';

export const VISA_HEADER_LENGTH = 22;
const HEADER_FORMAT = 0x01;
const TEXT_FORMAT = 0x02;

export interface VisaLikeHeader {
  /** Six digits each. */
  readonly destinationStationId: string;
  readonly sourceStationId: string;
  readonly roundTripInfo: number;
  readonly baseFlags: number;
  readonly messageStatusFlags: number;
  readonly batchNumber: number;
  readonly userInfo: number;
}

export function encodeVisaLikeHeader(header: VisaLikeHeader, messageLength: number): Buffer {
  const total = VISA_HEADER_LENGTH + messageLength;
  if (total > 0xffff) throw new Iso8583Error('header_invalid', `total length ${total} does not fit the header`, 'header', 3);
  const buf = Buffer.alloc(VISA_HEADER_LENGTH);
  buf[0] = VISA_HEADER_LENGTH;
  buf[1] = HEADER_FORMAT;
  buf[2] = TEXT_FORMAT;
  buf.writeUInt16BE(total, 3);
  writeStation(buf, 5, header.destinationStationId, 'destination');
  writeStation(buf, 8, header.sourceStationId, 'source');
  buf[11] = byte(header.roundTripInfo, 'roundTripInfo');
  buf.writeUInt16BE(u16(header.baseFlags), 12);
  buf.writeUIntBE(u24(header.messageStatusFlags), 14, 3);
  buf[17] = byte(header.batchNumber, 'batchNumber');
  // Bytes 18..20 are reserved and must be zero.
  buf[21] = byte(header.userInfo, 'userInfo');
  return buf;
}

/** Decodes and checks the header against the length of the message that follows it. */
export function decodeVisaLikeHeader(buf: Buffer, messageLength: number): VisaLikeHeader {
  if (buf.length !== VISA_HEADER_LENGTH) throw new Iso8583Error('header_invalid', `header must be ${VISA_HEADER_LENGTH} bytes, got ${buf.length}`, 'header', 0);
  if (buf[0] !== VISA_HEADER_LENGTH) throw new Iso8583Error('header_invalid', `header length byte is ${buf[0]}, expected ${VISA_HEADER_LENGTH}`, 'header', 0);
  if (buf[1] !== HEADER_FORMAT || buf[2] !== TEXT_FORMAT) throw new Iso8583Error('header_invalid', 'unknown header or text format', 'header', 1);
  const total = buf.readUInt16BE(3);
  if (total !== VISA_HEADER_LENGTH + messageLength) throw new Iso8583Error('header_invalid', `header says ${total} bytes, frame holds ${VISA_HEADER_LENGTH + messageLength}`, 'header', 3);
  if (buf[18] !== 0 || buf[19] !== 0 || buf[20] !== 0) throw new Iso8583Error('header_invalid', 'reserved header bytes must be zero', 'header', 18);
  return {
    destinationStationId: readStation(buf, 5),
    sourceStationId: readStation(buf, 8),
    roundTripInfo: buf[11] ?? 0,
    baseFlags: buf.readUInt16BE(12),
    messageStatusFlags: buf.readUIntBE(14, 3),
    batchNumber: buf[17] ?? 0,
    userInfo: buf[21] ?? 0,
  };
}

function writeStation(buf: Buffer, offset: number, id: string, which: string): void {
  if (!/^\d{6}$/.test(id)) throw new Iso8583Error('header_invalid', `${which} station id must be 6 digits`, 'header', offset);
  buf.write(id, offset, 'hex');
}

function readStation(buf: Buffer, offset: number): string {
  const text = buf.toString('hex', offset, offset + 3);
  if (!/^\d{6}$/.test(text)) throw new Iso8583Error('header_invalid', 'station id is not BCD', 'header', offset);
  return text;
}

function byte(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new Iso8583Error('header_invalid', `${name} must be a byte`, 'header', 0);
  return value;
}
function u16(value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) throw new Iso8583Error('header_invalid', 'flags must fit 16 bits', 'header', 12);
  return value;
}
function u24(value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffff) throw new Iso8583Error('header_invalid', 'status flags must fit 24 bits', 'header', 14);
  return value;
}
