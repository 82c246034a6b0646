/**
 * Reconciliation of a network's settlement file against the ledger. The ledger side is every
 * capture (a posted hold) debiting the network's receivable or stand-in exposure, and every
 * refund crediting its receivable, on the days the file covers; both sides are keyed by
 * (RRN, authorization code, SALE/REFUND). The report lists matched lines, lines missing on
 * either side, amount and currency mismatches, and totals per network, currency and day that
 * must agree to the minor unit.
 */
import { assert, CURRENCIES, currencyByNumeric } from '../core/index.js';
import { AccountKind, accountId } from './chart.js';
import { TransferCode, decodeAuthCode, decodeRrn } from './operations.js';
import { isIsoDate, type SettlementFile, type SettlementType } from './settlement.js';
import { TransferFlags, batch_events_max, queryFilter, type Ledger, type Transfer } from './types.js';

/** Pages of 8189 transfers read per day; a day with more is refused rather than read forever. */
export const recon_pages_per_day_max = 10_000;
const ns_per_day = 86_400_000_000_000n;

export type ReconStatus = 'matched' | 'missing_in_ledger' | 'missing_in_file' | 'amount_mismatch' | 'currency_mismatch';

export interface ReconLine {
  status: ReconStatus; rrn: string; auth_code: string; type: SettlementType; date: string;
  currency: string; file_amount_minor: bigint | null; ledger_amount_minor: bigint | null; ledger_currency: string | null;
  transfer_id: bigint | null;
}

export interface ReconTotal {
  network: string; currency: string; date: string; file_count: number; ledger_count: number;
  file_sales_minor: bigint; ledger_sales_minor: bigint; file_refunds_minor: bigint; ledger_refunds_minor: bigint; agree: boolean;
}

export interface ReconReport {
  network: string; date: string; file_id: string;
  summary: Record<ReconStatus, number>;
  exceptions: number;
  lines: ReconLine[];
  totals: ReconTotal[];
}

interface LedgerEntry { key: string; rrn: string; auth_code: string; type: SettlementType; currency: string; amount_minor: bigint; date: string; transfer_id: bigint }

export function dayRange(date: string): { min: bigint; max: bigint } {
  assert(isIsoDate(date), 'date must be YYYY-MM-DD');
  const min = BigInt(Date.parse(`${date}T00:00:00Z`)) * 1_000_000n;
  return { min, max: min + ns_per_day - 1n };
}

function dateOf(timestamp: bigint): string {
  return new Date(Number(timestamp / 1_000_000n)).toISOString().slice(0, 10);
}

/** Reads one day's transfers page by page (TigerBeetle's replies hold at most 8189). */
async function transfersOfDay(ledger: Ledger, date: string): Promise<Transfer[]> {
  const { min, max } = dayRange(date);
  const all: Transfer[] = [];
  let from = min;
  for (let page = 0; page < recon_pages_per_day_max; page += 1) {
    const batch = await ledger.queryTransfers(queryFilter({ timestamp_min: from, timestamp_max: max, limit: batch_events_max }));
    all.push(...batch);
    const last = batch[batch.length - 1];
    if (batch.length < batch_events_max || !last) return all;
    from = last.timestamp + 1n;
  }
  throw new Error(`more than ${recon_pages_per_day_max} pages of transfers on ${date}`);
}

/** Which network's accounts a transfer touches, per currency (ids derive from the chart). */
function networkAccounts(network: string): Map<bigint, { kind: AccountKind; currency: string }> {
  const accounts = new Map<bigint, { kind: AccountKind; currency: string }>();
  for (const { alpha } of CURRENCIES) {
    for (const kind of [AccountKind.settlement_receivable, AccountKind.standin_exposure]) {
      accounts.set(accountId(kind, alpha, network), { kind, currency: alpha });
    }
  }
  return accounts;
}

function toEntry(t: Transfer, accounts: Map<bigint, { kind: AccountKind; currency: string }>): LedgerEntry | null {
  const post = (t.flags & TransferFlags.post_pending_transfer) !== 0;
  let type: SettlementType | null = null;
  if (post && t.code === TransferCode.authorization_hold && t.amount > 0n && accounts.has(t.debit_account_id)) type = 'SALE';
  const receivable = accounts.get(t.credit_account_id);
  if (t.code === TransferCode.refund && receivable?.kind === AccountKind.settlement_receivable) type = 'REFUND';
  if (type === null) return null;
  const rrn = decodeRrn(t.user_data_64);
  const auth_code = decodeAuthCode(t.user_data_32);
  return { key: `${rrn}|${auth_code}|${type}`, rrn, auth_code, type, currency: currencyByNumeric(t.ledger).alpha,
    amount_minor: t.amount, date: dateOf(t.timestamp), transfer_id: t.id };
}

