/**
 * The simulator as a real process, spoken to over raw TCP on 127.0.0.1 and its HTTP API:
 * the token service (the card number never comes back out), duplicate transmissions (94)
 * and repeats (answered once), sign-on discipline (91), an unreachable HSM (96), malformed
 * and fuzzed frames (counted, the connection survives; a broken length closes it), the
 * settlement file in the ledger's format with injected discrepancies, fault validation, and
 * the mastercard-like dialect through a gateway link.
 */
import net from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileSpec, encodeFrame, FrameDecoder, type Message } from '../iso8583/index.js';
import { dialect, encodeVisaLikeHeader, joinOriginalDataElements } from '../specs/index.js';
import { parseSettlementFile } from '../ledger/index.js';
import { eventually, issueCard, openLink, requestFor, startSim, tempDir } from '../gateway/network/testing.js';
import { seededRandom } from '../core/index.js';
import { luhnDigit } from './tokens.js';
import type { SpawnedNetworkSim } from './spawn.js';

const FUZZ_FRAMES = 300;
const READ_TIMEOUT_MS = 5_000;
const temp = tempDir('palmswitch-netsim-');
const { spec, framing } = dialect('visa-like');
const codec = compileSpec(spec);
let sim: SpawnedNetworkSim;

beforeAll(async () => { sim = await startSim(temp.dir); });
afterAll(async () => { await sim.stop(); temp.remove(); });

/** A bare ISO 8583 client: frames out, decoded answers in, in order. */
class RawClient {
  private readonly decoder = new FrameDecoder(framing);
  private readonly answers: Message[] = [];
  closed = false;
  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => { for (const frame of this.decoder.push(chunk)) this.answers.push(codec.decode(frame.message)); });
    socket.on('close', () => { this.closed = true; });
    socket.on('error', () => undefined);
  }
  static async open(port: number): Promise<RawClient> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
    return new RawClient(socket);
  }
  sendBytes(message: Buffer): void {
    this.socket.write(encodeFrame(framing, message, encodeVisaLikeHeader({ destinationStationId: '400000', sourceStationId: '100001', roundTripInfo: 0, baseFlags: 0, messageStatusFlags: 0, batchNumber: 0, userInfo: 0 }, message.length)));
  }
  writeRaw(bytes: Buffer): void { this.socket.write(bytes); }
  async ask(message: Message): Promise<Message> {
    this.sendBytes(codec.encode(message));
    await eventually(() => this.answers.length > 0, READ_TIMEOUT_MS);
    return this.answers.shift()!;
  }
  close(): void { this.socket.destroy(); }
}

const signOn: Message = { mti: '0800', fields: { 7: '1124100000', 11: '000001', 70: '001' } };

function authorization(tokenPan: string, tokenExpiry: string, stan: string): Message {
  return {
    mti: '0100',
    fields: {
      2: tokenPan, 3: '000000', 4: '000000001000', 7: '1124101530', 11: stan, 12: '101530', 13: '1124', 14: tokenExpiry, 18: '5411', 22: '072', 25: '00',
      32: '49999', 37: `6328100${stan.slice(1)}`, 41: 'RAWTERM1', 42: 'MERCHANT0000042', 49: '978', 126: { 10: 'P01', 20: '40000000001' },
    },
  };
}

