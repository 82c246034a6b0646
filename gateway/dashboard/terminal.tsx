/**
 * The terminal simulator page: choose a synthetic shopper or an attack, an amount and a
 * terminal, pay, and see what the switch decided — response and authorization codes, the
 * time each stage took, and the ISO 8583 exchange field by field with card numbers cut to
 * their last four digits.
 */
import type { FC } from 'hono/jsx';
import type { IsoMessageView, StageTimings } from '../pipeline/contract.js';
import { hexId, maskExchange, money } from './format.js';
import { Layout, type Frame } from './layout.js';
import { SIMULATED_ATTACKS, attack_labels, type SimulatedShopper, type SimulatorOutcome } from './simulator.js';

export interface TerminalChoice { readonly id: string; readonly label: string }

export interface TerminalForm {
  /** `shopper:<id>` or `attack:<name>`. */
  readonly who: string;
  readonly amount: string;
  readonly currency: string;
  readonly terminalId: string;
}

export interface TerminalPageProps {
  readonly frame: Frame;
  readonly shoppers: readonly SimulatedShopper[];
  readonly terminals: readonly TerminalChoice[];
  readonly currencies: readonly string[];
  readonly form: TerminalForm;
  readonly outcome?: SimulatorOutcome;
  readonly problem?: string;
}

export const TerminalPage: FC<TerminalPageProps> = (props) => (
  <Layout frame={props.frame} title="Terminal simulator" active="/terminal">
    <form method="post" action={`${props.frame.base}/terminal/pay`} class="card">
      <input type="hidden" name="_csrf" value={props.frame.csrf ?? ''} />
      <div class="row">
        <div>
          <label for="who">Palm</label>
          <select id="who" name="who" required>
            <optgroup label="Enrolled shoppers">
              {props.shoppers.map((s) => <option value={`shopper:${s.id}`} selected={props.form.who === `shopper:${s.id}`}>{s.label}</option>)}
            </optgroup>
            <optgroup label="Attacks">
              {SIMULATED_ATTACKS.map((a) => <option value={`attack:${a}`} selected={props.form.who === `attack:${a}`}>{attack_labels[a]}</option>)}
            </optgroup>
          </select>
        </div>
        <div>
          <label for="amount">Amount</label>
          <input id="amount" name="amount" inputmode="decimal" value={props.form.amount} required />
        </div>
        <div>
          <label for="currency">Currency</label>
          <select id="currency" name="currency">
            {props.currencies.map((c) => <option value={c} selected={props.form.currency === c}>{c}</option>)}
          </select>
        </div>
        <div>
          <label for="terminal">Merchant / terminal</label>
          <select id="terminal" name="terminalId" required>
            {props.terminals.map((t) => <option value={t.id} selected={props.form.terminalId === t.id}>{t.label}</option>)}
          </select>
        </div>
      </div>
      <button type="submit" id="pay" data-busy="Paying...">Pay</button>
      {props.terminals.length === 0 && <p class="error">No active terminal is registered.</p>}
    </form>
    {props.problem !== undefined && <p class="error" role="alert" id="problem">{props.problem}</p>}
    {props.outcome && <Outcome outcome={props.outcome} />}
  </Layout>
);

const Outcome: FC<{ outcome: SimulatorOutcome }> = ({ outcome }) => {
  if (outcome.kind === 'refused') {
    return (
      <section class="card" id="outcome">
        <h2>Decision: <span class="badge refused" id="decision">refused</span></h2>
        <table class="kv">
          <tr><th>Refusal code</th><td><code id="refusal-code">{outcome.code}</code></td></tr>
          <tr><th>Reason</th><td>{outcome.message}</td></tr>
          <tr><th>HTTP status</th><td id="http-status">{outcome.httpStatus}</td></tr>
        </table>
        {outcome.stages && <Stages stages={outcome.stages} />}
      </section>
    );
  }
  const p = outcome.payment;
  return (
    <section class="card" id="outcome">
      <h2>Decision: <span class={`badge ${p.decision}`} id="decision">{p.decision.replace('_', ' ')}</span></h2>
      <table class="kv">
        <tr><th>Response code</th><td><code id="response-code">{p.responseCode}</code></td></tr>
        <tr><th>Authorization code</th><td><code id="auth-code">{p.authCode ?? '-'}</code></td></tr>
        <tr><th>Amount</th><td>{money(p.amount_minor, p.currency)}</td></tr>
        <tr><th>Answered by</th><td>{p.source}{p.network !== undefined ? ` (${p.network})` : ''}</td></tr>
        <tr><th>RRN / STAN</th><td class="mono">{p.rrn ?? '-'} / {p.stan ?? '-'}</td></tr>
        <tr><th>Payment id</th><td class="mono">{hexId(p.paymentId)}</td></tr>
        <tr><th>HTTP status</th><td id="http-status">{outcome.httpStatus}</td></tr>
      </table>
      <Stages stages={p.stages} />
      {p.exchange && p.exchange.length > 0 ? <Exchange exchange={p.exchange} /> : <p class="muted">No network exchange (the switch answered itself).</p>}
    </section>
  );
};

/** One bar per stage, scaled to the total, so the slow stage stands out. */
export const Stages: FC<{ stages: StageTimings }> = ({ stages }) => {
  const entries = Object.entries(stages).filter(([name]) => name !== 'total');
  const total = stages['total'] ?? entries.reduce((sum, [, ms]) => sum + ms, 0);
  const scale = Math.max(total, 0.001);
  return (
    <div id="stages">
      <h3>Stage timings (total {total.toFixed(1)} ms)</h3>
      <table class="kv">
        {entries.map(([name, ms]) => (
          <tr data-stage={name}>
            <th>{name}</th>
            <td><meter min={0} max={scale} value={Math.min(ms, scale)} title={`${ms.toFixed(2)} ms`}></meter></td>
            <td class="num">{ms.toFixed(1)} ms</td>
          </tr>
        ))}
      </table>
    </div>
  );
};

export const Exchange: FC<{ exchange: readonly IsoMessageView[] }> = ({ exchange }) => (
  <div id="exchange">
    <h3>ISO 8583 exchange (card data masked)</h3>
    {maskExchange(exchange).map((message) => (
      <div class="message" data-mti={message.mti}>
        <h3><code>{message.mti}</code> {message.direction === 'sent' ? 'sent to the network' : 'received from the network'}</h3>
        <table class="fields">
          <tr><th>DE</th><th>Name</th><th>Value</th></tr>
          {message.fields.map((f) => (
            <tr data-field={f.field}><td class="mono">{f.field}</td><td>{f.name}</td><td class="mono">{f.value}</td></tr>
          ))}
        </table>
      </div>
    ))}
  </div>
);