export async function reconcile(ledger: Ledger, file: SettlementFile, date: string): Promise<ReconReport> {
  const days = [...new Set([date, ...file.transactions.map((t) => t.date)])].sort();
  const accounts = networkAccounts(file.network);
  const entries: LedgerEntry[] = [];
  for (const day of days) {
    for (const t of await transfersOfDay(ledger, day)) {
      const entry = toEntry(t, accounts);
      if (entry) entries.push(entry);
    }
  }
  const lines = matchLines(file, entries);
  const totals = computeTotals(file, entries, days);
  const summary: Record<ReconStatus, number> = { matched: 0, missing_in_ledger: 0, missing_in_file: 0, amount_mismatch: 0, currency_mismatch: 0 };
  for (const line of lines) summary[line.status] += 1;
  const exceptions = lines.length - summary.matched + totals.filter((t) => !t.agree).length;
  return { network: file.network, date, file_id: file.file_id, summary, exceptions, lines, totals };
}

function matchLines(file: SettlementFile, entries: LedgerEntry[]): ReconLine[] {
  const byKey = new Map<string, LedgerEntry[]>();
  for (const e of entries) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e]);
  const used = new Set<LedgerEntry>();
  const lines: ReconLine[] = [];
  for (const t of file.transactions) {
    const candidates = (byKey.get(`${t.rrn}|${t.auth_code}|${t.type}`) ?? []).filter((e) => !used.has(e));
    const match = candidates.find((e) => e.currency === t.currency) ?? candidates[0];
    const base = { rrn: t.rrn, auth_code: t.auth_code, type: t.type, date: t.date, currency: t.currency, file_amount_minor: t.amount_minor };
    if (!match) { lines.push({ ...base, status: 'missing_in_ledger', ledger_amount_minor: null, ledger_currency: null, transfer_id: null }); continue; }
    used.add(match);
    const status: ReconStatus = match.currency !== t.currency ? 'currency_mismatch' : match.amount_minor !== t.amount_minor ? 'amount_mismatch' : 'matched';
    lines.push({ ...base, status, ledger_amount_minor: match.amount_minor, ledger_currency: match.currency, transfer_id: match.transfer_id });
  }
  for (const e of entries) {
    if (used.has(e)) continue;
    lines.push({ status: 'missing_in_file', rrn: e.rrn, auth_code: e.auth_code, type: e.type, date: e.date, currency: e.currency,
      file_amount_minor: null, ledger_amount_minor: e.amount_minor, ledger_currency: e.currency, transfer_id: e.transfer_id });
  }
  return lines;
}

function computeTotals(file: SettlementFile, entries: LedgerEntry[], days: string[]): ReconTotal[] {
  const totals = new Map<string, ReconTotal>();
  const get = (currency: string, date: string): ReconTotal => {
    const key = `${currency}|${date}`;
    const existing = totals.get(key);
    if (existing) return existing;
    const fresh: ReconTotal = { network: file.network, currency, date, file_count: 0, ledger_count: 0, file_sales_minor: 0n,
      ledger_sales_minor: 0n, file_refunds_minor: 0n, ledger_refunds_minor: 0n, agree: true };
    totals.set(key, fresh);
    return fresh;
  };
  for (const t of file.transactions) {
    const total = get(t.currency, t.date);
    total.file_count += 1;
    if (t.type === 'SALE') total.file_sales_minor += t.amount_minor; else total.file_refunds_minor += t.amount_minor;
  }
  for (const e of entries) {
    if (!days.includes(e.date)) continue;
    const total = get(e.currency, e.date);
    total.ledger_count += 1;
    if (e.type === 'SALE') total.ledger_sales_minor += e.amount_minor; else total.ledger_refunds_minor += e.amount_minor;
  }
  for (const total of totals.values()) {
    total.agree = total.file_count === total.ledger_count && total.file_sales_minor === total.ledger_sales_minor &&
      total.file_refunds_minor === total.ledger_refunds_minor;
  }
  return [...totals.values()].sort((a, b) => (a.currency + a.date).localeCompare(b.currency + b.date));
}

/** The report as JSON text (bigints as decimal strings, ids as hex). */
export function reconReportJson(report: ReconReport): string {
  return JSON.stringify(report, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value), 2) + '\n';
}

const csv_columns = ['record', 'status', 'network', 'currency', 'date', 'rrn', 'auth_code', 'type', 'file_amount_minor',
  'ledger_amount_minor', 'ledger_currency', 'transfer_id'] as const;

function csvCell(value: string | number | bigint | null): string {
  const text = value === null ? '' : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The report as CSV: one row per line, then one row per total (file/ledger amounts are net of refunds). */
export function reconReportCsv(report: ReconReport): string {
  const rows: string[] = [csv_columns.join(',')];
  for (const line of report.lines) {
    rows.push([
      'line', line.status, report.network, line.currency, line.date, line.rrn, line.auth_code, line.type, line.file_amount_minor,
      line.ledger_amount_minor, line.ledger_currency, line.transfer_id === null ? null : line.transfer_id.toString(16),
    ].map(csvCell).join(','));
  }
  for (const total of report.totals) {
    rows.push([
      'total', total.agree ? 'agree' : 'disagree', total.network, total.currency, total.date, '', '', '',
      total.file_sales_minor - total.file_refunds_minor, total.ledger_sales_minor - total.ledger_refunds_minor, total.currency, '',
    ].map(csvCell).join(','));
  }
  return rows.join('\n') + '\n';
}
