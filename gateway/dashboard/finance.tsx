/**
 * The finance pages: balances per currency (every account, posted and pending, and whether the
 * currency's debits and credits agree), the settlement + reconciliation form, the list of
 * runs, and one run's summary, totals and exception lines with its CSV.
 */
import type { FC } from 'hono/jsx';
import type { CurrencySheet, ReconReport } from '../../ledger/index.js';
import type { ReconRunView } from '../pipeline/contract.js';
import { hexId, money } from './format.js';
import { Layout, type Frame } from './layout.js';

export interface FinancePageProps {
  readonly frame: Frame;
  readonly sheets: readonly CurrencySheet[];
  readonly runs: readonly ReconRunView[];
  readonly networks: readonly string[];
  readonly today: string;
}

export const FinancePage: FC<FinancePageProps> = ({ frame, sheets, runs, networks, today }) => (
  <Layout frame={frame} title="Finance" active="/finance">
    <h2>Settlement and reconciliation</h2>
    <form method="post" action={`${frame.base}/finance/reconcile`} class="card row">
      <input type="hidden" name="_csrf" value={frame.csrf ?? ''} />
      <div>
        <label for="network">Network</label>
        <select id="network" name="network">{networks.map((n) => <option value={n}>{n}</option>)}</select>
      </div>
      <div>
        <label for="date">Business date</label>
        <input id="date" name="date" type="date" value={today} required />
      </div>
      <div><button type="submit" id="reconcile" data-busy="Reconciling...">Run settlement and reconciliation</button></div>
    </form>
    <RunList frame={frame} runs={runs} />
    <h2>Balances per currency <a href={`${frame.base}/finance/balances.csv`} download="balances.csv" id="balances-csv" class="muted">(CSV)</a></h2>
    {sheets.length === 0 && <p class="muted">No accounts yet.</p>}
    {sheets.map((sheet) => <Sheet sheet={sheet} />)}
  </Layout>
);

const RunList: FC<{ frame: Frame; runs: readonly ReconRunView[] }> = ({ frame, runs }) => (
  <table id="runs">
    <tr><th>Run</th><th>Network</th><th>Date</th><th>Ran at (UTC)</th><th class="num">Matched</th><th class="num">Exceptions</th><th>CSV</th></tr>
    {runs.length === 0 && <tr><td colspan={7} class="muted">No runs yet.</td></tr>}
    {runs.map((r) => (
      <tr data-run={String(r.id)}>
        <td><a href={`${frame.base}/finance/runs/${r.id}`}>#{r.id}</a></td><td>{r.network}</td><td>{r.date}</td>
        <td class="mono">{r.ran_at.replace('T', ' ').slice(0, 19)}</td><td class="num">{r.matched}</td>
        <td class="num"><span class={`badge ${r.exceptions === 0 ? 'balanced' : 'unbalanced'}`}>{r.exceptions}</span></td>
        <td><a href={`${frame.base}/finance/runs/${r.id}/csv`} download={`recon-${r.network}-${r.date}-${r.id}.csv`}>download</a></td>
      </tr>
    ))}
  </table>
);

const Sheet: FC<{ sheet: CurrencySheet }> = ({ sheet }) => (
  <div class="card" data-currency={sheet.currency}>
    <h3>{sheet.currency} <span class={`badge ${sheet.balanced ? 'balanced' : 'unbalanced'}`}>{sheet.balanced ? 'balances' : 'DOES NOT BALANCE'}</span></h3>
    <table>
      <tr><th>Account</th><th>Owner</th><th class="num">Debits posted</th><th class="num">Credits posted</th><th class="num">Debits pending</th><th class="num">Credits pending</th></tr>
      {sheet.rows.map((row) => (
        <tr>
          <td title={hexId(row.id)}>{row.kind}</td><td>{row.owner}</td>
          <td class="num">{money(row.debits_posted, sheet.currency)}</td><td class="num">{money(row.credits_posted, sheet.currency)}</td>
          <td class="num">{money(row.debits_pending, sheet.currency)}</td><td class="num">{money(row.credits_pending, sheet.currency)}</td>
        </tr>
      ))}
      <tr>
        <th>Total</th><th></th>
        <th class="num">{money(sheet.debits_posted, sheet.currency)}</th><th class="num">{money(sheet.credits_posted, sheet.currency)}</th>
        <th class="num">{money(sheet.debits_pending, sheet.currency)}</th><th class="num">{money(sheet.credits_pending, sheet.currency)}</th>
      </tr>
    </table>
  </div>
);

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** A run as the page needs it: the report carries network and date; `ran_at` when the run is among the listed ones. */
export interface RunHeading { readonly id: number; readonly network: string; readonly date: string; readonly ran_at: string | undefined }

export const RunPage: FC<{ frame: Frame; run: RunHeading; report: ReconReport }> = ({ frame, run, report }) => {
  const exceptions = report.lines.filter((line) => line.status !== 'matched');
  return (
    <Layout frame={frame} title={`Reconciliation #${run.id}: ${run.network}, ${run.date}`} active="/finance">
      <div class="card">
        <p class="figure"><span id="exception-count" class={`badge ${report.exceptions === 0 ? 'balanced' : 'unbalanced'}`}>{plural(report.exceptions, 'exception')}</span></p>
        <p>File <code>{report.file_id}</code>; {plural(report.summary.matched, 'line')} matched{run.ran_at !== undefined ? `; ran at ${run.ran_at}` : ''}.</p>
        <p><a href={`${frame.base}/finance/runs/${run.id}/csv`} download={`recon-${run.network}-${run.date}-${run.id}.csv`} id="run-csv">Download CSV</a>
          {' · '}<a href={`${frame.base}/finance`}>Back to finance</a></p>
      </div>
      <h2>Totals per currency and day</h2>
      <table id="totals">
        <tr><th>Currency</th><th>Date</th><th class="num">File count</th><th class="num">Ledger count</th><th class="num">File net</th><th class="num">Ledger net</th><th>Agree</th></tr>
        {report.totals.map((t) => (
          <tr>
            <td>{t.currency}</td><td>{t.date}</td><td class="num">{t.file_count}</td><td class="num">{t.ledger_count}</td>
            <td class="num">{money(t.file_sales_minor - t.file_refunds_minor, t.currency)}</td>
            <td class="num">{money(t.ledger_sales_minor - t.ledger_refunds_minor, t.currency)}</td>
            <td><span class={`badge ${t.agree ? 'balanced' : 'unbalanced'}`}>{t.agree ? 'yes' : 'no'}</span></td>
          </tr>
        ))}
      </table>
      <h2>Exceptions</h2>
      {exceptions.length === 0 ? <p id="no-exceptions">No exception lines: every line of the file matched the ledger.</p> : (
        <table id="exceptions">
          <tr><th>Status</th><th>RRN</th><th>Auth</th><th>Type</th><th>Date</th><th class="num">File amount</th><th class="num">Ledger amount</th></tr>
          {exceptions.map((line) => (
            <tr>
              <td>{line.status.replace(/_/g, ' ')}</td><td class="mono">{line.rrn}</td><td class="mono">{line.auth_code}</td><td>{line.type}</td><td>{line.date}</td>
              <td class="num">{line.file_amount_minor === null ? '-' : money(line.file_amount_minor, line.currency)}</td>
              <td class="num">{line.ledger_amount_minor === null ? '-' : money(line.ledger_amount_minor, line.ledger_currency ?? line.currency)}</td>
            </tr>
          ))}
        </table>
      )}
    </Layout>
  );
};
