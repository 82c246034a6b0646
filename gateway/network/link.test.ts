/**
 * The link against real network-sim and hsm-sim processes over 127.0.0.1: approvals, every
 * decline code the issuer gives, MACs and token cryptograms through the HSM, time-outs and
 * their reversals, requests in flight when the connection drops, stand-in during an outage
 * with advices forwarded once (none lost, none twice), a late approval after its reversal,
 * malformed answers, the in-flight bound, echo on idle, reconnects and key change.
 * Every fault runs a bounded number of requests with bounded waits.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HsmClient, spawnHsmProcess, type SpawnedHsm } from '../../hsm-sim/index.js';
import { parseSettlementFile } from '../../ledger/index.js';
import type { SpawnedNetworkSim } from '../../network-sim/index.js';
import type { UnmatchedEvent } from './link.js';
import type { AuthorizationRequest } from './messages.js';
import { closedPort, eventually, issueCard, openLink, requestFor, startSim, tempDir, type Card } from './testing.js';

interface Stats { byMti: Record<string, number>; byCode: Record<string, number>; duplicates: number; advicesBooked: number; reversalsMatched: number; macFailures: number; cryptogramFailures: number }
interface AccountView { balance_minor: string }

/** For the tests about time-outs; the others keep the default (2 s), so a loaded CI machine does not turn answers into time-outs. */
const SHORT_TIMEOUT_MS = 400;
const temp = tempDir('palmswitch-link-');
let sim: SpawnedNetworkSim;
let hsm: SpawnedHsm;
let hsmClient: HsmClient;
let storeSerial = 0;
const storeFile = (): string => path.join(temp.dir, `link-${(storeSerial += 1)}.db`);
const stats = (target: SpawnedNetworkSim = sim): Promise<Stats> => target.api<Stats>('GET', '/stats');
const balance = async (card: Card): Promise<bigint> => BigInt((await sim.api<AccountView>('GET', `/accounts/${card.ref}`)).balance_minor);
const setFaults = (faults: unknown): Promise<unknown> => sim.api('PUT', '/faults', faults);
const NO_FAULTS = { drop_rate: 0, disconnect_rate: 0, late_rate: 0, malformed_rate: 0, issuer_unavailable_rate: 0, outage: false, latency: { kind: 'fixed', min_ms: 0, max_ms: 0, mean_ms: 0 }, applies_to: ['authorization', 'advice', 'reversal'] };

beforeAll(async () => {
  [sim, hsm] = await Promise.all([startSim(temp.dir), spawnHsmProcess({ dataDir: path.join(temp.dir, 'hsm') })]);
  hsmClient = new HsmClient({ port: hsm.port, connections: 1 });
});

afterAll(async () => {
  await hsmClient.close();
  await Promise.all([sim.stop(), hsm.stop()]);
  temp.remove();
});

describe('answers from the issuer', () => {
  it('approves with an authorization code, and declines with 05, 14, 51, 54, 57, 61, 62 and 91', async () => {
    const { link, store } = openLink(sim, storeFile());
    expect(await link.waitUntilUp(10_000)).toBe(true);
    const good = await issueCard(sim, { balance_minor: 10_000n, limit_minor: 5_000n, blockedMcc: ['7995'] });
    const approved = await link.authorize(requestFor(good, { amount_minor: 1_000n }));
    expect(approved).toMatchObject({ approved: true, responseCode: '00', source: 'network' });
    expect(approved.authCode).toMatch(/^[0-9A-Z]{6}$/);
    expect(approved.rrn).toMatch(/^\d{12}$/);
    expect(await balance(good)).toBe(9_000n);

    const cases: [string, Promise<AuthorizationRequest>][] = [
      ['05', issueCard(sim, { status: 'blocked' }).then((c) => requestFor(c))],
      ['14', Promise.resolve(requestFor(good, { tokenPan: '4895370000000000' }))],
      ['51', Promise.resolve(requestFor(good, { amount_minor: 4_999n })).then(async (r) => { await link.authorize(requestFor(good, { amount_minor: 4_500n })); return r; })],
      ['54', Promise.resolve(requestFor(good, { tokenExpiry: '2801' }))],
      ['57', issueCard(sim, {}, '40000000002').then((c) => requestFor(c))],
      ['57', Promise.resolve(requestFor(good, { mcc: '7995' }))],
      ['61', Promise.resolve(requestFor(good, { amount_minor: 5_001n }))],
      ['62', issueCard(sim, { status: 'restricted' }).then((c) => requestFor(c))],
      ['91', issueCard(sim, { status: 'unavailable' }).then((c) => requestFor(c))],
    ];
    for (const [code, request] of cases) {
      const result = await link.authorize(await request);
      expect({ code, result: result.responseCode, approved: result.approved, source: result.source }).toEqual({ code, result: code, approved: false, source: 'network' });
    }
    await link.close();
    store.close();
  });

  it('honours token life cycle: suspended 62, resumed 00, deleted 14', async () => {
    const { link, store } = openLink(sim, storeFile());
    await link.waitUntilUp(10_000);
    const card = await issueCard(sim);
    await sim.api('POST', `/tokens/${card.token.tokenRef}/suspend`);
    expect((await link.authorize(requestFor(card))).responseCode).toBe('62');
    await sim.api('POST', `/tokens/${card.token.tokenRef}/resume`);
    expect((await link.authorize(requestFor(card))).responseCode).toBe('00');
    await sim.api('DELETE', `/tokens/${card.token.tokenRef}`);
    expect((await link.authorize(requestFor(card))).responseCode).toBe('14');
    await link.close();
    store.close();
  });
});

