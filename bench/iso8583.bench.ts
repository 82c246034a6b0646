/**
 * `npm run bench -- iso8583`: encode + decode of a typical 0100 palm authorization per
 * dialect, and the same message through the npm `iso_8583` package in the same run.
 * Bars (issue 2): >= 25x the peer's round-trip rate on iso87-ascii; every spec >= 250,000
 * round trips per second on one core.
 *
 * Each spec is measured in a child process of its own (this file, run with `--child NAME`),
 * the peer in the iso87-ascii child, interleaved with ours. A switch process speaks a fixed
 * set of dialects, and one spec's codec should not be timed with the JIT state another
 * spec's run left behind; interleaving makes load from other processes fall on both sides
 * of the ratio alike.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { compileSpec, type CodecEngine, type Message } from '../iso8583/index.js';
import { DIALECTS, DIALECT_NAMES, isDialectName, sampleAuthorization, type DialectName } from '../specs/index.js';
import { measureRate, type Figure } from './harness.js';

/**
 * Warm-up before the first timed run, for ours and the peer alike: long enough that the
 * optimising compiler has finished with the code on a loaded 2-core machine, so what is
 * timed is the steady state a long-running switch process sees.
 */
const WARMUP_MS = 2_000;
const DURATION_MS = 1_000;
const ROUNDS = 5;
/** One core's rate: CPU time, not wall time, since the machine may be shared (see harness). */
const CLOCK = 'cpu' as const;
const RATE_BAR = 250_000;
const PEER_RATIO_BAR = 25;
/** Bound on one child's run (warm-up and rounds for ours and the peer take about 20 s). */
const CHILD_TIMEOUT_MS = 180_000;
const CHILD_OUTPUT_BYTES_MAX = 64 * 1024;
const CHILD_FLAG = '--child';
const INTERPRETED = 'interpreted';

interface PeerInstance {
  getBufferMessage(): Buffer | { error: string };
  getIsoJSON(buffer: Buffer, config?: object): Record<string, string> | { error: string };
}
type PeerConstructor = new (data?: Record<string, string>) => PeerInstance;

/** What a child reports: best rates in round trips per CPU-second. */
interface ChildResult { ours: number; peer?: number }

/** The same 0100 in the peer's input shape: field 0 is the MTI, DE 55 as hex text (its DE 55 is `ans`). */
function peerData(message: Message): Record<string, string> {
  const data: Record<string, string> = { 0: message.mti };
  for (const [key, value] of Object.entries(message.fields)) {
    if (typeof value === 'string') data[key] = value;
    else if (Array.isArray(value)) data[key] = value.map((e) => e.tag + (e.value.length / 2).toString(16).toUpperCase().padStart(2, '0') + e.value).join('');
  }
  return data;
}

function peerRoundTrip(message: Message): () => void {
  const require = createRequire(import.meta.url);
  const Peer = require('iso_8583') as PeerConstructor;
  const data = peerData(message);
  const check = new Peer(data).getBufferMessage();
  if (!Buffer.isBuffer(check)) throw new Error(`peer rejected the message: ${JSON.stringify(check)}`);
  const decoded = new Peer().getIsoJSON(check);
  if ('error' in decoded || decoded['4'] !== data['4']) throw new Error('peer did not round-trip the message');
  return () => {
    const bytes = new Peer(data).getBufferMessage() as Buffer;
    new Peer().getIsoJSON(bytes);
  };
}

function ourRoundTrip(name: DialectName, message: Message, engine: CodecEngine): () => void {
  const codec = compileSpec(DIALECTS[name].spec, { engine });
  if (codec.engine !== engine) throw new Error(`${name}: asked for the ${engine} engine, got ${codec.engine}`);
  const reference = codec.encode(message);
  if (!codec.encode(codec.decode(reference)).equals(reference)) throw new Error(`${name} did not round-trip`);
  return () => {
    const bytes = codec.encode(message);
    codec.decode(bytes);
  };
}

