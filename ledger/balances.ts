/**
 * The balance sheet: every account per currency with its posted and pending balances, read
 * page by page from the ledger. Double entry means the debits and credits of each currency
 * always add up to the same total; the sheet checks that rather than assuming it.
 */
import { currencyByNumeric } from '../core/index.js';
import { account_kind_names, decodeOwner } from './chart.js';
import { batch_events_max, queryFilter, type Account, type Ledger } from './types.js';

export const balance_sheet_pages_max = 1_000;

export interface BalanceRow {
  id: bigint; kind: string; owner: string;
  debits_posted: bigint; credits_posted: bigint; debits_pending: bigint; credits_pending: bigint;
}

export interface CurrencySheet {
  ledger: number; currency: string; rows: BalanceRow[];
  debits_posted: bigint; credits_posted: bigint; debits_pending: bigint; credits_pending: bigint; balanced: boolean;
}

async function allAccounts(ledger: Ledger): Promise<Account[]> {
  const accounts: Account[] = [];
  let from = 0n;
  for (let page = 0; page < balance_sheet_pages_max; page += 1) {
    const batch = await ledger.queryAccounts(queryFilter({ timestamp_min: from, limit: batch_events_max }));
    accounts.push(...batch);
    const last = batch[batch.length - 1];
    if (batch.length < batch_events_max || !last) return accounts;
    from = last.timestamp + 1n;
  }
  throw new Error(`more than ${balance_sheet_pages_max} pages of accounts`);
}

function currencyName(ledgerNumber: number): string {
  try { return currencyByNumeric(ledgerNumber).alpha; } catch { return `ledger ${ledgerNumber}`; }
}

export async function balanceSheet(ledger: Ledger): Promise<CurrencySheet[]> {
  const sheets = new Map<number, CurrencySheet>();
  for (const a of await allAccounts(ledger)) {
    const sheet = sheets.get(a.ledger) ?? { ledger: a.ledger, currency: currencyName(a.ledger), rows: [], debits_posted: 0n,
      credits_posted: 0n, debits_pending: 0n, credits_pending: 0n, balanced: true };
    sheet.rows.push({ id: a.id, kind: account_kind_names[a.code] ?? `code ${a.code}`, owner: decodeOwner(a.user_data_128),
      debits_posted: a.debits_posted, credits_posted: a.credits_posted, debits_pending: a.debits_pending, credits_pending: a.credits_pending });
    sheet.debits_posted += a.debits_posted;
    sheet.credits_posted += a.credits_posted;
    sheet.debits_pending += a.debits_pending;
    sheet.credits_pending += a.credits_pending;
    sheets.set(a.ledger, sheet);
  }
  for (const sheet of sheets.values()) {
    sheet.balanced = sheet.debits_posted === sheet.credits_posted && sheet.debits_pending === sheet.credits_pending;
  }
  return [...sheets.values()].sort((a, b) => a.currency.localeCompare(b.currency));
}
