/**
 * Finance reports: balances per currency from the ledger, and the daily settlement run — fetch
 * the network's settlement file, reconcile it against the ledger, keep the report. Runs are
 * stored in the gateway's database so the dashboard and CSV exports read the same report the
 * run produced.
 */
import { readFile } from 'node:fs/promises';
import { assert } from '../core/index.js';
import {
  balanceSheet, parseSettlementFile, reconcile, reconReportCsv, reconReportJson, type CurrencySheet, type Ledger, type ReconReport,
} from '../ledger/index.js';
import { GatewayError } from './errors.js';
import type { ReconRunView, ReportsPort } from './pipeline/contract.js';
import { ensureSchema, type GatewayDatabase } from './store/database.js';

export const recon_runs_listed_max = 200;
export const settlement_fetch_timeout_ms = 30_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS recon_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, network TEXT NOT NULL, date TEXT NOT NULL, ran_ms INTEGER NOT NULL,
  exceptions INTEGER NOT NULL, matched INTEGER NOT NULL, report TEXT NOT NULL);
`;

/** Where a network's settlement file comes from (network-sim's API in development). */
export interface SettlementSource {
  /** Returns the file's text for `date`. */
  fetch(date: string): Promise<string>;
}

export class SimulatorSettlementSource implements SettlementSource {
  constructor(private readonly apiUrl: string) {}

  async fetch(date: string): Promise<string> {
    let response: Response;
    try {
      response = await fetch(new URL('/settlement', this.apiUrl), {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ date }), signal: AbortSignal.timeout(settlement_fetch_timeout_ms),
      });
    } catch (error) {
      throw new GatewayError('network_unavailable', 'the network did not deliver its settlement file', { cause: error });
    }
    if (!response.ok) throw new GatewayError('network_unavailable', `settlement request answered ${response.status}`);
    const written = await response.json() as { file?: unknown };
    if (typeof written.file !== 'string') throw new GatewayError('network_unavailable', 'settlement answer names no file');
    // The simulator shares this machine; a real network's file arrives over its file transfer.
    return await readFile(written.file, 'utf8');
  }
}

interface RunRow { id: number; network: string; date: string; ran_ms: number; exceptions: number; matched: number }

export class Reports implements ReportsPort {
  private readonly statements;

  constructor(private readonly ledger: Ledger, db: GatewayDatabase, private readonly sources: ReadonlyMap<string, SettlementSource>) {
    ensureSchema(db, SCHEMA);
    this.statements = {
      insert: db.prepare('INSERT INTO recon_runs (network, date, ran_ms, exceptions, matched, report) VALUES (?, ?, ?, ?, ?, ?)'),
      list: db.prepare<[number], RunRow>('SELECT id, network, date, ran_ms, exceptions, matched FROM recon_runs ORDER BY id DESC LIMIT ?'),
      report: db.prepare<[number], { report: string }>('SELECT report FROM recon_runs WHERE id = ?'),
    };
  }

  async balances(): Promise<CurrencySheet[]> {
    return await balanceSheet(this.ledger);
  }

  async settleAndReconcile(network: string, date: string): Promise<ReconRunView> {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new GatewayError('request_invalid', 'date must be YYYY-MM-DD');
    const source = this.sources.get(network);
    if (!source) throw new GatewayError('not_found', `no settlement source for ${network}`);
    const file = parseSettlementFile(await source.fetch(date));
    if (file.network !== network) throw new GatewayError('conflict', `the file is ${file.network}'s, not ${network}'s`);
    const report = await reconcile(this.ledger, file, date);
    const ran_ms = Date.now();
    const result = this.statements.insert.run(network, date, ran_ms, report.exceptions, report.summary.matched, reconReportJson(report));
    const id = Number(result.lastInsertRowid);
    assert(Number.isSafeInteger(id) && id > 0, 'run id');
    return { id, network, date, ran_at: new Date(ran_ms).toISOString(), exceptions: report.exceptions, matched: report.summary.matched };
  }

  reconRuns(limit: number): ReconRunView[] {
    return this.statements.list.all(Math.max(1, Math.min(limit, recon_runs_listed_max)))
      .map((row) => ({ id: row.id, network: row.network, date: row.date, ran_at: new Date(row.ran_ms).toISOString(), exceptions: row.exceptions, matched: row.matched }));
  }

  reconReport(id: number): ReconReport {
    const row = this.statements.report.get(id);
    if (!row) throw new GatewayError('not_found', `no reconciliation run ${id}`);
    return reviveReport(row.report);
  }

  reconReportCsv(id: number): string {
    return reconReportCsv(this.reconReport(id));
  }
}

const bigintKeys = new Set(['file_amount_minor', 'ledger_amount_minor', 'transfer_id', 'file_sales_minor', 'ledger_sales_minor', 'file_refunds_minor', 'ledger_refunds_minor']);

/** The stored JSON has bigints as strings; revive exactly the money and id fields. */
function reviveReport(json: string): ReconReport {
  return JSON.parse(json, (key, value: unknown) => (bigintKeys.has(key) && typeof value === 'string' ? BigInt(value) : value)) as ReconReport;
}
