/**
 * The link's pure parts and its store: stand-in rules (each limit on its own), BIN routing
 * (narrowest range wins), RRN and DE 7 formats, reversal and advice messages encoded in every
 * dialect, the durable queues' bounds and ordering on a real SQLite file, and the next STAN
 * block reserved by the worker thread before the current one runs out.
 */
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { compileSpec, validateMessage } from '../../iso8583/index.js';
import { dialect, splitOriginalDataElements } from '../../specs/index.js';
import { NetworkLinkError } from './errors.js';
import { adviceMessage, authorizationMessage, repeatOf, retrievalReference, reversalMessage, transmissionDateTime } from './messages.js';
import { NetworkRouter } from './router.js';
import { decideStandIn, DEFAULT_STAND_IN_RULES } from './standin.js';
import Database from 'better-sqlite3';
import { STAN_BLOCK_SIZE, STAN_PREFETCH_LEFT } from './stan-block.js';
import { LinkStore } from './store.js';
import { eventually, tempDir } from './testing.js';
import { createLinkWire, fieldText, matchKey, responseMti } from './wire.js';

const temp = tempDir('palmswitch-link-units-');
afterAll(() => temp.remove());

const noUsage = { identityAmount: 0n, identityCount: 0, merchantAmount: 0n, recentCount: 0 };
const request = {
  tokenPan: '4895370012345678', tokenExpiry: '2912', amount_minor: 4_250n, currency: 978, mcc: '5411', terminalId: 'PALM0001', merchantId: 'MERCHANT0000042', palmIdentity: 'p1',
  emv: [{ tag: '9F26', value: '8A1B2C3D4E5F6071' }, { tag: '9F02', value: '000000004250' }],
};

describe('stand-in rules', () => {
  it('approves within every limit with an S-prefixed code, and names the first limit broken', () => {
    const rules = DEFAULT_STAND_IN_RULES;
    expect(decideStandIn(rules, { amount_minor: 1_000n, mcc: '5411' }, noUsage)).toMatchObject({ approve: true, authCode: expect.stringMatching(/^S[0-9A-Z]{5}$/) as unknown });
    expect(decideStandIn({ ...rules, enabled: false }, { amount_minor: 1n, mcc: '5411' }, noUsage)).toEqual({ approve: false, reason: 'disabled' });
    expect(decideStandIn(rules, { amount_minor: 1n, mcc: '6011' }, noUsage)).toEqual({ approve: false, reason: 'mcc' });
    expect(decideStandIn(rules, { amount_minor: rules.amount_minor_max + 1n, mcc: '5411' }, noUsage)).toEqual({ approve: false, reason: 'amount' });
    expect(decideStandIn(rules, { amount_minor: 1_000n, mcc: '5411' }, { ...noUsage, identityAmount: rules.identity_day_amount_minor_max })).toEqual({ approve: false, reason: 'identity_day_amount' });
    expect(decideStandIn(rules, { amount_minor: 1_000n, mcc: '5411' }, { ...noUsage, identityCount: rules.identity_day_count_max })).toEqual({ approve: false, reason: 'identity_day_count' });
    expect(decideStandIn(rules, { amount_minor: 1_000n, mcc: '5411' }, { ...noUsage, merchantAmount: rules.merchant_day_amount_minor_max })).toEqual({ approve: false, reason: 'merchant_day_amount' });
    expect(decideStandIn(rules, { amount_minor: 1_000n, mcc: '5411' }, { ...noUsage, recentCount: rules.velocity_count_max })).toEqual({ approve: false, reason: 'velocity' });
  });

  it('never approves past a limit (property)', () => {
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: 20_000n }), fc.bigInt({ min: 0n, max: 20_000n }), fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 10 }), (amount, spent, count, recent) => {
      const decision = decideStandIn(DEFAULT_STAND_IN_RULES, { amount_minor: amount, mcc: '5411' }, { identityAmount: spent, identityCount: count, merchantAmount: spent, recentCount: recent });
      if (decision.approve) {
        expect(amount).toBeLessThanOrEqual(DEFAULT_STAND_IN_RULES.amount_minor_max);
        expect(spent + amount).toBeLessThanOrEqual(DEFAULT_STAND_IN_RULES.identity_day_amount_minor_max);
        expect(count + 1).toBeLessThanOrEqual(DEFAULT_STAND_IN_RULES.identity_day_count_max);
        expect(recent + 1).toBeLessThanOrEqual(DEFAULT_STAND_IN_RULES.velocity_count_max);
      }
    }), { numRuns: 500 });
  });
});

