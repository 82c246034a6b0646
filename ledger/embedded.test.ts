/**
 * Runs the shared ledger contract against the embedded adapter, on a real file in a temp dir,
 * plus what only the embedded adapter has: the single-writer lock, read-only opening, and
 * expiry driven by an injected clock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeLedgerContract } from './contract.case.js';
import { EmbeddedLedger } from './embedded.js';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import {
  AccountFilterFlags, CreateTransferStatus, TransferFlags, account, accountFilter, transfer, u128_max, type Ledger, type Transfer,
} from './types.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'palmswitch-ledger-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeLedgerContract('embedded', () => Promise.resolve(new EmbeddedLedger({ file: path.join(dir, 'ledger.sqlite') })));
// The same contract with the per-account index folded every other transfer, so that account
// queries read both the folded index and the unfolded tail.
describeLedgerContract('embedded, account index folded often', () =>
  Promise.resolve(new EmbeddedLedger({ file: path.join(dir, 'ledger-folding.sqlite'), account_index_fold_transfers: 2 })));

/** Seeded transfers among four accounts, in requests of 1 to 9, with one failing linked chain per request. */
async function postMixed(ledger: Ledger, count: number): Promise<bigint[]> {
  let state = 12_345;
  const random = (n: number): number => { state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0; return state % n; };
  let id = 1_000n;
  while (id < 1_000n + BigInt(count)) {
    const batch = Array.from({ length: 1 + random(9) }, () => {
      const debit = BigInt(1 + random(4));
      const credit = BigInt(1 + ((Number(debit) + random(3)) % 4));
      id += 1n;
      return transfer({ id, debit_account_id: debit, credit_account_id: credit, amount: 1n, ledger: 1, code: 1 + random(3),
        user_data_64: BigInt(random(2) * 5) });
    });
    // A linked chain that fails (its second event names a missing account): created, then rolled back.
    batch.push(
      transfer({ id: id + 500_000n, debit_account_id: 1n, credit_account_id: 2n, amount: 1n, ledger: 1, code: 1, flags: TransferFlags.linked }),
      transfer({ id: id + 600_000n, debit_account_id: 1n, credit_account_id: 99n, amount: 1n, ledger: 1, code: 1 }),
    );
    const results = await ledger.createTransfers(batch);
    expect(results.slice(0, -2).every((r) => r.status === CreateTransferStatus.created)).toBe(true);
    expect(results.slice(-2).map((r) => r.status)).toEqual([CreateTransferStatus.linked_event_failed, CreateTransferStatus.credit_account_not_found]);
  }
  return Array.from({ length: Number(id - 1_000n) }, (_, i) => 1_001n + BigInt(i));
}

/** Every account query over the mixed transfers equals filtering the full list by hand. */
async function expectAccountQueriesMatch(ledger: Ledger, all: readonly Transfer[]): Promise<void> {
  const middle = all[Math.floor(all.length / 2)]!.timestamp;
  const sides = [AccountFilterFlags.debits, AccountFilterFlags.credits, AccountFilterFlags.debits | AccountFilterFlags.credits];
  for (const account_id of [1n, 2n, 3n, 4n]) {
    for (const sideFlags of sides) {
      for (const reversed of [false, true]) {
        for (const extra of [{}, { limit: 3 }, { code: 2 }, { user_data_64: 5n, limit: 7 }, { timestamp_min: middle }, { timestamp_max: middle, limit: 4 }]) {
          const filter = accountFilter({ account_id, flags: sideFlags | (reversed ? AccountFilterFlags.reversed : 0), ...extra });
          const expected = all.filter((t) =>
            (((sideFlags & AccountFilterFlags.debits) !== 0 && t.debit_account_id === account_id) ||
              ((sideFlags & AccountFilterFlags.credits) !== 0 && t.credit_account_id === account_id)) &&
            (filter.code === 0 || t.code === filter.code) && (filter.user_data_64 === 0n || t.user_data_64 === filter.user_data_64) &&
            (filter.timestamp_min === 0n || t.timestamp >= filter.timestamp_min) &&
            (filter.timestamp_max === 0n || t.timestamp <= filter.timestamp_max));
          if (reversed) expected.reverse();
          const got = await ledger.getAccountTransfers(filter);
          expect(got.map((t) => t.id)).toEqual(expected.slice(0, filter.limit).map((t) => t.id));
        }
      }
    }
  }
}

