/**
 * The HTTP layer over real HTTPS on 127.0.0.1 with real certificates, a real hsm-sim process and
 * SQLite files: every mTLS refusal, capture signatures (tamper, replay, clock), idempotency,
 * limits, errors, OpenAPI and the admin flows. The payment pipeline behind it is the recording
 * pipeline of test-harness.ts (the end-to-end test with the real pipeline is e2e.test.ts).
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { generateKeyPairSync, webcrypto } from 'node:crypto';
import { Writable } from 'node:stream';
import path from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createLogger } from '../../core/index.js';
import { DevPki } from '../pki/index.js';
import { openGatewayDatabase } from '../store/database.js';
import { SqliteRegistry } from '../store/registry.js';
import type { AuthorizeCommand } from '../pipeline/contract.js';
import { GATEWAY_ERRORS, GatewayError } from '../errors.js';
import { ADMIN_KEY_HEADER } from './auth.js';
import { IDEMPOTENCY_HEADER } from './idempotent.js';
import { SIGNATURE_HEADERS } from './canonical.js';
import type { GatewayServer } from './server.js';
import { ADMIN_KEY, fakeCapture, startHarness, type Harness } from './test-harness.js';
import {
  captureJson, certificateRequest, generateSensorKey, HttpsJsonClient, signCapture, type AdminClient, type ApiResponse, type TerminalClient, type TerminalCredentials,
} from './terminal-client.js';

interface ErrorJson { error: { code: string; message: string } }
const code = (response: ApiResponse): string | undefined => (response.body as Partial<ErrorJson>).error?.code;

let h: Harness;
let server: GatewayServer;
let admin: AdminClient;
let merchantId: string;
let credentials: TerminalCredentials;
let terminal: TerminalClient;

beforeAll(async () => {
  h = await startHarness('http');
  ({ server, admin } = await h.startGateway());
  merchantId = (await admin.createMerchant({ name: 'Corner shop', mcc: '5411', currency: 'EUR' })).id;
  credentials = await admin.registerTerminal({ merchantId });
  terminal = h.terminal(server, credentials);
});

afterAll(async () => {
  await h?.stop();
});

async function pay(client: TerminalClient, seed: number, options?: Parameters<TerminalClient['authorize']>[1]): Promise<ApiResponse> {
  return await client.authorize({ merchantId, amount_minor: 1250n, currency: 'EUR', capture: fakeCapture(seed) }, options);
}

describe('mutual TLS', () => {
  it('accepts the terminal\'s own certificate and hands the pipeline exactly the signed capture', async () => {
    const capture = fakeCapture(1);
    const response = await terminal.authorize({ merchantId, amount_minor: 1250n, currency: 'EUR', capture });
    expect(response.status).toBe(201);
    const body = response.body as { paymentId: string; amount: { minor: string; currency: string }; decision: string };
    expect(body.paymentId).toMatch(/^[0-9a-f]{32}$/);
    expect(body.amount).toEqual({ minor: '1250', currency: 'EUR' });
    const command = h.pipeline.calls.at(-1)?.command as AuthorizeCommand;
    expect(command.terminalId).toBe(credentials.terminalId);
    expect(Buffer.from(command.capture.visible).equals(Buffer.from(capture.visible))).toBe(true);
    expect(command.amount_minor).toBe(1250n);
  });

  it('refuses a call without a client certificate', async () => {
    const anonymous = new HttpsJsonClient(server.url, { caPem: h.pki.caPem });
    try {
      const response = await anonymous.call('GET', '/v1/payments/00000000000000000000000000000001', { headers: { [SIGNATURE_HEADERS.terminal]: credentials.terminalId } });
      expect(response.status).toBe(401);
      expect(code(response)).toBe('terminal_unauthenticated');
    } finally {
      anonymous.close();
    }
  });

  it('registers a terminal from its PKCS#10 request: no private key comes back, and its own key opens the door', async () => {
    const own = await admin.registerTerminalWithRequest({ merchantId });
    expect(own.certificatePem).toMatch(/BEGIN CERTIFICATE/);
    expect((await pay(h.terminal(server, own), 90)).status).toBe(201);
    const sensorPublicKey = generateSensorKey().publicKeySpki.toString('base64');
    const garbage = await admin.admin('POST', '/v1/terminals', { merchantId, sensorPublicKey, certificateRequestPem: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----' });
    expect([garbage.status, code(garbage)]).toEqual([400, 'request_invalid']);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rsaKeys = {
      privateKey: await webcrypto.subtle.importKey('pkcs8', rsa.privateKey.export({ type: 'pkcs8', format: 'der' }), { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']),
      publicKey: await webcrypto.subtle.importKey('spki', rsa.publicKey.export({ type: 'spki', format: 'der' }), { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, true, ['verify']),
    };
    const rsaRequest = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=rsa terminal', keys: rsaKeys, signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } }, webcrypto);
    const refused = await admin.admin('POST', '/v1/terminals', { merchantId, sensorPublicKey, certificateRequestPem: rsaRequest.toString('pem') });
    expect([refused.status, (refused.body as ErrorJson).error.message]).toEqual([400, expect.stringMatching(/P-256/)]);
    // A request whose signature was made by another key proves nothing: refused.
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forged = await certificateRequest(other.privateKey, ec.publicKey);
    const forgedAnswer = await admin.admin('POST', '/v1/terminals', { merchantId, sensorPublicKey, certificateRequestPem: forged });
    expect([forgedAnswer.status, (forgedAnswer.body as ErrorJson).error.message]).toEqual([400, expect.stringMatching(/signature/)]);
  });

  it('refuses a certificate from a foreign CA with the same terminal id', async () => {
    const otherDb = openGatewayDatabase(':memory:');
    const foreign = await DevPki.open({ dataDir: path.join(h.dir, 'foreign'), records: new SqliteRegistry(otherDb) });
    const issued = await foreign.issueTerminalCertificate(credentials.terminalId);
    otherDb.close();
    const client = h.terminal(server, { ...credentials, certificatePem: issued.certificatePem, privateKeyPem: issued.privateKeyPem! });
    const response = await client.payment('00000000000000000000000000000001');
    expect(response.status).toBe(401);
    expect((response.body as ErrorJson).error.message).toMatch(/CA/);
  });

  it('refuses an expired certificate', async () => {
    const issued = await h.pki.issueTerminalCertificate(credentials.terminalId, { notBefore_ms: Date.now() - 3 * 86_400_000, validity_ms: 86_400_000 });
    const client = h.terminal(server, { ...credentials, certificatePem: issued.certificatePem, privateKeyPem: issued.privateKeyPem! });
    const response = await client.payment('00000000000000000000000000000001');
    expect(response.status).toBe(401);
    expect((response.body as ErrorJson).error.message).toMatch(/expired/);
  });

  it('refuses a revoked certificate, and a valid one that is not the terminal\'s current certificate', async () => {
    const other = await admin.registerTerminal({ merchantId });
    const spare = await h.pki.issueTerminalCertificate(other.terminalId);
    const stale = await h.terminal(server, { ...other, certificatePem: spare.certificatePem, privateKeyPem: spare.privateKeyPem! }).payment('00000000000000000000000000000001');
    expect(stale.status).toBe(401);
    expect((stale.body as ErrorJson).error.message).toMatch(/current/);
    h.pki.revoke(other.terminal.certificateSerial, other.terminalId, 'key compromise');
    const revoked = await h.terminal(server, other).payment('00000000000000000000000000000001');
    expect(revoked.status).toBe(401);
    expect((revoked.body as ErrorJson).error.message).toMatch(/revoked/);
  });

  it('refuses a certificate whose CN is another terminal', async () => {
    const other = await admin.registerTerminal({ merchantId });
    const response = await terminal.call('GET', '/v1/payments/00000000000000000000000000000001', { headers: { [SIGNATURE_HEADERS.terminal]: other.terminalId } });
    expect(response.status).toBe(403);
    expect(code(response)).toBe('terminal_forbidden');
  });

  it('refuses a suspended terminal (403) and a revoked one (401), through the admin routes', async () => {
    const suspended = await admin.registerTerminal({ merchantId });
    expect((await admin.admin('POST', `/v1/terminals/${suspended.terminalId}/suspend`)).status).toBe(200);
    const first = await pay(h.terminal(server, suspended), 2);
    expect(first.status).toBe(403);
    expect(code(first)).toBe('terminal_suspended');
    const revoked = await admin.registerTerminal({ merchantId });
    const revocation = await admin.admin<{ status: string }>('POST', `/v1/terminals/${revoked.terminalId}/revoke`);
    expect(revocation.body.status).toBe('revoked');
    expect(h.registry.isRevoked(revoked.terminal.certificateSerial)).toBe(true);
    const second = await pay(h.terminal(server, revoked), 3);
    expect(second.status).toBe(401);
    expect(code(second)).toBe('terminal_unauthenticated');
  });
});

describe('signed captures', () => {
  it('refuses a body changed after signing, and a changed image', async () => {
    const capture = fakeCapture(10);
    const body = { merchantId, amount: { minor: '100', currency: 'EUR' }, capture: captureJson(capture) };
    const headers = signCapture({ sensorKey: credentials.sensorKey, method: 'POST', path: '/v1/payments', terminalId: credentials.terminalId, body, captures: [capture] });
    const base = { [SIGNATURE_HEADERS.terminal]: credentials.terminalId, ...headers };
    const amountChanged = await terminal.call('POST', '/v1/payments', { body: { ...body, amount: { minor: '99900', currency: 'EUR' } }, headers: { ...base, [IDEMPOTENCY_HEADER]: 'tamper-amount-1' } });
    expect(amountChanged.status).toBe(401);
    expect(code(amountChanged)).toBe('signature_invalid');
    const injected = captureJson(fakeCapture(11));
    const imageChanged = await terminal.call('POST', '/v1/payments', { body: { ...body, capture: { ...body.capture, visible: injected.visible } }, headers: { ...base, [IDEMPOTENCY_HEADER]: 'tamper-image-1' } });
    expect(code(imageChanged)).toBe('signature_invalid');
    // Unchanged, the same signature passes: the refusals above were about the changes.
    const intact = await terminal.call('POST', '/v1/payments', { body, headers: { ...base, [IDEMPOTENCY_HEADER]: 'tamper-none-1' } });
    expect(intact.status).toBe(201);
  });

  it('refuses a replayed request (same nonce, new idempotency key) and a signature by another sensor key', async () => {
    const nonce = 'replay-nonce-000000000001';
    expect((await pay(terminal, 20, { nonce })).status).toBe(201);
    const replay = await pay(terminal, 20, { nonce });
    expect(replay.status).toBe(401);
    expect(code(replay)).toBe('nonce_reused');
    const impostor = h.terminal(server, { ...credentials, sensorKey: generateSensorKey().privateKey });
    const forged = await pay(impostor, 21);
    expect(code(forged)).toBe('signature_invalid');
  });

  it('refuses stale and future timestamps and missing signature headers', async () => {
    const stale = await pay(terminal, 30, { timestamp_ms: Date.now() - 6 * 60_000 });
    expect(stale.status).toBe(401);
    expect(code(stale)).toBe('timestamp_stale');
    const future = await pay(terminal, 31, { timestamp_ms: Date.now() + 6 * 60_000 });
    expect(code(future)).toBe('timestamp_stale');
    const unsigned = await terminal.call('POST', '/v1/payments', {
      body: { merchantId, amount: { minor: '100', currency: 'EUR' }, capture: captureJson(fakeCapture(32)) },
      headers: { [SIGNATURE_HEADERS.terminal]: credentials.terminalId, [IDEMPOTENCY_HEADER]: 'unsigned-0001' },
    });
    expect(code(unsigned)).toBe('signature_invalid');
  });

  it('signs enrolments over every capture and keeps the card number out of the answer', async () => {
    const captures = [fakeCapture(40), fakeCapture(41)];
    const response = await terminal.enrol({ captures, pan: '4761739001010010', expiry: '2912', phone: '+447700900123' });
    expect(response.status).toBe(201);
    expect(JSON.stringify(response.body)).not.toContain('4761739001010010');
    const swapped = signCapture({
      sensorKey: credentials.sensorKey, method: 'POST', path: '/v1/enrolments', terminalId: credentials.terminalId,
      body: { captures: captures.map(captureJson), pan: '4761739001010010', expiry: '2912', phone: '+447700900123' }, captures,
    });
    const reordered = await terminal.call('POST', '/v1/enrolments', {
      body: { captures: [...captures].reverse().map(captureJson), pan: '4761739001010010', expiry: '2912', phone: '+447700900123' },
      headers: { ...swapped, [SIGNATURE_HEADERS.terminal]: credentials.terminalId, [IDEMPOTENCY_HEADER]: 'enrol-reordered-1' },
    });
    expect(code(reordered)).toBe('signature_invalid');
  });
});

describe('idempotency keys', () => {
  it('answers a repeated request with the stored first answer, without calling the pipeline again', async () => {
    const before = h.pipeline.count('authorize');
    const first = await pay(terminal, 50, { idempotencyKey: 'idem-same-0001', nonce: 'idem-same-nonce-0001' });
    const again = await pay(terminal, 50, { idempotencyKey: 'idem-same-0001', nonce: 'idem-same-nonce-0001' });
    expect(again.status).toBe(first.status);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(h.pipeline.count('authorize')).toBe(before + 1);
  });

  it('answers 409 while the first request is in flight, 422 for the key with another body', async () => {
    let open: () => void = () => undefined;
    h.pipeline.gate = new Promise<void>((resolve) => { open = resolve; });
    const first = pay(terminal, 60, { idempotencyKey: 'idem-flight-0001' });
    for (let i = 0; i < 100 && h.pipeline.calls.at(-1)?.method !== 'authorize'; i += 1) await new Promise((r) => setTimeout(r, 10));
    const during = await pay(terminal, 60, { idempotencyKey: 'idem-flight-0001' });
    h.pipeline.gate = undefined;
    open();
    expect(during.status).toBe(409);
    expect(code(during)).toBe('idempotency_in_flight');
    expect((await first).status).toBe(201);
    const otherBody = await pay(terminal, 61, { idempotencyKey: 'idem-flight-0001' });
    expect(otherBody.status).toBe(422);
    expect(code(otherBody)).toBe('idempotency_key_reused');
  });

  it('stores definitive refusals, releases failures of the moment, and scopes keys per terminal', async () => {
    h.pipeline.failNext = new GatewayError('amount_invalid', 'amount must be 1..999999999999 minor units');
    const refused = await pay(terminal, 70, { idempotencyKey: 'idem-refused-01' });
    expect(code(refused)).toBe('amount_invalid');
    expect(code(await pay(terminal, 70, { idempotencyKey: 'idem-refused-01' }))).toBe('amount_invalid');
    h.pipeline.failNext = new Error('database on fire at 4761739001010010');
    const crashed = await pay(terminal, 71, { idempotencyKey: 'idem-crashed-01' });
    expect(crashed.status).toBe(500);
    expect(crashed.body).toEqual({ error: { code: 'internal', message: 'internal error' } });
    expect((await pay(terminal, 71, { idempotencyKey: 'idem-crashed-01' })).status).toBe(201);
    const neighbour = h.terminal(server, await admin.registerTerminal({ merchantId }));
    const theirs = await pay(neighbour, 72, { idempotencyKey: 'idem-same-0001' });
    expect(theirs.status).toBe(201);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
  });

  it('keeps a key for 24 hours and purges it afterwards from the request path', async () => {
    let clock = Date.now();
    const { server: timed } = await h.startGateway({ now: () => clock });
    const client = h.terminal(timed, credentials);
    const first = await pay(client, 75, { idempotencyKey: 'idem-expiry-0001', timestamp_ms: clock });
    expect(first.status).toBe(201);
    clock += 24 * 3_600_000 - 60_000;
    const within = await pay(client, 76, { idempotencyKey: 'idem-expiry-0001', timestamp_ms: clock });
    expect(code(within)).toBe('idempotency_key_reused');
    clock += 2 * 60_000;
    const after = await pay(client, 76, { idempotencyKey: 'idem-expiry-0001', timestamp_ms: clock });
    expect(after.status).toBe(201);
    expect(after.headers['idempotent-replayed']).toBeUndefined();
  });

  it('requires the header on every mutating call', async () => {
    const response = await terminal.call('POST', '/v1/identity/otp', { body: { phone: '+447700900123' }, headers: { [SIGNATURE_HEADERS.terminal]: credentials.terminalId } });
    expect(response.status).toBe(400);
    expect((response.body as ErrorJson).error.message).toMatch(/Idempotency-Key/);
  });
});

describe('payments, identity and errors', () => {
  it('captures, refunds and reads its merchant\'s payments but not another merchant\'s', async () => {
    const paid = (await pay(terminal, 80)).body as { paymentId: string };
    const captured = await terminal.capture(paid.paymentId, { minor: 1000n, currency: 'EUR' });
    expect((captured.body as { status: string; captured: { minor: string } }).captured.minor).toBe('1000');
    expect((await terminal.refund(paid.paymentId, { minor: 500n, currency: 'EUR' })).status).toBe(200);
    expect(code(await terminal.void(paid.paymentId))).toBeUndefined();
    const otherMerchant = (await admin.createMerchant({ name: 'Other', mcc: '5812', currency: 'EUR' })).id;
    const stranger = h.terminal(server, await admin.registerTerminal({ merchantId: otherMerchant }));
    const peek = await stranger.payment(paid.paymentId);
    expect(peek.status).toBe(404);
    expect(code(peek)).toBe('payment_not_found');
    expect(code(await terminal.payment('not-hex'))).toBe('request_invalid');
  });

  it('serves the identity routes with typed refusals', async () => {
    expect((await terminal.requestOtp('+447700900123')).status).toBe(202);
    expect(code(await terminal.identityByPhone('+447700900123', '000000'))).toBe('otp_invalid');
    expect((await terminal.identityByPhone('+447700900123', '123456')).body).toMatchObject({ shopperId: '00000000000000000000000000000abc' });
    expect((await terminal.identityLookup(fakeCapture(90))).status).toBe(200);
    expect((await terminal.deleteByPalm(fakeCapture(91))).body).toEqual({ shopperId: '00000000000000000000000000000abc', templatesRemoved: 1, tokenDeleted: true });
    expect((await terminal.deleteByPhone('+447700900123', '123456')).status).toBe(200);
    expect(code(await terminal.requestOtp('07700 900123'))).toBe('request_invalid');
  });

  it('answers JSON errors for unknown routes, bad JSON and unknown currencies', async () => {
    const missing = await terminal.call('GET', '/nowhere');
    expect(missing.status).toBe(404);
    expect(code(missing)).toBe('not_found');
    const badJson = await terminal.call('POST', '/v1/identity/otp', { rawBody: '{"phone":', headers: { [SIGNATURE_HEADERS.terminal]: credentials.terminalId, [IDEMPOTENCY_HEADER]: 'bad-json-0001' } });
    expect(badJson.status).toBe(400);
    expect(code(badJson)).toBe('request_invalid');
    const unknownCurrency = await terminal.authorize({ merchantId, amount_minor: 1n, currency: 'ZZZ', capture: fakeCapture(92) });
    expect(code(unknownCurrency)).toBe('currency_unsupported');
  });
});

describe('logs', () => {
  it('log requests and unexpected errors without card numbers, keys or images', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(chunk.toString()); done(); } });
    const { server: logged } = await h.startGateway({ logger: createLogger({ name: 'gateway-log-test', level: 'debug', destination: sink }) });
    const client = h.terminal(logged, credentials);
    const captures = [fakeCapture(600), fakeCapture(601)];
    expect((await client.enrol({ captures, pan: '4761739001010010', expiry: '2912', phone: '+447700900123' })).status).toBe(201);
    h.pipeline.failNext = new Error('token service said no to 4761739001010010');
    expect((await pay(client, 602)).status).toBe(500);
    const text = lines.join('');
    expect(text).toContain('"route":"/v1/enrolments"');
    expect(text).toContain('476173******0010');
    expect(text).not.toContain('4761739001010010');
    expect(text).not.toContain(Buffer.from(captures[0]!.visible).toString('base64').slice(0, 40));
    expect(text).not.toContain('PRIVATE KEY');
  });
});

describe('limits', () => {
  it('refuses bodies over the limit before parsing, and images over theirs before decoding (413)', async () => {
    const { server: small } = await h.startGateway({ limits: { body_size_bytes_max: 64 * 1024, image_size_bytes_max: 16 * 1024 } });
    const client = h.terminal(small, credentials);
    const big = await client.call('POST', '/v1/payments', { rawBody: `{"pad":"${'a'.repeat(100 * 1024)}"}`, headers: { [SIGNATURE_HEADERS.terminal]: credentials.terminalId, [IDEMPOTENCY_HEADER]: 'big-body-0001' } });
    expect(big.status).toBe(413);
    expect(code(big)).toBe('body_too_large');
    const before = h.pipeline.count('authorize');
    const image = await client.authorize({ merchantId, amount_minor: 1n, currency: 'EUR', capture: fakeCapture(100, 20 * 1024) });
    expect(image.status).toBe(413);
    expect((image.body as ErrorJson).error.message).toMatch(/visible image/);
    expect(h.pipeline.count('authorize')).toBe(before);
  });

  it('rate-limits per terminal and per phone number with Retry-After (429)', async () => {
    const { server: strict } = await h.startGateway({ limits: { perTerminal: { rate_per_s: 0.5, burst: 3 }, perIdentity: { rate_per_s: 0.1, burst: 2 } } });
    const client = h.terminal(strict, credentials);
    const statuses: number[] = [];
    let limited: ApiResponse | undefined;
    for (let i = 0; i < 4; i += 1) {
      const response = await client.payment('00000000000000000000000000000001');
      statuses.push(response.status);
      if (response.status === 429) limited = response;
    }
    expect(statuses).toEqual([404, 404, 404, 429]);
    expect(code(limited!)).toBe('rate_limited');
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const { server: identity } = await h.startGateway({ limits: { perIdentity: { rate_per_s: 0.1, burst: 2 } } });
    const kiosk = h.terminal(identity, credentials);
    expect((await kiosk.requestOtp('+447700900999')).status).toBe(202);
    expect((await kiosk.requestOtp('+447700900999')).status).toBe(202);
    const third = await kiosk.requestOtp('+447700900999');
    expect(third.status).toBe(429);
    expect(third.headers['retry-after']).toBeDefined();
    expect((await kiosk.requestOtp('+447700900888')).status).toBe(202);
    // Per palm identity: the same palm (seed) pays twice, the third time it waits; another palm does not.
    const palm = h.terminal(identity, credentials);
    expect((await pay(palm, 500)).status).toBe(201);
    expect((await pay(palm, 500)).status).toBe(201);
    const again = await pay(palm, 500);
    expect(again.status).toBe(429);
    expect((again.body as ErrorJson).error.message).toMatch(/palm identity/);
    expect((await pay(palm, 501)).status).toBe(201);
  });
});

describe('fuzz', () => {
  const known = (response: ApiResponse): boolean => response.status >= 400 && response.status < 500 && (code(response) ?? '') in GATEWAY_ERRORS;

  it('answers arbitrary bodies on every POST route with a typed 4xx, never a 500', async () => {
    const routes = ['/v1/payments', '/v1/enrolments', '/v1/identity/lookup', '/v1/identity/otp', '/v1/identity/delete-by-phone', '/v1/payments/00000000000000000000000000000001/capture'];
    let n = 0;
    await fc.assert(fc.asyncProperty(fc.constantFrom(...routes), fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), fc.string({ maxLength: 200 })), async (route, raw) => {
      n += 1;
      const headers = { [SIGNATURE_HEADERS.terminal]: credentials.terminalId, [IDEMPOTENCY_HEADER]: `fuzz-body-${n}-0000`, ...signCapture({ sensorKey: credentials.sensorKey, method: 'POST', path: route, terminalId: credentials.terminalId, body: {}, captures: [] }) };
      const response = await terminal.call('POST', route, { rawBody: raw, headers });
      expect(known(response), `${route} ${raw.slice(0, 80)} -> ${response.status} ${JSON.stringify(response.body)}`).toBe(true);
    }), { numRuns: 60 });
  });

  it('signs and verifies bodies with arbitrary extra members (client and gateway agree on the canonical form)', async () => {
    let palm = 1_000;
    await fc.assert(fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), fc.jsonValue({ maxDepth: 3 }), async (extra, inner) => {
      palm += 1; // a new palm each run, so the per-identity bucket is not what is tested here
      const capture = fakeCapture(palm);
      const body = { merchantId, amount: { minor: '10', currency: 'EUR' }, capture: { ...captureJson(capture), note: inner }, extra };
      const response = await terminal.post('/v1/payments', body, [capture]);
      expect(response.status, JSON.stringify(response.body)).toBe(201);
    }), { numRuns: 30 });
  });

  it('refuses a body nested too deep for the canonical form as request_invalid', async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 40; i += 1) deep = [deep];
    const capture = captureJson(fakeCapture(8));
    const headers = { [SIGNATURE_HEADERS.terminal]: credentials.terminalId, [IDEMPOTENCY_HEADER]: 'fuzz-deep-00001', ...signCapture({ sensorKey: credentials.sensorKey, method: 'POST', path: '/v1/payments', terminalId: credentials.terminalId, body: {}, captures: [] }) };
    const response = await terminal.call('POST', '/v1/payments', { body: { merchantId, amount: { minor: '10', currency: 'EUR' }, capture, deep }, headers });
    expect(code(response)).toBe('request_invalid');
  });
});

describe('admin', () => {
  it('refuses calls without the admin key or with a wrong one', async () => {
    const anonymous = new HttpsJsonClient(server.url, { caPem: h.pki.caPem });
    try {
      expect(code(await anonymous.call('GET', '/v1/merchants'))).toBe('admin_unauthenticated');
      const wrong = await anonymous.call('GET', '/v1/merchants', { headers: { [ADMIN_KEY_HEADER]: `${ADMIN_KEY}x` } });
      expect(wrong.status).toBe(401);
      expect((await anonymous.call('GET', '/v1/merchants', { headers: { [ADMIN_KEY_HEADER]: ADMIN_KEY } })).status).toBe(200);
    } finally {
      anonymous.close();
    }
  });

  it('slows down a client that keeps guessing the admin key (429 after the burst)', async () => {
    const { server: fresh } = await h.startGateway();
    const guesser = new HttpsJsonClient(fresh.url, { caPem: h.pki.caPem });
    try {
      const codes: (string | undefined)[] = [];
      for (let i = 0; i < 22; i += 1) codes.push(code(await guesser.call('GET', '/v1/merchants', { headers: { [ADMIN_KEY_HEADER]: `guess-${i}` } })));
      expect(codes.slice(0, 20).every((c) => c === 'admin_unauthenticated')).toBe(true);
      expect(codes.slice(20)).toEqual(['rate_limited', 'rate_limited']);
    } finally {
      guesser.close();
    }
  });

  it('registers, lists and suspends merchants and terminals; a replayed registration never repeats the private key', async () => {
    const merchant = await admin.createMerchant({ id: 'ADMINFLOW01', name: 'Admin flow', mcc: '5999', currency: 'GBP' });
    expect(code(await admin.admin('POST', '/v1/merchants', { id: 'ADMINFLOW01', name: 'Again', mcc: '5999', currency: 'GBP' }))).toBe('already_exists');
    const listed = await admin.admin<{ merchants: { id: string }[] }>('GET', '/v1/merchants?limit=1000');
    expect(listed.body.merchants.map((m) => m.id)).toContain(merchant.id);
    const sensor = generateSensorKey();
    const body = { merchantId: merchant.id, sensorPublicKey: sensor.publicKeySpki.toString('base64'), id: 'TADMIN01' };
    const first = await admin.admin<{ privateKeyPem: string | null; certificatePem: string; terminal: { id: string } }>('POST', '/v1/terminals', body, 'register-tadmin01');
    expect(first.status).toBe(201);
    expect(first.body.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
    const replay = await admin.admin<{ privateKeyPem: string | null; certificatePem: string }>('POST', '/v1/terminals', body, 'register-tadmin01');
    expect(replay.status).toBe(201);
    expect(replay.body.privateKeyPem).toBeNull();
    expect(replay.body.certificatePem).toBe(first.body.certificatePem);
    const terminals = await admin.admin<{ terminals: { id: string }[] }>('GET', `/v1/terminals?merchantId=${merchant.id}`);
    expect(terminals.body.terminals.map((t) => t.id)).toEqual(['TADMIN01']);
    expect(code(await admin.admin('POST', '/v1/terminals', { ...body, id: 'TADMIN02', sensorPublicKey: Buffer.from('not a key').toString('base64') }))).toBe('request_invalid');
    expect((await admin.admin<{ status: string }>('POST', `/v1/merchants/${merchant.id}/suspend`)).body.status).toBe('suspended');
    expect(code(await admin.admin('POST', '/v1/terminals', { ...body, id: 'TADMIN03' }))).toBe('merchant_suspended');
    expect(code(await admin.admin('POST', '/v1/terminals/NOPE0001/suspend'))).toBe('terminal_not_found');
  });
});

describe('operations', () => {
  it('serves an OpenAPI 3.1 document listing every route, a local reference page, health and metrics', async () => {
    const anonymous = new HttpsJsonClient(server.url, { caPem: h.pki.caPem });
    try {
      const doc = (await anonymous.call<{ openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>>; components: { securitySchemes: Record<string, unknown> } }>('GET', '/openapi.json')).body;
      expect(doc.openapi).toBe('3.1.0');
      const operations = Object.entries(doc.paths).flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`)).sort();
      expect(operations).toEqual([
        'GET /v1/merchants', 'GET /v1/payments/{id}', 'GET /v1/terminals', 'POST /v1/enrolments', 'POST /v1/identity/by-phone', 'POST /v1/identity/delete',
        'POST /v1/identity/delete-by-phone', 'POST /v1/identity/lookup', 'POST /v1/identity/otp', 'POST /v1/merchants', 'POST /v1/merchants/{id}/suspend',
        'POST /v1/payments', 'POST /v1/payments/{id}/capture', 'POST /v1/payments/{id}/refund', 'POST /v1/payments/{id}/void', 'POST /v1/terminals',
        'POST /v1/terminals/{id}/revoke', 'POST /v1/terminals/{id}/suspend',
      ]);
      expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['adminKey', 'terminalCertificate']);
      expect(validateOpenApi31(doc)).toEqual([]);
      const page = await anonymous.call<string>('GET', '/docs');
      expect(page.status).toBe(200);
      for (const operation of operations) expect(page.body).toContain(operation.split(' ')[1]);
      expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);
      expect((await anonymous.call('GET', '/docs/assets/docs.css')).status).toBe(200);
      expect((await anonymous.call('GET', '/healthz')).body).toEqual({ status: 'ok' });
      expect((await anonymous.call('GET', '/readyz')).status).toBe(200);
      const metrics = (await anonymous.call<string>('GET', '/metrics')).body;
      expect(metrics).toMatch(/palmswitch_http_requests_total\{route="\/v1\/payments",method="POST",status="201"\} \d+/);
      expect(metrics).toMatch(/palmswitch_payment_stage_seconds_bucket\{stage="network",le="0.005"\} \d+/);
      expect(metrics).toMatch(/palmswitch_ledger_posting_ms\{quantile="0.5"\} 0.5/);
      expect(metrics).toContain('palmswitch_link_up{network="visa-like"} 2');
      expect(metrics).toMatch(/palmswitch_match_score_bucket\{decision="approved",le="0.5"\} [1-9]/);
      expect(metrics).toContain('palmswitch_saf_depth{network="visa-like",kind="advice"} 3');
    } finally {
      anonymous.close();
    }
  });

  it('passes the official OpenAPI 3.1 JSON Schema', async () => {
    const anonymous = new HttpsJsonClient(server.url, { caPem: h.pki.caPem });
    try {
      const document = (await anonymous.call<Record<string, unknown>>('GET', '/openapi.json')).body;
      const validator = new Validator();
      const result = await validator.validate(document);
      expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
      expect(result.valid).toBe(true);
      expect(validator.version).toBe('3.1');
    } finally {
      anonymous.close();
    }
  });

  it('answers /readyz 503 while the readiness callback says no', async () => {
    const { server: starting } = await h.startGateway({ ready: () => false });
    const anonymous = new HttpsJsonClient(starting.url, { caPem: h.pki.caPem });
    try {
      const response = await anonymous.call('GET', '/readyz');
      expect(response.status).toBe(503);
      expect(code(response)).toBe('not_ready');
    } finally {
      anonymous.close();
    }
  });
});

/** Structural checks of an OpenAPI 3.1 document: what the 3.1 schema requires of what we emit, and that every $ref resolves. */
function validateOpenApi31(doc: unknown): string[] {
  const problems: string[] = [];
  const root = doc as { openapi?: unknown; info?: { title?: unknown; version?: unknown }; paths?: Record<string, Record<string, unknown>>; components?: Record<string, Record<string, unknown>> };
  if (typeof root.openapi !== 'string' || !/^3\.1\.\d+$/.test(root.openapi)) problems.push('openapi is not 3.1.x');
  if (typeof root.info?.title !== 'string' || typeof root.info.version !== 'string') problems.push('info.title/version missing');
  const methods = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace', 'parameters', 'summary', 'description', 'servers']);
  for (const [route, item] of Object.entries(root.paths ?? {})) {
    if (!route.startsWith('/')) problems.push(`path ${route} does not start with /`);
    for (const [method, operation] of Object.entries(item)) {
      if (!methods.has(method)) problems.push(`${route}: unknown member ${method}`);
      const op = operation as { responses?: Record<string, unknown>; parameters?: { name?: unknown; in?: unknown; required?: unknown }[] };
      if (!op.responses || Object.keys(op.responses).length === 0) problems.push(`${method} ${route}: no responses`);
      for (const parameter of op.parameters ?? []) {
        if (typeof parameter.name !== 'string' || !['query', 'header', 'path', 'cookie'].includes(String(parameter.in))) problems.push(`${method} ${route}: bad parameter`);
        if (parameter.in === 'path' && parameter.required !== true) problems.push(`${method} ${route}: path parameter not required`);
      }
      for (const name of route.match(/\{(\w+)\}/g) ?? []) {
        if (!(op.parameters ?? []).some((p) => p.in === 'path' && `{${String(p.name)}}` === name)) problems.push(`${method} ${route}: ${name} undeclared`);
      }
    }
  }
  const text = JSON.stringify(doc);
  for (const match of text.matchAll(/"\$ref":"#\/components\/(\w+)\/([^"]+)"/g)) {
    if (!root.components?.[match[1] ?? '']?.[match[2] ?? '']) problems.push(`unresolved $ref ${match[0]}`);
  }
  return problems;
}