describe('token service', () => {
  it('provisions Luhn-valid tokens with one PAR per card, manages their life cycle, and never returns the card number', async () => {
    const card = await issueCard(sim);
    const second = await sim.api<{ tokenPan: string; par: string; tokenRef: string }>('POST', '/tokens', { pan: card.pan, expiry: '2912', trid: '40000000009' });
    expect(card.token.tokenPan).toMatch(/^489537\d{10}$/);
    expect(luhnDigit(card.token.tokenPan.slice(0, -1))).toBe(card.token.tokenPan.slice(-1));
    expect(second.par).toBe(card.token.par);
    expect(second.tokenPan).not.toBe(card.token.tokenPan);
    const answers = [
      await sim.api('GET', `/tokens/${card.token.tokenRef}`), await sim.api('POST', `/tokens/${card.token.tokenRef}/suspend`),
      await sim.api('POST', `/tokens/${card.token.tokenRef}/resume`), await sim.api('GET', `/accounts/${card.ref}`), second,
    ];
    for (const answer of answers) expect(JSON.stringify(answer)).not.toContain(card.pan);
    expect(await sim.api<{ status: string }>('DELETE', `/tokens/${card.token.tokenRef}`)).toMatchObject({ status: 'deleted' });
    await expect(sim.api('GET', `/tokens/${card.token.tokenRef}`)).rejects.toThrow(/404/);
    await expect(sim.api('POST', '/tokens', { pan: '12', expiry: '2912', trid: '40000000001' })).rejects.toThrow(/400/);
    await expect(sim.api('POST', '/tokens', { pan: '4000000000000002', expiry: '2912', trid: '40000000001' })).rejects.toThrow(/404/);
    await expect(sim.api('PUT', '/faults', { drop_rate: 2 })).rejects.toThrow(/400/);
  });
});

describe('ISO 8583 side', () => {
  it('answers 91 before sign-on, 94 to a duplicate, and a repeat (0101) with the first answer, booking once', async () => {
    const card = await issueCard(sim, { balance_minor: 10_000n });
    const client = await RawClient.open(sim.port);
    const request = authorization(card.token.tokenPan, card.token.tokenExpiry, '000777');
    expect((await client.ask(request)).fields[39]).toBe('91');
    expect((await client.ask(signOn)).fields[39]).toBe('00');
    const fresh = authorization(card.token.tokenPan, card.token.tokenExpiry, '000778');
    const first = await client.ask(fresh);
    expect(first.fields[39]).toBe('00');
    expect((await client.ask(fresh)).fields[39]).toBe('94');
    const repeat = await client.ask({ ...fresh, mti: '0101' });
    expect(repeat).toEqual(first);
    expect((await sim.api<{ balance_minor: string }>('GET', `/accounts/${card.ref}`)).balance_minor).toBe('9000');
    client.close();
  });

  it('undoes an original that arrives after its own reversal', async () => {
    const card = await issueCard(sim, { balance_minor: 10_000n });
    const client = await RawClient.open(sim.port);
    await client.ask(signOn);
    const original = authorization(card.token.tokenPan, card.token.tokenExpiry, '000901');
    const reversal: Message = {
      mti: '0400',
      fields: {
        2: card.token.tokenPan, 3: '000000', 4: '000000001000', 7: '1124101600', 11: '000901', 12: '101530', 13: '1124', 22: '072', 32: '49999',
        37: '632810000901', 41: 'RAWTERM1', 42: 'MERCHANT0000042', 49: '978',
        90: joinOriginalDataElements({ mti: '0100', stan: '000901', transmissionDateTime: '1124101530', acquiringInstitutionId: '49999', forwardingInstitutionId: '' }),
      },
    };
    expect((await client.ask(reversal)).fields[39]).toBe('00');
    expect((await client.ask(original)).fields[39]).toBe('00');
    expect((await sim.api<{ balance_minor: string }>('GET', `/accounts/${card.ref}`)).balance_minor).toBe('10000');
    client.close();
  });

  it('skips undecodable frames and fuzzed bytes on a live connection, and closes on a broken length', async () => {
    const client = await RawClient.open(sim.port);
    expect((await client.ask(signOn)).fields[39]).toBe('00');
    const before = await sim.api<{ malformedRequests: number }>('GET', '/stats');
    const random = seededRandom(42);
    for (let i = 0; i < FUZZ_FRAMES; i += 1) {
      const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 200) }, () => Math.floor(random() * 256)));
      client.sendBytes(bytes);
    }
    expect((await client.ask({ ...signOn, fields: { ...signOn.fields, 70: '301' } })).fields[39]).toBe('00');
    const after = await sim.api<{ malformedRequests: number }>('GET', '/stats');
    expect(after.malformedRequests - before.malformedRequests).toBeGreaterThan(FUZZ_FRAMES * 0.9);
    const length = Buffer.alloc(2);
    length.writeUInt16BE(framing.frameSizeMax + 1);
    client.writeRaw(length);
    await eventually(() => client.closed, READ_TIMEOUT_MS);
    expect((await sim.api<{ accounts: number }>('GET', '/stats')).accounts).toBeGreaterThan(0);
  });

  it('answers 96 when the HSM behind the MAC check cannot be reached', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
      });
    });
    const broken = await startSim(temp.dir, { hsmPort: closedPort, macKeyId: 'zak-x' });
    try {
      const card = await issueCard(broken);
      const client = await RawClient.open(broken.port);
      await client.ask(signOn);
      const request = authorization(card.token.tokenPan, card.token.tokenExpiry, '000900');
      request.fields[128] = '0011223344556677';
      expect((await client.ask(request)).fields[39]).toBe('96');
      client.close();
    } finally {
      await broken.stop();
    }
  });
});

