/**
 * Money operations of an acquirer, as TigerBeetle transfers: authorization hold (a pending
 * transfer that expires with the authorization), capture in full or in part with the merchant
 * fee as a linked transfer, void, reversal, refund, network settlement, merchant payout and
 * stand-in clearing. Transfer ids derive from business keys (operation + authorization id +
 * capture/refund/... id), so a retried operation is `exists`, never a second posting.
 * `user_data_128` ties each transfer to its authorization, `user_data_64` carries the RRN and
 * `user_data_32` the authorization code (base 36), which is what reconciliation matches on.
 */
import { assert, PalmswitchError } from '../core/index.js';
import { AccountKind, accountId, chartAccounts, hashToU128, ledgerOf, house_owner, type ChartSpec } from './chart.js';
import {
  CreateAccountStatus, CreateTransferStatus, TransferFlags, batch_events_max, transfer, transferStatusName, u128_max, u32_max,
  type Ledger, type Transfer,
} from './types.js';

/** Transfer codes: which operation a transfer belongs to. Posts and voids inherit the hold's code. */
export const TransferCode = {
  authorization_hold: 1,
  merchant_fee: 2,
  reversal: 3,
  reversal_fee: 4,
  refund: 5,
  network_settlement: 6,
  interchange: 7,
  merchant_payout: 8,
  standin_cleared: 9,
} as const;
export type TransferCode = (typeof TransferCode)[keyof typeof TransferCode];

const rrn_pattern = /^\d{12}$/;
const auth_code_pattern = /^[0-9A-Z]{6}$/;
/** A hold lasts at most this long (TigerBeetle timeouts are u32 seconds; card auths live days). */
export const hold_timeout_seconds_max = 31 * 24 * 3600;

export class LedgerOperationError extends PalmswitchError {
  constructor(code: string, message: string, readonly statuses: readonly string[] = []) {
    super(code, message);
  }
}

export function encodeRrn(rrn: string): bigint {
  if (!rrn_pattern.test(rrn)) throw new LedgerOperationError('rrn_invalid', 'RRN must be 12 digits');
  return BigInt(rrn);
}

export function decodeRrn(value: bigint): string {
  return value.toString().padStart(12, '0');
}

/** Six characters of [0-9A-Z] in base 36 fit a u32 (36^6 < 2^32). */
export function encodeAuthCode(code: string): number {
  if (!auth_code_pattern.test(code)) throw new LedgerOperationError('auth_code_invalid', 'authorization code must be 6 characters of [0-9A-Z]');
  const value = parseInt(code, 36);
  assert(value >= 0 && value <= u32_max);
  return value;
}

export function decodeAuthCode(value: number): string {
  return value.toString(36).toUpperCase().padStart(6, '0');
}

export function operationId(operation: string, ...keys: ReadonlyArray<bigint | string>): bigint {
  return hashToU128('palmswitch/transfer/v1', [operation, ...keys]);
}

function positive(amount_minor: bigint, what: string): bigint {
  if (amount_minor <= 0n || amount_minor >= u128_max) throw new LedgerOperationError('amount_invalid', `${what} must be a positive number of minor units`);
  return amount_minor;
}

export interface HoldInput {
  authorization_id: bigint; network: string; merchant: string; currency: string; amount_minor: bigint;
  rrn: string; auth_code: string;
  /** The hold's life in seconds; see `holdTimeoutSeconds` to derive it from the authorization's expiry. */
  timeout_seconds: number;
  /** Approved by stand-in while the network was unreachable: the exposure is ours until it accepts the advice. */
  stand_in?: boolean;
}

/**
 * A TigerBeetle timeout is relative to the transfer's arrival (robust to clock skew), so an
 * authorization's absolute expiry becomes whole seconds from now, rounded up, at least one.
 */
export function holdTimeoutSeconds(expires_at_ms: number, now_ms: number = Date.now()): number {
  const seconds = Math.ceil((expires_at_ms - now_ms) / 1000);
  if (!Number.isFinite(seconds) || seconds < 1) throw new LedgerOperationError('authorization_expired', 'the authorization has already expired');
  return Math.min(seconds, hold_timeout_seconds_max);
}

