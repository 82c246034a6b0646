/**
 * The HTTP layer's parts on their own, with real SQLite files: idempotency records (retention,
 * in-flight lease, purge), nonces, token buckets, the canonical signing form, the metrics text,
 * and the PKI's files (reused across opens, private keys 0600).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { openGatewayDatabase } from '../store/database.js';
import { idempotency_retention_ms_default, SqliteIdempotencyStore } from '../store/idempotency.js';
import { SqliteNonceStore } from '../store/nonces.js';
import { SqliteRegistry } from '../store/registry.js';
import { DevPki } from '../pki/index.js';
import { bodyDigest, canonicalJson, captureDigest, signingString } from './canonical.js';
import { Hono } from 'hono';
import { idempotent, isDefinitive } from './idempotent.js';
import type { GatewayEnv } from './auth.js';
import { isBase64Text } from './schemas.js';
import { base64DecodedBytes, RateLimiter } from './limits.js';
import { createGatewayMetrics, metric_series_max } from './metrics.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'palmswitch-http-parts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('idempotency store', () => {
  it('keeps an answer for at least 24 hours, then purges it', () => {
    const db = openGatewayDatabase(path.join(dir, 'idem.sqlite'));
    const store = new SqliteIdempotencyStore(db);
    const t0 = 1_700_000_000_000;
    const claim = store.claim('terminal:T1', 'key-0001', 'hash-a', t0);
    expect(claim.kind).toBe('claimed');
    if (claim.kind !== 'claimed') return;
    store.complete('terminal:T1', 'key-0001', claim.claimed_ms, { status: 200, body: '{"ok":true}' }, t0 + 10);
    expect(store.claim('terminal:T1', 'key-0001', 'hash-a', t0 + idempotency_retention_ms_default)).toEqual({ kind: 'replay', status: 200, body: '{"ok":true}' });
    expect(store.claim('terminal:T1', 'key-0001', 'hash-b', t0 + 1)).toEqual({ kind: 'mismatch' });
    expect(store.claim('terminal:T2', 'key-0001', 'hash-b', t0 + 1).kind).toBe('claimed');
    expect(store.purge(t0 + idempotency_retention_ms_default)).toBe(0);
    expect(store.purge(t0 + idempotency_retention_ms_default + 11)).toBe(2);
    expect(store.claim('terminal:T1', 'key-0001', 'hash-b', t0 + idempotency_retention_ms_default + 12).kind).toBe('claimed');
    db.close();
  });

  it('lets a crashed request\'s in-flight claim lapse after its lease, and ignores the late completion of a lapsed claim', () => {
    const db = openGatewayDatabase(path.join(dir, 'idem-lease.sqlite'));
    const store = new SqliteIdempotencyStore(db, { in_flight_ms: 1_000 });
    const first = store.claim('admin', 'key-lease', 'h', 0);
    expect(store.claim('admin', 'key-lease', 'h', 999)).toEqual({ kind: 'in_flight' });
    const retry = store.claim('admin', 'key-lease', 'h', 1_000);
    expect(retry.kind).toBe('claimed');
    if (first.kind !== 'claimed' || retry.kind !== 'claimed') return;
    store.complete('admin', 'key-lease', first.claimed_ms, { status: 200, body: 'late' }, 1_001);
    expect(store.claim('admin', 'key-lease', 'h', 1_002)).toEqual({ kind: 'in_flight' });
    store.complete('admin', 'key-lease', retry.claimed_ms, { status: 201, body: 'retry' }, 1_003);
    expect(store.claim('admin', 'key-lease', 'h', 1_004)).toEqual({ kind: 'replay', status: 201, body: 'retry' });
    db.close();
  });

  it('stores definitive answers only', () => {
    expect(isDefinitive(200, '{}')).toBe(true);
    expect(isDefinitive(422, '{"error":{"code":"liveness_failed","message":""}}')).toBe(true);
    expect(isDefinitive(429, '{"error":{"code":"rate_limited","message":""}}')).toBe(false);
    expect(isDefinitive(401, '{"error":{"code":"nonce_reused","message":""}}')).toBe(false);
    expect(isDefinitive(502, '{"error":{"code":"network_unavailable","message":""}}')).toBe(false);
    expect(isDefinitive(400, 'not json')).toBe(false);
  });
});

describe('idempotency middleware', () => {
  it('hands the validator the same JSON a fetch Response would decode (UTF-8, a leading BOM dropped, bad bytes replaced)', async () => {
    const db = openGatewayDatabase(path.join(dir, 'idem-body.sqlite'));
    const app = new Hono<GatewayEnv>();
    app.use('*', async (c, next) => { c.set('scope', 'admin'); await next(); });
    app.use('*', idempotent(new SqliteIdempotencyStore(db)));
    app.post('/echo', async (c) => { try { return c.json({ parsed: await c.req.json() as unknown }); } catch { return c.json({ error: 'json' }, 400); } });
    const bodies = [
      Buffer.from('{"name":"Caf\u00e9 \u00e9t\u00e9","n":[1,2.5,"x"]}'), Buffer.from('\ufeff{"bom":true}'), Buffer.from('{"s":"\ud83d\ude00 ok"}'),
      Buffer.concat([Buffer.from('{"bad":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]), Buffer.from('not json'),
    ];
    let n = 0;
    for (const body of bodies) {
      const response = await app.request('/echo', { method: 'POST', body, headers: { 'content-type': 'application/json', 'idempotency-key': `body-key-${(n += 1)}` } });
      let expected: unknown;
      try { expected = { parsed: JSON.parse(await new Response(body).text()) as unknown }; } catch { expected = { error: 'json' }; }
      expect(await response.json()).toEqual(expected);
    }
    db.close();
  });
});

describe('idempotency middleware, one JSON parse per request', () => {
  it('gives every c.req.json() call the one parsed value, and a malformed body the same refusal each time', async () => {
    const db = openGatewayDatabase(path.join(dir, 'idem-json.sqlite'));
    const app = new Hono<GatewayEnv>();
    app.use('*', async (c, next) => { c.set('scope', 'admin'); await next(); });
    app.use('*', idempotent(new SqliteIdempotencyStore(db)));
    app.post('/twice', async (c) => {
      const outcomes = await Promise.allSettled([c.req.json(), c.req.json()]);
      const [first, second] = outcomes;
      if (first?.status === 'fulfilled' && second?.status === 'fulfilled') return c.json({ same: first.value === second.value, value: first.value as unknown });
      return c.json({ refused: outcomes.map((o) => o.status === 'rejected' && o.reason instanceof SyntaxError) }, 400);
    });
    const post = (body: string, key: string) => app.request('/twice', { method: 'POST', body, headers: { 'content-type': 'application/json', 'idempotency-key': key } });
    expect(await (await post('{"a":[1,{"b":"c"}]}', 'json-key-1')).json()).toEqual({ same: true, value: { a: [1, { b: 'c' }] } });
    expect(await (await post('{"a":', 'json-key-2')).json()).toEqual({ refused: [true, true] });
    db.close();
  });
});

describe('nonce store', () => {
  it('takes a nonce once per terminal and forgets it only after its expiry', () => {
    const db = openGatewayDatabase(path.join(dir, 'nonces.sqlite'));
    const nonces = new SqliteNonceStore(db);
    expect(nonces.claim('T1', 'nonce-aaaaaaaaaaaa', 100)).toBe(true);
    expect(nonces.claim('T1', 'nonce-aaaaaaaaaaaa', 100)).toBe(false);
    expect(nonces.claim('T2', 'nonce-aaaaaaaaaaaa', 100)).toBe(true);
    expect(nonces.purge(99)).toBe(0);
    expect(nonces.claim('T1', 'nonce-aaaaaaaaaaaa', 200)).toBe(false);
    expect(nonces.purge(100)).toBe(2);
    db.close();
  });
});

describe('rate limiter', () => {
  it('allows the burst, refills at the rate, and keeps its map bounded', () => {
    let now = 0;
    const limiter = new RateLimiter({ rate_per_s: 2, burst: 3 }, 10, () => now);
    for (let i = 0; i < 3; i += 1) limiter.take('a', 'terminal');
    expect(() => limiter.take('a', 'terminal')).toThrow(/retry in 1 s/);
    now = 500;
    limiter.take('a', 'terminal');
    expect(() => limiter.take('a', 'terminal')).toThrow();
    for (let i = 0; i < 50; i += 1) limiter.take(`k${i}`, 'terminal');
    expect(limiter.size).toBe(10);
  });

  it('computes decoded base64 sizes without decoding', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => base64DecodedBytes(Buffer.from(bytes).toString('base64')) === bytes.length));
  });
});

describe('base64 check', () => {
  it('accepts exactly the strings of the pattern ^[A-Za-z0-9+/]*={0,2}$', () => {
    const pattern = /^[A-Za-z0-9+/]*={0,2}$/;
    const alphabet = fc.constantFrom(...'Az09+/=-_ \n.\u00e9'.split(''));
    fc.assert(fc.property(fc.array(alphabet, { maxLength: 12 }).map((c) => c.join('')), (text) => isBase64Text(text) === pattern.test(text)), { numRuns: 20_000 });
    expect(isBase64Text(Buffer.from('palm').toString('base64'))).toBe(true);
    expect(isBase64Text('QUJD=A==')).toBe(false);
  });
});

describe('canonical signing form', () => {
  it('is independent of key order and whitespace, and covers every non-image member', () => {
    fc.assert(fc.property(fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.integer(), fc.boolean())), (object) => {
      const reversed = Object.fromEntries(Object.entries(object).reverse());
      expect(canonicalJson(reversed)).toBe(canonicalJson(object));
      expect(canonicalJson(JSON.parse(JSON.stringify(object, null, 2)))).toBe(canonicalJson(object));
    }));
    const body = { merchantId: 'M1', amount: { minor: '100', currency: 'EUR' }, capture: { kind: 'hand', visible: 'AAAA', nir: 'BBBB' } };
    expect(bodyDigest(body)).toBe(bodyDigest({ ...body, capture: { kind: 'hand', visible: 'CCCC' } }));
    expect(bodyDigest(body)).not.toBe(bodyDigest({ ...body, capture: { ...body.capture, kind: 'roi' } }));
    expect(bodyDigest(body)).not.toBe(bodyDigest({ ...body, amount: { minor: '1000', currency: 'EUR' } }));
    // Bytes cannot move from the visible image to the NIR image unnoticed.
    expect(captureDigest([{ visible: Buffer.from('ab'), nir: Buffer.from('c') }])).not.toBe(captureDigest([{ visible: Buffer.from('a'), nir: Buffer.from('bc') }]));
    expect(signingString({ method: 'post', path: '/v1/payments', terminalId: 'T1', timestamp_ms: 5, nonce: 'n'.repeat(16), captureDigest: 'c', bodyDigest: 'b' }))
      .toBe(`palmswitch-capture-v1\nPOST\n/v1/payments\nT1\n5\n${'n'.repeat(16)}\nc\nb`);
  });
});

describe('metrics', () => {
  it('renders counters, histograms and callback gauges in the Prometheus text format, with bounded series', () => {
    const metrics = createGatewayMetrics();
    metrics.requests.inc({ route: '/v1/payments', method: 'POST', status: '200' });
    metrics.stageSeconds.observe(0.004, { stage: 'search' });
    metrics.stageSeconds.observe(0.2, { stage: 'search' });
    metrics.registry.gauge('palmswitch_test_gauge', 'A gauge.', () => [{ labels: { network: 'visa-like' }, value: 1 }]);
    metrics.registry.gauge('palmswitch_broken_gauge', 'A failing source.', () => { throw new Error('down'); });
    const text = metrics.registry.render();
    expect(text).toContain('palmswitch_http_requests_total{route="/v1/payments",method="POST",status="200"} 1');
    expect(text).toContain('palmswitch_payment_stage_seconds_bucket{stage="search",le="0.005"} 1');
    expect(text).toContain('palmswitch_payment_stage_seconds_bucket{stage="search",le="+Inf"} 2');
    expect(text).toContain('palmswitch_payment_stage_seconds_count{stage="search"} 2');
    expect(text).toContain('palmswitch_test_gauge{network="visa-like"} 1');
    expect(text).toContain('# TYPE palmswitch_broken_gauge gauge');
    for (let i = 0; i < metric_series_max + 10; i += 1) metrics.requests.inc({ route: `/r${i}`, method: 'GET', status: '404' });
    // One series existed, so 999 new ones fit and the last 11 fold into `other`.
    expect(metrics.requests.value({ route: 'other', method: 'other', status: 'other' })).toBe(11);
  });
});

describe('development PKI', () => {
  it('creates the CA and server certificate once, reuses them, keeps private keys 0600 and records every serial', async () => {
    const db = openGatewayDatabase(path.join(dir, 'pki.sqlite'));
    const records = new SqliteRegistry(db);
    const first = await DevPki.open({ dataDir: path.join(dir, 'pki-data'), records });
    const second = await DevPki.open({ dataDir: path.join(dir, 'pki-data'), records });
    expect(second.caPem).toBe(first.caPem);
    expect(second.serverCertificatePem).toBe(first.serverCertificatePem);
    for (const file of ['ca.key.pem', 'server.key.pem']) expect(statSync(path.join(dir, 'pki-data', 'pki', file)).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dir, 'pki-data', 'pki')).mode & 0o777).toBe(0o700);
    const issued = await first.issueTerminalCertificate('T0000001', { validity_ms: 3_600_000 });
    expect(issued.serial).toMatch(/^[1-7][0-9a-f]{31}$/);
    expect(issued.notAfter_ms - Date.now()).toBeLessThanOrEqual(3_600_000);
    expect(records.isRevoked(issued.serial)).toBe(false);
    first.revoke(issued.serial, 'T0000001', 'test');
    expect(records.isRevoked(issued.serial.toUpperCase())).toBe(true);
    db.close();
  });
});