describe('partial reversals and refunds', () => {
  const settledLines = async (): Promise<ReturnType<typeof parseSettlementFile>['transactions']> => {
    const settlement = await sim.api<{ file: string }>('POST', '/settlement', {});
    const { readFileSync } = await import('node:fs');
    return parseSettlementFile(readFileSync(settlement.file, 'utf8')).transactions;
  };

  it('reverses in part (0400 with DE 95): the issuer releases the rest and settles only what stands', async () => {
    const { link, store } = openLink(sim, storeFile());
    await link.waitUntilUp(10_000);
    const card = await issueCard(sim, { balance_minor: 50_000n });
    const approved = await link.authorize(requestFor(card, { amount_minor: 10_003n }));
    expect(approved.approved).toBe(true);
    expect(await balance(card)).toBe(39_997n);
    await expect(link.reverse(approved.request, { replacement_minor: 10_003n })).rejects.toMatchObject({ code: 'link_request_invalid' });
    const reversalId = await link.reverse(approved.request, { replacement_minor: 7_001n });
    await eventually(() => store.reversalStatus(reversalId)?.status === 'acked');
    expect(await balance(card)).toBe(42_999n);
    // The same partial reversal again (a retried capture) releases nothing more.
    const again = await link.reverse(approved.request, { replacement_minor: 7_001n });
    await eventually(() => store.reversalStatus(again)?.status === 'acked');
    expect(await balance(card)).toBe(42_999n);
    const lines = (await settledLines()).filter((t) => t.rrn === approved.rrn && t.auth_code === approved.authCode);
    expect(lines).toEqual([expect.objectContaining({ type: 'SALE', amount_minor: 7_001n })]);
    await link.close();
    store.close();
  });

  it('refunds with an 0100 of DE 3 = 20: the card is credited and the file lists a REFUND under the refund\'s RRN and code', async () => {
    const { link, store } = openLink(sim, storeFile());
    await link.waitUntilUp(10_000);
    const card = await issueCard(sim, { balance_minor: 1_000n });
    const refund = await link.refund(requestFor(card, { amount_minor: 2_345n }));
    expect(refund).toMatchObject({ approved: true, responseCode: '00', source: 'network' });
    expect(refund.request.fields[3]).toBe('200000');
    expect(refund.authCode).toMatch(/^[0-9A-Z]{6}$/);
    expect(await balance(card)).toBe(3_345n);
    const lines = (await settledLines()).filter((t) => t.rrn === refund.rrn && t.auth_code === refund.authCode);
    expect(lines).toEqual([expect.objectContaining({ type: 'REFUND', amount_minor: 2_345n, interchange_minor: 0n })]);
    const blocked = await issueCard(sim, { status: 'blocked' });
    expect(await link.refund(requestFor(blocked))).toMatchObject({ approved: false, responseCode: '05' });
    await expect(link.refund(requestFor(card, { emv: [{ tag: '9F26', value: '00' }] }))).rejects.toMatchObject({ code: 'link_request_invalid' });
    await link.close();
    store.close();
  });

  it('never stands in for a refund: unanswered, it is refused with 91 and reversed, and the card keeps no credit', async () => {
    const { link, store } = openLink(sim, storeFile(), { timeout_ms: SHORT_TIMEOUT_MS });
    await link.waitUntilUp(10_000);
    const card = await issueCard(sim, { balance_minor: 1_000n });
    await setFaults({ late_rate: 1, late_ms: 1_000, applies_to: ['authorization'] });
    const refund = await link.refund(requestFor(card, { amount_minor: 500n }));
    expect(refund).toMatchObject({ approved: false, responseCode: '91', source: 'network', lost: 'timeout' });
    expect(refund.reversalId).toBeDefined();
    await setFaults(NO_FAULTS);
    await eventually(() => store.reversalStatus(refund.reversalId!)?.status === 'acked');
    await eventually(async () => (await balance(card)) === 1_000n);
    expect((await settledLines()).some((t) => t.rrn === refund.rrn && t.amount_minor === 500n)).toBe(false);
    await link.close();
    store.close();
  });
});

