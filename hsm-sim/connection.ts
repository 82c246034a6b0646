/**
 * One client connection to the HSM: pipelined requests matched to responses by the
 * 4-byte header (a per-connection sequence number), a time-out per request, and failure of
 * every outstanding request when the socket closes. Writes of one event-loop turn go out
 * together. The pool in client.ts decides which connection a request takes.
 */
import net from 'node:net';
import { HsmError } from './errors.js';
import { encodeRequest, FRAME_HEADER_BYTES, ResponseDecoder, responseCode, type ResponseFrame } from './protocol.js';

interface Pending {
  readonly expectedCode: string;
  readonly resolve: (response: ResponseFrame) => void;
  readonly reject: (error: HsmError) => void;
  readonly timer: NodeJS.Timeout;
}

export class HsmConnection {
  private readonly socket: net.Socket;
  private readonly decoder = new ResponseDecoder();
  private readonly pending = new Map<number, Pending>();
  private sequence = 0;
  private outgoing: Buffer[] = [];
  private flushScheduled = false;
  private state: 'connecting' | 'open' | 'closed' = 'connecting';
  private readonly ready: Promise<void>;
  private readonly address: string;

  constructor(host: string, port: number, connect_timeout_ms: number, private readonly onClose: (opened: boolean) => void) {
    this.address = `${host}:${port}`;
    this.socket = net.connect({ host, port, noDelay: true });
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.socket.destroy(new Error(`connect timed out after ${connect_timeout_ms} ms`)), connect_timeout_ms);
      this.socket.once('connect', () => {
        clearTimeout(timer);
        this.state = 'open';
        resolve();
      });
      this.socket.once('close', () => {
        clearTimeout(timer);
        reject(new HsmError('hsm_connection_failed', `cannot reach the HSM at ${host}:${port}`));
      });
    });
    this.ready.catch(() => undefined);
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => this.closed());
  }

  get in_flight(): number { return this.pending.size; }
  get usable(): boolean { return this.state !== 'closed'; }

  /** Sends one request; resolves with its response (any error code) or rejects on time-out or close. */
  request(command: string, fields: readonly Uint8Array[], timeout_ms: number): Promise<ResponseFrame> {
    if (this.state === 'closed') return Promise.reject(new HsmError('hsm_connection_failed', 'connection closed'));
    this.sequence = (this.sequence + 1) >>> 0;
    const id = this.sequence;
    const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    header.writeUInt32BE(id, 0);
    const frame = encodeRequest(header, command, fields);
    return new Promise<ResponseFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new HsmError('hsm_timeout', `HSM did not answer ${command} within ${timeout_ms} ms`));
      }, timeout_ms);
      this.pending.set(id, { expectedCode: responseCode(command), resolve, reject, timer });
      this.outgoing.push(frame);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        if (this.state === 'open') setImmediate(() => this.flush());
        else void this.ready.then(() => this.flush(), () => undefined);
      }
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.state !== 'open' || this.outgoing.length === 0) return;
    const out = this.outgoing.length === 1 ? this.outgoing[0] : Buffer.concat(this.outgoing);
    this.outgoing = [];
    if (out) this.socket.write(out);
  }

  private receive(chunk: Buffer): void {
    try {
      this.decoder.push(chunk, (response) => {
        const id = response.header.readUInt32BE(0);
        const waiter = this.pending.get(id);
        if (!waiter) return; // answered after its time-out: dropped
        this.pending.delete(id);
        clearTimeout(waiter.timer);
        if (response.code !== waiter.expectedCode) waiter.reject(new HsmError('hsm_response_invalid', `response code ${response.code}, expected ${waiter.expectedCode}`));
        else waiter.resolve(response);
      });
    } catch (error) {
      // A peer that breaks framing cannot be trusted for the rest of the stream.
      this.socket.destroy(error instanceof Error ? error : undefined);
    }
  }

  private closed(): void {
    const opened = this.state !== 'connecting';
    const why = opened ? 'connection to the HSM closed before it answered' : `cannot reach the HSM at ${this.address}`;
    this.state = 'closed';
    for (const [id, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      this.pending.delete(id);
      waiter.reject(new HsmError('hsm_connection_failed', why));
    }
    this.outgoing = [];
    this.onClose(opened);
  }
}
