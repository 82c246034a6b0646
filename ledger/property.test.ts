/**
 * Property test: random sequences of batches (single-phase and pending transfers, posts, voids,
 * linked chains, reused ids, replays of earlier batches) go through the embedded adapter and
 * through a small reference model written here from the documented rules. After every batch:
 * the statuses agree, the balances agree, per ledger the debits equal the credits (posted and
 * pending), no account is past its limit flag, and replaying a batch changes no balance.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedLedger } from './embedded.js';
import {
  AccountFlags, CreateTransferStatus as S, TransferFlags as F, account, transfer, transferStatusName, u128_max,
  type Account, type Transfer,
} from './types.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'palmswitch-ledger-property-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const L = 978;
const account_flags = [AccountFlags.none, AccountFlags.debits_must_not_exceed_credits, AccountFlags.credits_must_not_exceed_debits, AccountFlags.none];
const account_ids = account_flags.map((_, i) => BigInt(i + 1));

type Kind = 'single' | 'pending' | 'post' | 'void';
interface Event { kind: Kind; id: bigint; dr: number; cr: number; amount: bigint; pending: bigint; linked: boolean }

function toTransfer(e: Event): Transfer {
  const resolve = e.kind === 'post' || e.kind === 'void';
  const flags = (e.linked ? F.linked : 0) | (e.kind === 'pending' ? F.pending : 0) |
    (e.kind === 'post' ? F.post_pending_transfer : 0) | (e.kind === 'void' ? F.void_pending_transfer : 0);
  return transfer({
    id: e.id, debit_account_id: resolve ? 0n : account_ids[e.dr]!, credit_account_id: resolve ? 0n : account_ids[e.cr]!,
    amount: e.amount, pending_id: resolve ? e.pending : 0n, ledger: resolve ? 0 : L, code: resolve ? 0 : 1, flags,
  });
}

// ---- the reference model -------------------------------------------------------------------

interface ModelAccount { dp: bigint; dpo: bigint; cp: bigint; cpo: bigint; flags: number }
interface ModelState {
  accounts: ModelAccount[];
  transfers: Map<bigint, { event: Event; amount: bigint; dr: number; cr: number; state: 'none' | 'pending' | 'posted' | 'voided' }>;
  failed: Set<bigint>;
}

function cloneState(m: ModelState): ModelState {
  return { accounts: m.accounts.map((a) => ({ ...a })), transfers: new Map([...m.transfers].map(([k, v]) => [k, { ...v }])), failed: new Set(m.failed) };
}

/** The model's status; every `exists_with_different_*` is reported as one category. */
function modelEvent(m: ModelState, e: Event): string {
  const existing = m.transfers.get(e.id);
  if (existing) return JSON.stringify(existing.event, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ===
    JSON.stringify({ ...e, linked: existing.event.linked }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) &&
    existing.event.linked === e.linked ? 'exists' : 'exists_with_different';
  if (m.failed.has(e.id)) return 'id_already_failed';
  if (e.kind === 'single' || e.kind === 'pending') {
    if (e.dr === e.cr) return 'accounts_must_be_different';
    const dr = m.accounts[e.dr]!;
    const cr = m.accounts[e.cr]!;
    if ((dr.flags & AccountFlags.debits_must_not_exceed_credits) !== 0 && dr.dp + dr.dpo + e.amount > dr.cpo) return 'exceeds_credits';
    if ((cr.flags & AccountFlags.credits_must_not_exceed_debits) !== 0 && cr.cp + cr.cpo + e.amount > cr.dpo) return 'exceeds_debits';
    if (e.kind === 'pending') { dr.dp += e.amount; cr.cp += e.amount; } else { dr.dpo += e.amount; cr.cpo += e.amount; }
    m.transfers.set(e.id, { event: e, amount: e.amount, dr: e.dr, cr: e.cr, state: e.kind === 'pending' ? 'pending' : 'none' });
    return 'created';
  }
  if (e.pending === e.id) return 'pending_id_must_be_different';
  const p = m.transfers.get(e.pending);
  if (!p) return 'pending_transfer_not_found';
  if (p.event.kind !== 'pending') return 'pending_transfer_not_pending';
  // A void moves the whole pending amount (0 says "all"); a post moves its amount (AMOUNT_MAX says "all").
  const amount = e.kind === 'void' ? (e.amount > 0n ? e.amount : p.amount) : e.amount === u128_max ? p.amount : e.amount;
  if (amount > p.amount) return 'exceeds_pending_transfer_amount';
  if (e.kind === 'void' && amount < p.amount) return 'pending_transfer_has_different_amount';
  if (p.state === 'posted') return 'pending_transfer_already_posted';
  if (p.state === 'voided') return 'pending_transfer_already_voided';
  const dr = m.accounts[p.dr]!;
  const cr = m.accounts[p.cr]!;
  dr.dp -= p.amount; cr.cp -= p.amount;
  if (e.kind === 'post') { dr.dpo += amount; cr.cpo += amount; }
  p.state = e.kind === 'post' ? 'posted' : 'voided';
  m.transfers.set(e.id, { event: e, amount, dr: p.dr, cr: p.cr, state: 'none' });
  return 'created';
}

const transient = new Set(['exceeds_credits', 'exceeds_debits', 'pending_transfer_not_found']);

function modelBatch(m: ModelState, batch: Event[]): { state: ModelState; statuses: string[] } {
  let state = m;
  const statuses: string[] = batch.map(() => 'linked_event_failed');
  let start = 0;
  while (start < batch.length) {
    let end = start;
    while (end < batch.length && batch[end]!.linked) end += 1;
    if (end === batch.length) { statuses[batch.length - 1] = 'linked_event_chain_open'; break; }
    const before = cloneState(state);
    for (let i = start; i <= end; i += 1) {
      const status = modelEvent(state, batch[i]!);
      statuses[i] = status;
      if (status === 'created') continue;
      if (end > start) {
        state = before;
        for (let j = start; j <= end; j += 1) if (j !== i) statuses[j] = 'linked_event_failed';
      }
      if (transient.has(status)) state.failed.add(batch[i]!.id);
      break;
    }
    start = end + 1;
  }
  return { state, statuses };
}

// ---- generators -----------------------------------------------------------------------------

type Step = { op: 'batch'; events: Array<Omit<Event, 'id'> & { reuse: number | null }> } | { op: 'replay'; index: number };

const eventArb = fc.record({
  kind: fc.constantFrom<Kind>('single', 'single', 'pending', 'pending', 'post', 'void'),
  dr: fc.nat(3), cr: fc.nat(3),
  amount: fc.oneof(fc.bigInt({ min: 0n, max: 60n }), fc.constant(u128_max)),
  pending: fc.nat(12).map(BigInt),
  linked: fc.boolean(),
  reuse: fc.option(fc.nat(200), { freq: 6 }),
});
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.array(eventArb, { minLength: 1, maxLength: 4 }).map((events) => ({ op: 'batch' as const, events })) },
  { weight: 1, arbitrary: fc.nat(30).map((index) => ({ op: 'replay' as const, index })) },
);