/** In the child: warm up, then alternate timed runs of ours and (with `withPeer`) the peer; best run of each. */
function measureChild(name: DialectName, engine: CodecEngine, withPeer: boolean): ChildResult {
  const message = sampleAuthorization();
  const ours = ourRoundTrip(name, message, engine);
  const peer = withPeer ? peerRoundTrip(message) : undefined;
  const once = (operation: () => void, warmup_ms: number): number => measureRate(operation, { duration_ms: DURATION_MS, warmup_ms, clock: CLOCK, runs: 1 });
  let best: ChildResult = { ours: 0, ...(peer ? { peer: 0 } : {}) };
  for (let round = 0; round < ROUNDS; round += 1) {
    const warmup = round === 0 ? WARMUP_MS : 0;
    const oursRate = once(ours, warmup);
    const peerRate = peer ? once(peer, warmup) : undefined;
    best = { ours: Math.max(best.ours, oursRate), ...(peerRate !== undefined ? { peer: Math.max(best.peer ?? 0, peerRate) } : {}) };
  }
  return best;
}

async function runChild(spec: DialectName, engine: CodecEngine, withPeer: boolean): Promise<ChildResult> {
  const args = ['--import', 'tsx', fileURLToPath(import.meta.url), CHILD_FLAG, spec, engine, withPeer ? 'peer' : 'alone'];
  const { stdout } = await promisify(execFile)(process.execPath, args, { timeout: CHILD_TIMEOUT_MS, maxBuffer: CHILD_OUTPUT_BYTES_MAX });
  const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as ChildResult;
  if (!(result.ours > 0) || (withPeer && !((result.peer ?? 0) > 0))) throw new Error(`bench child for ${spec} (${engine}) reported ${stdout}`);
  return result;
}

export async function run(): Promise<{ figures: Figure[]; notes: string[] }> {
  const figures: Figure[] = [];
  let peerRate = 0;
  for (const name of DIALECT_NAMES) {
    const withPeer = name === 'iso87-ascii';
    const result = await runChild(name, 'compiled', withPeer);
    const rate = result.ours;
    figures.push({ name: `${name} round trips`, value: rate, unit: 'msg/s', bar: `>= ${RATE_BAR.toLocaleString('en-US')}/s`, met: rate >= RATE_BAR });
    figures.push({ name: `${name} round trip time`, value: 1e6 / rate, unit: 'µs' });
    if (withPeer) {
      peerRate = result.peer ?? 0;
      const ratio = rate / peerRate;
      figures.push({ name: 'iso87-ascii vs iso_8583', value: rate, unit: 'msg/s', peer: { name: 'iso_8583@2.6.7', value: peerRate }, ratio, bar: `>= ${PEER_RATIO_BAR}x`, met: ratio >= PEER_RATIO_BAR });
    }
  }
  // For reference (no bar): the interpreted engine the compiled one falls back to.
  const interpreted = (await runChild('iso87-ascii', INTERPRETED, false)).ours;
  figures.push({ name: 'iso87-ascii round trips, interpreted engine', value: interpreted, unit: 'msg/s', peer: { name: 'iso_8583@2.6.7', value: peerRate }, ratio: interpreted / peerRate });
  return {
    figures,
    notes: [
      'A round trip is encode + decode of the typical 0100 (specs/samples.ts: token PAN, 17 fields, DE 55 with six EMV tags) on one core, single-threaded.',
      'Ours is the compiled engine (compileSpec default): an encoder/decoder generated per spec, with the interpreted engine behind it for errors and rare forms; the last figure is the interpreted engine alone.',
      'The peer gets the same fields; its DE 55 is ans LLL, so it carries the TLV as hex text.',
      'Each spec runs in a child process of its own (a switch process speaks a fixed set of dialects; no spec is timed with the JIT state of another); the peer runs in the iso87-ascii child, its timed runs alternating with ours.',
      `Rates are per CPU-second of the measuring process (one core), after ${WARMUP_MS} ms of warm-up each, best of ${ROUNDS} runs of ${DURATION_MS} ms, for ours and the peer alike; load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}.`,
    ],
  };
}

async function childMain(args: readonly string[]): Promise<void> {
  await Promise.resolve();
  const [spec, engine, peer] = args;
  if (spec === undefined || !isDialectName(spec) || (engine !== 'compiled' && engine !== INTERPRETED)) throw new Error(`bad child arguments: ${args.join(' ')}`);
  process.stdout.write(JSON.stringify(measureChild(spec, engine, peer === 'peer')) + '\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1] && process.argv[2] === CHILD_FLAG) {
  await childMain(process.argv.slice(3));
}
