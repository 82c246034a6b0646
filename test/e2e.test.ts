/**
 * End to end over real sockets and processes: hsm-sim, both network simulators and the
 * gateway each in their own process; terminals call the HTTPS API with client certificates
 * and signed captures. enrol -> pay -> capture -> settle -> reconcile; declines; outage ->
 * stand-in -> recovery; idempotent retry; replayed and tampered captures; deletion. At the end
 * every line the processes logged and every file the suite wrote is scanned for card numbers
 * (Luhn-valid 13..19 digits) and palm images.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdminClient, TerminalClient, captureJson, signCapture, issueCard, palmCapture, spawnGateway, startTestStack,
  type CaptureUpload, type SpawnedGateway, type TerminalCredentials, type TestStack,
} from '../gateway/index.js';

const SEED = 777;
let stack: TestStack;
let gateway: SpawnedGateway;
let admin: AdminClient;
let terminal: TerminalClient;
let merchantId = '';
let credentials: TerminalCredentials;
const uploaded: CaptureUpload[] = [];

function capture(index: number, n: number): CaptureUpload {
  const c = palmCapture(SEED, index, n);
  uploaded.push(c);
  return c;
}

interface PaymentJson { paymentId: string; decision: string; status: string; responseCode: string; source: string; authCode: string | null }

beforeAll(async () => {
  stack = await startTestStack('palmswitch-e2e-');
  gateway = await spawnGateway(stack, { logLevel: 'debug' });
  admin = new AdminClient({ url: gateway.url, adminKey: gateway.adminKey, caPem: gateway.caPem });
  merchantId = (await admin.createMerchant({ name: 'E2E Market', mcc: '5411', currency: 'EUR' })).id;
  credentials = await admin.registerTerminal({ merchantId });
  terminal = new TerminalClient({ url: gateway.url, ...credentials });
}, 180_000);

afterAll(async () => {
  terminal?.close();
  admin?.close();
  await gateway?.stop();
  await stack?.stop();
}, 60_000);

async function enrol(index: number, network: 'visa-like' | 'mastercard-like', balance_minor = 1_000_000n): Promise<string> {
  const card = await issueCard(stack.sims.get(network)!, network, { balance_minor });
  const response = await terminal.enrol({ captures: [capture(index, 0), capture(index, 1)], pan: card.pan, expiry: card.expiry, phone: `+3161234${String(index).padStart(4, '0')}` });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return (response.body as { shopperId: string }).shopperId;
}

async function pay(index: number, n: number, amount_minor: bigint): Promise<{ status: number; body: PaymentJson }> {
  const response = await terminal.authorize({ merchantId, amount_minor, currency: 'EUR', capture: capture(index, n) });
  return { status: response.status, body: response.body as PaymentJson };
}

describe('palm payments end to end over HTTPS', () => {
  it('enrols, pays, captures, settles and reconciles with no exceptions', async () => {
    await enrol(1, 'visa-like');
    await enrol(2, 'mastercard-like');
    const first = await pay(1, 2, 2_500n);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ decision: 'approved', responseCode: '00', source: 'network' });
    const second = await pay(2, 2, 1_100n);
    expect(second.body.decision).toBe('approved');
    expect((await terminal.capture(first.body.paymentId)).status).toBe(200);
    expect((await terminal.capture(second.body.paymentId)).status).toBe(200);
    const date = new Date().toISOString().slice(0, 10);
    for (const network of ['visa-like', 'mastercard-like']) {
      const run = await admin.admin<{ id: number; exceptions: number; matched: number }>('POST', '/v1/reports/reconciliations', { network, date });
      expect(run.status, JSON.stringify(run.body)).toBe(201);
      expect(run.body).toMatchObject({ exceptions: 0, matched: 1 });
    }
    const balances = await admin.admin<{ currencies: { balanced: boolean }[] }>('GET', '/v1/reports/balances');
    expect(balances.body.currencies.every((sheet) => sheet.balanced)).toBe(true);
  });

  it('declines for insufficient funds with the issuer\'s code', async () => {
    await enrol(3, 'visa-like', 200n);
    const declined = await pay(3, 2, 5_000n);
    expect(declined.body).toMatchObject({ decision: 'declined', responseCode: '51' });
  });

  it('answers a retried payment with the stored first answer, and refuses the key with another body', async () => {
    await enrol(4, 'mastercard-like');
    const c = capture(4, 2);
    const first = await terminal.authorize({ merchantId, amount_minor: 900n, currency: 'EUR', capture: c }, { idempotencyKey: 'retry-key-0001' });
    const again = await terminal.authorize({ merchantId, amount_minor: 900n, currency: 'EUR', capture: c }, { idempotencyKey: 'retry-key-0001' });
    expect(again.status).toBe(first.status);
    expect((again.body as PaymentJson).paymentId).toBe((first.body as PaymentJson).paymentId);
    const other = await terminal.authorize({ merchantId, amount_minor: 901n, currency: 'EUR', capture: capture(4, 3) }, { idempotencyKey: 'retry-key-0001' });
    expect(other.status).toBe(422);
    expect(other.body).toMatchObject({ error: { code: 'idempotency_key_reused' } });
    await terminal.void((first.body as PaymentJson).paymentId);
  });

  it('refuses a replayed signed capture and a tampered body', async () => {
    const c = capture(4, 5);
    const nonce = 'e2e-replay-nonce-000001';
    const timestamp_ms = Date.now();
    const first = await terminal.authorize({ merchantId, amount_minor: 300n, currency: 'EUR', capture: c }, { nonce, timestamp_ms });
    expect(first.status).toBe(201);
    await terminal.void((first.body as PaymentJson).paymentId);
    const replayed = await terminal.authorize({ merchantId, amount_minor: 300n, currency: 'EUR', capture: c }, { nonce, timestamp_ms });
    expect(replayed.body).toMatchObject({ error: { code: 'nonce_reused' } });
    // Signed for 300, sent for 30000: the body digest no longer matches the signature.
    const fresh = capture(4, 6);
    const signed = { merchantId, amount: { minor: '300', currency: 'EUR' }, capture: captureJson(fresh) };
    const headers = signCapture({ sensorKey: credentials.sensorKey, method: 'POST', path: '/v1/payments', terminalId: credentials.terminalId, body: signed, captures: [fresh] });
    const tampered = await terminal.call('POST', '/v1/payments', {
      body: { ...signed, amount: { minor: '30000', currency: 'EUR' } }, headers: { ...headers, 'x-terminal-id': credentials.terminalId, 'idempotency-key': 'e2e-tamper-0001' },
    });
    expect(tampered.status).toBe(401);
    expect(tampered.body).toMatchObject({ error: { code: 'signature_invalid' } });
  });

  it('approves in stand-in during an outage and settles after recovery', async () => {
    await enrol(5, 'visa-like');
    const visa = stack.sims.get('visa-like')!;
    await visa.api('PUT', '/faults', { outage: true });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const offline = await pay(5, 2, 800n);
    expect(offline.body).toMatchObject({ decision: 'approved', source: 'stand-in' });
    await visa.api('PUT', '/faults', { outage: false });
    expect((await terminal.capture(offline.body.paymentId)).status).toBe(200);
    const deadline = Date.now() + 20_000;
    let exceptions = -1;
    while (Date.now() < deadline) {
      const run = await admin.admin<{ exceptions: number }>('POST', '/v1/reports/reconciliations', { network: 'visa-like', date: new Date().toISOString().slice(0, 10) });
      exceptions = run.body.exceptions;
      if (exceptions === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(exceptions).toBe(0);
  });

  it('deletes a shopper by palm; the palm is then not identified', async () => {
    const shopperId = await enrol(6, 'mastercard-like');
    const lookup = await terminal.identityLookup(capture(6, 2));
    expect(lookup.body).toMatchObject({ shopperId });
    const deleted = await terminal.deleteByPalm(capture(6, 3));
    expect(deleted.body).toMatchObject({ shopperId, templatesRemoved: 1, tokenDeleted: true });
    const after = await pay(6, 4, 500n);
    expect(after.body.decision).toBe('not_identified');
  });

  it('leaves no card number in any log line or file, and no palm image anywhere', () => {
    const logs: { where: string; text: string }[] = [{ where: 'gateway log', text: gateway.output() }, { where: 'hsm-sim log', text: stack.hsm.output() }];
    for (const [name, sim] of stack.sims) logs.push({ where: `${name} log`, text: sim.output() });
    // Log lines delimit their values: any Luhn-valid run of card length is a leak.
    for (const { where, text } of logs) expect(luhnCandidates(text), `card number in ${where}`).toEqual([]);
    const files = walk(stack.dir);
    expect(files.length).toBeGreaterThan(5);
    const texts = [...logs];
    for (const file of files) texts.push({ where: file, text: readFileSync(file).toString('latin1') });
    const slices = uploaded.map((c) => Buffer.from(c.visible).subarray(Math.floor(c.visible.length / 2), Math.floor(c.visible.length / 2) + 32).toString('latin1'));
    for (const { where, text } of texts) {
      // Binary records put numbers side by side (RRN then STAN), so files are searched for the
      // card and token ranges in play at any offset rather than for maximal digit runs.
      expect(panCandidates(text), `card or token number in ${where}`).toEqual([]);
      expect(text.includes('\x89PNG\r\n\x1a\n'), `PNG in ${where}`).toBe(false);
      expect(slices.some((slice) => text.includes(slice)), `capture bytes in ${where}`).toBe(false);
    }
  });
});

function walk(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) found.push(...walk(full));
    else found.push(full);
  }
  return found;
}

/** Digit runs of 13..19 starting with a card brand digit (2-6) that pass Luhn: card or token numbers. */
function luhnCandidates(text: string): string[] {
  const hits: string[] = [];
  for (const match of text.matchAll(/(?<!\d)[2-6]\d{12,18}(?!\d)/g)) {
    if (!luhn(match[0])) continue;
    // What surrounds the number says where it came from; its middle digits are not repeated here.
    const before = text.slice(Math.max(0, (match.index ?? 0) - 40), match.index).replace(/[^\x20-\x7e]/g, '.');
    hits.push(`${before}[${match[0].slice(0, 6)}…${match[0].slice(-4)}]`);
  }
  return hits;
}

/** Card BINs of the test issuers (gateway/testing.ts) and the simulators' token BINs. */
const BINS_IN_PLAY = ['476173', '541333', '489537', '539923'];

function panCandidates(text: string): string[] {
  const hits: string[] = [];
  for (const bin of BINS_IN_PLAY) {
    for (let at = text.indexOf(bin); at >= 0; at = text.indexOf(bin, at + 1)) {
      const digits = /^\d{16}/.exec(text.slice(at, at + 16))?.[0];
      if (digits && luhn(digits)) hits.push(`${text.slice(Math.max(0, at - 30), at).replace(/[^\x20-\x7e]/g, '.')}[${bin}…${digits.slice(-4)}]`);
    }
  }
  return hits;
}

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) { d *= 2; if (d > 9) d -= 9; }
    sum += d;
  }
  return sum % 10 === 0;
}
