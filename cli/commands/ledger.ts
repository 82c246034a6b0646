/**
 * `palmswitch recon` and `palmswitch ledger balances`: reconciliation of a network's settlement
 * file against the ledger, and the balance sheet per currency. Both open the ledger the
 * configuration names (TigerBeetle when TB_ADDRESS is set, else the embedded file).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { formatMoney, loadConfig, PalmswitchError } from '../../core/index.js';
import {
  balanceSheet, openLedger, parseSettlementFile, reconcile, reconReportCsv, reconReportJson, SettlementFileError,
  type CurrencySheet,
} from '../../ledger/index.js';

/** Exit codes: 0 everything matched, 1 the report has exceptions, 2 the file or the arguments are bad. */
const exit_exceptions = 1;
const exit_bad_input = 2;
const settlement_file_read_bytes_max = 64 * 1024 * 1024;

function readSettlementText(file: string): string {
  let buffer: Buffer;
  try {
    buffer = readFileSync(file);
  } catch (error) {
    throw new PalmswitchError('settlement_file_unreadable', `cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  if (buffer.length > settlement_file_read_bytes_max) throw new PalmswitchError('settlement_file_invalid', `${file} is larger than ${settlement_file_read_bytes_max} bytes`);
  return buffer.toString('utf8');
}

interface ReconOptions { network: string; date: string; file: string; format: string; out?: string }

async function runRecon(options: ReconOptions): Promise<number> {
  if (options.format !== 'json' && options.format !== 'csv') throw new PalmswitchError('argument_invalid', '--format must be json or csv');
  let parsed;
  try {
    parsed = parseSettlementFile(readSettlementText(options.file));
  } catch (error) {
    if (!(error instanceof SettlementFileError)) throw error;
    process.stderr.write(`palmswitch recon: ${options.file} rejected, nothing applied:\n`);
    for (const p of error.problems) process.stderr.write(`  line ${p.line}: ${p.code}: ${p.message}\n`);
    return exit_bad_input;
  }
  if (parsed.network !== options.network) {
    throw new PalmswitchError('argument_invalid', `the file is from network ${parsed.network}, not ${options.network}`);
  }
  const ledger = openLedger(loadConfig(), { readonly: true });
  try {
    const report = await reconcile(ledger, parsed, options.date);
    const text = options.format === 'json' ? reconReportJson(report) : reconReportCsv(report);
    if (options.out) writeFileSync(options.out, text); else process.stdout.write(text);
    process.stderr.write(`palmswitch recon: ${Object.entries(report.summary).map(([k, v]) => `${k}=${v}`).join(' ')} exceptions=${report.exceptions}\n`);
    return report.exceptions > 0 ? exit_exceptions : 0;
  } finally {
    await ledger.close();
  }
}

function formatAmount(amount: bigint, currency: string): string {
  try { return formatMoney({ amount_minor: amount, currency }); } catch { return amount.toString(); }
}

function printSheet(sheet: CurrencySheet, out: NodeJS.WritableStream): void {
  out.write(`\n${sheet.currency} (ledger ${sheet.ledger})\n`);
  const rows = sheet.rows.map((r) => [r.kind, r.owner, formatAmount(r.debits_posted, sheet.currency), formatAmount(r.credits_posted, sheet.currency),
    formatAmount(r.debits_pending, sheet.currency), formatAmount(r.credits_pending, sheet.currency)]);
  rows.push(['total', '', formatAmount(sheet.debits_posted, sheet.currency), formatAmount(sheet.credits_posted, sheet.currency),
    formatAmount(sheet.debits_pending, sheet.currency), formatAmount(sheet.credits_pending, sheet.currency)]);
  const header = ['account', 'owner', 'debits posted', 'credits posted', 'debits pending', 'credits pending'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  for (const row of [header, ...rows]) out.write(row.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ') + '\n');
  out.write(`balanced: ${sheet.balanced ? 'yes' : 'NO'}\n`);
}

async function runBalances(options: { json?: boolean }): Promise<number> {
  const ledger = openLedger(loadConfig(), { readonly: true });
  try {
    const sheets = await balanceSheet(ledger);
    if (options.json === true) {
      process.stdout.write(JSON.stringify(sheets, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
    } else if (sheets.length === 0) {
      process.stdout.write('the ledger has no accounts yet\n');
    } else {
      for (const sheet of sheets) printSheet(sheet, process.stdout);
    }
    return sheets.every((s) => s.balanced) ? 0 : exit_exceptions;
  } finally {
    await ledger.close();
  }
}

export function registerLedgerCommands(program: Command): void {
  program
    .command('recon')
    .description('reconcile a network settlement file against the ledger (exit 1 on exceptions, 2 on a bad file)')
    .requiredOption('--network <name>', 'the network that sent the file')
    .requiredOption('--date <YYYY-MM-DD>', 'the settlement day')
    .requiredOption('--file <path>', 'the settlement file')
    .option('--format <json|csv>', 'report format', 'json')
    .option('--out <path>', 'write the report here instead of stdout')
    .action(async (options: ReconOptions) => { process.exitCode = await runRecon(options); });
  const ledger = program.command('ledger').description('the ledger: balances and more');
  ledger
    .command('balances')
    .description('print the balance sheet per currency (exit 1 if a currency does not balance)')
    .option('--json', 'print JSON instead of a table')
    .action(async (options: { json?: boolean }) => { process.exitCode = await runBalances(options); });
}