function normalise(status: S): string {
  const name = transferStatusName(status);
  return name.startsWith('exists_with_different_') ? 'exists_with_different' : name;
}

async function sutBalances(ledger: EmbeddedLedger): Promise<Account[]> {
  return await ledger.lookupAccounts(account_ids);
}

function checkInvariants(accounts: Account[]): void {
  const sum = (f: (a: Account) => bigint): bigint => accounts.reduce((n, a) => n + f(a), 0n);
  expect(sum((a) => a.debits_posted)).toBe(sum((a) => a.credits_posted));
  expect(sum((a) => a.debits_pending)).toBe(sum((a) => a.credits_pending));
  for (const a of accounts) {
    if ((a.flags & AccountFlags.debits_must_not_exceed_credits) !== 0) expect(a.debits_pending + a.debits_posted <= a.credits_posted).toBe(true);
    if ((a.flags & AccountFlags.credits_must_not_exceed_debits) !== 0) expect(a.credits_pending + a.credits_posted <= a.debits_posted).toBe(true);
  }
}

let run = 0;

async function runSteps(steps: Step[]): Promise<void> {
  run += 1;
  const ledger = new EmbeddedLedger({ file: path.join(dir, `run-${run}.sqlite`) });
  try {
    await ledger.createAccounts(account_ids.map((id, i) => account({ id, ledger: L, code: 1, flags: account_flags[i]! })));
    let model: ModelState = { accounts: account_flags.map((flags) => ({ dp: 0n, dpo: 0n, cp: 0n, cpo: 0n, flags })), transfers: new Map(), failed: new Set() };
    const history: Event[][] = [];
    let nextId = 1000n;
    for (const step of steps) {
      const replay = step.op === 'replay';
      const batch: Event[] = replay ? (history[step.index % Math.max(history.length, 1)] ?? []) : step.events.map((e) => {
        const earlier = e.reuse === null ? undefined : history.flat()[e.reuse % Math.max(history.flat().length, 1)];
        // A reused id with a changed amount must come back as exists_with_different_*, never applied.
        if (earlier && (earlier.kind === 'single' || earlier.kind === 'pending')) return { ...earlier, amount: earlier.amount + 1n, linked: e.linked };
        // AMOUNT_MAX means "the whole pending amount" only on a post; elsewhere amounts stay small.
        const amount = e.amount === u128_max && e.kind !== 'post' ? 60n : e.amount;
        nextId += 1n;
        // Posts and voids refer to one of the last few ids (offset 0 is the event itself).
        return { ...e, amount, id: nextId, pending: nextId - e.pending };
      });
      if (batch.length === 0) continue;
      const before = replay ? await sutBalances(ledger) : [];
      const results = await ledger.createTransfers(batch.map(toTransfer));
      const expected = modelBatch(model, batch);
      model = expected.state;
      expect(results.map((r) => normalise(r.status))).toEqual(expected.statuses);
      const accounts = await sutBalances(ledger);
      expect(accounts.map((a) => [a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted]))
        .toEqual(model.accounts.map((a) => [a.dp, a.dpo, a.cp, a.cpo]));
      checkInvariants(accounts);
      if (replay) {
        expect(accounts).toEqual(before);
        expect(results.some((r) => r.status === S.created)).toBe(false);
      }
      if (!replay) history.push(batch);
    }
  } finally {
    await ledger.close();
  }
}

describe('ledger property: embedded adapter against a reference model', () => {
  it('agrees on statuses and balances, keeps debits = credits and limits, and replays change nothing', async () => {
    await fc.assert(fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 20 }), runSteps), { numRuns: Number(process.env.LEDGER_PROPERTY_RUNS ?? 40) });
  }, 150_000);
});
