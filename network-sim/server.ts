/**
 * The simulator's ISO 8583 side: a TCP server on 127.0.0.1 speaking one dialect. Each
 * connection splits frames, decodes, lets the network answer, and passes the answer through
 * the fault injector (delay, drop, disconnect, late, malformed, issuer unavailable). Answers
 * of one event-loop turn leave in one write. A frame that does not decode is counted and
 * skipped; a broken length prefix closes the connection (the stream cannot be resynchronised).
 */
import net from 'node:net';
import { constants, monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { FrameDecoder, type Frame, type Message } from '../iso8583/index.js';
import { decodeVisaLikeHeader } from '../specs/index.js';
import { assert, type Logger } from '../core/index.js';
import { NetworkSimError } from './errors.js';
import { drawFault, faultTarget, type FaultAction, type Faults } from './faults.js';
import type { CardNetwork, Session } from './network.js';
import type { Wire } from './wire.js';

export const CONNECTIONS_MAX = 64;
/** Answers being worked on (or held back by latency faults) per connection; reading pauses above. */
export const IN_FLIGHT_PER_CONNECTION_MAX = 4_096;
export const WRITE_BACKLOG_BYTES_MAX = 4 * 1024 * 1024;
/** Samples kept for the processing-time percentiles (a ring). */
export const PROCESSING_SAMPLES_MAX = 100_000;

export interface IsoServerContext {
  readonly wire: Wire;
  readonly network: CardNetwork;
  readonly log: Logger;
  faults(): Faults;
  readonly random: () => number;
  readonly processing: ProcessingTimes;
}

/** Event-loop delay percentiles in ms (1 ms resolution). */
export interface LoopDelay { p50_ms: number; p90_ms: number; p99_ms: number; p999_ms: number; max_ms: number }
/** Garbage-collector pauses since the last reset (perf_hooks 'gc' entries): how often, in all, and the longest. */
export interface GcPauses { count: number; total_ms: number; max_ms: number; major: number }

export class ProcessingTimes {
  private readonly samples = new Float64Array(PROCESSING_SAMPLES_MAX);
  private count = 0;
  /** Event-loop delay: time a frame may wait before any of this is measured (GC, CPU starvation). */
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 1 });
  /** GC pauses are one cause of that wait; counted here so a stall can be told from a busy machine. */
  private gc: GcPauses = { count: 0, total_ms: 0, max_ms: 0, major: 0 };
  private cpuAtReset = process.cpuUsage();

  constructor() {
    this.loopDelay.enable();
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) this.addGc(entry.duration, (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR);
    }).observe({ entryTypes: ['gc'] });
  }

  add(duration_us: number): void {
    this.samples[this.count % PROCESSING_SAMPLES_MAX] = duration_us;
    this.count += 1;
  }

  private addGc(duration_ms: number, major: boolean): void {
    const gc = this.gc;
    gc.count += 1;
    gc.total_ms += duration_ms;
    gc.max_ms = Math.max(gc.max_ms, duration_ms);
    if (major) gc.major += 1;
  }

  reset(): void {
    this.count = 0;
    this.loopDelay.reset();
    this.gc = { count: 0, total_ms: 0, max_ms: 0, major: 0 };
    this.cpuAtReset = process.cpuUsage();
  }

  percentiles(): { count: number; p50_us: number; p99_us: number; loop_delay: LoopDelay; gc: GcPauses; cpu_us_since_reset: number } {
    const ms = (ns: number): number => ns / 1e6;
    const delay = this.loopDelay;
    const cpu = process.cpuUsage(this.cpuAtReset);
    const loop = {
      loop_delay: { p50_ms: ms(delay.percentile(50)), p90_ms: ms(delay.percentile(90)), p99_ms: ms(delay.percentile(99)), p999_ms: ms(delay.percentile(99.9)), max_ms: ms(delay.max) },
      gc: { ...this.gc }, cpu_us_since_reset: cpu.user + cpu.system,
    };
    const n = Math.min(this.count, PROCESSING_SAMPLES_MAX);
    if (n === 0) return { count: 0, p50_us: 0, p99_us: 0, ...loop };
    const sorted = this.samples.slice(0, n).sort();
    return { count: this.count, p50_us: sorted[Math.floor(n * 0.5)] ?? 0, p99_us: sorted[Math.min(n - 1, Math.floor(n * 0.99))] ?? 0, ...loop };
  }
}

export interface IsoServer {
  readonly port: number;
  /** Closes every open connection (the outage fault and `POST /disconnect`). */
  disconnectAll(): number;
  close(): Promise<void>;
}

