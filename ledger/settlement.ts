/**
 * The settlement file a card network sends each day: one line per cleared transaction and a
 * totals trailer per currency, in a strict pipe-separated text format (version 1):
 *
 *   HDR|PSSF|1|<network>|<settlement date YYYY-MM-DD>|<file id>
 *   TXN|<rrn: 12 digits>|<auth code: 6 of [0-9A-Z]>|<SALE or REFUND>|<amount, minor units>|<currency, ISO 4217 alpha>|<date YYYY-MM-DD>|<interchange fee, minor units>
 *   TOT|<currency>|<transaction count>|<sales total>|<refunds total>|<interchange total>   (one per currency, sorted)
 *   END|<transaction count>
 *
 * Every line ends with "\n". The parser is all or nothing: it returns a whole file or throws a
 * SettlementFileError listing each problem with its line number, so a bad file is never
 * half-applied. Totals are checked to the minor unit.
 */
import { currencyByAlpha, PalmswitchError } from '../core/index.js';

export const settlement_format_tag = 'PSSF';
export const settlement_format_version = 1;
/** Bounds on what a parser accepts from outside. */
export const settlement_file_bytes_max = 64 * 1024 * 1024;
export const settlement_line_bytes_max = 256;
export const settlement_transactions_max = 1_000_000;
/** Problems reported per file; past this the file is clearly not worth reading further. */
export const settlement_problems_max = 100;
const amount_digits_max = 18;

export type SettlementType = 'SALE' | 'REFUND';

export interface SettlementTransaction {
  rrn: string; auth_code: string; type: SettlementType; amount_minor: bigint; currency: string; date: string; interchange_minor: bigint;
}

export interface SettlementTotals {
  currency: string; count: number; sales_minor: bigint; refunds_minor: bigint; interchange_minor: bigint;
}

export interface SettlementFile {
  network: string; date: string; file_id: string;
  transactions: SettlementTransaction[];
  totals: SettlementTotals[];
}

export interface SettlementProblem { line: number; code: string; message: string }

export class SettlementFileError extends PalmswitchError {
  constructor(readonly problems: readonly SettlementProblem[]) {
    super('settlement_file_invalid', `settlement file rejected: ${problems.slice(0, 5).map((p) => `line ${p.line}: ${p.message}`).join('; ')}${problems.length > 5 ? ` (+${problems.length - 5} more)` : ''}`);
  }
}

const network_pattern = /^[A-Za-z0-9._-]{1,16}$/;
const file_id_pattern = /^[A-Za-z0-9._-]{1,32}$/;
const rrn_pattern = /^\d{12}$/;
const auth_code_pattern = /^[0-9A-Z]{6}$/;
const amount_pattern = new RegExp(`^(0|[1-9]\\d{0,${amount_digits_max - 1}})$`);
const count_pattern = /^(0|[1-9]\d{0,6})$/;

export function isIsoDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

/** Computes the per-currency totals of a set of transactions, sorted by currency. */
export function settlementTotals(transactions: readonly SettlementTransaction[]): SettlementTotals[] {
  const byCurrency = new Map<string, SettlementTotals>();
  for (const t of transactions) {
    const totals = byCurrency.get(t.currency) ?? { currency: t.currency, count: 0, sales_minor: 0n, refunds_minor: 0n, interchange_minor: 0n };
    totals.count += 1;
    if (t.type === 'SALE') totals.sales_minor += t.amount_minor; else totals.refunds_minor += t.amount_minor;
    totals.interchange_minor += t.interchange_minor;
    byCurrency.set(t.currency, totals);
  }
  return [...byCurrency.values()].sort((a, b) => a.currency.localeCompare(b.currency));
}

/** Writes a settlement file (the network simulator uses this); totals are computed here. */
export function writeSettlementFile(file: Omit<SettlementFile, 'totals'>): string {
  const problems = [
    ...headerProblems(file.network, file.date, file.file_id, 1),
    ...file.transactions.flatMap((t, i) => transactionProblems(t, i + 2)),
  ];
  if (problems.length > 0) throw new SettlementFileError(problems);
  const lines = [`HDR|${settlement_format_tag}|${settlement_format_version}|${file.network}|${file.date}|${file.file_id}`];
  for (const t of file.transactions) {
    lines.push(`TXN|${t.rrn}|${t.auth_code}|${t.type}|${t.amount_minor}|${t.currency}|${t.date}|${t.interchange_minor}`);
  }
  for (const t of settlementTotals(file.transactions)) {
    lines.push(`TOT|${t.currency}|${t.count}|${t.sales_minor}|${t.refunds_minor}|${t.interchange_minor}`);
  }
  lines.push(`END|${file.transactions.length}`);
  return lines.join('\n') + '\n';
}

