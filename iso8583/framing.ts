/**
 * TCP framing: each message travels as a length prefix (2-byte binary or 4-digit ASCII)
 * followed by an optional fixed-size network header and the ISO 8583 message. The length
 * counts everything after the prefix. The stream decoder buffers at most one frame, and a
 * declared length above the bound is an error before a single byte of it is buffered.
 */
import { assert } from '../core/index.js';
import { Iso8583Error } from './errors.js';
import { MESSAGE_SIZE_BYTES_MAX } from './io.js';

export interface Framing {
  readonly length: 'binary2' | 'ascii4';
  /** Bytes of the fixed network header between the length and the message (0 if none). */
  readonly headerLength: number;
  /** Frames above this size are refused; at most 65,535 (binary2) or 9,999 (ascii4). */
  readonly frameSizeMax: number;
}

export interface Frame {
  readonly header: Buffer;
  readonly message: Buffer;
}

/** Bytes of the length prefix before each frame. */
export function lengthPrefixSize(framing: Framing): number {
  return framing.length === 'binary2' ? 2 : 4;
}

/** Bytes a message of `messageLength` takes on the wire (prefix, header, message); too large is an error. */
export function framedSize(framing: Framing, messageLength: number): number {
  const size = framing.headerLength + messageLength;
  if (size > framing.frameSizeMax) throw new Iso8583Error('frame_too_large', `frame of ${size} bytes exceeds ${framing.frameSizeMax}`, '', 0);
  return lengthPrefixSize(framing) + size;
}

function checkFraming(framing: Framing): void {
  const capacity = framing.length === 'binary2' ? 65_535 : 9_999;
  assert(framing.frameSizeMax > framing.headerLength && framing.frameSizeMax <= Math.min(capacity, MESSAGE_SIZE_BYTES_MAX + framing.headerLength), 'frameSizeMax out of range');
  assert(framing.headerLength >= 0 && Number.isInteger(framing.headerLength), 'headerLength must be a whole number');
}

export function encodeFrame(framing: Framing, message: Buffer, header: Buffer = Buffer.alloc(0)): Buffer {
  checkFraming(framing);
  if (header.length !== framing.headerLength) throw new Iso8583Error('header_invalid', `network header must be ${framing.headerLength} bytes, got ${header.length}`, 'header', 0);
  const size = header.length + message.length;
  const prefix = lengthPrefixSize(framing);
  const frame = Buffer.allocUnsafe(framedSize(framing, message.length));
  if (framing.length === 'binary2') frame.writeUInt16BE(size, 0);
  else frame.write(String(size).padStart(4, '0'), 0, 4, 'latin1');
  header.copy(frame, prefix);
  message.copy(frame, prefix + header.length);
  return frame;
}

/** Splits a TCP byte stream into frames. After it throws, the connection must be closed. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);
  private consumed = 0;

  constructor(private readonly framing: Framing) {
    checkFraming(framing);
  }

  /** Bytes held for an incomplete frame (bounded by prefix + frameSizeMax). */
  get bufferedBytes(): number {
    return this.pending.length;
  }

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    let offset = 0;
    const prefix = lengthPrefixSize(this.framing);
    while (this.pending.length - offset >= prefix) {
      const size = this.readLength(offset);
      if (this.pending.length - offset - prefix < size) break;
      const start = offset + prefix;
      if (size > 0) {
        const header = Buffer.from(this.pending.subarray(start, start + this.framing.headerLength));
        const message = Buffer.from(this.pending.subarray(start + this.framing.headerLength, start + size));
        frames.push({ header, message });
      }
      offset = start + size;
    }
    this.consumed += offset;
    this.pending = offset === this.pending.length ? Buffer.alloc(0) : Buffer.from(this.pending.subarray(offset));
    return frames;
  }

  private readLength(offset: number): number {
    let size: number;
    if (this.framing.length === 'binary2') {
      size = this.pending.readUInt16BE(offset);
    } else {
      size = 0;
      for (let i = 0; i < 4; i += 1) {
        const code = this.pending[offset + i] ?? 0;
        if (code < 0x30 || code > 0x39) throw new Iso8583Error('length_invalid', `frame length has a non-digit byte 0x${code.toString(16).toUpperCase().padStart(2, '0')}`, 'frame', this.consumed + offset + i);
        size = size * 10 + code - 0x30;
      }
    }
    if (size > this.framing.frameSizeMax) throw new Iso8583Error('frame_too_large', `frame of ${size} bytes exceeds ${this.framing.frameSizeMax}`, 'frame', this.consumed + offset);
    // Zero-length frames are keep-alives on some networks; a header-only frame is not a message.
    if (size > 0 && size <= this.framing.headerLength) throw new Iso8583Error('frame_truncated', `frame of ${size} bytes has no room for the ${this.framing.headerLength}-byte header and a message`, 'frame', this.consumed + offset);
    return size;
  }
}
