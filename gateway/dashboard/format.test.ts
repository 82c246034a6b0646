/**
 * What the dashboard shows: card numbers never with more than their last four digits, amounts
 * typed by people parsed exactly to minor units, CSV cells a spreadsheet will not execute.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatMoney, maskPan } from '../../core/index.js';
import type { CurrencySheet } from '../../ledger/index.js';
import { balancesCsv, csvCell, lastFourOnly, maskExchange, maskFieldValue, parseAmount } from './format.js';

const pan = fc.integer({ min: 13, max: 19 }).chain((length) => fc.stringMatching(new RegExp(`^[0-9]{${length}}$`)));

describe('dashboard masking', () => {
  it('cuts PANs, masked or not, to their last four digits in card fields', () => {
    expect(lastFourOnly('4761739001010010')).toBe('************0010');
    expect(maskFieldValue('2', '476173******0010')).toBe('************0010');
    expect(maskFieldValue('35', '4761739001010010D29121010000')).toBe('*'.repeat(23) + '0000');
    fc.assert(fc.property(pan, (digits) => {
      const shown = maskFieldValue('2', maskPan(digits));
      expect(shown).toBe('*'.repeat(digits.length - 4) + digits.slice(-4));
    }));
  });

  it('cuts a PAN that strays into any other field, but leaves 12-digit amounts and RRNs', () => {
    fc.assert(fc.property(pan, fc.string({ maxLength: 8 }).filter((s) => !/[0-9*]/.test(s)), fc.constantFrom('48', '55', '126', '63'), (digits, text, field) => {
      const shown = maskFieldValue(field, `${text}${digits}${text}`);
      expect(shown).not.toMatch(/\d{5,}/);
      expect(shown).toContain(digits.slice(-4));
    }));
    expect(maskFieldValue('4', '000000001250')).toBe('000000001250');
    expect(maskFieldValue('37', '532812000042')).toBe('532812000042');
    expect(maskFieldValue('55', '9F26=1234567890123456 9F36=0001')).toBe('9F26=************3456 9F36=0001');
  });

  it('masks whole exchanges field by field', () => {
    const masked = maskExchange([{ direction: 'sent', mti: '0100', fields: [{ field: '2', name: 'PAN', value: '476173******0010' }, { field: '4', name: 'Amount', value: '000000001250' }] }]);
    expect(masked[0]?.fields).toEqual([{ field: '2', name: 'PAN', value: '************0010' }, { field: '4', name: 'Amount', value: '000000001250' }]);
  });
});

describe('dashboard amounts', () => {
  it('parses what people type to exact minor units', () => {
    expect(parseAmount('12.50', 'EUR')).toBe(1250n);
    expect(parseAmount('12.5', 'EUR')).toBe(1250n);
    expect(parseAmount('12', 'EUR')).toBe(1200n);
    expect(parseAmount('0.01', 'EUR')).toBe(1n);
    expect(parseAmount('1500', 'JPY')).toBe(1500n);
    expect(parseAmount('1.234', 'BHD')).toBe(1234n);
    for (const bad of ['', '1.234', '-1', '1e3', '1,50', '0x10', ' . ', 'NaN', '1.2.3', '9'.repeat(30)]) expect(parseAmount(bad, 'EUR')).toBeUndefined();
    expect(parseAmount('1.5', 'JPY')).toBeUndefined();
  });

  it('round-trips formatMoney for every amount', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.constantFrom('EUR', 'JPY', 'BHD'), (amount_minor, currency) => {
      const [text] = formatMoney({ amount_minor, currency }).split(' ');
      expect(parseAmount(text ?? '', currency)).toBe(amount_minor);
    }));
  });
});

describe('dashboard CSV', () => {
  it('quotes separators and defuses formulas', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell(-5n)).toBe('-5');
  });

  it('writes every account and a total per currency', () => {
    const sheet: CurrencySheet = {
      ledger: 978, currency: 'EUR', balanced: true, debits_posted: 1250n, credits_posted: 1250n, debits_pending: 0n, credits_pending: 0n,
      rows: [
        { id: 1n, kind: 'settlement_receivable', owner: 'visa-like', debits_posted: 1250n, credits_posted: 0n, debits_pending: 0n, credits_pending: 0n },
        { id: 2n, kind: 'merchant_payable', owner: 'CAFE00000000001', debits_posted: 0n, credits_posted: 1250n, debits_pending: 0n, credits_pending: 0n },
      ],
    };
    const lines = balancesCsv([sheet]).trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe('record,currency,account_id,kind,owner,debits_posted_minor,credits_posted_minor,debits_pending_minor,credits_pending_minor,balanced');
    expect(lines[1]).toBe(`account,EUR,${'1'.padStart(32, '0')},settlement_receivable,visa-like,1250,0,0,0,`);
    expect(lines[3]).toBe('total,EUR,,,,1250,1250,0,0,true');
  });
});
