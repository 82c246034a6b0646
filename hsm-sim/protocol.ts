/**
 * The host-command protocol, in the classic payment-HSM style:
 *
 *   request  = u16 length | header (4 bytes, echoed) | command code (2 ASCII) | fields
 *   response = u16 length | header (4 bytes)         | response code (2 ASCII) | error code (2 ASCII) | fields
 *   field    = u16 length | bytes
 *
 * Lengths are big-endian and count the bytes after themselves. The response code is the
 * command code with its second character advanced by one (A0 -> A1), as payment HSMs do.
 * Requests may be pipelined; the header lets the client match responses that finish out of
 * order. Everything here is pure and bounded: a decoder never holds more than one frame.
 */
import { assert } from '../core/index.js';
import { HsmError, type HsmErrorCode } from './errors.js';

export const FRAME_LENGTH_PREFIX_BYTES = 2;
export const FRAME_HEADER_BYTES = 4;
export const COMMAND_CODE_BYTES = 2;
export const ERROR_CODE_BYTES = 2;
/** Largest frame body (after the length prefix) either side accepts. */
export const FRAME_SIZE_BYTES_MAX = 32_768;
export const FIELDS_PER_FRAME_MAX = 16;
const FIELD_LENGTH_BYTES = 2;

/** Command codes. Requests and the codes their responses carry are in COMMANDS below. */
export const COMMANDS = {
  echo: 'B2',
  diagnostics: 'NC',
  generateKey: 'A0',
  formKeyFromComponents: 'A4',
  importKey: 'A6',
  exportKey: 'A8',
  rotateLmk: 'BW',
  listKeys: 'KL',
  deleteKey: 'KD',
  generateMac: 'M6',
  verifyMac: 'M8',
  generateCryptogram: 'KW',
  verifyCryptogram: 'KQ',
  encrypt: 'M0',
  decrypt: 'M2',
  keyedHash: 'GH',
  registerTerminalKey: 'EI',
  verifyTerminalSignature: 'EY',
  random: 'N0',
} as const;

export type CommandName = keyof typeof COMMANDS;
export type CommandCode = (typeof COMMANDS)[CommandName];

const BY_CODE = new Map<string, CommandName>((Object.keys(COMMANDS) as CommandName[]).map((name) => [COMMANDS[name], name]));

export function commandByCode(code: string): CommandName | undefined {
  return BY_CODE.get(code);
}

/** A0 -> A1, KQ -> KR; a code that cannot advance (or is not printable) answers as ZZ. */
export function responseCode(commandCode: string): string {
  const first = commandCode[0] ?? '';
  const second = commandCode.charCodeAt(1);
  const advanced = second >= 0x30 && second < 0x39 ? second + 1 : second >= 0x41 && second < 0x5a ? second + 1 : -1;
  if (advanced < 0 || !/^[0-9A-Z]$/.test(first)) return 'ZZ';
  return first + String.fromCharCode(advanced);
}

export interface RequestFrame {
  readonly header: Buffer;
  readonly command: string;
  readonly body: Buffer;
}

export function encodeFields(fields: readonly Uint8Array[]): Buffer {
  assert(fields.length <= FIELDS_PER_FRAME_MAX, 'too many fields');
  const size = fields.reduce((sum, f) => sum + FIELD_LENGTH_BYTES + f.length, 0);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const field of fields) {
    assert(field.length <= 0xffff, 'field longer than its length prefix');
    out.writeUInt16BE(field.length, at);
    out.set(field, at + FIELD_LENGTH_BYTES);
    at += FIELD_LENGTH_BYTES + field.length;
  }
  return out;
}

export function encodeRequest(header: Uint8Array, command: string, fields: readonly Uint8Array[]): Buffer {
  assert(header.length === FRAME_HEADER_BYTES && command.length === COMMAND_CODE_BYTES, 'header or command code size');
  const body = encodeFields(fields);
  const length = FRAME_HEADER_BYTES + COMMAND_CODE_BYTES + body.length;
  if (length > FRAME_SIZE_BYTES_MAX) throw new HsmError('hsm_frame_oversize', `request of ${length} bytes exceeds ${FRAME_SIZE_BYTES_MAX}`);
  const out = Buffer.allocUnsafe(FRAME_LENGTH_PREFIX_BYTES + length);
  out.writeUInt16BE(length, 0);
  out.set(header, 2);
  out.write(command, 6, 'ascii');
  out.set(body, 8);
  return out;
}

