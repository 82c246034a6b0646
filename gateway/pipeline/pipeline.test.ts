/**
 * The payment pipeline against real parts: hsm-sim and both network simulators as processes
 * (MACs and token cryptograms checked), the embedded ledger and the gateway store on files.
 * enrol -> pay -> capture -> settle -> reconcile; declines; unknown palms; attacks; deletion.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/index.js';
import { accountId, AccountKind } from '../../ledger/index.js';
import type { GatewayDatabase } from '../store/database.js';
import type { MerchantRecord, MerchantStatus, RegistryStore, TerminalRecord, TerminalStatus } from '../store/port.js';
import { openSwitch, type Switch } from '../switch.js';
import { attackCapture, issueCard, palmCapture, startTestStack, type TestStack } from '../testing.js';
import { GatewayError } from '../errors.js';

/** The registry's own tests live with the HTTP layer; here a plain map keeps merchants and terminals. */
class MapRegistry implements RegistryStore {
  readonly merchants = new Map<string, MerchantRecord>();
  readonly terminals = new Map<string, TerminalRecord>();
  constructor(_db: GatewayDatabase) {}
  createMerchant(m: MerchantRecord): void { this.merchants.set(m.id, m); }
  getMerchant(id: string): MerchantRecord | undefined { return this.merchants.get(id); }
  listMerchants(limit: number): MerchantRecord[] { return [...this.merchants.values()].slice(0, limit); }
  setMerchantStatus(id: string, status: MerchantStatus): MerchantRecord { const m = { ...this.merchants.get(id)!, status }; this.merchants.set(id, m); return m; }
  createTerminal(t: TerminalRecord): void { this.terminals.set(t.id, t); }
  getTerminal(id: string): TerminalRecord | undefined { return this.terminals.get(id); }
  listTerminals(limit: number): TerminalRecord[] { return [...this.terminals.values()].slice(0, limit); }
  setTerminalStatus(id: string, status: TerminalStatus): TerminalRecord { const t = { ...this.terminals.get(id)!, status }; this.terminals.set(id, t); return t; }
}

const SEED = 4242;

