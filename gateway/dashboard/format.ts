/**
 * What the dashboard shows, made safe to show: card numbers cut to their last four digits
 * (stricter than the codec's BIN-and-last-four masking, because a screen is shared), money
 * from bigint minor units through core's formatMoney, amounts typed by people parsed to minor
 * units without floats, and CSV cells that a spreadsheet will not run as formulas.
 */
import { currencyByAlpha, formatMoney } from '../../core/index.js';
import type { CurrencySheet } from '../../ledger/index.js';
import type { IsoMessageView } from '../pipeline/contract.js';

/** ISO 8583 data elements that carry a PAN or track data (2 PAN, 34 extended PAN, 35/36 track 2/3, 45 track 1). */
export const card_fields = new Set(['2', '34', '35', '36', '45']);
/** Runs of 13 or more digits or asterisks (masked or not) are treated as card numbers wherever they appear. */
const pan_like = /[0-9*]{13,}/g;
/** People type amounts; more characters than this are not an amount. */
export const amount_text_chars_max = 24;

/** `476173******0010` or `4761739001010010` -> `************0010`. */
export function lastFourOnly(value: string): string {
  const digits = value.replace(/[^0-9*]/g, '');
  const last = digits.slice(-4);
  if (!/^\d{4}$/.test(last)) return '*'.repeat(Math.max(value.length, 4));
  return '*'.repeat(Math.max(0, digits.length - 4)) + last;
}

/**
 * Masks a field value for display. Card fields are cut to the last four; in every other field
 * a run of 13 or more digits or asterisks (a PAN that strayed, or the codec's partial masking)
 * is cut too. Twelve-digit runs are left alone elsewhere: DE 4 amounts and DE 37 RRNs are 12.
 */
export function maskFieldValue(field: string, value: string): string {
  if (card_fields.has(field.split('.')[0] ?? field)) return lastFourOnly(value);
  return value.replace(pan_like, (run) => lastFourOnly(run));
}

export function maskExchange(exchange: readonly IsoMessageView[]): IsoMessageView[] {
  return exchange.map((message) => ({
    direction: message.direction, mti: message.mti,
    fields: message.fields.map((f) => ({ field: f.field, name: f.name, value: maskFieldValue(f.field, f.value) })),
  }));
}

/** formatMoney for known currencies; a ledger that is not a currency shows its raw minor units. */
export function money(amount_minor: bigint, currency: string): string {
  try {
    return formatMoney({ amount_minor, currency });
  } catch {
    return `${amount_minor.toString()} (minor units, ${currency})`;
  }
}

/**
 * "12.5" EUR -> 1250n; "12" JPY -> 12n. Refuses more decimals than the currency has, signs,
 * exponents and anything that is not plain digits, so no float ever touches an amount.
 */
export function parseAmount(text: string, currency: string): bigint | undefined {
  const trimmed = text.trim();
  if (trimmed.length === 0 || trimmed.length > amount_text_chars_max) return undefined;
  const { exponent } = currencyByAlpha(currency);
  const match = /^(\d+)(?:\.(\d*))?$/.exec(trimmed);
  if (!match) return undefined;
  const whole = match[1] ?? '0';
  const fraction = match[2] ?? '';
  if (fraction.length > exponent) return undefined;
  return BigInt(whole + fraction.padEnd(exponent, '0'));
}

/** One CSV cell; text that a spreadsheet would evaluate (=, +, -, @) is quoted with a leading apostrophe. */
export function csvCell(value: string | number | bigint | boolean): string {
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const balance_columns = ['currency', 'account_id', 'kind', 'owner', 'debits_posted_minor', 'credits_posted_minor', 'debits_pending_minor', 'credits_pending_minor'] as const;

/** Every account of every currency, then one total row per currency saying whether it balances. */
export function balancesCsv(sheets: readonly CurrencySheet[]): string {
  const rows: string[] = [['record', ...balance_columns, 'balanced'].join(',')];
  for (const sheet of sheets) {
    for (const row of sheet.rows) {
      rows.push(['account', sheet.currency, row.id.toString(16).padStart(32, '0'), row.kind, row.owner, row.debits_posted, row.credits_posted,
        row.debits_pending, row.credits_pending, ''].map(csvCell).join(','));
    }
    rows.push(['total', sheet.currency, '', '', '', sheet.debits_posted, sheet.credits_posted, sheet.debits_pending, sheet.credits_pending,
      sheet.balanced].map(csvCell).join(','));
  }
  return rows.join('\n') + '\n';
}

/** u128 ids are shown as 32 hex digits, as the API renders them. */
export function hexId(id: bigint): string {
  return id.toString(16).padStart(32, '0');
}