describe('time-outs, reversals, stand-in and store-and-forward', () => {
  it('reverses an authorization that timed out, repeating the reversal (0401) until it is acknowledged', async () => {
    const { link, store } = openLink(sim, storeFile(), { timeout_ms: SHORT_TIMEOUT_MS });
    await link.waitUntilUp(10_000);
    const card = await issueCard(sim);
    const before = await stats();
    await setFaults({ drop_rate: 1, applies_to: ['authorization', 'reversal'] });
    const result = await link.authorize(requestFor(card));
    expect(result).toMatchObject({ lost: 'timeout', source: 'stand-in', approved: true });
    expect(result.reversalId).toBeDefined();
    await eventually(async () => ((await stats()).byMti['0401'] ?? 0) > (before.byMti['0401'] ?? 0));
    expect(store.reversalStatus(result.reversalId!)?.status).toBe('pending');
    await setFaults(NO_FAULTS);
    await eventually(() => store.reversalStatus(result.reversalId!)?.status === 'acked');
    expect(store.reversalStatus(result.reversalId!)?.attempts).toBeGreaterThanOrEqual(1);
    await eventually(() => link.status().advicesPending === 0);
    await link.close();
    store.close();
  });

  it('treats requests in flight on a dropped connection as unknown: reversed, stand-in, and the books add up', async () => {
    const { link, store } = openLink(sim, storeFile(), { timeout_ms: 3_000 });
    await link.waitUntilUp(10_000);
    const card = await issueCard(sim, { balance_minor: 100_000n });
    await setFaults({ latency: { kind: 'fixed', min_ms: 600, max_ms: 600, mean_ms: 0 }, applies_to: ['authorization'] });
    const inFlight = Array.from({ length: 8 }, () => link.authorize(requestFor(card, { amount_minor: 100n })));
    await eventually(() => link.status().inFlight === 8);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await sim.api('POST', '/disconnect');
    const results = await Promise.all(inFlight);
    await setFaults(NO_FAULTS);
    expect(results.every((r) => r.lost === 'disconnected' && r.reversalId !== undefined)).toBe(true);
    const standInApproved = results.filter((r) => r.approved).length;
    expect(standInApproved).toBe(8);
    await eventually(() => link.status().up === 1 && link.status().reversalsPending === 0 && link.status().advicesPending === 0);
    // Holds of the lost authorizations were released; only the stand-in advices were booked.
    expect(await balance(card)).toBe(100_000n - 100n * BigInt(standInApproved));
    await link.close();
    store.close();
  });

  it('approves in stand-in during an outage and forwards every advice once after recovery', async () => {
    const { link, store } = openLink(sim, storeFile());
    await link.waitUntilUp(10_000);
    const card = await issueCard(sim, { balance_minor: 100_000n });
    await setFaults({ outage: true });
    await eventually(() => link.status().up === 0);
    const before = await stats();
    const results = [];
    for (let i = 0; i < 4; i += 1) results.push(await link.authorize(requestFor(card, { amount_minor: 500n })));
    // Over the per-transaction stand-in limit: declined locally, no advice.
    const tooBig = await link.authorize(requestFor(card, { amount_minor: 9_000n }));
    expect(tooBig).toMatchObject({ approved: false, source: 'stand-in', standInReason: 'amount', lost: 'link_down' });
    expect(results.every((r) => r.approved && r.source === 'stand-in' && r.lost === 'link_down' && /^S[0-9A-Z]{5}$/.test(r.authCode ?? ''))).toBe(true);
    expect(link.status().advicesPending).toBe(4);
    await setFaults({ outage: false });
    await eventually(() => link.status().advicesPending === 0);
    const after = await stats();
    expect(after.advicesBooked - before.advicesBooked).toBe(4);
    expect(after.byMti['0120'] ?? 0).toBe((before.byMti['0120'] ?? 0) + 4);
    expect(after.byMti['0121'] ?? 0).toBe(before.byMti['0121'] ?? 0);
    expect(after.duplicates).toBe(before.duplicates);
    expect(store.advices('visa-like').map((row) => row.status)).toEqual(['acked', 'acked', 'acked', 'acked']);
    expect(await balance(card)).toBe(100_000n - 2_000n);
    await link.close();
    store.close();
  });

  it('repeats an unanswered advice as 0121 with back-off, and it is booked once', async () => {
    const { link, store } = openLink(sim, storeFile(), { timeout_ms: SHORT_TIMEOUT_MS });
    await link.waitUntilUp(10_000);
    const card = await issueCard(sim, { balance_minor: 10_000n });
    await setFaults({ outage: true });
    await eventually(() => link.status().up === 0);
    await link.authorize(requestFor(card, { amount_minor: 250n }));
    const before = await stats();
    // The network books the 0120 but answers too late: the repeat must not book it again.
    await setFaults({ outage: false, late_rate: 1, late_ms: 1_000, applies_to: ['advice'] });
    await eventually(async () => ((await stats()).byMti['0121'] ?? 0) >= (before.byMti['0121'] ?? 0) + 1);
    await setFaults(NO_FAULTS);
    await eventually(() => link.status().advicesPending === 0);
    const after = await stats();
    expect(after.advicesBooked - before.advicesBooked).toBe(1);
    expect(store.advices('visa-like').at(-1)).toMatchObject({ status: 'acked', finance_flag: 0 });
    expect(store.advices('visa-like').at(-1)!.attempts).toBeGreaterThanOrEqual(1);
    expect(await balance(card)).toBe(10_000n - 250n);
    await link.close();
    store.close();
  });

  it('flags for finance the advices the network declines and those that expire unsent', async () => {
    const { link, store } = openLink(sim, storeFile(), { advice_expiry_ms: 300 });
    await link.waitUntilUp(10_000);
    const blocked = await issueCard(sim);
    await setFaults({ outage: true });
    await eventually(() => link.status().up === 0);
    const declined = await link.authorize(requestFor(blocked, { amount_minor: 400n }));
    await sim.api('PATCH', `/accounts/${blocked.ref}`, { status: 'blocked' });
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(declined).toMatchObject({ approved: true, source: 'stand-in' });
    const expiring = store.advices('visa-like').length;
    await setFaults({ outage: false });
    await eventually(() => link.status().advicesPending === 0);
    expect(store.advices('visa-like').slice(-expiring).map((row) => [row.status, row.finance_flag])).toEqual([['expired', 1]]);
    // A fresh advice of the blocked card reaches the network, which refuses it: 05, flagged.
    await setFaults({ outage: true });
    await eventually(() => link.status().up === 0);
    await link.authorize(requestFor(blocked, { amount_minor: 400n }));
    await setFaults({ outage: false });
    await eventually(() => link.status().advicesPending === 0);
    expect(store.advices('visa-like').at(-1)).toMatchObject({ status: 'declined', response_code: '05', finance_flag: 1 });
    await link.close();
    store.close();
  });

  it('handles a late approval after its reversal: logged, reversed, not settled', async () => {
    const events: UnmatchedEvent[] = [];
    const { link, store } = openLink(sim, storeFile(), { timeout_ms: SHORT_TIMEOUT_MS, standIn: { enabled: false, amount_minor_max: 0n, identity_day_amount_minor_max: 0n, identity_day_count_max: 0, merchant_day_amount_minor_max: 0n, velocity_count_max: 0, velocity_window_ms: 1, mcc_declined: [] }, onUnmatched: (event) => events.push(event) });
    await link.waitUntilUp(10_000);
    const card = await issueCard(sim, { balance_minor: 50_000n });
    await setFaults({ late_rate: 1, late_ms: 1_000, applies_to: ['authorization'] });
    const result = await link.authorize(requestFor(card, { amount_minor: 777n }));
    expect(result).toMatchObject({ approved: false, lost: 'timeout', standInReason: 'disabled' });
    await eventually(() => events.length > 0);
    await setFaults(NO_FAULTS);
    expect(events[0]).toMatchObject({ kind: 'late_approval', mti: '0110', responseCode: '00', reversalQueued: true, stan: result.stan });
    await eventually(() => store.reversalStatus(result.reversalId!)?.status === 'acked');
    expect(await balance(card)).toBe(50_000n);
    const settlement = await sim.api<{ file: string }>('POST', '/settlement', {});
    const { readFileSync } = await import('node:fs');
    const parsed = parseSettlementFile(readFileSync(settlement.file, 'utf8'));
    // RRNs are unique per acquirer only; this test's amount is unique in the file.
    expect(parsed.transactions.some((t) => t.rrn === result.rrn && t.amount_minor === 777n)).toBe(false);
    await link.close();
    store.close();
  });

  it('survives malformed answers on the same connection and bounds requests in flight', async () => {
    const { link, store } = openLink(sim, storeFile(), { timeout_ms: 1_000, in_flight_max: 2, standIn: { enabled: false, amount_minor_max: 0n, identity_day_amount_minor_max: 0n, identity_day_count_max: 0, merchant_day_amount_minor_max: 0n, velocity_count_max: 0, velocity_window_ms: 1, mcc_declined: [] } });
    await link.waitUntilUp(10_000);
    const card = await issueCard(sim);
    await setFaults({ malformed_rate: 1, applies_to: ['authorization'] });
    const garbled = await link.authorize(requestFor(card));
    expect(garbled).toMatchObject({ approved: false, lost: 'timeout' });
    expect(link.status().counters.malformed).toBeGreaterThanOrEqual(1);
    await setFaults({ malformed_rate: 0, latency: { kind: 'fixed', min_ms: 200, max_ms: 200, mean_ms: 0 } });
    const first = [link.authorize(requestFor(card)), link.authorize(requestFor(card))];
    await expect(link.authorize(requestFor(card))).rejects.toMatchObject({ code: 'link_overloaded' });
    expect((await Promise.all(first)).map((r) => r.responseCode)).toEqual(['00', '00']);
    await setFaults(NO_FAULTS);
    expect(link.status().counters.disconnects ?? 0).toBe(0);
    await link.close();
    store.close();
  });

  it('echoes when idle, reconnects with a new sign-on after the network drops it, and signs off when closed', async () => {
    const { link, store } = openLink(sim, storeFile(), { echo_idle_ms: 100 });
    await link.waitUntilUp(10_000);
    const before = await stats();
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect((await stats()).byMti['0800']! - (before.byMti['0800'] ?? 0)).toBeGreaterThanOrEqual(2);
    await sim.api('POST', '/disconnect');
    await eventually(() => (link.status().counters.disconnects ?? 0) >= 1 && link.status().up === 1);
    const card = await issueCard(sim);
    expect((await link.authorize(requestFor(card))).responseCode).toBe('00');
    const signOffs = (await sim.api<{ signOffs: number }>('GET', '/stats')).signOffs;
    await link.close();
    store.close();
    await eventually(async () => (await sim.api<{ signOffs: number }>('GET', '/stats')).signOffs === signOffs + 1);
  });
});

