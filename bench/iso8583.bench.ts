/**
 * `npm run bench -- iso8583`: encode + decode of a typical 0100 palm authorization per
 * dialect, and the same message through the npm `iso_8583` package in the same run.
 * Bars (issue 2): >= 25x the peer's round-trip rate on iso87-ascii; every spec >= 250,000
 * round trips per second on one core.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import { compileSpec, type CodecEngine, type Message } from '../iso8583/index.js';
import { DIALECTS, DIALECT_NAMES, sampleAuthorization } from '../specs/index.js';
import { measureRate, type Figure } from './harness.js';

const DURATION_MS = 1_500;
const RUNS = 3;
/** One core's rate: CPU time, not wall time, since the machine may be shared (see harness). */
const CLOCK = 'cpu' as const;
const RATE_BAR = 250_000;
const PEER_RATIO_BAR = 25;

interface PeerInstance {
  getBufferMessage(): Buffer | { error: string };
  getIsoJSON(buffer: Buffer, config?: object): Record<string, string> | { error: string };
}
type PeerConstructor = new (data?: Record<string, string>) => PeerInstance;

/** The same 0100 in the peer's input shape: field 0 is the MTI, DE 55 as hex text (its DE 55 is `ans`). */
function peerData(message: Message): Record<string, string> {
  const data: Record<string, string> = { 0: message.mti };
  for (const [key, value] of Object.entries(message.fields)) {
    if (typeof value === 'string') data[key] = value;
    else if (Array.isArray(value)) data[key] = value.map((e) => e.tag + (e.value.length / 2).toString(16).toUpperCase().padStart(2, '0') + e.value).join('');
  }
  return data;
}

function measurePeer(message: Message): number {
  const require = createRequire(import.meta.url);
  const Peer = require('iso_8583') as PeerConstructor;
  const data = peerData(message);
  const check = new Peer(data).getBufferMessage();
  if (!Buffer.isBuffer(check)) throw new Error(`peer rejected the message: ${JSON.stringify(check)}`);
  const decoded = new Peer().getIsoJSON(check);
  if ('error' in decoded || decoded['4'] !== data['4']) throw new Error('peer did not round-trip the message');
  return measureRate(() => {
    const bytes = new Peer(data).getBufferMessage() as Buffer;
    new Peer().getIsoJSON(bytes);
  }, { duration_ms: DURATION_MS, clock: CLOCK, runs: RUNS });
}

function measureOurs(name: keyof typeof DIALECTS, message: Message, engine: CodecEngine = 'compiled'): number {
  const codec = compileSpec(DIALECTS[name].spec, { engine });
  if (codec.engine !== engine) throw new Error(`${name}: asked for the ${engine} engine, got ${codec.engine}`);
  const reference = codec.encode(message);
  if (!codec.encode(codec.decode(reference)).equals(reference)) throw new Error(`${name} did not round-trip`);
  return measureRate(() => {
    const bytes = codec.encode(message);
    codec.decode(bytes);
  }, { duration_ms: DURATION_MS, clock: CLOCK, runs: RUNS });
}

export async function run(): Promise<{ figures: Figure[]; notes: string[] }> {
  await Promise.resolve();
  const message = sampleAuthorization();
  const figures: Figure[] = [];
  const peerRate = measurePeer(message);
  for (const name of DIALECT_NAMES) {
    const rate = measureOurs(name, message);
    figures.push({ name: `${name} round trips`, value: rate, unit: 'msg/s', bar: `>= ${RATE_BAR.toLocaleString('en-US')}/s`, met: rate >= RATE_BAR });
    figures.push({ name: `${name} round trip time`, value: 1e6 / rate, unit: 'µs' });
    if (name === 'iso87-ascii') {
      const ratio = rate / peerRate;
      figures.push({ name: 'iso87-ascii vs iso_8583', value: rate, unit: 'msg/s', peer: { name: 'iso_8583@2.6.7', value: peerRate }, ratio, bar: `>= ${PEER_RATIO_BAR}x`, met: ratio >= PEER_RATIO_BAR });
    }
  }
  // For reference (no bar): the interpreted engine the compiled one falls back to.
  const interpreted = measureOurs('iso87-ascii', message, 'interpreted');
  figures.push({ name: 'iso87-ascii round trips, interpreted engine', value: interpreted, unit: 'msg/s', peer: { name: 'iso_8583@2.6.7', value: peerRate }, ratio: interpreted / peerRate });
  return {
    figures,
    notes: [
      'A round trip is encode + decode of the typical 0100 (specs/samples.ts: token PAN, 17 fields, DE 55 with six EMV tags) on one core, single-threaded.',
      'Ours is the compiled engine (compileSpec default): an encoder/decoder generated per spec, with the interpreted engine behind it for errors and rare forms; the last figure is the interpreted engine alone.',
      'The peer gets the same fields; its DE 55 is ans LLL, so it carries the TLV as hex text.',
      `Rates are per CPU-second of this process (one core), best of ${RUNS} runs of ${DURATION_MS} ms, for ours and the peer alike; load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}.`,
    ],
  };
}
