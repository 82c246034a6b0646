/**
 * The acquiring money model on the embedded ledger: a payment's life (hold, partial capture with
 * fee, refund, settlement, payout), voids, reversals, stand-in, idempotent retries through
 * business-key ids, and a balance sheet that balances after every step.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AccountKind, EmbeddedLedger, LedgerOperationError, accountId, balanceSheet, captureTransfers, decodeAuthCode, encodeAuthCode,
  ensureChart, execute, holdTimeoutSeconds, holdTransfers, house_owner, payoutTransfers, refundTransfers, reversalTransfers, settlementTransfers,
  standInClearedTransfers, voidTransfers, type Ledger,
} from './index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'palmswitch-ledger-money-'));
let ledger: Ledger;
const chart = { currencies: ['EUR', 'JPY'], networks: ['visa-like', 'mc-like'], merchants: ['m-0001', 'm-0002'] };

beforeAll(async () => {
  ledger = new EmbeddedLedger({ file: path.join(dir, 'ledger.sqlite') });
  await ensureChart(ledger, chart);
  await ensureChart(ledger, chart); // idempotent: every account already exists
});
afterAll(async () => { await ledger.close(); rmSync(dir, { recursive: true, force: true }); });

async function balance(kind: AccountKind, currency: string, owner: string): Promise<{ dp: bigint; dpo: bigint; cp: bigint; cpo: bigint }> {
  const [a] = await ledger.lookupAccounts([accountId(kind, currency, owner)]);
  expect(a).toBeDefined();
  return { dp: a!.debits_pending, dpo: a!.debits_posted, cp: a!.credits_pending, cpo: a!.credits_posted };
}

async function expectBalanced(): Promise<void> {
  for (const sheet of await balanceSheet(ledger)) expect([sheet.currency, sheet.balanced]).toEqual([sheet.currency, true]);
}

describe('acquiring money model', () => {
  it('turns an authorization expiry into a hold timeout, refusing one that has passed', () => {
    expect(holdTimeoutSeconds(10_500, 0)).toBe(11);
    expect(() => holdTimeoutSeconds(1_000, 1_000)).toThrow(LedgerOperationError);
  });

  it('encodes authorization codes into user_data_32 and back', () => {
    for (const code of ['000000', 'ZZZZZZ', 'A1B2C3']) expect(decodeAuthCode(encodeAuthCode(code))).toBe(code);
    expect(() => encodeAuthCode('abc')).toThrow(LedgerOperationError);
  });

  it('holds, captures in part with the fee linked, and a retried capture is exists, not a second posting', async () => {
    const auth = 1001n;
    await execute(ledger, holdTransfers({ authorization_id: auth, network: 'visa-like', merchant: 'm-0001', currency: 'EUR',
      amount_minor: 10_000n, rrn: '000000001001', auth_code: 'AB12CD', timeout_seconds: 3600 }));
    expect(await balance(AccountKind.merchant_payable, 'EUR', 'm-0001')).toMatchObject({ cp: 10_000n, cpo: 0n });
    const capture = captureTransfers({ authorization_id: auth, capture_id: 1n, merchant: 'm-0001', currency: 'EUR', amount_minor: 8_000n, fee_minor: 120n });
    expect(await execute(ledger, capture)).toEqual({ replayed: false });
    expect(await execute(ledger, capture)).toEqual({ replayed: true });
    expect(await balance(AccountKind.merchant_payable, 'EUR', 'm-0001')).toEqual({ dp: 0n, dpo: 120n, cp: 0n, cpo: 8_000n });
    expect(await balance(AccountKind.settlement_receivable, 'EUR', 'visa-like')).toMatchObject({ dp: 0n, dpo: 8_000n });
    expect(await balance(AccountKind.fee_revenue, 'EUR', house_owner)).toMatchObject({ cpo: 120n });
    await expect(execute(ledger, voidTransfers({ authorization_id: auth }))).rejects.toThrow(/pending_transfer_already_posted/);
    await expectBalanced();
  });

  it('voids a hold, refunds and reverses captured payments, books settlement and payout', async () => {
    await execute(ledger, holdTransfers({ authorization_id: 2002n, network: 'mc-like', merchant: 'm-0002', currency: 'EUR',
      amount_minor: 500n, rrn: '000000002002', auth_code: 'ZZ0001', timeout_seconds: 60 }));
    await execute(ledger, voidTransfers({ authorization_id: 2002n }));
    expect(await balance(AccountKind.merchant_payable, 'EUR', 'm-0002')).toEqual({ dp: 0n, dpo: 0n, cp: 0n, cpo: 0n });
    await execute(ledger, holdTransfers({ authorization_id: 2003n, network: 'mc-like', merchant: 'm-0002', currency: 'EUR',
      amount_minor: 3_000n, rrn: '000000002003', auth_code: 'ZZ0002', timeout_seconds: 60 }));
    await execute(ledger, captureTransfers({ authorization_id: 2003n, capture_id: 1n, merchant: 'm-0002', currency: 'EUR', fee_minor: 30n }));
    await execute(ledger, refundTransfers({ refund_id: 1n, authorization_id: 2003n, network: 'mc-like', merchant: 'm-0002', currency: 'EUR',
      amount_minor: 1_000n, rrn: '000000002003', auth_code: 'ZZ0002' }));
    await execute(ledger, reversalTransfers({ authorization_id: 2003n, capture_id: 1n, network: 'mc-like', merchant: 'm-0002', currency: 'EUR',
      amount_minor: 1_900n, fee_minor: 30n }));
    expect(await balance(AccountKind.merchant_payable, 'EUR', 'm-0002')).toEqual({ dp: 0n, dpo: 2_930n, cp: 0n, cpo: 3_030n });
    // Nothing left to pay out beyond the payable's credits: the limit flag refuses it.
    await expect(execute(ledger, payoutTransfers({ payout_id: 1n, merchant: 'm-0002', currency: 'EUR', amount_minor: 101n }))).rejects.toThrow(/exceeds_credits/);
    await execute(ledger, payoutTransfers({ payout_id: 2n, merchant: 'm-0002', currency: 'EUR', amount_minor: 100n }));
    await execute(ledger, settlementTransfers({ settlement_id: 1n, network: 'visa-like', currency: 'EUR', net_minor: 7_950n, interchange_minor: 50n }));
    expect(await balance(AccountKind.settlement_receivable, 'EUR', 'visa-like')).toMatchObject({ dpo: 8_000n, cpo: 8_000n });
    expect(await balance(AccountKind.settlement_bank, 'EUR', house_owner)).toMatchObject({ dpo: 7_950n, cpo: 100n });
    await expectBalanced();
  });

  it('books stand-in approvals as exposure until the network accepts the advice', async () => {
    await execute(ledger, holdTransfers({ authorization_id: 3003n, network: 'visa-like', merchant: 'm-0001', currency: 'JPY',
      amount_minor: 1_200n, rrn: '000000003003', auth_code: 'SI0001', timeout_seconds: 600, stand_in: true }));
    await execute(ledger, captureTransfers({ authorization_id: 3003n, capture_id: 1n, merchant: 'm-0001', currency: 'JPY', fee_minor: 0n }));
    expect(await balance(AccountKind.standin_exposure, 'JPY', 'visa-like')).toMatchObject({ dpo: 1_200n });
    await execute(ledger, standInClearedTransfers({ authorization_id: 3003n, network: 'visa-like', currency: 'JPY', amount_minor: 1_200n }));
    expect(await balance(AccountKind.standin_exposure, 'JPY', 'visa-like')).toMatchObject({ dpo: 1_200n, cpo: 1_200n });
    expect(await balance(AccountKind.settlement_receivable, 'JPY', 'visa-like')).toMatchObject({ dpo: 1_200n });
    await expectBalanced();
  });

  it('refuses a capture for an unknown authorization with a typed error', async () => {
    const error = await execute(ledger, captureTransfers({ authorization_id: 999_999n, capture_id: 1n, merchant: 'm-0001', currency: 'EUR', fee_minor: 1n })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LedgerOperationError);
    expect((error as LedgerOperationError).statuses).toEqual(['pending_transfer_not_found', 'linked_event_failed']);
  });
});
