/**
 * Finance routes (X-Admin-Key): balances per currency, the daily settlement run (fetch the
 * network's file, reconcile it against the ledger), the runs and their exceptions, and CSV
 * exports of both. Money is digit strings of minor units, never floating point.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { CurrencySheet, ReconReport } from '../../ledger/index.js';
import type { ReconRunView, ReportsPort } from '../pipeline/contract.js';
import type { GatewayEnv } from './auth.js';
import { ADMIN_SECURITY, AdminHeaders, errorResponses, jsonBody, jsonContent } from './deps.js';

const tags = ['reports'];
export const recon_runs_limit_default = 50;

const Minor = z.string().regex(/^-?\d+$/).openapi({ description: 'Minor units as a decimal string.' });
const BalanceRowSchema = z.object({
  id: z.string(), kind: z.string(), owner: z.string(), debits_posted: Minor, credits_posted: Minor, debits_pending: Minor, credits_pending: Minor,
});
const CurrencySheetSchema = z.object({
  ledger: z.number().int(), currency: z.string(), balanced: z.boolean(), debits_posted: Minor, credits_posted: Minor, debits_pending: Minor, credits_pending: Minor,
  rows: z.array(BalanceRowSchema),
}).openapi('CurrencySheet');
const ReconRunSchema = z.object({ id: z.number().int(), network: z.string(), date: z.string(), ran_at: z.string(), exceptions: z.number().int(), matched: z.number().int() }).openapi('ReconRun');
const ReconLineSchema = z.object({
  status: z.string(), rrn: z.string(), auth_code: z.string(), type: z.string(), date: z.string(), currency: z.string(),
  file_amount_minor: Minor.nullable(), ledger_amount_minor: Minor.nullable(), ledger_currency: z.string().nullable(), transfer_id: z.string().nullable(),
});
const ReconReportSchema = z.object({
  network: z.string(), date: z.string(), file_id: z.string(), exceptions: z.number().int(), summary: z.record(z.string(), z.number().int()),
  exceptionLines: z.array(ReconLineSchema),
}).openapi('ReconReport');
const ReconRequestSchema = z.object({
  network: z.enum(['visa-like', 'mastercard-like']),
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).openapi({ description: 'Settlement day, YYYY-MM-DD.', example: '2026-11-24' }),
}).openapi('ReconRequest');
const RunIdParam = z.object({ id: z.coerce.number().int().positive() });
const csvContent = (description: string) => ({ description, content: { 'text/csv': { schema: z.string() } } });

const routes = {
  balances: createRoute({
    method: 'get', path: '/v1/reports/balances', tags, security: ADMIN_SECURITY, summary: 'Balances of every ledger account, per currency',
    responses: { 200: jsonContent(z.object({ currencies: z.array(CurrencySheetSchema) }), 'One sheet per currency; `balanced` checks debits = credits.'), ...errorResponses(401) },
  }),
  balancesCsv: createRoute({
    method: 'get', path: '/v1/reports/balances.csv', tags, security: ADMIN_SECURITY, summary: 'Balances as CSV',
    responses: { 200: csvContent('currency,kind,owner,debits_posted,credits_posted,debits_pending,credits_pending'), ...errorResponses(401) },
  }),
  reconcile: createRoute({
    method: 'post', path: '/v1/reports/reconciliations', tags, security: ADMIN_SECURITY, summary: 'Fetch a network\'s settlement file for a day and reconcile it against the ledger',
    request: { headers: AdminHeaders, body: jsonBody(ReconRequestSchema) },
    responses: { 201: jsonContent(ReconRunSchema, 'The run.'), ...errorResponses(400, 401, 404, 409, 502) },
  }),
  runs: createRoute({
    method: 'get', path: '/v1/reports/reconciliations', tags, security: ADMIN_SECURITY, summary: 'Reconciliation runs, newest first',
    request: { query: z.object({ limit: z.coerce.number().int().min(1).max(200).optional() }) },
    responses: { 200: jsonContent(z.object({ runs: z.array(ReconRunSchema) }), 'Runs.'), ...errorResponses(400, 401) },
  }),
  run: createRoute({
    method: 'get', path: '/v1/reports/reconciliations/{id}', tags, security: ADMIN_SECURITY, summary: 'A run\'s summary and its exceptions',
    request: { params: RunIdParam },
    responses: { 200: jsonContent(ReconReportSchema, 'The report.'), ...errorResponses(400, 401, 404) },
  }),
  runCsv: createRoute({
    method: 'get', path: '/v1/reports/reconciliations/{id}/csv', tags, security: ADMIN_SECURITY, summary: 'A run\'s lines as CSV',
    request: { params: RunIdParam },
    responses: { 200: csvContent('Every line of the run, matched or not.'), ...errorResponses(400, 401, 404) },
  }),
};

const s = (value: bigint | null): string | null => (value === null ? null : value.toString());

function sheetJson(sheet: CurrencySheet) {
  return {
    ledger: sheet.ledger, currency: sheet.currency, balanced: sheet.balanced, debits_posted: s(sheet.debits_posted)!, credits_posted: s(sheet.credits_posted)!,
    debits_pending: s(sheet.debits_pending)!, credits_pending: s(sheet.credits_pending)!,
    rows: sheet.rows.map((r) => ({ id: r.id.toString(16).padStart(32, '0'), kind: r.kind, owner: r.owner, debits_posted: s(r.debits_posted)!, credits_posted: s(r.credits_posted)!, debits_pending: s(r.debits_pending)!, credits_pending: s(r.credits_pending)! })),
  };
}

export function balancesCsv(sheets: readonly CurrencySheet[]): string {
  const lines = ['currency,kind,owner,debits_posted,credits_posted,debits_pending,credits_pending'];
  for (const sheet of sheets) {
    for (const r of sheet.rows) lines.push([sheet.currency, r.kind, csvCell(r.owner), r.debits_posted, r.credits_posted, r.debits_pending, r.credits_pending].join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** Owners are our own ids, but a cell is quoted whenever it could break the row (or start a formula). */