describe('settlement file', () => {
  it('writes the approved, unreversed authorizations in the ledger format, with injected discrepancies on request', async () => {
    const { link, store } = openLink(sim, path.join(temp.dir, 'settle.db'));
    await link.waitUntilUp(10_000);
    const card = await issueCard(sim);
    const approved = [];
    for (let i = 0; i < 5; i += 1) approved.push(await link.authorize(requestFor(card, { amount_minor: 10_000n + BigInt(i) })));
    const clean = await sim.api<{ file: string; injected: unknown[] }>('POST', '/settlement', {});
    const parsed = parseSettlementFile(readFileSync(clean.file, 'utf8'));
    expect(parsed.network).toBe('visa-like');
    approved.forEach((result, i) => {
      expect(parsed.transactions).toContainEqual(expect.objectContaining({ rrn: result.rrn, auth_code: result.authCode, amount_minor: 10_000n + BigInt(i), type: 'SALE' }));
    });
    const dirty = await sim.api<{ file: string; transactions: number; injected: { kind: string; rrn: string }[] }>('POST', '/settlement', { discrepancies: { missing: 1, amount: 1, extra: 2, seed: 3 } });
    expect(dirty.injected.map((d) => d.kind)).toEqual(['missing', 'amount', 'extra', 'extra']);
    const damaged = parseSettlementFile(readFileSync(dirty.file, 'utf8'));
    expect(damaged.transactions.length).toBe(parsed.transactions.length + 1);
    const missing = dirty.injected[0]!.rrn;
    expect(damaged.transactions.filter((t) => t.rrn === missing).length).toBeLessThan(parsed.transactions.filter((t) => t.rrn === missing).length);
    await link.close();
    store.close();
  });
});

describe('mastercard-like', () => {
  it('authorizes through a mastercard-like link (TRID in DE 48.33) and refuses another requestor\'s token with 57', async () => {
    const mc = await startSim(temp.dir, { spec: 'mastercard-like' });
    try {
      const { link, store } = openLink(mc, path.join(temp.dir, 'mc.db'), { name: 'mastercard-like', spec: 'mastercard-like' });
      await link.waitUntilUp(10_000);
      const card = await issueCard(mc);
      expect(card.token.tokenPan).toMatch(/^539923/);
      expect(await link.authorize(requestFor(card))).toMatchObject({ approved: true, responseCode: '00' });
      const foreign = await issueCard(mc, {}, '40000000003');
      expect((await link.authorize(requestFor(foreign))).responseCode).toBe('57');
      await link.close();
      store.close();
    } finally {
      await mc.stop();
    }
  });
});
