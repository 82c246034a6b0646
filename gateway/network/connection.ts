/**
 * One TCP connection of a link: connects with a time-out, frames and coalesces writes (the
 * frames of one event-loop turn leave in one write), splits and decodes incoming frames, and
 * reports each decoded message and its own end to the link. A frame that does not decode is
 * counted and skipped (the link survives a malformed answer); a broken length prefix ends
 * the connection, since the stream cannot be resynchronised.
 */
import net from 'node:net';
import { FrameDecoder, type Frame, type Message } from '../../iso8583/index.js';
import { assert, type Logger } from '../../core/index.js';
import { decodeVisaLikeHeader } from '../../specs/index.js';
import type { LinkWire } from './wire.js';

export const CONNECT_TIMEOUT_MS = 2_000;
/** Unsent bytes above which the peer is taken as stuck and the connection is dropped. */
export const WRITE_BACKLOG_BYTES_MAX = 4 * 1024 * 1024;
const FINISH_GRACE_MS = 1_000;
/** Frames queued in one turn before they are written without waiting for the turn's end (bounds the chunk at about 64 KiB of authorizations). */
export const SEND_BATCH_FRAMES_MAX = 256;

export interface ConnectionEvents {
  onMessage(message: Message, connection: LinkConnection): void;
  onMalformed(error: unknown, connection: LinkConnection): void;
  onClose(connection: LinkConnection): void;
}

let nextConnectionId = 1;

export class LinkConnection {
  readonly id = nextConnectionId++;
  /** Set by the link once the sign-on is answered 00. */
  signedOn = false;
  lastReceived_ms = Date.now();
  private socket: net.Socket | undefined;
  /** Encoded messages waiting for this turn's write, and the bytes their frames will take. */
  private readonly pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;
  private closed = false;

  constructor(private readonly wire: LinkWire, private readonly log: Logger, private readonly events: ConnectionEvents) {}

  get isOpen(): boolean {
    return this.socket !== undefined && !this.closed;
  }

  connect(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => socket.destroy(new Error(`connect time-out after ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.setNoDelay(true);
        this.socket = socket;
        this.attach(socket);
        resolve();
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        if (!this.socket) { this.closed = true; reject(error); }
      });
    });
  }

  private attach(socket: net.Socket): void {
    const decoder = new FrameDecoder(this.wire.framing);
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (error) {
        this.events.onMalformed(error, this);
        this.close();
        return;
      }
      this.lastReceived_ms = Date.now();
      for (const frame of frames) this.deliver(frame);
    });
    socket.on('error', (error) => this.log.warn({ connection: this.id, err: error.message }, 'link connection error'));
    socket.once('close', () => {
      this.closed = true;
      this.events.onClose(this);
    });
  }

  private deliver(frame: Frame): void {
    let message: Message;
    try {
      if (frame.header.length > 0) decodeVisaLikeHeader(frame.header, frame.message.length);
      message = this.wire.codec.decode(frame.message);
    } catch (error) {
      this.events.onMalformed(error, this);
      return;
    }
    this.events.onMessage(message, this);
  }

  /**
   * Queues an encoded message; false when the connection is gone. The frames of one event-loop
   * turn are written into one chunk and leave in one write (see flush).
   */
  send(message: Buffer): boolean {
    if (!this.isOpen) return false;
    if (this.pending.length >= SEND_BATCH_FRAMES_MAX) {
      this.flush();
      if (!this.isOpen) return false;
    }
    this.pendingBytes += this.wire.frameSize(message.length);
    this.pending.push(message);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return true;
  }

  private flush(): void {
    this.flushScheduled = false;
    const socket = this.socket;
    if (!socket || this.closed || this.pending.length === 0) return;
    const chunk = this.takePending();
    if (socket.writableLength > WRITE_BACKLOG_BYTES_MAX) {
      this.log.warn({ connection: this.id }, 'network stopped reading; dropping the connection');
      this.close();
      return;
    }
    socket.write(chunk);
  }

  /** The queued messages framed into one chunk; the queue is left empty (and its array reused). */
  private takePending(): Buffer {
    const chunk = Buffer.allocUnsafe(this.pendingBytes);
    let offset = 0;
    for (const message of this.pending) offset = this.wire.writeFrame(message, chunk, offset);
    assert(offset === chunk.length, 'the chunk holds exactly the queued frames');
    this.pending.length = 0;
    this.pendingBytes = 0;
    return chunk;
  }

  close(): void {
    if (this.socket) this.socket.destroy();
    this.closed = true;
  }

  /** Sends what is queued plus a last message (the sign-off), then ends the connection. */
  finish(last: Buffer): void {
    const socket = this.socket;
    if (!socket || this.closed) return;
    this.closed = true;
    this.pendingBytes += this.wire.frameSize(last.length);
    this.pending.push(last);
    socket.end(this.takePending());
    // A peer that never closes its side must not hold the socket open.
    setTimeout(() => socket.destroy(), FINISH_GRACE_MS).unref();
  }
}
