/**
 * The HTTP layer in front of the real switch (startGateway: the real payment pipeline, hsm-sim
 * and both network simulators as processes, SQLite, the dev PKI): a terminal registered
 * through the admin API enrols a shopper and pays with signed synthetic palm captures; the
 * answer carries the pipeline's real stage timings, /metrics shows them, and another
 * merchant's terminal cannot reach the payment. (test/e2e.test.ts covers the full story with
 * the gateway as its own process.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/index.js';
import { startGateway, type RunningGateway } from '../serve.js';
import { issueCard, palmCapture, startTestStack, type TestStack } from '../testing.js';
import { AdminClient, HttpsJsonClient, TerminalClient } from './terminal-client.js';

const SEED = 4242;
let stack: TestStack;
let gateway: RunningGateway;
const clients: { close(): void }[] = [];

beforeAll(async () => {
  stack = await startTestStack('palmswitch-http-e2e-');
  gateway = await startGateway({ config: { ...stack.config, gatewayPort: 0 }, logger: createLogger({ name: 'http-e2e', level: 'silent' }), networkApiUrls: stack.networkApiUrls, authorizationTimeout_ms: 5_000 });
}, 120_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await gateway?.close();
  await stack?.stop();
}, 60_000);

describe('HTTP layer over the real payment pipeline', () => {
  it('enrols and pays through mTLS and signed captures; stages reach the answer and /metrics; other merchants see nothing', async () => {
    const admin = new AdminClient({ url: gateway.url, adminKey: gateway.adminKey, caPem: gateway.caPem });
    clients.push(admin);
    const merchant = await admin.createMerchant({ name: 'HTTP E2E', mcc: '5411', currency: 'EUR' });
    const terminal = new TerminalClient({ url: gateway.url, ...(await admin.registerTerminal({ merchantId: merchant.id })) });
    clients.push(terminal);
    const card = await issueCard(stack.sims.get('visa-like')!, 'visa-like');
    const enrolled = await terminal.enrol({ captures: [palmCapture(SEED, 1, 0), palmCapture(SEED, 1, 1)], pan: card.pan, expiry: card.expiry, phone: '+447700900555' });
    expect(enrolled.status, JSON.stringify(enrolled.body)).toBe(201);
    const shopperId = (enrolled.body as { shopperId: string }).shopperId;

    const paid = await terminal.authorize({ merchantId: merchant.id, amount_minor: 1_250n, currency: 'EUR', capture: palmCapture(SEED, 1, 2) });
    expect(paid.status, JSON.stringify(paid.body)).toBe(201);
    const payment = paid.body as { paymentId: string; decision: string; responseCode: string; stages: Record<string, number>; amount: { minor: string }; exchange: unknown[] };
    expect(payment).toMatchObject({ decision: 'approved', responseCode: '00', amount: { minor: '1250' } });
    expect(Object.keys(payment.stages)).toEqual(expect.arrayContaining(['extract', 'liveness', 'search', 'network', 'ledger', 'total']));
    expect(payment.exchange.length).toBe(2);
    expect(JSON.stringify(payment)).not.toContain(card.pan);

    const captured = await terminal.capture(payment.paymentId);
    expect((captured.body as { status: string }).status).toBe('captured');
    const lookup = await terminal.identityLookup(palmCapture(SEED, 1, 3));
    expect((lookup.body as { shopperId: string }).shopperId).toBe(shopperId);

    const other = await admin.createMerchant({ name: 'Elsewhere', mcc: '5812', currency: 'EUR' });
    const stranger = new TerminalClient({ url: gateway.url, ...(await admin.registerTerminal({ merchantId: other.id })) });
    clients.push(stranger);
    expect((await stranger.payment(payment.paymentId)).status).toBe(404);
    const foreignMerchant = await stranger.authorize({ merchantId: merchant.id, amount_minor: 100n, currency: 'EUR', capture: palmCapture(SEED, 1, 4) });
    expect(foreignMerchant.body).toMatchObject({ error: { code: 'terminal_forbidden' } });

    const scrape = new HttpsJsonClient(gateway.url, { caPem: gateway.caPem });
    clients.push(scrape);
    const metrics = (await scrape.call<string>('GET', '/metrics')).body;
    expect(metrics).toMatch(/palmswitch_payment_stage_seconds_count\{stage="search"\} 1\n/);
    expect(metrics).toMatch(/palmswitch_payment_decisions_total\{decision="approved",response_code="00",source="network"\} 1\n/);
    expect(metrics).toMatch(/palmswitch_ledger_posting_ms\{quantile="0.5"\} [\d.]+/);
  });
});