/** Polls `condition` every 50 ms for at most 20 s. */
async function eventually(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
async function eventuallyAsync(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What the network owes us for stand-in approvals it has not yet accepted (posted, EUR). */
async function exposure(network: string): Promise<bigint> {
  const [account] = await sw.ledger.lookupAccounts([accountId(AccountKind.standin_exposure, 'EUR', network)]);
  return account === undefined ? 0n : account.debits_posted - account.credits_posted;
}
const MERCHANT = 'CAFE00000000001';
const TERMINAL = 'PALM0001';
let stack: TestStack;
let sw: Switch;

beforeAll(async () => {
  stack = await startTestStack('palmswitch-pipeline-');
  sw = await openSwitch({ config: stack.config, logger: createLogger({ name: 'pipeline-test', level: 'silent' }), openRegistry: (db) => new MapRegistry(db), networkApiUrls: stack.networkApiUrls });
  sw.registry.createMerchant({ id: MERCHANT, name: 'Corner Cafe', mcc: '5814', currency: 'EUR', status: 'active', created_ms: Date.now() });
  sw.registry.createTerminal({ id: TERMINAL, merchantId: MERCHANT, status: 'active', certificateSerial: '01', certificateNotAfter_ms: Date.now() + 86_400_000, sensorKeyFingerprint: '00', created_ms: Date.now() });
  await Promise.all([...sw.links.values()].map((link) => link.waitUntilUp(15_000)));
}, 120_000);

afterAll(async () => {
  await sw?.close();
  await stack?.stop();
});

async function enrol(index: number, network: 'visa-like' | 'mastercard-like' = 'visa-like', phone = `+44770090${String(index).padStart(4, '0')}`): Promise<bigint> {
  const card = await issueCard(stack.sims.get(network)!, network);
  const outcome = await sw.pipeline.enrol({ terminalId: TERMINAL, captures: [palmCapture(SEED, index, 0), palmCapture(SEED, index, 1)], pan: card.pan, expiry: card.expiry, phone });
  expect(outcome.network).toBe(network);
  return outcome.shopperId;
}

const pay = (index: number, capture: number, amount_minor = 1_250n) =>
  sw.pipeline.authorize({ terminalId: TERMINAL, merchantId: MERCHANT, amount_minor, currency: 'EUR', capture: palmCapture(SEED, index, capture) });

describe('payment pipeline', () => {
  it('enrols, pays on both networks, captures, settles and reconciles with no exceptions', async () => {
    const visaShopper = await enrol(1);
    const mcShopper = await enrol(2, 'mastercard-like');
    expect(visaShopper).not.toBe(mcShopper);
    const first = await pay(1, 2);
    expect(first).toMatchObject({ decision: 'approved', responseCode: '00', source: 'network', network: 'visa-like', status: 'authorized' });
    expect(first.authCode).toMatch(/^[0-9A-Z]{6}$/);
    expect(Object.keys(first.stages)).toEqual(expect.arrayContaining(['extract', 'liveness', 'search', 'vault', 'cryptogram', 'network', 'ledger', 'total']));
    const sent = first.exchange?.[0];
    expect(sent?.mti).toBe('0100');
    expect(JSON.stringify(first.exchange)).not.toMatch(/\d{13,19}/);
    const second = await pay(2, 2, 3_000n);
    expect(second).toMatchObject({ decision: 'approved', network: 'mastercard-like' });
    expect((await sw.pipeline.capture({ paymentId: first.paymentId })).status).toBe('captured');
    expect((await sw.pipeline.capture({ paymentId: second.paymentId })).captured_minor).toBe(3_000n);
    // A retried capture is the stored answer, not a second posting.
    expect((await sw.pipeline.capture({ paymentId: first.paymentId })).captured_minor).toBe(1_250n);
    const today = new Date().toISOString().slice(0, 10);
    for (const network of ['visa-like', 'mastercard-like']) {
      const run = await sw.reports.settleAndReconcile(network, today);
      expect(run.exceptions, JSON.stringify(sw.reports.reconReport(run.id).lines.filter((l) => l.status !== 'matched'), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).toBe(0);
      expect(run.matched).toBe(1);
    }
    const sheets = await sw.reports.balances();
    expect(sheets.every((sheet) => sheet.balanced)).toBe(true);
  });

  it('captures in part (a DE 95 partial reversal releases the rest), refunds through the network, and reconciles', async () => {
    await enrol(21);
    const paid = await pay(21, 2, 2_000n);
    expect(paid.decision).toBe('approved');
    expect((await sw.pipeline.capture({ paymentId: paid.paymentId, amount_minor: 1_500n })).captured_minor).toBe(1_500n);
    expect(await sw.pipeline.refund({ paymentId: paid.paymentId, amount_minor: 400n })).toMatchObject({ status: 'refunded', refunded_minor: 400n });
    await expect(sw.pipeline.refund({ paymentId: paid.paymentId, amount_minor: 1_101n })).rejects.toMatchObject({ code: 'amount_invalid' });
    await eventually(() => [...sw.links.values()].every((link) => link.status().reversalsPending === 0));
    const run = await sw.reports.settleAndReconcile('visa-like', new Date().toISOString().slice(0, 10));
    const lines = sw.reports.reconReport(run.id).lines;
    expect(run.exceptions, JSON.stringify(lines.filter((l) => l.status !== 'matched'), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).toBe(0);
    const sale = lines.find((l) => l.rrn === paid.rrn && l.type === 'SALE');
    expect(sale).toMatchObject({ status: 'matched', file_amount_minor: 1_500n });
    expect(lines.filter((l) => l.type === 'REFUND' && l.file_amount_minor === 400n && l.status === 'matched')).toHaveLength(1);
  });

  it('voids a hold (reversal at the network) and refuses a second capture', async () => {
    await enrol(3);
    const paid = await pay(3, 2, 700n);
    const voided = await sw.pipeline.void({ paymentId: paid.paymentId });
    expect(voided.status).toBe('voided');
    await expect(sw.pipeline.capture({ paymentId: paid.paymentId })).rejects.toMatchObject({ code: 'payment_state_invalid' });
  });

  it('declines with the issuer answer (insufficient funds) and records no hold', async () => {
    const card = await issueCard(stack.sims.get('visa-like')!, 'visa-like', { balance_minor: 100n });
    await sw.pipeline.enrol({ terminalId: TERMINAL, captures: [palmCapture(SEED, 4, 0), palmCapture(SEED, 4, 1)], pan: card.pan, expiry: card.expiry, phone: '+447700900444' });
    const declined = await pay(4, 2, 5_000n);
    expect(declined).toMatchObject({ decision: 'declined', responseCode: '51', status: 'declined' });
  });

  it('does not identify a palm nobody enrolled, and refuses printed palms and replays', async () => {
    const unknown = await pay(500, 0);
    expect(unknown).toMatchObject({ decision: 'not_identified', responseCode: 'P1', source: 'switch' });
    await enrol(5);
    await expect(sw.pipeline.authorize({ terminalId: TERMINAL, merchantId: MERCHANT, amount_minor: 100n, currency: 'EUR', capture: attackCapture('print', SEED, 5, 0) }))
      .rejects.toMatchObject({ code: 'liveness_failed' });
    const capture = palmCapture(SEED, 5, 3);
    const ok = await sw.pipeline.authorize({ terminalId: TERMINAL, merchantId: MERCHANT, amount_minor: 100n, currency: 'EUR', capture });
    expect(ok.decision).toBe('approved');
    await expect(sw.pipeline.authorize({ terminalId: TERMINAL, merchantId: MERCHANT, amount_minor: 100n, currency: 'EUR', capture })).rejects.toMatchObject({ code: 'liveness_failed' });
    // The network clears what it approved unless reversed; this sale is not going ahead.
    await sw.pipeline.void({ paymentId: ok.paymentId });
  });

  it('approves in stand-in during an outage, forwards the advice after recovery, and reconciles', async () => {
    const visa = stack.sims.get('visa-like')!;
    await enrol(8);
    await visa.api('PUT', '/faults', { outage: true });
    await eventually(() => sw.links.get('visa-like')!.status().up === 0);
    const exposureBefore = await exposure('visa-like');
    const offline = await pay(8, 2, 900n);
    expect(offline).toMatchObject({ decision: 'approved', source: 'stand-in', status: 'authorized' });
    // Captured while its advice still waits: the exposure moves when the network accepts it.
    const capturedFirst = await pay(8, 3, 600n);
    expect(capturedFirst).toMatchObject({ decision: 'approved', source: 'stand-in' });
    expect((await sw.pipeline.capture({ paymentId: capturedFirst.paymentId, amount_minor: 500n })).status).toBe('captured');
    expect(await exposure('visa-like')).toBe(exposureBefore + 500n);
    expect(sw.links.get('visa-like')!.status().advicesPending).toBe(2);
    await visa.api('PUT', '/faults', { outage: false });
    await eventually(() => sw.links.get('visa-like')!.status().advicesPending === 0 && sw.links.get('visa-like')!.status().reversalsPending === 0);
    // Accepted first, captured later: the capture moves it.
    expect((await sw.pipeline.capture({ paymentId: offline.paymentId })).status).toBe('captured');
    await eventuallyAsync(async () => (await exposure('visa-like')) === exposureBefore);
    // A restart's catch-up finds both moves booked and books nothing twice.
    expect(await sw.pipeline.catchUpStandIns()).toBe(0);
    expect(await exposure('visa-like')).toBe(exposureBefore);
    const run = await sw.reports.settleAndReconcile('visa-like', new Date().toISOString().slice(0, 10));
    expect(run.exceptions, JSON.stringify(sw.reports.reconReport(run.id).lines.filter((l) => l.status !== 'matched'), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).toBe(0);
  });

  it('decides a capture an offline terminal forwards later under stand-in rules, and sends an advice', async () => {
    await enrol(9, 'mastercard-like');
    const link = sw.links.get('mastercard-like')!;
    const before = link.status().counters.offline_forwarded ?? 0;
    const forwarded = await sw.pipeline.authorize({ terminalId: TERMINAL, merchantId: MERCHANT, amount_minor: 1_500n, currency: 'EUR', capture: palmCapture(SEED, 9, 2), offlineCapturedAt_ms: Date.now() - 90_000 });
    expect(forwarded).toMatchObject({ decision: 'approved', source: 'stand-in' });
    expect(link.status().counters.offline_forwarded).toBe(before + 1);
    await eventually(() => link.status().advicesPending === 0);
    await expect(sw.pipeline.authorize({ terminalId: TERMINAL, merchantId: MERCHANT, amount_minor: 1_500n, currency: 'EUR', capture: palmCapture(SEED, 9, 3), offlineCapturedAt_ms: Date.now() - 100 * 3_600_000 }))
      .rejects.toMatchObject({ code: 'request_invalid' });
    // Cancelled after all: the network knows it by its advice, so the void sends an 0420 for it.
    await sw.pipeline.void({ paymentId: forwarded.paymentId });
    await eventually(() => link.status().reversalsPending === 0);
    const run = await sw.reports.settleAndReconcile('mastercard-like', new Date().toISOString().slice(0, 10));
    expect(run.exceptions, JSON.stringify(sw.reports.reconReport(run.id).lines.filter((l) => l.status !== 'matched'), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).toBe(0);
  });

  it('refuses an already enrolled palm', async () => {
    await enrol(6);
    const card = await issueCard(stack.sims.get('visa-like')!, 'visa-like');
    await expect(sw.pipeline.enrol({ terminalId: TERMINAL, captures: [palmCapture(SEED, 6, 4), palmCapture(SEED, 6, 5)], pan: card.pan, expiry: card.expiry, phone: '+447700900666' }))
      .rejects.toMatchObject({ code: 'palm_already_enrolled' });
  });

  it('deletes by phone with a one-time code; the palm is then not identified and the token is gone', async () => {
    const phone = '+447700900777';
    const shopperId = await enrol(7, 'visa-like', phone);
    await sw.pipeline.requestOtp(phone);
    const code = sw.operations.smsOutbox()[0]?.code ?? '';
    await expect(sw.pipeline.identityByPhone({ phone, otp: '000000' === code ? '111111' : '000000' })).rejects.toBeInstanceOf(GatewayError);
    await sw.pipeline.requestOtp(phone);
    const fresh = sw.operations.smsOutbox()[0]?.code ?? '';
    const deleted = await sw.pipeline.deleteByPhone({ phone, otp: fresh });
    expect(deleted).toMatchObject({ shopperId, templatesRemoved: 1, tokenDeleted: true });
    const after = await pay(7, 6);
    expect(after.decision).toBe('not_identified');
  });

  it('reverses an authorization left uncaptured past its hold\'s life: no capture after, nothing settles', async () => {
    await enrol(22);
    const paid = await pay(22, 2, 1_111n);
    expect(paid.decision).toBe('approved');
    expect(await sw.pipeline.expireAuthorizations(Date.now())).toBe(0);
    expect(await sw.pipeline.expireAuthorizations(Date.now() + 8 * 86_400_000)).toBeGreaterThanOrEqual(1);
    expect(sw.pipeline.payment(paid.paymentId).status).toBe('reversed');
    await expect(sw.pipeline.capture({ paymentId: paid.paymentId })).rejects.toMatchObject({ code: 'payment_state_invalid' });
    await eventually(() => [...sw.links.values()].every((link) => link.status().reversalsPending === 0));
    const run = await sw.reports.settleAndReconcile('visa-like', new Date().toISOString().slice(0, 10));
    const lines = sw.reports.reconReport(run.id).lines;
    expect(run.exceptions, JSON.stringify(lines.filter((l) => l.status !== 'matched'), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).toBe(0);
    expect(lines.some((l) => l.rrn === paid.rrn)).toBe(false);
  });
});