describe('embedded adapter specifics', () => {
  it('stores and reads back every u128 and u64 field exactly, small (one double) or large', async () => {
    const ledger = new EmbeddedLedger({ file: path.join(dir, 'fields.sqlite') });
    await ledger.createAccounts([account({ id: 1n, ledger: 1, code: 1 }), account({ id: 2n, ledger: 1, code: 1 })]);
    const u128 = fc.oneof(fc.bigInt({ min: 1n, max: 2n ** 60n }), fc.bigInt({ min: 1n, max: u128_max - 1n }));
    let next = 0n;
    await fc.assert(fc.asyncProperty(fc.array(fc.record({
      id: u128, amount: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 53n + 5n }), fc.bigInt({ min: 0n, max: 2n ** 100n })),
      user_data_128: fc.oneof(fc.constant(0n), u128), user_data_64: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      user_data_32: fc.nat(0xffff_ffff), code: fc.integer({ min: 1, max: 0xffff }),
    }), { minLength: 1, maxLength: 20 }), async (fields) => {
      // Ids must be new across runs: offset them by a counter in the top bits.
      const batch = fields.map((f) => {
        next += 1n;
        return transfer({ ...f, id: (f.id % (1n << 100n)) + (next << 100n), debit_account_id: 1n, credit_account_id: 2n, ledger: 1 });
      });
      const results = await ledger.createTransfers(batch);
      expect(results.every((r) => r.status === CreateTransferStatus.created)).toBe(true);
      const stored = await ledger.lookupTransfers(batch.map((t) => t.id));
      expect(stored.map(({ timestamp: _t, ...rest }) => rest)).toEqual(batch.map(({ timestamp: _t, ...rest }) => rest));
    }), { numRuns: 30, seed: 20_261_124 });
    await ledger.close();
  });

  it('answers account queries from the folded index and the unfolded tail alike, before and after a reopen', async () => {
    const file = path.join(dir, 'fold.sqlite');
    const ledger = new EmbeddedLedger({ file, account_index_fold_transfers: 40 });
    await ledger.createAccounts([1n, 2n, 3n, 4n].map((id) => account({ id, ledger: 1, code: 1 })));
    const ids = await postMixed(ledger, 100);
    const all = await ledger.lookupTransfers(ids);
    expect(all).toHaveLength(ids.length);
    // Both parts are in play: some transfers folded, the newest not yet.
    const db = new Database(file, { readonly: true });
    const watermark = db.prepare("SELECT value FROM meta WHERE key = 'account_index_watermark'").safeIntegers(true).pluck().get() as bigint;
    db.close();
    expect(watermark > all[0]!.timestamp && watermark < all[all.length - 1]!.timestamp).toBe(true);
    await expectAccountQueriesMatch(ledger, all);
    const reader = new EmbeddedLedger({ file, readonly: true });
    await expectAccountQueriesMatch(reader, all);
    await reader.close();
    await ledger.close();
    // Closing folds everything; the answers stay the same.
    const reopened = new EmbeddedLedger({ file, readonly: true });
    await expectAccountQueriesMatch(reopened, all);
    await reopened.close();
  });

  it('admits one writer per file, any number of read-only readers, and refuses writes from a reader', async () => {
    const file = path.join(dir, 'single-writer.sqlite');
    const writer = new EmbeddedLedger({ file });
    await writer.createAccounts([account({ id: 1n, ledger: 1, code: 1 }), account({ id: 2n, ledger: 1, code: 1 })]);
    await writer.createTransfers([transfer({ id: 1n, debit_account_id: 1n, credit_account_id: 2n, amount: 5n, ledger: 1, code: 1 })]);
    expect(() => new EmbeddedLedger({ file })).toThrow(expect.objectContaining({ code: 'ledger_locked' }) as Error);
    const reader = new EmbeddedLedger({ file, readonly: true });
    expect((await reader.lookupAccounts([1n]))[0]?.debits_posted).toBe(5n);
    await expect(reader.createTransfers([])).rejects.toMatchObject({ code: 'ledger_read_only' });
    await reader.close();
    await writer.close();
    const again = new EmbeddedLedger({ file });
    expect((await again.lookupAccounts([2n]))[0]?.credits_posted).toBe(5n);
    await again.close();
  });

  it('groups concurrent callers into one commit, and a malformed request fails alone', async () => {
    const ledger = new EmbeddedLedger({ file: path.join(dir, 'group.sqlite') });
    await ledger.createAccounts([account({ id: 1n, ledger: 1, code: 1 }), account({ id: 2n, ledger: 1, code: 1 })]);
    const good = Array.from({ length: 50 }, (_, i) => ledger.createTransfers([
      transfer({ id: BigInt(100 + i), debit_account_id: 1n, credit_account_id: 2n, amount: 1n, ledger: 1, code: 1 })]));
    const bad = ledger.createTransfers([transfer({ id: 99n, debit_account_id: 1n, credit_account_id: 2n, amount: -1n, ledger: 1, code: 1 })]);
    await expect(bad).rejects.toMatchObject({ code: 'ledger_event_invalid' });
    const results = await Promise.all(good);
    expect(results.map((r) => r[0]?.status)).toEqual(good.map(() => CreateTransferStatus.created));
    const stamps = results.map((r) => r[0]!.timestamp);
    expect(new Set(stamps).size).toBe(50);
    expect((await ledger.lookupAccounts([1n]))[0]?.debits_posted).toBe(50n);
    await ledger.close();
  });

  it('expires pending transfers by its clock, durably, and keeps balances across a reopen without a fold', async () => {
    const file = path.join(dir, 'clock.sqlite');
    let now = 1_800_000_000_000_000_000n;
    const clock = (): bigint => now;
    const ledger = new EmbeddedLedger({ file, clock });
    await ledger.createAccounts([account({ id: 1n, ledger: 1, code: 1 }), account({ id: 2n, ledger: 1, code: 1 })]);
    const results = await ledger.createTransfers([
      transfer({ id: 10n, debit_account_id: 1n, credit_account_id: 2n, amount: 7n, ledger: 1, code: 1, flags: TransferFlags.pending, timeout: 60 }),
      transfer({ id: 11n, debit_account_id: 1n, credit_account_id: 2n, amount: 3n, ledger: 1, code: 1, flags: TransferFlags.pending, timeout: 120 }),
    ]);
    expect(results.map((r) => r.status)).toEqual([CreateTransferStatus.created, CreateTransferStatus.created]);
    now += 61n * 1_000_000_000n;
    await ledger.expirePending();
    expect((await ledger.lookupAccounts([1n]))[0]?.debits_pending).toBe(3n);
    // Reopen from the file as written by commits (the account log, not yet folded): same state.
    const reader = new EmbeddedLedger({ file, readonly: true, clock });
    expect((await reader.lookupAccounts([1n]))[0]).toMatchObject({ debits_pending: 3n, debits_posted: 0n });
    await reader.close();
    const post = await ledger.createTransfers([
      transfer({ id: 12n, pending_id: 10n, amount: u128_max, flags: TransferFlags.post_pending_transfer }),
      transfer({ id: 13n, pending_id: 11n, amount: u128_max, flags: TransferFlags.post_pending_transfer }),
    ]);
    expect(post.map((r) => r.status)).toEqual([CreateTransferStatus.pending_transfer_expired, CreateTransferStatus.created]);
    await ledger.close();
  });
});
