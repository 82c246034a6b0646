/**
 * The settlement file format: writer and parser round-trip (property), bad files are refused
 * whole with line-numbered problems (truncated, wrong totals, bad lines), and a fuzz run over
 * arbitrary and mutated input never throws anything but SettlementFileError.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSettlementFile, SettlementFileError, writeSettlementFile, type SettlementTransaction } from './index.js';

const transactionArb: fc.Arbitrary<SettlementTransaction> = fc.record({
  rrn: fc.stringMatching(/^\d{12}$/),
  auth_code: fc.stringMatching(/^[0-9A-Z]{6}$/),
  type: fc.constantFrom('SALE' as const, 'REFUND' as const),
  amount_minor: fc.bigInt({ min: 1n, max: 10n ** 12n }),
  currency: fc.constantFrom('EUR', 'USD', 'JPY', 'KWD'),
  date: fc.constantFrom('2026-11-23', '2026-11-24'),
  interchange_minor: fc.bigInt({ min: 0n, max: 10n ** 6n }),
});

function uniqueTransactions(list: SettlementTransaction[]): SettlementTransaction[] {
  const seen = new Set<string>();
  return list.filter((t) => { const key = `${t.rrn}|${t.auth_code}|${t.type}`; if (seen.has(key)) return false; seen.add(key); return true; });
}

const sample = writeSettlementFile({ network: 'visa-like', date: '2026-11-24', file_id: 'F0001', transactions: [
  { rrn: '000000000001', auth_code: 'AB12CD', type: 'SALE', amount_minor: 1_000n, currency: 'EUR', date: '2026-11-24', interchange_minor: 12n },
  { rrn: '000000000002', auth_code: 'AB12CE', type: 'REFUND', amount_minor: 250n, currency: 'EUR', date: '2026-11-24', interchange_minor: 0n },
  { rrn: '000000000003', auth_code: 'AB12CF', type: 'SALE', amount_minor: 700n, currency: 'JPY', date: '2026-11-24', interchange_minor: 7n },
] });

function problemsOf(text: string): Array<[number, string]> {
  try {
    parseSettlementFile(text);
  } catch (error) {
    expect(error).toBeInstanceOf(SettlementFileError);
    return (error as SettlementFileError).problems.map((p) => [p.line, p.code]);
  }
  throw new Error('expected the file to be refused');
}

describe('settlement file', () => {
  it('round-trips every well-formed file through the writer and the parser', () => {
    fc.assert(fc.property(fc.array(transactionArb, { maxLength: 30 }), (list) => {
      const transactions = uniqueTransactions(list);
      const text = writeSettlementFile({ network: 'mc-like', date: '2026-11-24', file_id: 'X-1', transactions });
      const parsed = parseSettlementFile(text);
      expect(parsed.transactions).toEqual(transactions);
      expect(parsed.totals.reduce((n, t) => n + t.count, 0)).toBe(transactions.length);
    }), { numRuns: 200 });
  });

  it('has the documented shape', () => {
    expect(sample.split('\n')).toEqual([
      'HDR|PSSF|1|visa-like|2026-11-24|F0001',
      'TXN|000000000001|AB12CD|SALE|1000|EUR|2026-11-24|12',
      'TXN|000000000002|AB12CE|REFUND|250|EUR|2026-11-24|0',
      'TXN|000000000003|AB12CF|SALE|700|JPY|2026-11-24|7',
      'TOT|EUR|2|1000|250|12',
      'TOT|JPY|1|700|0|7',
      'END|3',
      '',
    ]);
  });

  it('refuses truncated files, wrong totals and bad lines with their line numbers', () => {
    const lines = sample.split('\n');
    expect(problemsOf(lines.slice(0, 4).join('\n') + '\n')).toEqual([[5, 'truncated']]);
    expect(problemsOf(sample.slice(0, -1))).toEqual([[7, 'truncated']]);
    expect(problemsOf(sample.replace('TOT|EUR|2|1000|250|12', 'TOT|EUR|2|1001|250|12'))).toEqual([[5, 'totals_mismatch']]);
    expect(problemsOf(sample.replace('END|3', 'END|4'))).toEqual([[7, 'count_mismatch']]);
    expect(problemsOf(sample.replace('|1000|EUR|', '|10.00|EUR|'))).toEqual([[2, 'amount_invalid']]);
    expect(problemsOf(sample.replace('AB12CE', 'ab12ce').replace('|JPY|2026-11-24|7', '|XXX|2026-11-24|7'))).toEqual([
      [3, 'auth_code_invalid'], [4, 'currency_invalid'],
    ]);
    expect(problemsOf(sample.replace('TOT|JPY|1|700|0|7\n', ''))).toEqual([[6, 'totals_missing']]);
    expect(problemsOf(sample + 'TXN|x\n')).toEqual([[8, 'after_end']]);
    expect(problemsOf(sample.replace('HDR|PSSF|1', 'HDR|PSSF|2'))).toContainEqual([1, 'version_unsupported']);
    expect(problemsOf(sample.replace(/\n/g, '\r\n'))[0]).toEqual([1, 'line_ending']);
    expect(problemsOf('')).toContainEqual([1, 'truncated']);
  });

  it('never throws anything but SettlementFileError on arbitrary or mutated input (fuzz)', () => {
    const mutated = fc.tuple(fc.nat(sample.length - 1), fc.nat(sample.length), fc.string({ maxLength: 8 }))
      .map(([from, length, insert]) => sample.slice(0, from) + insert + sample.slice(from + length));
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 400 }), mutated), (text) => {
      try {
        const parsed = parseSettlementFile(text);
        // Whatever parses must be exactly what the writer would produce.
        expect(writeSettlementFile(parsed)).toBe(text);
      } catch (error) {
        expect(error).toBeInstanceOf(SettlementFileError);
      }
    }), { numRuns: 3000 });
  });
});