export function encodeResponse(header: Uint8Array, code: string, error: string, fields: readonly Uint8Array[]): Buffer {
  assert(header.length === FRAME_HEADER_BYTES && code.length === 2 && error.length === 2, 'response header sizes');
  const body = encodeFields(fields);
  const length = FRAME_HEADER_BYTES + COMMAND_CODE_BYTES + ERROR_CODE_BYTES + body.length;
  assert(length <= FRAME_SIZE_BYTES_MAX, 'response exceeds the frame bound');
  const out = Buffer.allocUnsafe(FRAME_LENGTH_PREFIX_BYTES + length);
  out.writeUInt16BE(length, 0);
  out.set(header, 2);
  out.write(code + error, 6, 'ascii');
  out.set(body, 10);
  return out;
}

/** Reads the fields of a frame body in order; every way of being wrong is a typed refusal. */
export class FieldReader {
  private at = 0;
  private count = 0;
  constructor(private readonly body: Buffer) {}

  bytes(name: string, min: number, max: number): Buffer {
    if (this.count >= FIELDS_PER_FRAME_MAX || this.at === this.body.length) throw new HsmError('hsm_field_count_wrong', `missing field ${name}`);
    if (this.at + FIELD_LENGTH_BYTES > this.body.length) throw new HsmError('hsm_field_length_wrong', `field ${name}: length prefix cut short`);
    const length = this.body.readUInt16BE(this.at);
    const start = this.at + FIELD_LENGTH_BYTES;
    if (start + length > this.body.length) throw new HsmError('hsm_field_length_wrong', `field ${name}: declares ${length} bytes, frame has ${this.body.length - start}`);
    if (length < min || length > max) throw new HsmError('hsm_field_length_wrong', `field ${name}: ${length} bytes, expected ${min}..${max}`);
    this.at = start + length;
    this.count += 1;
    return this.body.subarray(start, start + length);
  }

  /** An ASCII field that must match `pattern` (anchored by the caller). */
  text(name: string, pattern: RegExp, max = 64): string {
    const value = this.bytes(name, 0, max).toString('latin1');
    if (!pattern.test(value)) throw new HsmError('hsm_field_format_wrong', `field ${name}: wrong format`);
    return value;
  }

  integer(name: string, min: number, max: number): number {
    const value = Number(this.text(name, /^\d{1,9}$/, 9));
    if (value < min || value > max) throw new HsmError('hsm_field_format_wrong', `field ${name}: ${value} not in ${min}..${max}`);
    return value;
  }

  /** Asserts every field was read: extra fields are as wrong as missing ones. */
  end(): void {
    if (this.at !== this.body.length) throw new HsmError('hsm_field_count_wrong', 'unexpected fields after the last one');
  }
}

export type DecodedFrame =
  | { kind: 'frame'; frame: RequestFrame }
  | { kind: 'refused'; header: Buffer; code: HsmErrorCode };

