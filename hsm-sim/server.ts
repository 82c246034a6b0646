/**
 * The HSM process's TCP side: accepts host connections on 127.0.0.1, splits frames,
 * runs commands (pipelined; responses may finish out of order and carry the request's
 * header), and answers every frame — even a truncated, oversize or unknown one — with a
 * response code and a two-character error code. Bounds: connections, requests in flight
 * per connection (reading pauses at the bound), unsent response bytes, and idle time.
 */
import net from 'node:net';
import path from 'node:path';
import { createLogger, PalmswitchError, type Logger } from '../core/index.js';
import { AuditTrail } from './audit.js';
import { HANDLERS, type CommandContext } from './commands.js';
import { HSM_ERRORS, HsmError, WIRE_OK, type HsmErrorCode } from './errors.js';
import { KeyStore } from './keystore.js';
import type { WebCryptoKey } from './primitives.js';
import { commandByCode, encodeResponse, FieldReader, FrameDecoder, responseCode, type DecodedFrame, type RequestFrame } from './protocol.js';

export const CONNECTIONS_MAX = 64;
export const IN_FLIGHT_PER_CONNECTION_MAX = 256;
export const WRITE_BACKLOG_BYTES_MAX = 4 * 1024 * 1024;
export const IDLE_TIMEOUT_MS = 5 * 60_000;

/** Refusals worth an audit line: someone is misusing keys or speaking the protocol wrong. */
const AUDITED_REFUSALS = new Set<HsmErrorCode>(['hsm_key_usage_wrong', 'hsm_key_block_tampered', 'hsm_kcv_mismatch', 'hsm_key_not_exportable', 'hsm_command_unknown', 'hsm_frame_oversize', 'hsm_frame_truncated', 'hsm_internal_error']);

export interface HsmServerOptions {
  readonly host?: string;
  readonly port: number;
  /** Directory of lmk.json, keys.json and audit.log (usually `<dataDir>/hsm`). */
  readonly keyDir: string;
  readonly logger?: Logger;
}

export interface HsmServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startHsmServer(options: HsmServerOptions): Promise<HsmServer> {
  const log = options.logger ?? createLogger({ name: 'hsm-sim' });
  const store = await KeyStore.open(options.keyDir);
  const audit = new AuditTrail(path.join(options.keyDir, 'audit.log'));
  const terminalKeys = new Map<string, WebCryptoKey>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    if (sockets.size >= CONNECTIONS_MAX) {
      log.warn({ connections: sockets.size }, 'connection refused: at the bound');
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serveConnection(socket, { store, audit, terminalKeys, peer: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}` }, log);
  });
  server.maxConnections = CONNECTIONS_MAX + 1;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new PalmswitchError('hsm_listen_failed', `cannot listen on ${host}:${options.port}: ${error.message}`, { cause: error })));
    server.listen(options.port, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  log.info({ host, port, lmkVersion: store.lmkVersion, keys: store.keyCount, terminals: store.terminalCount }, 'hsm-sim listening');
  return {
    host, port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function serveConnection(socket: net.Socket, ctx: CommandContext, log: Logger): void {
  const decoder = new FrameDecoder();
  let inFlight = 0;
  let paused = false;
  let pending: Buffer[] = [];
  let flushScheduled = false;
  let pumping = false;
  socket.setNoDelay(true);
  socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy());
  socket.on('error', () => socket.destroy());

  const flush = (): void => {
    flushScheduled = false;
    if (socket.destroyed || pending.length === 0) return;
    const out = pending.length === 1 ? pending[0] : Buffer.concat(pending);
    pending = [];
    if (out) socket.write(out);
  };
  const maybeResume = (): void => {
    if (paused && inFlight < IN_FLIGHT_PER_CONNECTION_MAX && socket.writableLength < WRITE_BACKLOG_BYTES_MAX) {
      paused = false;
      socket.resume();
    }
  };
  const send = (response: Buffer): void => {
    pending.push(response);
    // Coalesce the responses of one turn of the event loop into one write (pipelining pays here).
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  };
  // Frames are taken from the decoder only while fewer than the bound are in flight; the rest
  // wait as bytes (reading pauses), so the in-flight bound holds even within one large chunk.
  const pump = (): void => {
    while (inFlight < IN_FLIGHT_PER_CONNECTION_MAX) {
      const decoded = decoder.next();
      if (!decoded) break;
      inFlight += 1;
      const result = answer(decoded, ctx, log);
      if (result instanceof Promise) void result.then(done); else done(result);
    }
    if (inFlight >= IN_FLIGHT_PER_CONNECTION_MAX || socket.writableLength >= WRITE_BACKLOG_BYTES_MAX) {
      paused = true;
      socket.pause();
    }
  };
  const done = (response: Buffer): void => {
    inFlight -= 1;
    send(response);
    if (!pumping) {
      pumping = true;
      // Resume on the next turn: answering synchronously inside pump() must not recurse into it.
      setImmediate(() => {
        pumping = false;
        pump();
        maybeResume();
      });
    }
  };
  socket.on('drain', maybeResume);
  socket.on('data', (chunk: Buffer) => {
    decoder.append(chunk);
    pump();
  });
}

/** Answers one decoded frame; never throws and never rejects, whatever the bytes were. */
function answer(decoded: DecodedFrame, ctx: CommandContext, log: Logger): Buffer | Promise<Buffer> {
  if (decoded.kind === 'refused') return refusal(decoded.header, 'ZZ', decoded.code, ctx, '??');
  const { frame } = decoded;
  const name = commandByCode(frame.command);
  const code = responseCode(frame.command);
  if (!name) return refusal(frame.header, code, 'hsm_command_unknown', ctx, frame.command);
  try {
    const result = HANDLERS[name](new FieldReader(frame.body), ctx);
    if (result instanceof Promise) return result.then((fields) => encodeResponse(frame.header, code, WIRE_OK, fields)).catch((error: unknown) => failure(frame, code, error, ctx, log));
    return encodeResponse(frame.header, code, WIRE_OK, result);
  } catch (error) {
    return failure(frame, code, error, ctx, log);
  }
}

function failure(frame: RequestFrame, code: string, error: unknown, ctx: CommandContext, log: Logger): Buffer {
  if (error instanceof HsmError && error.code in HSM_ERRORS) return refusal(frame.header, code, error.code as HsmErrorCode, ctx, frame.command);
  log.error({ command: frame.command, err: error instanceof Error ? { name: error.name, message: error.message } : String(error) }, 'internal error while answering a command');
  return refusal(frame.header, code, 'hsm_internal_error', ctx, frame.command);
}

function refusal(header: Buffer, code: string, error: HsmErrorCode, ctx: CommandContext, command: string): Buffer {
  if (AUDITED_REFUSALS.has(error)) ctx.audit.record({ command: /^[A-Z0-9]{2}$/.test(command) ? command : '??', outcome: error, peer: ctx.peer });
  return encodeResponse(header, code, HSM_ERRORS[error].wire, []);
}
