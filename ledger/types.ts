/**
 * The ledger port: TigerBeetle's data model and its eight requests, exactly as the
 * `tigerbeetle-node` 0.17 client exposes them (one `{ timestamp, status }` result per event).
 * Types, status numbers and flag bits come from `tigerbeetle-node` itself so the embedded
 * adapter and the TigerBeetle adapter cannot drift apart.
 */
// The enums come from the client's generated bindings module, which (unlike the package root)
// does not load the native client: the embedded adapter never needs it.
import {
  AccountFilterFlags,
  AccountFlags,
  CreateAccountStatus,
  CreateTransferStatus,
  QueryFilterFlags,
  TransferFlags,
} from 'tigerbeetle-node/dist/bindings.js';
import type {
  Account,
  AccountBalance,
  AccountFilter,
  CreateAccountResult,
  CreateTransferResult,
  QueryFilter,
  Transfer,
} from 'tigerbeetle-node';

export {
  AccountFilterFlags,
  AccountFlags,
  CreateAccountStatus,
  CreateTransferStatus,
  QueryFilterFlags,
  TransferFlags,
};
export type { Account, AccountBalance, AccountFilter, CreateAccountResult, CreateTransferResult, QueryFilter, Transfer };

/** Events per request: TigerBeetle's message body (1 MiB less header) over 128-byte events. */
export const batch_events_max = 8189;
/** The largest u128 (the client's `amount_max`): reserved as an id, and "the whole pending amount" on a post. */
export const u128_max = (1n << 128n) - 1n;
export const u64_max = (1n << 64n) - 1n;
export const u32_max = 2 ** 32 - 1;
export const u16_max = 2 ** 16 - 1;
/** Timestamps are u64 nanoseconds; user-defined (imported) timestamps stay below 2^63. */
export const timestamp_imported_max = (1n << 63n) - 1n;

/** The port. Both adapters implement it; the contract suite proves they behave the same. */
export interface Ledger {
  readonly adapter: 'embedded' | 'tigerbeetle';
  createAccounts(batch: readonly Account[]): Promise<CreateAccountResult[]>;
  createTransfers(batch: readonly Transfer[]): Promise<CreateTransferResult[]>;
  lookupAccounts(ids: readonly bigint[]): Promise<Account[]>;
  lookupTransfers(ids: readonly bigint[]): Promise<Transfer[]>;
  getAccountTransfers(filter: AccountFilter): Promise<Transfer[]>;
  getAccountBalances(filter: AccountFilter): Promise<AccountBalance[]>;
  queryAccounts(filter: QueryFilter): Promise<Account[]>;
  queryTransfers(filter: QueryFilter): Promise<Transfer[]>;
  close(): Promise<void>;
}

/** An account with every field zero except those given (TigerBeetle requires all fields). */
export function account(fields: Partial<Account> & Pick<Account, 'id' | 'ledger' | 'code'>): Account {
  return {
    debits_pending: 0n, debits_posted: 0n, credits_pending: 0n, credits_posted: 0n,
    user_data_128: 0n, user_data_64: 0n, user_data_32: 0, reserved: 0, flags: 0, timestamp: 0n,
    ...fields,
  };
}

/** A transfer with every field zero except those given. */
export function transfer(fields: Partial<Transfer> & Pick<Transfer, 'id'>): Transfer {
  return {
    debit_account_id: 0n, credit_account_id: 0n, amount: 0n, pending_id: 0n,
    user_data_128: 0n, user_data_64: 0n, user_data_32: 0, timeout: 0, ledger: 0, code: 0, flags: 0,
    timestamp: 0n,
    ...fields,
  };
}

/** An account filter with defaults: both directions, no other filter, the largest page. */
export function accountFilter(fields: Partial<AccountFilter> & Pick<AccountFilter, 'account_id'>): AccountFilter {
  return {
    user_data_128: 0n, user_data_64: 0n, user_data_32: 0, code: 0, timestamp_min: 0n, timestamp_max: 0n,
    limit: batch_events_max, flags: AccountFilterFlags.debits | AccountFilterFlags.credits,
    ...fields,
  };
}

/** A query filter with defaults: no filter, the largest page, chronological order. */
export function queryFilter(fields: Partial<QueryFilter> = {}): QueryFilter {
  return {
    user_data_128: 0n, user_data_64: 0n, user_data_32: 0, ledger: 0, code: 0, timestamp_min: 0n, timestamp_max: 0n,
    limit: batch_events_max, flags: QueryFilterFlags.none,
    ...fields,
  };
}

/** The name of a transfer status number, for messages and reports. */
export function transferStatusName(status: CreateTransferStatus): string {
  return CreateTransferStatus[status] ?? `unknown(${String(status)})`;
}

export function accountStatusName(status: CreateAccountStatus): string {
  return CreateAccountStatus[status] ?? `unknown(${String(status)})`;
}
