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
import { CreateTransferStatus, TransferFlags, account, transfer, u128_max } from './types.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'palmswitch-ledger-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeLedgerContract('embedded', () => Promise.resolve(new EmbeddedLedger({ file: path.join(dir, 'ledger.sqlite') })));

describe('embedded adapter specifics', () => {
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