function headerProblems(network: string, date: string, file_id: string, line: number): SettlementProblem[] {
  const problems: SettlementProblem[] = [];
  if (!network_pattern.test(network)) problems.push({ line, code: 'network_invalid', message: 'network must be 1..16 of [A-Za-z0-9._-]' });
  if (!isIsoDate(date)) problems.push({ line, code: 'date_invalid', message: `settlement date ${JSON.stringify(date)} is not YYYY-MM-DD` });
  if (!file_id_pattern.test(file_id)) problems.push({ line, code: 'file_id_invalid', message: 'file id must be 1..32 of [A-Za-z0-9._-]' });
  return problems;
}

function transactionProblems(t: SettlementTransaction, line: number): SettlementProblem[] {
  const problems: SettlementProblem[] = [];
  const add = (code: string, message: string): void => { problems.push({ line, code, message }); };
  if (!rrn_pattern.test(t.rrn)) add('rrn_invalid', 'RRN must be 12 digits');
  if (!auth_code_pattern.test(t.auth_code)) add('auth_code_invalid', 'authorization code must be 6 of [0-9A-Z]');
  if (t.type !== 'SALE' && t.type !== 'REFUND') add('type_invalid', 'type must be SALE or REFUND');
  if (t.amount_minor <= 0n || t.amount_minor.toString().length > amount_digits_max) add('amount_invalid', 'amount must be 1..18 digits of minor units');
  if (t.interchange_minor < 0n || t.interchange_minor.toString().length > amount_digits_max) add('interchange_invalid', 'interchange must be 0..18 digits');
  if (!isKnownCurrency(t.currency)) add('currency_invalid', `unknown currency ${JSON.stringify(t.currency)}`);
  if (!isIsoDate(t.date)) add('date_invalid', `date ${JSON.stringify(t.date)} is not YYYY-MM-DD`);
  return problems;
}

function isKnownCurrency(alpha: string): boolean {
  try { currencyByAlpha(alpha); return true; } catch { return false; }
}

class Problems {
  readonly list: SettlementProblem[] = [];
  add(line: number, code: string, message: string): void {
    if (this.list.length < settlement_problems_max) this.list.push({ line, code, message });
  }
  get full(): boolean { return this.list.length >= settlement_problems_max; }
}

/** Parses a settlement file; throws SettlementFileError with every problem found (line-numbered). */
export function parseSettlementFile(text: string): SettlementFile {
  const problems = new Problems();
  if (Buffer.byteLength(text, 'utf8') > settlement_file_bytes_max) {
    problems.add(1, 'file_too_large', `file is larger than ${settlement_file_bytes_max} bytes`);
    throw new SettlementFileError(problems.list);
  }
  const lines = text.split('\n');
  const last = lines.pop();
  // A last line without its newline was cut short; it is reported, never parsed.
  if (last !== '') problems.add(lines.length + 1, 'truncated', 'the last line has no newline (truncated?)');
  const state = new ParseState();
  lines.forEach((line, index) => { if (!problems.full) parseLine(line, index + 1, state, problems); });
  finish(state, lines.length, problems);
  if (problems.list.length > 0) throw new SettlementFileError(problems.list);
  const { header } = state;
  if (!header) throw new SettlementFileError([{ line: 1, code: 'header_missing', message: 'no header' }]);
  return { ...header, transactions: state.transactions, totals: state.totals };
}

class ParseState {
  header: { network: string; date: string; file_id: string } | null = null;
  transactions: SettlementTransaction[] = [];
  totals: SettlementTotals[] = [];
  totalsLines = new Map<string, number>();
  endLine = 0;
  endCount = -1;
  keys = new Set<string>();
}

function parseLine(line: string, number: number, state: ParseState, problems: Problems): void {
  if (line.length > settlement_line_bytes_max) { problems.add(number, 'line_too_long', `line longer than ${settlement_line_bytes_max} bytes`); return; }
  if (line.endsWith('\r')) { problems.add(number, 'line_ending', 'lines end with \\n, not \\r\\n'); return; }
  const fields = line.split('|');
  const tag = fields[0];
  if (state.endLine !== 0) { problems.add(number, 'after_end', 'content after the END line'); return; }
  if (number === 1 && tag !== 'HDR') { problems.add(number, 'header_missing', 'the first line must be the HDR line'); return; }
  if (tag === 'HDR') parseHeader(fields, number, state, problems);
  else if (tag === 'TXN') parseTransaction(fields, number, state, problems);
  else if (tag === 'TOT') parseTotals(fields, number, state, problems);
  else if (tag === 'END') parseEnd(fields, number, state, problems);
  else problems.add(number, 'record_unknown', `unknown record type ${JSON.stringify(tag?.slice(0, 8))}`);
}

function expectFields(fields: string[], count: number, number: number, problems: Problems): boolean {
  if (fields.length === count) return true;
  problems.add(number, 'field_count', `${fields[0]} line needs ${count} fields, has ${fields.length}`);
  return false;
}