describe('MACs and token cryptograms through hsm-sim', () => {
  let secure: SpawnedNetworkSim;
  let kcvB = '';

  beforeAll(async () => {
    await hsmClient.generateKey({ keyId: 'zak-a', usage: 'M3', algorithm: 'T', modeOfUse: 'C', exportability: 'N' });
    kcvB = (await hsmClient.generateKey({ keyId: 'zak-b', usage: 'M3', algorithm: 'T', modeOfUse: 'C', exportability: 'N' })).kcv;
    await hsmClient.generateKey({ keyId: 'tsp-mk', usage: 'E0', algorithm: 'T', modeOfUse: 'X', exportability: 'N' });
    secure = await startSim(temp.dir, { hsmPort: hsm.port, macKeyId: 'zak-a', tspKeyId: 'tsp-mk' });
  });

  afterAll(async () => {
    await secure.stop();
  });

  async function withCryptogram(card: Card, amount_minor: bigint, tamper = false): Promise<AuthorizationRequest> {
    const unpredictableNumber = Buffer.from([0x5d, 0x3c, 0x2b, 0x1a]);
    const cryptogram = await hsmClient.generateCryptogram({ keyId: 'tsp-mk', tokenPan: card.token.tokenPan, amount_minor, currencyNumeric: 978, date: '261124', unpredictableNumber, atc: 66 });
    if (tamper) cryptogram[0] = cryptogram[0]! ^ 0x01;
    return requestFor(card, {
      amount_minor,
      emv: [
        { tag: '9F26', value: cryptogram.toString('hex').toUpperCase() }, { tag: '9F36', value: '0042' }, { tag: '9F37', value: '5D3C2B1A' },
        { tag: '9F02', value: amount_minor.toString().padStart(12, '0') }, { tag: '5F2A', value: '0978' }, { tag: '9A', value: '261124' },
      ],
    });
  }

  it('approves MACed requests with a valid cryptogram; 63 for a wrong MAC key, a bad cryptogram, or none', async () => {
    const { link, store } = openLink(secure, storeFile(), { mac: { hsm: hsmClient, keyId: 'zak-a' } });
    const wrongKey = openLink(secure, storeFile(), { mac: { hsm: hsmClient, keyId: 'zak-b' } });
    const noMac = openLink(secure, storeFile());
    await Promise.all([link.waitUntilUp(10_000), wrongKey.link.waitUntilUp(10_000), noMac.link.waitUntilUp(10_000)]);
    const card = await issueCard(secure);
    expect((await link.authorize(await withCryptogram(card, 1_999n))).responseCode).toBe('00');
    expect((await link.authorize(await withCryptogram(card, 1_999n, true))).responseCode).toBe('63');
    expect((await link.authorize(requestFor(card))).responseCode).toBe('63');
    expect((await wrongKey.link.authorize(await withCryptogram(card, 1_999n))).responseCode).toBe('63');
    expect((await noMac.link.authorize(await withCryptogram(card, 1_999n))).responseCode).toBe('63');
    const counters = await stats(secure);
    expect(counters.macFailures).toBe(2);
    expect(counters.cryptogramFailures).toBe(2);
    for (const opened of [{ link, store }, wrongKey, noMac]) {
      await opened.link.close();
      opened.store.close();
    }
  });

  it('falls back to stand-in when its own HSM cannot MAC the request (nothing is sent, nothing reversed)', async () => {
    const deadHsm = new HsmClient({ port: await closedPort(), connections: 1, connect_timeout_ms: 500 });
    const { link, store } = openLink(secure, storeFile(), { mac: { hsm: deadHsm, keyId: 'zak-a' } });
    await link.waitUntilUp(10_000);
    const card = await issueCard(secure);
    const result = await link.authorize(requestFor(card, { amount_minor: 100n }));
    expect(result).toMatchObject({ source: 'stand-in', lost: 'link_down', approved: true });
    expect(result.reversalId).toBeUndefined();
    expect(link.status().counters.unsent).toBe(1);
    await link.close();
    store.close();
    await deadHsm.close();
  });

  it('changes the MAC key with an 0800/161 key change both sides accept', async () => {
    const { link, store } = openLink(secure, storeFile(), { mac: { hsm: hsmClient, keyId: 'zak-a' } });
    await link.waitUntilUp(10_000);
    const card = await issueCard(secure);
    expect(await link.changeMacKey('zak-b', '000000')).toBe(false);
    expect(await link.changeMacKey('zak-b', kcvB)).toBe(true);
    expect((await link.authorize(await withCryptogram(card, 500n))).responseCode).toBe('00');
    await link.close();
    store.close();
  });
});