describe('BIN routing', () => {
  const visa = { name: 'visa-like', authorize: () => Promise.reject(new Error('not used')) };
  const carveOut = { name: 'carve-out', authorize: () => Promise.reject(new Error('not used')) };
  const mastercard = { name: 'mastercard-like', authorize: () => Promise.reject(new Error('not used')) };
  const router = new NetworkRouter([
    { low: '400000', high: '499999', link: visa },
    { low: '48953700', high: '48953799', link: carveOut },
    { low: '510000', high: '559999', link: mastercard },
  ]);

  it('routes by the narrowest matching range and refuses unknown BINs', () => {
    expect(router.route('4111111111111111').name).toBe('visa-like');
    expect(router.route('4895371234567890').name).toBe('carve-out');
    expect(router.route('5399230000000000').name).toBe('mastercard-like');
    expect(() => router.route('6011000000000000')).toThrow(NetworkLinkError);
    expect(() => new NetworkRouter([{ low: '4000', high: '49999', link: visa }])).toThrow(NetworkLinkError);
  });
});

describe('messages', () => {
  it('formats DE 7 and RRN (year digit, day of year, hour, STAN)', () => {
    const now = new Date(Date.UTC(2026, 10, 24, 10, 15, 30));
    expect(transmissionDateTime(now)).toBe('1124101530');
    expect(retrievalReference(now, '000123')).toBe('632810000123');
  });

  it('builds an 0100, its reversal (DE 90) and its advice that encode and validate in every dialect', () => {
    const now = new Date(Date.UTC(2026, 10, 24, 10, 15, 30));
    for (const name of ['visa-like', 'mastercard-like', 'iso87-ascii', 'iso87-binary']) {
      const wire = createLinkWire(name);
      const codec = compileSpec(dialect(name).spec);
      const authorization = authorizationMessage(wire, request, { stan: '000123', transmission: '1124101530', rrn: '632810000123' }, now, '40123456', '40000000001');
      const reversal = reversalMessage(authorization, '0400', '1124101602');
      const advice = adviceMessage(authorization, { stan: '000124', transmission: '1124101603' }, 'S1A2B3');
      for (const message of [authorization, reversal, repeatOf(reversal), advice, repeatOf(advice)]) {
        expect(validateMessage(message, dialect(name).spec)).toEqual([]);
        expect(codec.decode(codec.encode(message)).mti).toBe(message.mti);
      }
      expect(reversal.fields[11]).toBe('000123');
      expect(splitOriginalDataElements(fieldText(reversal.fields, 90))).toMatchObject({ mti: '0100', stan: '000123', transmissionDateTime: '1124101530' });
      expect(matchKey(responseMti(reversal.mti), reversal.fields)).not.toBe(matchKey(responseMti(authorization.mti), authorization.fields));
      expect(responseMti('0401')).toBe('0410');
    }
  });
});

