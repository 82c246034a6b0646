/**
 * ISO 4217 currencies the switch accepts: alphabetic code, numeric code (ISO 8583 DE 49 and
 * the ledger number) and minor-unit exponent. Money is always integer minor units (bigint).
 */
import { PalmswitchError } from './errors.js';

export interface Currency {
  readonly alpha: string;
  readonly numeric: number;
  readonly exponent: number;
}

const CURRENCY_TABLE: readonly Currency[] = [
  { alpha: 'AED', numeric: 784, exponent: 2 }, { alpha: 'AUD', numeric: 36, exponent: 2 },
  { alpha: 'BHD', numeric: 48, exponent: 3 }, { alpha: 'BRL', numeric: 986, exponent: 2 },
  { alpha: 'CAD', numeric: 124, exponent: 2 }, { alpha: 'CHF', numeric: 756, exponent: 2 },
  { alpha: 'CLP', numeric: 152, exponent: 0 }, { alpha: 'CNY', numeric: 156, exponent: 2 },
  { alpha: 'CZK', numeric: 203, exponent: 2 }, { alpha: 'DKK', numeric: 208, exponent: 2 },
  { alpha: 'EUR', numeric: 978, exponent: 2 }, { alpha: 'GBP', numeric: 826, exponent: 2 },
  { alpha: 'HKD', numeric: 344, exponent: 2 }, { alpha: 'INR', numeric: 356, exponent: 2 },
  { alpha: 'JOD', numeric: 400, exponent: 3 }, { alpha: 'JPY', numeric: 392, exponent: 0 },
  { alpha: 'KRW', numeric: 410, exponent: 0 }, { alpha: 'KWD', numeric: 414, exponent: 3 },
  { alpha: 'KZT', numeric: 398, exponent: 2 }, { alpha: 'MXN', numeric: 484, exponent: 2 },
  { alpha: 'NOK', numeric: 578, exponent: 2 }, { alpha: 'NZD', numeric: 554, exponent: 2 },
  { alpha: 'PLN', numeric: 985, exponent: 2 }, { alpha: 'SAR', numeric: 682, exponent: 2 },
  { alpha: 'SEK', numeric: 752, exponent: 2 }, { alpha: 'SGD', numeric: 702, exponent: 2 },
  { alpha: 'TRY', numeric: 949, exponent: 2 }, { alpha: 'USD', numeric: 840, exponent: 2 },
  { alpha: 'ZAR', numeric: 710, exponent: 2 },
];

const BY_ALPHA = new Map(CURRENCY_TABLE.map((c) => [c.alpha, c]));
const BY_NUMERIC = new Map(CURRENCY_TABLE.map((c) => [c.numeric, c]));

export const CURRENCIES: readonly Currency[] = CURRENCY_TABLE;

export function currencyByAlpha(alpha: string): Currency {
  const currency = BY_ALPHA.get(alpha);
  if (!currency) throw new PalmswitchError('currency_unknown', `unknown ISO 4217 currency ${JSON.stringify(alpha)}`);
  return currency;
}

export function currencyByNumeric(numeric: number): Currency {
  const currency = BY_NUMERIC.get(numeric);
  if (!currency) throw new PalmswitchError('currency_unknown', `unknown ISO 4217 numeric currency ${numeric}`);
  return currency;
}

/** An amount of money: integer minor units and its currency. */
export interface Money {
  readonly amount_minor: bigint;
  readonly currency: string;
}

/** Formats minor units for people: 12345n EUR -> "123.45 EUR". Never used for arithmetic. */
export function formatMoney(money: Money): string {
  const { exponent } = currencyByAlpha(money.currency);
  const negative = money.amount_minor < 0n;
  const digits = (negative ? -money.amount_minor : money.amount_minor).toString().padStart(exponent + 1, '0');
  const whole = exponent === 0 ? digits : digits.slice(0, -exponent);
  const fraction = exponent === 0 ? '' : '.' + digits.slice(-exponent);
  return `${negative ? '-' : ''}${whole}${fraction} ${money.currency}`;
}
