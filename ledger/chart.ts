/**
 * The chart of accounts for acquiring palm payments. One set per currency: the ledger number
 * is the ISO 4217 numeric code, so transfers can never mix currencies. Account ids derive from
 * (kind, currency, owner) by hashing, so every process computes the same ids without a lookup
 * table; the owner (network or merchant name, <= 16 ASCII characters) is kept readable in
 * `user_data_128` for the balance sheet.
 */
import { createHash } from 'node:crypto';
import { assert, currencyByAlpha, PalmswitchError } from '../core/index.js';
import { AccountFlags, account, u128_max, type Account } from './types.js';

/** Account kinds; the value is the account's `code`. */
export const AccountKind = {
  /** Asset: what a card network owes us for cleared sales (debit-normal). */
  settlement_receivable: 1,
  /** Liability: what we owe a merchant (credit-normal); never paid out beyond its credits. */
  merchant_payable: 2,
  /** Income: the merchant service fee we keep (credit-normal). */
  fee_revenue: 3,
  /** Asset: our account at the settlement bank (debit-normal). */
  settlement_bank: 4,
  /** Asset at risk: stand-in approvals the network has not yet accepted (debit-normal). */
  standin_exposure: 5,
  /** Expense: interchange the network deducts at settlement (debit-normal). */
  interchange_expense: 6,
} as const;
export type AccountKind = (typeof AccountKind)[keyof typeof AccountKind];

export const account_kind_names: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(AccountKind).map(([name, code]) => [code, name]),
);

/** The owner of house accounts (fee revenue, settlement bank) that belong to no network or merchant. */
export const house_owner = 'house';
const owner_length_max = 16;
const owner_pattern = /^[A-Za-z0-9._-]{1,16}$/;

export class ChartError extends PalmswitchError {}

export function encodeOwner(owner: string): bigint {
  if (!owner_pattern.test(owner)) {
    throw new ChartError('chart_owner_invalid', `owner must be 1..${owner_length_max} characters of [A-Za-z0-9._-], got ${JSON.stringify(owner)}`);
  }
  let value = 0n;
  for (let i = 0; i < owner_length_max; i += 1) value = (value << 8n) | BigInt(i < owner.length ? owner.charCodeAt(i) : 0);
  return value;
}

export function decodeOwner(value: bigint): string {
  let text = '';
  for (let shift = 120n; shift >= 0n; shift -= 8n) {
    const code = Number((value >> shift) & 0xffn);
    if (code !== 0) text += String.fromCharCode(code);
  }
  return text;
}

/** A u128 from a domain-separated SHA-256 of its parts; never 0 and never 2^128-1 (both reserved). */
export function hashToU128(domain: string, parts: ReadonlyArray<string | bigint | number>): bigint {
  const hash = createHash('sha256').update(domain);
  for (const part of parts) hash.update('\u0000').update(String(part));
  const value = BigInt('0x' + hash.digest('hex').slice(0, 32));
  assert(value !== 0n && value !== u128_max, 'hashed id hit a reserved value');
  return value;
}

export function ledgerOf(currency: string): number {
  return currencyByAlpha(currency).numeric;
}

export function accountId(kind: AccountKind, currency: string, owner: string): bigint {
  encodeOwner(owner);
  return hashToU128('palmswitch/account/v1', [kind, ledgerOf(currency), owner]);
}

const kind_flags: Readonly<Record<AccountKind, number>> = {
  [AccountKind.settlement_receivable]: AccountFlags.none,
  [AccountKind.merchant_payable]: AccountFlags.debits_must_not_exceed_credits,
  [AccountKind.fee_revenue]: AccountFlags.debits_must_not_exceed_credits,
  [AccountKind.settlement_bank]: AccountFlags.history,
  [AccountKind.standin_exposure]: AccountFlags.none,
  [AccountKind.interchange_expense]: AccountFlags.none,
};

export function chartAccount(kind: AccountKind, currency: string, owner: string): Account {
  return account({
    id: accountId(kind, currency, owner), ledger: ledgerOf(currency), code: kind,
    user_data_128: encodeOwner(owner), flags: kind_flags[kind],
  });
}

export interface ChartSpec {
  currencies: readonly string[];
  networks: readonly string[];
  merchants: readonly string[];
}

/** Every account of the chart for the given currencies, networks and merchants. */
export function chartAccounts(spec: ChartSpec): Account[] {
  const accounts: Account[] = [];
  for (const currency of spec.currencies) {
    accounts.push(chartAccount(AccountKind.fee_revenue, currency, house_owner));
    accounts.push(chartAccount(AccountKind.settlement_bank, currency, house_owner));
    for (const network of spec.networks) {
      accounts.push(chartAccount(AccountKind.settlement_receivable, currency, network));
      accounts.push(chartAccount(AccountKind.standin_exposure, currency, network));
      accounts.push(chartAccount(AccountKind.interchange_expense, currency, network));
    }
    for (const merchant of spec.merchants) accounts.push(chartAccount(AccountKind.merchant_payable, currency, merchant));
  }
  return accounts;
}