describe('durable queues', () => {
  it('bounds the reversal and advice queues and keeps advices in order', () => {
    const store = new LinkStore(path.join(temp.dir, 'queues.db'), { reversal_rows_max: 2, advice_rows_max: 3 });
    const message = { mti: '0400', fields: { 11: '000001', 37: '632810000123' } };
    store.enqueueReversal('l', message, 1);
    store.enqueueReversal('l', message, 2);
    expect(() => store.enqueueReversal('l', message, 3)).toThrow(expect.objectContaining({ code: 'link_queue_full' }) as Error);
    const ids = [1, 2, 3].map((i) => store.enqueueAdvice('l', { message: { mti: '0120', fields: { 37: `00000000000${i}` } }, identity: 'p', merchant: 'm', amount_minor: 100n, currency: 978, now_ms: Date.now(), expires_ms: Date.now() + 60_000 }));
    expect(() => store.enqueueAdvice('l', { message: { mti: '0120', fields: { 37: '000000000009' } }, identity: 'p', merchant: 'm', amount_minor: 1n, currency: 978, now_ms: Date.now(), expires_ms: Date.now() + 1 })).toThrow(NetworkLinkError);
    expect(store.headAdvice('l')?.id).toBe(ids[0]);
    store.finishAdvice(ids[0]!, 'acked', '00');
    expect(store.headAdvice('l')?.id).toBe(ids[1]);
    store.finishAdvice(ids[1]!, 'declined', '05');
    expect(store.advices('l').map((row) => [row.status, row.finance_flag])).toEqual([['acked', 0], ['declined', 1], ['pending', 0]]);
    expect(store.standInUsage('p', 'm', Date.now(), 60_000)).toEqual({ identityAmount: 300n, identityCount: 3, merchantAmount: 300n, recentCount: 3 });
    store.close();
  });
});

describe('STAN blocks', () => {
  it('reserves the next block on the worker thread ahead of need, so crossing into it writes nothing on the event loop', async () => {
    const file = path.join(temp.dir, 'prefetch.db');
    const now = Date.UTC(2026, 10, 24, 12);
    const store = new LinkStore(file);
    const reader = new Database(file, { readonly: true });
    const reservedUpto = (): number | undefined => (reader.prepare('SELECT reserved_upto FROM stan WHERE link = ?').get('visa-like') as { reserved_upto: number } | undefined)?.reserved_upto;
    const untilAsked = STAN_BLOCK_SIZE - STAN_PREFETCH_LEFT;
    for (let i = 1; i <= untilAsked; i += 1) expect(store.allocateStan('visa-like', now)).toBe(String(i).padStart(6, '0'));
    expect(reservedUpto()).toBe(STAN_BLOCK_SIZE);
    // The worker commits the second block; its reply then reaches the store on the event loop.
    await eventually(() => reservedUpto() === 2 * STAN_BLOCK_SIZE, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (let i = untilAsked + 1; i <= STAN_BLOCK_SIZE; i += 1) store.allocateStan('visa-like', now);
    expect(store.allocateStan('visa-like', now)).toBe(String(STAN_BLOCK_SIZE + 1).padStart(6, '0'));
    // Had the store reserved on the event loop at the boundary, a third block would be on file.
    expect(reservedUpto()).toBe(2 * STAN_BLOCK_SIZE);
    reader.close();
    store.close();
  });

  it('counts a reservation worker that fails (for the link to log) and reserves on its own thread instead', async () => {
    const file = path.join(temp.dir, 'failed-worker.db');
    const now = Date.UTC(2026, 10, 24, 12);
    const store = new LinkStore(file);
    // The store's own connection keeps the removed file; the worker, opening it by name, fails.
    rmSync(file);
    for (let i = 1; i <= STAN_BLOCK_SIZE - STAN_PREFETCH_LEFT; i += 1) store.allocateStan('visa-like', now);
    expect(store.stanReserveFaults).toBe(0);
    await eventually(() => store.stanReserveFaults === 1, 20_000);
    expect(store.lastStanReserveFault).not.toBe('');
    for (let i = STAN_BLOCK_SIZE - STAN_PREFETCH_LEFT + 1; i <= STAN_BLOCK_SIZE; i += 1) store.allocateStan('visa-like', now);
    expect(store.allocateStan('visa-like', now)).toBe(String(STAN_BLOCK_SIZE + 1).padStart(6, '0'));
    store.close();
  });

  it('a reservation worker that starts after its store was closed and the file removed leaves no file behind', async () => {
    const file = path.join(temp.dir, 'late-worker.db');
    const now = Date.UTC(2026, 10, 24, 12);
    const store = new LinkStore(file);
    // Far enough into the block to ask the worker for the next one: it starts now, and boots after this turn.
    for (let i = 1; i <= STAN_BLOCK_SIZE - STAN_PREFETCH_LEFT; i += 1) store.allocateStan('visa-like', now);
    store.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    // Long enough for the worker to boot (TypeScript through tsx) and open, or fail to open, the file.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(existsSync(file)).toBe(false);
  });
});
