/**
 * Reconciliation end to end: payments booked through the money operations on a real ledger
 * file, a settlement file with deliberate exceptions, the report (library and the
 * `palmswitch recon` / `palmswitch ledger balances` commands as real child processes).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EmbeddedLedger, captureTransfers, ensureChart, execute, holdTransfers, ledger_file_name, operationId, parseSettlementFile,
  reconcile, reconReportCsv, refundTransfers, writeSettlementFile, type SettlementTransaction,
} from './index.js';

const run = promisify(execFile);
const main = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
const dir = mkdtempSync(path.join(os.tmpdir(), 'palmswitch-ledger-recon-'));
let day = '';
let settlementText = '';

async function book(ledger: EmbeddedLedger, n: number, currency: string, amount: bigint): Promise<void> {
  const authorization_id = BigInt(n);
  const rrn = String(n).padStart(12, '0');
  await execute(ledger, holdTransfers({ authorization_id, network: 'visa-like', merchant: 'm-1', currency, amount_minor: amount,
    rrn, auth_code: `A0000${n % 10}`, timeout_seconds: 3600 }));
  await execute(ledger, captureTransfers({ authorization_id, capture_id: 1n, merchant: 'm-1', currency, fee_minor: 1n }));
}

beforeAll(async () => {
  const ledger = new EmbeddedLedger({ file: path.join(dir, ledger_file_name) });
  await ensureChart(ledger, { currencies: ['EUR', 'USD'], networks: ['visa-like', 'mc-like'], merchants: ['m-1'] });
  await book(ledger, 1, 'EUR', 1_000n);
  await book(ledger, 2, 'EUR', 2_000n);
  await book(ledger, 3, 'EUR', 3_000n); // the file reports 3001: amount mismatch
  await book(ledger, 4, 'EUR', 4_000n); // the file reports it in USD: currency mismatch
  await book(ledger, 5, 'USD', 5_000n); // not in the file: missing in file
  await execute(ledger, refundTransfers({ refund_id: 1n, authorization_id: 2n, network: 'visa-like', merchant: 'm-1', currency: 'EUR',
    amount_minor: 500n, rrn: '000000000002', auth_code: 'A00002' }));
  const [capture] = await ledger.lookupTransfers([operationId('capture', 1n, 1n)]);
  day = new Date(Number(capture!.timestamp / 1_000_000n)).toISOString().slice(0, 10);
  await ledger.close();
  const line = (n: number, type: 'SALE' | 'REFUND', amount: bigint, currency: string): SettlementTransaction => ({
    rrn: String(n).padStart(12, '0'), auth_code: `A0000${n % 10}`, type, amount_minor: amount, currency, date: day, interchange_minor: 3n });
  settlementText = writeSettlementFile({ network: 'visa-like', date: day, file_id: 'VL-1', transactions: [
    line(1, 'SALE', 1_000n, 'EUR'), line(2, 'SALE', 2_000n, 'EUR'), line(2, 'REFUND', 500n, 'EUR'), line(3, 'SALE', 3_001n, 'EUR'),
    line(4, 'SALE', 4_000n, 'USD'), line(6, 'SALE', 6_000n, 'EUR'),
  ] });
  writeFileSync(path.join(dir, 'visa.pssf'), settlementText);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('reconciliation', () => {
  it('reports matched lines, each kind of exception, and totals per currency and day', async () => {
    const ledger = new EmbeddedLedger({ file: path.join(dir, ledger_file_name) });
    const report = await reconcile(ledger, parseSettlementFile(settlementText), day);
    await ledger.close();
    expect(report.summary).toEqual({ matched: 3, missing_in_ledger: 1, missing_in_file: 1, amount_mismatch: 1, currency_mismatch: 1 });
    const byRrn = Object.fromEntries(report.lines.map((l) => [`${l.rrn}/${l.type}`, l.status]));
    expect(byRrn).toMatchObject({ '000000000003/SALE': 'amount_mismatch', '000000000004/SALE': 'currency_mismatch',
      '000000000005/SALE': 'missing_in_file', '000000000006/SALE': 'missing_in_ledger', '000000000002/REFUND': 'matched' });
    const eur = report.totals.find((t) => t.currency === 'EUR');
    expect(eur).toMatchObject({ file_sales_minor: 12_001n, ledger_sales_minor: 10_000n, file_refunds_minor: 500n, ledger_refunds_minor: 500n, agree: false });
    expect(report.exceptions).toBe(4 + report.totals.filter((t) => !t.agree).length);
    const csv = reconReportCsv(report).split('\n');
    expect(csv[0]).toBe('record,status,network,currency,date,rrn,auth_code,type,file_amount_minor,ledger_amount_minor,ledger_currency,transfer_id');
    expect(csv.filter((l) => l.startsWith('line,')).length).toBe(7);
  });

  it('runs as `palmswitch recon` (exit 1 on exceptions, 2 on a bad file) and `palmswitch ledger balances`', async () => {
    const env = { ...process.env, PALMSWITCH_DATA_DIR: dir, TB_ADDRESS: '', LOG_LEVEL: 'silent' };
    const cli = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
      run(process.execPath, ['--import', 'tsx', main, ...args], { env, timeout: 30_000 })
        .then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }))
        .catch((e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }));
    const jsonOut = path.join(dir, 'report.json');
    const recon = await cli(['recon', '--network', 'visa-like', '--date', day, '--file', path.join(dir, 'visa.pssf'), '--out', jsonOut]);
    expect(recon.code).toBe(1);
    expect(JSON.parse(readFileSync(jsonOut, 'utf8'))).toMatchObject({ summary: { matched: 3, missing_in_ledger: 1 } });
    expect(recon.stderr).toContain('exceptions=');
    const badText = settlementText.replace(/TOT\|EUR\|(\d+)\|(\d+)\|/, (_m, count: string, sales: string) => `TOT|EUR|${count}|${BigInt(sales) - 1n}|`);
    expect(badText).not.toBe(settlementText);
    writeFileSync(path.join(dir, 'bad.pssf'), badText);
    const bad = await cli(['recon', '--network', 'visa-like', '--date', day, '--file', path.join(dir, 'bad.pssf'), '--format', 'csv']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/line \d+: totals_mismatch/);
    const balances = await cli(['ledger', 'balances']);
    expect(balances.code).toBe(0);
    expect(balances.stdout.match(/balanced: yes/g)?.length).toBe(2);
    expect(balances.stdout).toContain('merchant_payable');
  });
});