function parseHeader(fields: string[], number: number, state: ParseState, problems: Problems): void {
  if (number !== 1) { problems.add(number, 'header_repeated', 'HDR only on the first line'); return; }
  if (!expectFields(fields, 6, number, problems)) return;
  const [, tag, version, network = '', date = '', file_id = ''] = fields;
  if (tag !== settlement_format_tag) { problems.add(number, 'format_unknown', `format tag must be ${settlement_format_tag}`); return; }
  if (version !== String(settlement_format_version)) { problems.add(number, 'version_unsupported', `version ${version} is not supported`); return; }
  const headerIssues = headerProblems(network, date, file_id, number);
  for (const p of headerIssues) problems.add(p.line, p.code, p.message);
  if (headerIssues.length === 0) state.header = { network, date, file_id };
}

function parseAmount(text: string, allowZero: boolean): bigint | null {
  if (!amount_pattern.test(text)) return null;
  const value = BigInt(text);
  return value === 0n && !allowZero ? null : value;
}

function parseTransaction(fields: string[], number: number, state: ParseState, problems: Problems): void {
  if (state.totals.length > 0) { problems.add(number, 'order', 'TXN lines must come before TOT lines'); return; }
  if (state.transactions.length >= settlement_transactions_max) { problems.add(number, 'too_many', `more than ${settlement_transactions_max} transactions`); return; }
  if (!expectFields(fields, 8, number, problems)) return;
  const [, rrn = '', auth_code = '', type = '', amountText = '', currency = '', date = '', interchangeText = ''] = fields;
  const amount = parseAmount(amountText, false);
  const interchange = parseAmount(interchangeText, true);
  const t: SettlementTransaction = { rrn, auth_code, type: type as SettlementType, amount_minor: amount ?? 0n, currency, date, interchange_minor: interchange ?? -1n };
  const issues = transactionProblems(t, number);
  for (const p of issues) problems.add(p.line, p.code, p.message);
  if (issues.length > 0) return;
  const key = `${rrn}|${auth_code}|${type}`;
  if (state.keys.has(key)) { problems.add(number, 'duplicate', `transaction ${rrn}/${auth_code}/${type} appears twice`); return; }
  state.keys.add(key);
  state.transactions.push(t);
}

function parseTotals(fields: string[], number: number, state: ParseState, problems: Problems): void {
  if (!expectFields(fields, 6, number, problems)) return;
  const [, currency = '', countText = '', sales = '', refunds = '', interchange = ''] = fields;
  const values = [parseAmount(sales, true), parseAmount(refunds, true), parseAmount(interchange, true)];
  if (!isKnownCurrency(currency) || !count_pattern.test(countText) || values.some((v) => v === null)) {
    problems.add(number, 'totals_invalid', 'TOT needs a known currency, a count and three amounts of minor units');
    return;
  }
  if (state.totalsLines.has(currency)) { problems.add(number, 'totals_repeated', `second TOT line for ${currency}`); return; }
  state.totalsLines.set(currency, number);
  state.totals.push({ currency, count: Number(countText), sales_minor: values[0] ?? 0n, refunds_minor: values[1] ?? 0n, interchange_minor: values[2] ?? 0n });
}

function parseEnd(fields: string[], number: number, state: ParseState, problems: Problems): void {
  state.endLine = number;
  if (!expectFields(fields, 2, number, problems)) return;
  const countText = fields[1] ?? '';
  if (!count_pattern.test(countText)) { problems.add(number, 'end_invalid', 'END needs the transaction count'); return; }
  state.endCount = Number(countText);
}

/** Whole-file checks: the trailer exists and every total agrees with the lines to the minor unit. */
function finish(state: ParseState, lineCount: number, problems: Problems): void {
  if (problems.full) return;
  if (state.endLine === 0) {
    if (!problems.list.some((p) => p.code === 'truncated')) problems.add(lineCount + 1, 'truncated', 'file ends before the END line (truncated?)');
    return;
  }
  // Totals over a file with bad lines would only repeat those problems as mismatches.
  if (problems.list.length > 0) return;
  if (state.endCount >= 0 && state.endCount !== state.transactions.length) {
    problems.add(state.endLine, 'count_mismatch', `END says ${state.endCount} transactions, the file has ${state.transactions.length}`);
  }
  const computed = settlementTotals(state.transactions);
  for (const expected of computed) {
    const line = state.totalsLines.get(expected.currency);
    const stated = state.totals.find((t) => t.currency === expected.currency);
    if (line === undefined || !stated) { problems.add(state.endLine, 'totals_missing', `no TOT line for ${expected.currency}`); continue; }
    for (const field of ['count', 'sales_minor', 'refunds_minor', 'interchange_minor'] as const) {
      if (stated[field] !== expected[field]) {
        problems.add(line, 'totals_mismatch', `${expected.currency} ${field}: trailer says ${stated[field]}, lines add up to ${expected[field]}`);
      }
    }
  }
  for (const stated of state.totals) {
    if (!computed.some((c) => c.currency === stated.currency)) {
      problems.add(state.totalsLines.get(stated.currency) ?? state.endLine, 'totals_unexpected', `TOT for ${stated.currency}, which has no transactions`);
    }
  }
}
