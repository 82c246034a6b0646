/**
 * The operations page: the card network links (connections up, authorizations in flight,
 * reversals and advices waiting in store-and-forward, counters), the gallery size, error
 * rates by response code over the recent authorizations, and those authorizations.
 */
import type { FC } from 'hono/jsx';
import type { LinkView, PaymentView } from '../pipeline/contract.js';
import { hexId, money } from './format.js';
import { Layout, type Frame } from './layout.js';

/** What the common DE 39 codes (and the switch's own P1) mean, for the error-rate table. */
const response_code_meanings: Readonly<Record<string, string>> = {
  '00': 'approved', '05': 'do not honour', '14': 'invalid card number', '51': 'insufficient funds', '54': 'expired card',
  '57': 'not permitted to cardholder', '61': 'exceeds withdrawal limit', '62': 'restricted card', '91': 'issuer unavailable',
  '96': 'system malfunction', P1: 'palm not identified (switch)',
};

export interface ResponseCodeRate { readonly code: string; readonly meaning: string; readonly count: number; readonly permille: number }

/** Counts per response code over `payments`, largest first; rates in permille (integers, exact to 0.1%). */
export function responseCodeRates(payments: readonly PaymentView[]): ResponseCodeRate[] {
  const counts = new Map<string, number>();
  for (const p of payments) counts.set(p.responseCode, (counts.get(p.responseCode) ?? 0) + 1);
  const total = payments.length;
  return [...counts].map(([code, count]) => ({ code, meaning: response_code_meanings[code] ?? 'other', count, permille: total === 0 ? 0 : Math.round((count * 1000) / total) }))
    .sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
}

const percent = (permille: number): string => `${(permille / 10).toFixed(1)}%`;

export interface OperationsPageProps {
  readonly frame: Frame;
  readonly links: readonly LinkView[];
  readonly gallerySize: number;
  readonly payments: readonly PaymentView[];
}

export const OperationsPage: FC<OperationsPageProps> = ({ frame, links, gallerySize, payments }) => {
  const saf = links.reduce((sum, l) => sum + l.reversalsPending + l.advicesPending, 0);
  const linksUp = links.filter((l) => l.up > 0).length;
  const declined = payments.filter((p) => p.decision !== 'approved').length;
  return (
    <Layout frame={frame} title="Operations" active="/operations">
      <div class="grid">
        <div class="card"><div class="muted">Links up</div><div class="figure" id="links-up">{linksUp} / {links.length}</div></div>
        <div class="card"><div class="muted">Store-and-forward queue</div><div class="figure" id="saf-depth">{saf}</div></div>
        <div class="card"><div class="muted">Enrolled palms (gallery)</div><div class="figure" id="gallery-size">{gallerySize}</div></div>
        <div class="card"><div class="muted">Not approved (last {payments.length})</div><div class="figure" id="decline-rate">{percent(payments.length === 0 ? 0 : Math.round((declined * 1000) / payments.length))}</div></div>
      </div>
      <h2>Network links</h2>
      <table id="links">
        <tr><th>Network</th><th>State</th><th class="num">Connections up</th><th class="num">In flight</th><th class="num">Reversals pending</th><th class="num">Advices pending</th><th>Counters</th></tr>
        {links.map((l) => (
          <tr data-network={l.network}>
            <td>{l.network}</td>
            <td><span class={`badge ${l.up > 0 ? 'up' : 'down'}`}>{l.up > 0 ? 'up' : 'down'}</span></td>
            <td class="num">{l.up}</td><td class="num">{l.inFlight}</td><td class="num">{l.reversalsPending}</td><td class="num">{l.advicesPending}</td>
            <td class="mono">{Object.entries(l.counters).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(' ')}</td>
          </tr>
        ))}
      </table>
      <h2>Error rates (last {payments.length} authorizations)</h2>
      <table id="error-rates">
        <tr><th>Response code</th><th>Meaning</th><th class="num">Count</th><th class="num">Share</th></tr>
        {responseCodeRates(payments).map((r) => (
          <tr data-code={r.code}><td><code>{r.code}</code></td><td>{r.meaning}</td><td class="num">{r.count}</td><td class="num">{percent(r.permille)}</td></tr>
        ))}
      </table>
      <h2>Recent authorizations</h2>
      <table id="payments">
        <tr><th>Time (UTC)</th><th>Payment</th><th>Merchant / terminal</th><th class="num">Amount</th><th>Decision</th><th>Code</th><th>Auth</th><th>By</th><th>Status</th><th class="num">Total ms</th></tr>
        {payments.map((p) => (
          <tr>
            <td class="mono">{p.created_at.replace('T', ' ').slice(0, 19)}</td>
            <td class="mono" title={hexId(p.paymentId)}>{hexId(p.paymentId).slice(-8)}</td>
            <td>{p.merchantId} / {p.terminalId}</td>
            <td class="num">{money(p.amount_minor, p.currency)}</td>
            <td><span class={`badge ${p.decision}`}>{p.decision.replace('_', ' ')}</span></td>
            <td><code>{p.responseCode}</code></td><td><code>{p.authCode ?? '-'}</code></td>
            <td>{p.source}{p.network !== undefined ? ` (${p.network})` : ''}</td><td>{p.status}</td>
            <td class="num">{(p.stages['total'] ?? 0).toFixed(1)}</td>
          </tr>
        ))}
      </table>
    </Layout>
  );
};