/**
 * Splits a byte stream into frames. Holds at most one frame; incoming chunks are kept as a
 * list and joined only once a whole frame is there, so a peer dripping one byte at a time
 * costs linear work, not quadratic. An oversize frame is skipped byte for byte (the u16
 * length says exactly how far), so the connection stays usable.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private total_bytes = 0;
  private skip_bytes = 0;
  private skipHeader: Buffer | undefined;

  constructor(private readonly frame_size_bytes_max = FRAME_SIZE_BYTES_MAX) {}

  push(chunk: Buffer, emit: (decoded: DecodedFrame) => void): void {
    this.append(chunk);
    for (let decoded = this.next(); decoded; decoded = this.next()) emit(decoded);
  }

  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total_bytes += chunk.length;
  }

  /** The next whole frame (or refusal) from the bytes appended so far; `undefined` until one is complete. */
  next(): DecodedFrame | undefined {
    for (;;) {
      if (this.skip_bytes > 0) return this.consumeSkipped();
      if (this.total_bytes < FRAME_LENGTH_PREFIX_BYTES) return undefined;
      const length = this.peek(FRAME_LENGTH_PREFIX_BYTES).readUInt16BE(0);
      if (length > this.frame_size_bytes_max) {
        this.take(FRAME_LENGTH_PREFIX_BYTES);
        this.skip_bytes = length;
        this.skipHeader = undefined;
        continue;
      }
      if (this.total_bytes < FRAME_LENGTH_PREFIX_BYTES + length) return undefined;
      this.take(FRAME_LENGTH_PREFIX_BYTES);
      return decodeBody(Buffer.from(this.take(length)));
    }
  }

  /** Bytes held for a frame not yet complete (bounded by the frame size). */
  get buffered_bytes(): number {
    return this.total_bytes;
  }

  private peek(count: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= count) return first.subarray(0, count);
    return Buffer.concat(this.chunks.slice(0, count), count);
  }

  /** Removes `count` bytes from the front (the caller checked they are there). */
  private take(count: number): Buffer {
    assert(count <= this.total_bytes, 'take beyond buffered bytes');
    const parts: Buffer[] = [];
    let needed = count;
    while (needed > 0) {
      const chunk = this.chunks[0];
      assert(chunk !== undefined, 'chunks hold total_bytes');
      if (chunk.length <= needed) {
        parts.push(chunk);
        this.chunks.shift();
        needed -= chunk.length;
      } else {
        parts.push(chunk.subarray(0, needed));
        this.chunks[0] = chunk.subarray(needed);
        needed = 0;
      }
    }
    this.total_bytes -= count;
    return parts.length === 1 && parts[0] ? parts[0] : Buffer.concat(parts, count);
  }

  /** Discards the skipped frame's bytes; the refusal once the last of them is gone. */
  private consumeSkipped(): DecodedFrame | undefined {
    if (!this.skipHeader) {
      if (this.total_bytes < FRAME_HEADER_BYTES) return undefined;
      this.skipHeader = Buffer.from(this.peek(FRAME_HEADER_BYTES));
    }
    const count = Math.min(this.skip_bytes, this.total_bytes);
    this.take(count);
    this.skip_bytes -= count;
    if (this.skip_bytes > 0) return undefined;
    const refused: DecodedFrame = { kind: 'refused', header: this.skipHeader, code: 'hsm_frame_oversize' };
    this.skipHeader = undefined;
    return refused;
  }
}

function decodeBody(body: Buffer): DecodedFrame {
  if (body.length < FRAME_HEADER_BYTES + COMMAND_CODE_BYTES) {
    const header = Buffer.alloc(FRAME_HEADER_BYTES, 0x3f);
    body.copy(header, 0, 0, Math.min(body.length, FRAME_HEADER_BYTES));
    return { kind: 'refused', header, code: 'hsm_frame_truncated' };
  }
  return {
    kind: 'frame',
    frame: {
      header: body.subarray(0, FRAME_HEADER_BYTES),
      command: body.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + COMMAND_CODE_BYTES).toString('latin1'),
      body: body.subarray(FRAME_HEADER_BYTES + COMMAND_CODE_BYTES),
    },
  };
}

export interface ResponseFrame {
  readonly header: Buffer;
  readonly code: string;
  readonly error: string;
  readonly body: Buffer;
}

/** Client side: splits a byte stream into responses; a malformed response is a protocol break. */
export class ResponseDecoder {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer, emit: (response: ResponseFrame) => void): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= FRAME_LENGTH_PREFIX_BYTES) {
      const length = this.buffer.readUInt16BE(0);
      if (length > FRAME_SIZE_BYTES_MAX || length < FRAME_HEADER_BYTES + COMMAND_CODE_BYTES + ERROR_CODE_BYTES) {
        throw new HsmError('hsm_response_invalid', `response frame length ${length} out of bounds`);
      }
      if (this.buffer.length < FRAME_LENGTH_PREFIX_BYTES + length) return;
      const frame = Buffer.from(this.buffer.subarray(FRAME_LENGTH_PREFIX_BYTES, FRAME_LENGTH_PREFIX_BYTES + length));
      this.buffer = this.buffer.subarray(FRAME_LENGTH_PREFIX_BYTES + length);
      emit({ header: frame.subarray(0, 4), code: frame.subarray(4, 6).toString('latin1'), error: frame.subarray(6, 8).toString('latin1'), body: frame.subarray(8) });
    }
  }
}
