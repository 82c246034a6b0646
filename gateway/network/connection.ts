/**
 * One TCP connection of a link: connects with a time-out, frames and coalesces writes (the
 * frames of one event-loop turn leave in one write), splits and decodes incoming frames, and
 * reports each decoded message and its own end to the link. A frame that does not decode is
 * counted and skipped (the link survives a malformed answer); a broken length prefix ends
 * the connection, since the stream cannot be resynchronised.
 */
import net from 'node:net';
import { FrameDecoder, type Frame, type Message } from '../../iso8583/index.js';
import type { Logger } from '../../core/index.js';
import { decodeVisaLikeHeader } from '../../specs/index.js';
import type { LinkWire } from './wire.js';

export const CONNECT_TIMEOUT_MS = 2_000;
/** Unsent bytes above which the peer is taken as stuck and the connection is dropped. */
export const WRITE_BACKLOG_BYTES_MAX = 4 * 1024 * 1024;
const FINISH_GRACE_MS = 1_000;

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
  private pending: Buffer[] = [];
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

  /** Queues an encoded message; false when the connection is gone. */
  send(message: Buffer): boolean {
    if (!this.isOpen) return false;
    this.pending.push(this.wire.frame(message));
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
    const chunk = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    if (socket.writableLength > WRITE_BACKLOG_BYTES_MAX) {
      this.log.warn({ connection: this.id }, 'network stopped reading; dropping the connection');
      this.close();
      return;
    }
    socket.write(chunk);
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
    const frames = [...this.pending, this.wire.frame(last)];
    this.pending = [];
    socket.end(Buffer.concat(frames));
    // A peer that never closes its side must not hold the socket open.
    setTimeout(() => socket.destroy(), FINISH_GRACE_MS).unref();
  }
}