function csvCell(text: string): string {
  return /[",\n\r]|^[=+\-@]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function reportJson(report: ReconReport) {
  return {
    network: report.network, date: report.date, file_id: report.file_id, exceptions: report.exceptions, summary: { ...report.summary },
    exceptionLines: report.lines.filter((l) => l.status !== 'matched').map((l) => ({
      status: l.status, rrn: l.rrn, auth_code: l.auth_code, type: l.type, date: l.date, currency: l.currency, file_amount_minor: s(l.file_amount_minor),
      ledger_amount_minor: s(l.ledger_amount_minor), ledger_currency: l.ledger_currency, transfer_id: l.transfer_id === null ? null : l.transfer_id.toString(16).padStart(32, '0'),
    })),
  };
}

const runJson = (run: ReconRunView) => ({ ...run });

export function registerReportRoutes(app: OpenAPIHono<GatewayEnv>, reports: ReportsPort): void {
  app.openapi(routes.balances, async (c) => c.json({ currencies: (await reports.balances()).map(sheetJson) }, 200));
  app.openapi(routes.balancesCsv, async (c) => c.body(balancesCsv(await reports.balances()), 200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="balances.csv"' }));
  app.openapi(routes.reconcile, async (c) => {
    const body = c.req.valid('json');
    return c.json(runJson(await reports.settleAndReconcile(body.network, body.date)), 201);
  });
  app.openapi(routes.runs, (c) => c.json({ runs: reports.reconRuns(c.req.valid('query').limit ?? recon_runs_limit_default).map(runJson) }, 200));
  app.openapi(routes.run, (c) => c.json(reportJson(reports.reconReport(c.req.valid('param').id)), 200));
  app.openapi(routes.runCsv, (c) => {
    const id = c.req.valid('param').id;
    return c.body(reports.reconReportCsv(id), 200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="reconciliation-${id}.csv"` });
  });
}
