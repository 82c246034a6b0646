/**
 * Bounded byte cursors. The reader never reads past `end` (the frame, or the enclosing
 * field for subfields), so a hostile length prefix can neither read beyond the frame nor
 * make the codec allocate: every length is checked against what is left before use.
 */
import { Iso8583Error } from './errors.js';

/** The largest message the codec writes or reads: what a 2-byte binary length frame can carry. */
export const MESSAGE_SIZE_BYTES_MAX = 65_535;

export class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    public end: number,
  ) {}

  /**
   * Claims `count` bytes and returns their start offset, or fails without moving. `sub`
   * (a TLV tag) is appended to the path only when there is an error to report.
   */
  take(count: number, path: string, what: string, sub?: string): number {
    if (count > this.end - this.pos) {
      throw new Iso8583Error('frame_truncated', `${what} needs ${count} bytes, ${this.end - this.pos} left`, sub === undefined ? path : `${path}.${sub}`, this.pos);
    }
    const start = this.pos;
    this.pos += count;
    return start;
  }
}

export class Writer {
  readonly buf: Buffer;
  /** The same memory as a plain Uint8Array: its subarray is cheaper than Buffer's. */
  private readonly bytes: Uint8Array;
  pos = 0;
  /** Writes stop here: the buffer's end, or (compiled codec, see compiled.ts) the message's bound. */
  limit: number;

  /** A scratch buffer of `capacity_bytes`, or a writer over `target` (the compiled codec's pool). */
  constructor(capacity_bytes = MESSAGE_SIZE_BYTES_MAX, target?: Buffer) {
    this.buf = target ?? Buffer.allocUnsafe(capacity_bytes);
    this.bytes = new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.buf.length);
    this.limit = this.buf.length;
  }

  /** Reserves `count` bytes and returns their offset; the message may never outgrow the bound. */
  reserve(count: number, path: string): number {
    if (count > this.limit - this.pos) {
      throw new Iso8583Error('length_exceeds_max', `message would exceed ${this.limit} bytes`, path, this.pos);
    }
    const start = this.pos;
    this.pos += count;
    return start;
  }

  /** A copy of what was written, so the scratch buffer can be reused by the next message. */
  result(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    out.set(this.bytes.subarray(0, this.pos));
    return out;
  }

}

// Character classes, indexed by Latin-1 code point.
export const CLASS_DIGIT = 1;
export const CLASS_ALPHA = 2;
export const CLASS_SPACE = 4;
export const CLASS_PRINT_ASCII = 8;
export const CLASS_PRINT_LATIN1 = 16;
export const CLASS_TRACK_SEPARATOR = 32;
export const CLASS_HEX_UPPER = 64;

export const CHAR_CLASS = new Uint8Array(256);
for (let code = 0; code < 256; code += 1) {
  let bits = 0;
  if (code >= 0x30 && code <= 0x39) bits |= CLASS_DIGIT | CLASS_HEX_UPPER;
  if ((code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a)) bits |= CLASS_ALPHA;
  if (code >= 0x41 && code <= 0x46) bits |= CLASS_HEX_UPPER;
  if (code === 0x20) bits |= CLASS_SPACE;
  if (code >= 0x20 && code <= 0x7e) bits |= CLASS_PRINT_ASCII | CLASS_PRINT_LATIN1;
  if (code >= 0xa0) bits |= CLASS_PRINT_LATIN1;
  if (code === 0x3d || code === 0x44) bits |= CLASS_TRACK_SEPARATOR;
  CHAR_CLASS[code] = bits;
}

export function describeChar(code: number): string {
  return code >= 0x20 && code <= 0x7e ? `'${String.fromCharCode(code)}'` : `0x${code.toString(16).toUpperCase().padStart(2, '0')}`;
}