export function holdTransfers(input: HoldInput): Transfer[] {
  if (!Number.isInteger(input.timeout_seconds) || input.timeout_seconds < 1 || input.timeout_seconds > hold_timeout_seconds_max) {
    throw new LedgerOperationError('timeout_invalid', `hold timeout must be 1..${hold_timeout_seconds_max} seconds`);
  }
  const debitKind = input.stand_in === true ? AccountKind.standin_exposure : AccountKind.settlement_receivable;
  return [transfer({
    id: operationId('hold', input.authorization_id),
    debit_account_id: accountId(debitKind, input.currency, input.network),
    credit_account_id: accountId(AccountKind.merchant_payable, input.currency, input.merchant),
    amount: positive(input.amount_minor, 'hold amount'), ledger: ledgerOf(input.currency), code: TransferCode.authorization_hold,
    user_data_128: input.authorization_id, user_data_64: encodeRrn(input.rrn), user_data_32: encodeAuthCode(input.auth_code),
    timeout: input.timeout_seconds, flags: TransferFlags.pending,
  })];
}

export interface CaptureInput {
  authorization_id: bigint; capture_id: bigint; merchant: string; currency: string;
  /** Omit to capture the whole hold. */
  amount_minor?: bigint;
  fee_minor: bigint;
}

/** Posts the hold (in full or in part) and, linked to it, moves the merchant fee to revenue. */
export function captureTransfers(input: CaptureInput): Transfer[] {
  if (input.fee_minor < 0n) throw new LedgerOperationError('amount_invalid', 'fee must not be negative');
  const post = transfer({
    id: operationId('capture', input.authorization_id, input.capture_id), pending_id: operationId('hold', input.authorization_id),
    amount: input.amount_minor === undefined ? u128_max : positive(input.amount_minor, 'capture amount'),
    flags: TransferFlags.post_pending_transfer,
  });
  if (input.fee_minor === 0n) return [post];
  const fee = transfer({
    id: operationId('fee', input.authorization_id, input.capture_id),
    debit_account_id: accountId(AccountKind.merchant_payable, input.currency, input.merchant),
    credit_account_id: accountId(AccountKind.fee_revenue, input.currency, house_owner),
    amount: input.fee_minor, ledger: ledgerOf(input.currency), code: TransferCode.merchant_fee, user_data_128: input.authorization_id,
  });
  return [{ ...post, flags: post.flags | TransferFlags.linked }, fee];
}

/** Releases a hold that will not be captured (the terminal cancelled, or a 0400 before capture). */
export function voidTransfers(input: { authorization_id: bigint }): Transfer[] {
  return [transfer({
    id: operationId('void', input.authorization_id), pending_id: operationId('hold', input.authorization_id),
    flags: TransferFlags.void_pending_transfer,
  })];
}

export interface ReversalInput {
  authorization_id: bigint; capture_id: bigint; network: string; merchant: string; currency: string;
  amount_minor: bigint; fee_minor: bigint;
}

/** Reverses a captured payment: the sale and its fee go back, linked so neither moves alone. */
export function reversalTransfers(input: ReversalInput): Transfer[] {
  const ledger = ledgerOf(input.currency);
  const payable = accountId(AccountKind.merchant_payable, input.currency, input.merchant);
  const sale = transfer({
    id: operationId('reversal', input.authorization_id, input.capture_id), debit_account_id: payable,
    credit_account_id: accountId(AccountKind.settlement_receivable, input.currency, input.network),
    amount: positive(input.amount_minor, 'reversal amount'), ledger, code: TransferCode.reversal, user_data_128: input.authorization_id,
  });
  if (input.fee_minor === 0n) return [sale];
  const fee = transfer({
    id: operationId('reversal-fee', input.authorization_id, input.capture_id),
    debit_account_id: accountId(AccountKind.fee_revenue, input.currency, house_owner), credit_account_id: payable,
    amount: positive(input.fee_minor, 'reversal fee'), ledger, code: TransferCode.reversal_fee, user_data_128: input.authorization_id,
  });
  // The fee returns first, so the merchant's payable covers the sale's reversal.
  return [{ ...fee, flags: TransferFlags.linked }, sale];
}

export interface RefundInput {
  refund_id: bigint; authorization_id: bigint; network: string; merchant: string; currency: string;
  amount_minor: bigint; rrn: string; auth_code: string;
}

export function refundTransfers(input: RefundInput): Transfer[] {
  return [transfer({
    id: operationId('refund', input.authorization_id, input.refund_id),
    debit_account_id: accountId(AccountKind.merchant_payable, input.currency, input.merchant),
    credit_account_id: accountId(AccountKind.settlement_receivable, input.currency, input.network),
    amount: positive(input.amount_minor, 'refund amount'), ledger: ledgerOf(input.currency), code: TransferCode.refund,
    user_data_128: input.authorization_id, user_data_64: encodeRrn(input.rrn), user_data_32: encodeAuthCode(input.auth_code),
  })];
}

export interface SettlementInput {
  settlement_id: bigint; network: string; currency: string;
  /** Net the network pays us (negative: we pay the network). */
  net_minor: bigint;
  interchange_minor: bigint;
}

