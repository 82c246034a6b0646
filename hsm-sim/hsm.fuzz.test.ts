/**
 * Fuzzing the real process: mutated valid frames (bit flips, overwritten, cut and inserted
 * bytes, wrong field lengths) each framed correctly must each get exactly one answer with
 * their header and an error code from the table — never an internal error — and the
 * connection keeps answering; raw random byte streams (including absurd length prefixes)
 * must not stop the process from answering a fresh connection. Bounded in runs and time;
 * fast-check prints the seed of any failure so it can be replayed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import net from 'node:net';
import { HSM_ERRORS, HsmClient, spawnHsmProcess, type SpawnedHsm } from './index.js';
import { FRAME_HEADER_BYTES } from './protocol.js';
import { frame, makeTempDir, rawExchange } from './testing.js';

const FRAMED_RUNS = 600;
const RAW_RUNS = 200;
const RAW_STREAM_BYTES_MAX = 4_096;
const KNOWN_WIRES = new Set(['00', ...Object.values(HSM_ERRORS).map((e) => e.wire)]);
// Made in beforeAll, not at import: a filtered or aborted run must not leave directories behind.
let temp: ReturnType<typeof makeTempDir>;
let proc: SpawnedHsm;
let hsm: HsmClient;
let corpus: Buffer[] = [];

beforeAll(async () => {
  temp = makeTempDir('hsm-fuzz');
  proc = await spawnHsmProcess({ dataDir: temp.dir });
  hsm = new HsmClient({ port: proc.port });
  await hsm.generateKey({ keyId: 'fz-zmk', usage: 'K0', algorithm: 'A', modeOfUse: 'B', exportability: 'N' });
  await hsm.generateKey({ keyId: 'fz-mac', usage: 'M3', algorithm: 'T', modeOfUse: 'C', exportability: 'E' });
  await hsm.generateKey({ keyId: 'fz-mk', usage: 'E0', algorithm: 'T', modeOfUse: 'X', exportability: 'E' });
  await hsm.generateDataKey('fz-dek');
  const mac = await hsm.generateMac({ keyId: 'fz-mac', data: Buffer.from('data') });
  const sealed = await hsm.encrypt({ keyId: 'fz-dek', plaintext: Buffer.from('plain'), aad: Buffer.from('aad') });
  const block = await hsm.exportKey({ keyId: 'fz-mac', zmkId: 'fz-zmk' });
  const cryptogramFields = ['fz-mk', '4895370012345678', '000000001000', '978', '261124', Buffer.from('01020304', 'hex'), Buffer.from('0001', 'hex')];
  // Bodies only (without the length prefix): the framed fuzzer re-frames each mutation.
  corpus = [
    frame('F001', 'B2', ['hello']), frame('F002', 'NC', []), frame('F003', 'N0', ['16']), frame('F004', 'KL', ['0']),
    frame('F005', 'M6', ['fz-mac', 'data', '1']), frame('F006', 'M8', ['fz-mac', 'data', '1', mac]),
    frame('F007', 'M0', ['fz-dek', 'plain', 'aad']), frame('F008', 'M2', ['fz-dek', sealed, 'aad']),
    frame('F009', 'KW', cryptogramFields), frame('F010', 'KQ', [...cryptogramFields, Buffer.alloc(8)]),
    frame('F011', 'A6', ['fz-imported', 'fz-zmk', block.keyBlock, block.kcv]), frame('F012', 'A8', ['fz-mac', 'fz-zmk']),
    frame('F013', 'A0', ['fz-gen', 'M6', 'A', 'C', 'N', '32']), frame('F014', 'EY', ['T-1', 'data', Buffer.alloc(64)]),
    frame('F015', 'A4', ['fz-formed', 'K0', 'A', 'B', 'N', '2', Buffer.alloc(32, 1), '', Buffer.alloc(32, 2), '']),
  ].map((f) => f.subarray(2));
});

afterAll(async () => {
  await hsm.close();
  await proc.stop();
  temp.remove();
});

type Mutation = { kind: 'flip' | 'set' | 'cut' | 'insert' | 'length'; at: number; value: number; bytes: Uint8Array };

function mutate(body: Buffer, mutations: Mutation[]): Buffer {
  let out = Buffer.from(body);
  for (const m of mutations) {
    // Mutations after the header only, so each answer can be matched to its request.
    const at = FRAME_HEADER_BYTES + (out.length > FRAME_HEADER_BYTES ? m.at % (out.length - FRAME_HEADER_BYTES + 1) : 0);
    if (m.kind === 'flip' && at < out.length) out[at] = (out[at] ?? 0) ^ (1 << (m.value % 8));
    if (m.kind === 'set' && at < out.length) out[at] = m.value & 0xff;
    if (m.kind === 'cut') out = out.subarray(0, at);
    if (m.kind === 'insert') out = Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)]);
    if (m.kind === 'length' && at + 1 < out.length) out.writeUInt16BE(m.value & 0xffff, at);
  }
  return out;
}

const mutationArb = fc.record({
  kind: fc.constantFrom<Mutation['kind']>('flip', 'set', 'cut', 'insert', 'length'),
  at: fc.nat(), value: fc.nat(), bytes: fc.uint8Array({ maxLength: 40 }),
});

function framed(body: Buffer): Buffer {
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(body.length, 0);
  return Buffer.concat([prefix, body]);
}

describe('fuzz', () => {
  it('answers every correctly framed mutated request with its header and a known error code', async () => {
    let round = 0;
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.nat(), fc.array(mutationArb, { minLength: 1, maxLength: 4 })), { minLength: 1, maxLength: 8 }), async (picks) => {
      round += 1;
      const bodies = picks.map(([index, mutations], i) => {
        const body = mutate(corpus[index % corpus.length] ?? Buffer.alloc(0), mutations);
        Buffer.from(`${String(round % 100).padStart(2, '0')}${String(i).padStart(2, '0')}`).copy(body, 0);
        return body;
      });
      const check = frame('PING', 'B2', ['alive']);
      const responses = await rawExchange(proc.port, Buffer.concat([...bodies.map(framed), check]), bodies.length + 1);
      expect(responses.length).toBe(bodies.length + 1);
      for (const response of responses) {
        expect(KNOWN_WIRES.has(response.error), `error code ${response.error}`).toBe(true);
        expect(response.error).not.toBe(HSM_ERRORS.hsm_internal_error.wire);
      }
      expect(responses.find((r) => r.header.toString('latin1') === 'PING')).toMatchObject({ code: 'B3', error: '00' });
    }), { numRuns: FRAMED_RUNS });
  });

  it('survives raw random byte streams and keeps answering fresh connections', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: RAW_STREAM_BYTES_MAX }), fc.boolean(), async (bytes, halfClose) => {
      const socket = net.connect({ host: '127.0.0.1', port: proc.port });
      await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
      socket.on('error', () => undefined);
      socket.on('data', () => undefined);
      socket.write(bytes);
      if (halfClose) socket.end(); else socket.destroy();
      expect((await hsm.echo(Buffer.from('alive'))).toString()).toBe('alive');
    }), { numRuns: RAW_RUNS });
    expect(proc.child.exitCode).toBeNull();
    expect((await hsm.diagnostics()).version).toMatch(/hsm-sim/);
  });
});
