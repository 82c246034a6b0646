/**
 * The ledger on its own thread keeps the Ledger port's contract: the same money movements and
 * results as the embedded ledger in this thread (hold, capture with a fee, a retried capture is
 * `exists`), LedgerErrors arrive with their codes (a file locked by another writer, a batch too
 * large), and a closed ledger refuses calls. Real SQLite files in a temp dir, a real thread.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AccountKind, accountId, batch_events_max, captureTransfers, EmbeddedLedger, ensureChart, execute, holdTransfers, type Ledger,
} from '../ledger/index.js';
import { ThreadLedger } from './ledger-thread.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'palmswitch-ledger-thread-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const chart = { currencies: ['EUR'], networks: ['visa-like'], merchants: ['m-0001'] };

/** A hold, a partial capture with its fee, the capture retried; the balances and transfer amounts that result. */
async function moveMoney(ledger: Ledger): Promise<unknown> {
  await ensureChart(ledger, chart);
  await execute(ledger, holdTransfers({ authorization_id: 7n, network: 'visa-like', merchant: 'm-0001', currency: 'EUR', amount_minor: 10_000n, rrn: '000000000007', auth_code: 'AB12CD', timeout_seconds: 3_600 }));
  const capture = captureTransfers({ authorization_id: 7n, capture_id: 1n, merchant: 'm-0001', currency: 'EUR', amount_minor: 8_000n, fee_minor: 120n });
  const first = await execute(ledger, capture);
  const retried = await execute(ledger, capture);
  const [payable] = await ledger.lookupAccounts([accountId(AccountKind.merchant_payable, 'EUR', 'm-0001')]);
  const transfers = await ledger.lookupTransfers(capture.map((t) => t.id));
  return {
    first, retried, payable: [payable?.debits_pending, payable?.debits_posted, payable?.credits_pending, payable?.credits_posted],
    transfers: transfers.map((t) => [t.id, t.amount, t.code, t.flags]),
  };
}

describe('ThreadLedger', () => {
  it('moves money exactly as the embedded ledger in this thread does', async () => {
    const here = new EmbeddedLedger({ file: path.join(dir, 'here.sqlite') });
    const thread = await ThreadLedger.open(path.join(dir, 'thread.sqlite'));
    try {
      const expected = await moveMoney(here);
      expect(expected).toMatchObject({ first: { replayed: false }, retried: { replayed: true }, payable: [0n, 120n, 0n, 8_000n] });
      expect(await moveMoney(thread)).toEqual(expected);
    } finally {
      await here.close();
      await thread.close();
    }
  });

  it('passes LedgerErrors with their codes, and refuses calls once closed', async () => {
    const file = path.join(dir, 'locked.sqlite');
    const writer = new EmbeddedLedger({ file });
    await expect(ThreadLedger.open(file)).rejects.toMatchObject({ name: 'PalmswitchError', code: 'ledger_locked' });
    await writer.close();
    const thread = await ThreadLedger.open(file);
    const tooMany = Array.from({ length: batch_events_max + 1 }, () => holdTransfers({ authorization_id: 9n, network: 'visa-like', merchant: 'm-0001', currency: 'EUR', amount_minor: 1n, rrn: '000000000009', auth_code: 'AB12CD', timeout_seconds: 60 })[0]!);
    await expect(thread.createTransfers(tooMany)).rejects.toMatchObject({ code: 'ledger_batch_too_large' });
    await thread.close();
    await expect(thread.lookupAccounts([1n])).rejects.toMatchObject({ code: 'ledger_closed' });
  });

  it('closes once when closed from two places at the same time (a signal and the stack stopping it)', async () => {
    const thread = await ThreadLedger.open(path.join(dir, 'twice.sqlite'));
    await expect(Promise.all([thread.close(), thread.close()])).resolves.toEqual([undefined, undefined]);
    await expect(thread.close()).resolves.toBeUndefined();
    await expect(thread.lookupAccounts([1n])).rejects.toMatchObject({ code: 'ledger_closed' });
  });
});