/** Books a network's settlement: cash at the bank and interchange expense against the receivable. */
export function settlementTransfers(input: SettlementInput): Transfer[] {
  const ledger = ledgerOf(input.currency);
  const receivable = accountId(AccountKind.settlement_receivable, input.currency, input.network);
  const bank = accountId(AccountKind.settlement_bank, input.currency, house_owner);
  const transfers: Transfer[] = [];
  if (input.interchange_minor > 0n) {
    transfers.push(transfer({ id: operationId('interchange', input.settlement_id, input.network), debit_account_id: accountId(AccountKind.interchange_expense, input.currency, input.network),
      credit_account_id: receivable, amount: input.interchange_minor, ledger, code: TransferCode.interchange }));
  }
  if (input.net_minor !== 0n) {
    const inbound = input.net_minor > 0n;
    transfers.push(transfer({ id: operationId('settlement', input.settlement_id, input.network),
      debit_account_id: inbound ? bank : receivable, credit_account_id: inbound ? receivable : bank,
      amount: inbound ? input.net_minor : -input.net_minor, ledger, code: TransferCode.network_settlement }));
  }
  return transfers.map((t, i) => (i < transfers.length - 1 ? { ...t, flags: TransferFlags.linked } : t));
}

export function payoutTransfers(input: { payout_id: bigint; merchant: string; currency: string; amount_minor: bigint }): Transfer[] {
  return [transfer({
    id: operationId('payout', input.payout_id, input.merchant),
    debit_account_id: accountId(AccountKind.merchant_payable, input.currency, input.merchant),
    credit_account_id: accountId(AccountKind.settlement_bank, input.currency, house_owner),
    amount: positive(input.amount_minor, 'payout amount'), ledger: ledgerOf(input.currency), code: TransferCode.merchant_payout,
  })];
}

/** The network accepted a stand-in advice: the exposure becomes an ordinary receivable. */
export function standInClearedTransfers(input: { authorization_id: bigint; network: string; currency: string; amount_minor: bigint }): Transfer[] {
  return [transfer({
    id: operationId('standin-cleared', input.authorization_id),
    debit_account_id: accountId(AccountKind.settlement_receivable, input.currency, input.network),
    credit_account_id: accountId(AccountKind.standin_exposure, input.currency, input.network),
    amount: positive(input.amount_minor, 'stand-in amount'), ledger: ledgerOf(input.currency), code: TransferCode.standin_cleared,
    user_data_128: input.authorization_id,
  })];
}

/**
 * Submits one operation's transfers. `created` and `exists` both mean done (a retry after a
 * crash lands on `exists`). A linked chain that is resent fails as a chain in TigerBeetle
 * (`exists` is not `created`, so the others report `linked_event_failed`); since the chain was
 * committed atomically, it is a replay exactly when every one of its ids is stored. Anything
 * else is a typed error naming the statuses.
 */
export async function execute(ledger: Ledger, transfers: readonly Transfer[]): Promise<{ replayed: boolean }> {
  assert(transfers.length > 0 && transfers.length <= batch_events_max, 'an operation has 1..8189 transfers');
  const results = await ledger.createTransfers(transfers);
  assert(results.length === transfers.length, 'one result per transfer');
  const statuses = results.map((r) => r.status);
  if (statuses.every((s) => s === CreateTransferStatus.created || s === CreateTransferStatus.exists)) {
    return { replayed: statuses.every((s) => s === CreateTransferStatus.exists) };
  }
  const chainReplay = statuses.some((s) => s === CreateTransferStatus.exists) &&
    statuses.every((s) => s === CreateTransferStatus.exists || s === CreateTransferStatus.linked_event_failed);
  if (chainReplay && (await ledger.lookupTransfers(transfers.map((t) => t.id))).length === transfers.length) {
    return { replayed: true };
  }
  const names = statuses.map(transferStatusName);
  throw new LedgerOperationError('ledger_operation_refused', `the ledger refused the operation: ${names.join(', ')}`, names);
}

/** Creates the chart's accounts; existing identical accounts are fine, so this is safe at every start. */
export async function ensureChart(ledger: Ledger, spec: ChartSpec): Promise<void> {
  const accounts = chartAccounts(spec);
  for (let start = 0; start < accounts.length; start += batch_events_max) {
    const batch = accounts.slice(start, start + batch_events_max);
    const results = await ledger.createAccounts(batch);
    const bad = results.filter((r) => r.status !== CreateAccountStatus.created && r.status !== CreateAccountStatus.exists);
    if (bad.length > 0) {
      throw new LedgerOperationError('ledger_chart_refused', `the ledger refused ${bad.length} chart accounts`, bad.map((r) => CreateAccountStatus[r.status]));
    }
  }
}