export async function startIsoServer(host: string, port: number, ctx: IsoServerContext): Promise<IsoServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    if (sockets.size >= CONNECTIONS_MAX || ctx.faults().outage) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serveConnection(socket, ctx);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new NetworkSimError('netsim_listen_failed', `cannot listen on ${host}:${port}: ${error.message}`, { cause: error })));
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  const disconnectAll = (): number => {
    const count = sockets.size;
    for (const socket of sockets) socket.destroy();
    return count;
  };
  return {
    port: bound,
    disconnectAll,
    close: async () => {
      disconnectAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function serveConnection(socket: net.Socket, ctx: IsoServerContext): void {
  const decoder = new FrameDecoder(ctx.wire.framing);
  const session: Session = { signedOn: false };
  const out = new Outbox(socket, ctx.wire);
  let inFlight = 0;
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  const settle = (): void => {
    inFlight -= 1;
    if (socket.isPaused() && inFlight < IN_FLIGHT_PER_CONNECTION_MAX) socket.resume();
  };
  socket.on('data', (chunk: Buffer) => {
    let frames: Frame[];
    try {
      frames = decoder.push(chunk);
    } catch (error) {
      ctx.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'unframeable bytes; closing the connection');
      socket.destroy();
      return;
    }
    for (const frame of frames) {
      inFlight += 1;
      onFrame(frame, session, out, ctx, socket, settle);
    }
    if (inFlight >= IN_FLIGHT_PER_CONNECTION_MAX) socket.pause();
  });
}

function onFrame(frame: Frame, session: Session, out: Outbox, ctx: IsoServerContext, socket: net.Socket, settle: () => void): void {
  const started = performance.now();
  const message = decodeRequest(frame, ctx);
  if (!message || ctx.faults().outage) { settle(); return; }
  const byMti = ctx.network.stats.byMti;
  byMti[message.mti] = (byMti[message.mti] ?? 0) + 1;
  const faults = ctx.faults();
  const target = faultTarget(message.mti);
  const action = target === undefined || !faults.applies_to.includes(target) ? ANSWER_NOW : drawFault(faults, ctx.random);
  if (action.kind !== 'answer') ctx.network.stats.faults[action.kind] = (ctx.network.stats.faults[action.kind] ?? 0) + 1;
  if (action.kind === 'drop') { settle(); return; }
  if (action.kind === 'disconnect') { settle(); socket.destroy(); return; }
  const reply: Reply = { frame, out, ctx, settle, started, action };
  try {
    const answer = action.kind === 'unavailable' ? ctx.network.reply(message, '91') : ctx.network.handle(message, frame.message, session, new Date());
    // Inline callbacks only: the hot path creates no named closures (each would be renamed per call under tsx).
    if (answer instanceof Promise) answer.then((late) => { deliver(reply, late); }, (error: unknown) => { deliver(reply, failed(error, message, ctx)); });
    else deliver(reply, answer);
  } catch (error) {
    deliver(reply, failed(error, message, ctx));
  }
}

const ANSWER_NOW = { kind: 'answer' as const, delay_ms: 0 };

/** What an answer needs to leave: the request's frame (its header is echoed), where to write, and how to account for it. */
interface Reply {
  readonly frame: Frame; readonly out: Outbox; readonly ctx: IsoServerContext; readonly settle: () => void; readonly started: number;
  readonly action: Exclude<FaultAction, { kind: 'drop' } | { kind: 'disconnect' }>;
}

function deliver(reply: Reply, answer: Message | undefined): void {
  if (answer === undefined) { reply.settle(); return; }
  const { ctx, action } = reply;
  const bytes = action.kind === 'malformed' ? Buffer.from([0xff, 0xff, 0x00, 0x13, 0x37]) : ctx.wire.codec.encode(answer);
  ctx.processing.add((performance.now() - reply.started) * 1000);
  // Sized (and refused when too large) now, so a delayed answer cannot fail later inside its timer.
  const size = ctx.wire.frameSize(bytes.length);
  if (action.delay_ms > 0) setTimeout(() => { send(reply, bytes, size); }, action.delay_ms);
  else send(reply, bytes, size);
}

function send(reply: Reply, bytes: Buffer, size: number): void {
  reply.settle();
  if (!reply.ctx.faults().outage) reply.out.send(bytes, reply.frame.header.length > 0 ? reply.frame.header : undefined, size);
}

/** A bug or an unreachable HSM answers 96 (system malfunction), never silence. */
function failed(error: unknown, message: Message, ctx: IsoServerContext): Message {
  ctx.log.error({ mti: message.mti, err: error instanceof Error ? { name: error.name, message: error.message } : String(error) }, 'request failed; answering 96');
  return ctx.network.reply(message, '96');
}

function decodeRequest(frame: Frame, ctx: IsoServerContext): Message | undefined {
  try {
    if (frame.header.length > 0) decodeVisaLikeHeader(frame.header, frame.message.length);
    return ctx.wire.codec.decode(frame.message);
  } catch (error) {
    ctx.network.stats.malformedRequests += 1;
    ctx.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'request does not decode; skipped');
    return undefined;
  }
}

/** Answers framed per socket write; above it they are written without waiting for the turn's end. */
export const SEND_BATCH_FRAMES_MAX = 256;

/**
 * Coalesces the answers of one event-loop turn into one socket write: each answer is framed
 * straight into one chunk (no per-frame buffers), and the queue's arrays are reused.
 */
class Outbox {
  private readonly messages: Buffer[] = [];
  private readonly replyTo: (Buffer | undefined)[] = [];
  private bytes = 0;
  private scheduled = false;

  constructor(private readonly socket: net.Socket, private readonly wire: Wire) {}

  /** Queues an encoded answer; `size` is its frame's size (wire.frameSize, checked by the caller). */
  send(message: Buffer, replyTo: Buffer | undefined, size: number): void {
    if (this.socket.destroyed) return;
    if (this.messages.length >= SEND_BATCH_FRAMES_MAX) this.flush();
    this.messages.push(message);
    this.replyTo.push(replyTo);
    this.bytes += size;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    if (this.socket.destroyed || this.messages.length === 0) return;
    const chunk = Buffer.allocUnsafe(this.bytes);
    let offset = 0;
    for (let i = 0; i < this.messages.length; i += 1) offset = this.wire.writeFrame(this.messages[i]!, this.replyTo[i], chunk, offset);
    assert(offset === chunk.length, 'the chunk holds exactly the queued frames');
    this.messages.length = 0;
    this.replyTo.length = 0;
    this.bytes = 0;
    if (this.socket.writableLength > WRITE_BACKLOG_BYTES_MAX) {
      // The peer stopped reading; holding more would grow without bound.
      this.socket.destroy();
      return;
    }
    this.socket.write(chunk);
  }
}
