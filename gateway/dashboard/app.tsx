/**
 * The dashboard as a Hono app, mounted by the gateway server at `/dashboard`: server-rendered
 * pages (Hono JSX), no client framework, no other origin. Access is by the admin key through a
 * login form; the session is an HMAC-signed, expiring, HttpOnly, SameSite=Strict, Secure
 * cookie, and every state-changing form carries a CSRF token bound to the session.
 *
 * Example (composition root):
 *   const dashboard = createDashboard({ pipeline, reports, operations, registry, terminalSimulator, adminKey });
 *   app.route('/dashboard', dashboard);
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import { assert, CURRENCIES, createLogger, maskPansInText, type Logger } from '../../core/index.js';
import { GatewayError } from '../errors.js';
import type { OperationsPort, PaymentPipeline, ReportsPort } from '../pipeline/contract.js';
import type { RegistryStore } from '../store/port.js';
import { balancesCsv, parseAmount } from './format.js';
import { FinancePage, RunPage } from './finance.js';
import { ErrorPage, LoginPage, SCRIPT, STYLESHEET, type Frame } from './layout.js';
import { OperationsPage } from './operations.js';
import { LoginThrottle, SessionKeys, equalText, session_lifetime_ms, login_form_lifetime_ms, type Session } from './session.js';
import { SIMULATED_ATTACKS, type SimulatedAttack, type SimulatedPaymentRequest, type SimulatorOutcome, type TerminalSimulator } from './simulator.js';
import { TerminalPage, type TerminalChoice, type TerminalForm } from './terminal.js';

/** Forms are a few fields; anything bigger is refused before it is parsed. */
export const form_bytes_max = 16 * 1024;
/** Recent authorizations shown (and used for error rates) on the operations page. */
export const recent_payments_listed_max = 200;
/** Terminals offered by the simulator's terminal list. */
export const terminals_listed_max = 500;
/** Reconciliation runs listed on the finance page. */
export const recon_runs_shown_max = 50;
/** Failed logins allowed per client address per window before the form answers 429. */
export const login_failures_per_window_max = 10;
export const login_failure_window_ms = 60_000;
/** The shortest admin key accepted at start-up. */
export const admin_key_chars_min = 8;

const session_cookie = 'palmswitch_dashboard';
const login_cookie = 'palmswitch_dashboard_login';

export interface DashboardDeps {
  /** Recent authorizations for the operations page. */
  readonly pipeline: Pick<PaymentPipeline, 'payments'>;
  readonly reports: ReportsPort;
  readonly operations: Pick<OperationsPort, 'links' | 'gallerySize'>;
  /** Terminals (and their merchants) offered by the terminal simulator. */
  readonly registry: Pick<RegistryStore, 'listTerminals' | 'getMerchant'>;
  readonly terminalSimulator: TerminalSimulator;
  /** The admin API key; the login form compares against it in constant time. */
  readonly adminKey: string;
  /** Where the gateway mounts the app (links and the cookie path); default `/dashboard`. */
  readonly mountPath?: string;
  readonly logger?: Logger;
}

type DashboardEnv = { Variables: { session: Session | undefined } };
type DashboardContext = Context<DashboardEnv>;

interface Shared {
  readonly deps: DashboardDeps;
  readonly base: string;
  readonly keys: SessionKeys;
  readonly logger: Logger;
  readonly loginThrottle: LoginThrottle;
}

export function createDashboard(deps: DashboardDeps): Hono<DashboardEnv> {
  assert(deps.adminKey.length >= admin_key_chars_min, `the admin key must have at least ${admin_key_chars_min} characters`);
  const base = (deps.mountPath ?? '/dashboard').replace(/\/+$/, '');
  assert(base === '' || /^\/[A-Za-z0-9/_-]+$/.test(base), 'mount path must be an absolute path');
  const shared: Shared = { deps, base, keys: new SessionKeys(), logger: deps.logger ?? createLogger({ name: 'dashboard' }),
    loginThrottle: new LoginThrottle(login_failures_per_window_max, login_failure_window_ms) };
  const app = new Hono<DashboardEnv>();
  app.use('*', secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"], scriptSrc: ["'self'"], styleSrc: ["'self'"], imgSrc: ["'self'"], formAction: ["'self'"],
      frameAncestors: ["'none'"], baseUri: ["'none'"], connectSrc: ["'self'"],
    },
    referrerPolicy: 'no-referrer',
  }));
  app.use('*', bodyLimit({ maxSize: form_bytes_max, onError: (c) => c.text('form too large', 413) }));
  app.get('/assets/dashboard.css', (c) => c.body(STYLESHEET, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'max-age=300' }));
  app.get('/assets/dashboard.js', (c) => c.body(SCRIPT, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'max-age=300' }));
  registerLogin(app, shared);
  app.use('*', requireSession(shared));
  app.use('*', requireCsrf(shared));
  app.post('/logout', (c) => {
    deleteCookie(c, session_cookie, { path: base || '/', secure: true });
    return c.redirect(`${base}/login`, 303);
  });
  app.get('/', (c) => c.redirect(`${base}/terminal`, 303));
  registerTerminal(app, shared);
  registerOperations(app, shared);
  registerFinance(app, shared);
  app.notFound((c) => renderError(c as DashboardContext, shared, 404, 'not_found', 'no such page'));
  app.onError((error, c) => onError(error, c as DashboardContext, shared));
  return app;
}

function frameOf(c: DashboardContext, shared: Shared): Frame {
  const session = c.get('session');
  return session ? { base: shared.base, csrf: shared.keys.csrfToken(session.id) } : { base: shared.base };
}

function noStore(c: DashboardContext): void {
  c.header('cache-control', 'no-store');
}

async function formOf(c: DashboardContext): Promise<(name: string) => string> {
  const body = await c.req.parseBody();
  return (name) => {
    const value = body[name];
    return typeof value === 'string' ? value : '';
  };
}

function cookieOptions(shared: Shared, maxAge_ms: number) {
  return { path: shared.base || '/', httpOnly: true, secure: true, sameSite: 'Strict' as const, maxAge: Math.floor(maxAge_ms / 1000) };
}

function registerLogin(app: Hono<DashboardEnv>, shared: Shared): void {
  const showLogin = (c: DashboardContext, failed: boolean, status: 200 | 401) => {
    const form = shared.keys.issueLoginForm(Date.now());
    setCookie(c, login_cookie, form.cookie, cookieOptions(shared, login_form_lifetime_ms));
    noStore(c);
    return c.html(<LoginPage frame={{ base: shared.base }} loginCsrf={shared.keys.csrfToken(form.binding)} failed={failed} />, status);
  };
  app.get('/login', (c) => {
    if (shared.keys.verify(getCookie(c, session_cookie), Date.now())) return c.redirect(`${shared.base}/terminal`, 303);
    return showLogin(c, false, 200);
  });
  app.post('/login', async (c) => {
    const now_ms = Date.now();
    const form = await formOf(c);
    const binding = shared.keys.verifyLoginForm(getCookie(c, login_cookie), now_ms);
    if (!shared.keys.checkCsrf(binding, form('_csrf'))) return renderError(c, shared, 403, 'csrf_invalid', 'the login form expired; reload the page and try again');
    const client = clientAddress(c);
    if (!shared.loginThrottle.allowed(client, now_ms)) return renderError(c, shared, 429, 'rate_limited', 'too many failed logins; wait a minute');
    if (!equalText(form('adminKey'), shared.deps.adminKey)) {
      const failures = shared.loginThrottle.recordFailure(client, now_ms);
      shared.logger.warn({ failures }, 'dashboard login refused');
      return showLogin(c, true, 401);
    }
    const { cookie } = shared.keys.issue(now_ms);
    setCookie(c, session_cookie, cookie, cookieOptions(shared, session_lifetime_ms));
    deleteCookie(c, login_cookie, { path: shared.base || '/', secure: true });
    shared.logger.info('dashboard login');
    return c.redirect(`${shared.base}/terminal`, 303);
  });
}

/** The peer's address (Node server); requests without a socket (app.request) share one bucket. */
function clientAddress(c: DashboardContext): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function requireSession(shared: Shared) {
  return async function requireSession(c: DashboardContext, next: () => Promise<void>) {
    const session = shared.keys.verify(getCookie(c, session_cookie), Date.now());
    if (!session) {
      if (c.req.method === 'GET' || c.req.method === 'HEAD') return c.redirect(`${shared.base}/login`, 303);
      return renderError(c, shared, 401, 'admin_unauthenticated', 'log in first');
    }
    c.set('session', session);
    noStore(c);
    await next();
  };
}

function requireCsrf(shared: Shared) {
  return async function requireCsrf(c: DashboardContext, next: () => Promise<void>) {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const form = await formOf(c);
      if (!shared.keys.checkCsrf(c.get('session')?.id, form('_csrf'))) return renderError(c, shared, 403, 'csrf_invalid', 'this form is stale or not ours; reload the page');
    }
    await next();
  };
}

function terminalChoices(shared: Shared): { terminals: TerminalChoice[]; currencyOf: Map<string, string> } {
  const currencyOf = new Map<string, string>();
  const terminals = shared.deps.registry.listTerminals(terminals_listed_max).filter((t) => t.status === 'active').map((t) => {
    const merchant = shared.deps.registry.getMerchant(t.merchantId);
    if (merchant) currencyOf.set(t.id, merchant.currency);
    return { id: t.id, label: `${t.id} · ${merchant?.name ?? t.merchantId}${merchant ? ` (${merchant.currency})` : ''}` };
  });
  return { terminals, currencyOf };
}

const currency_codes = CURRENCIES.map((c) => c.alpha);

function registerTerminal(app: Hono<DashboardEnv>, shared: Shared): void {
  app.get('/terminal', async (c) => {
    const shoppers = await shared.deps.terminalSimulator.shoppers();
    const { terminals, currencyOf } = terminalChoices(shared);
    const first = terminals[0];
    const form: TerminalForm = {
      who: shoppers[0] ? `shopper:${shoppers[0].id}` : 'attack:unknown_palm', amount: '12.50',
      currency: (first && currencyOf.get(first.id)) ?? 'EUR', terminalId: first?.id ?? '',
    };
    return c.html(<TerminalPage frame={frameOf(c, shared)} shoppers={shoppers} terminals={terminals} currencies={currency_codes} form={form} />);
  });
  app.post('/terminal/pay', async (c) => {
    const field = await formOf(c);
    const form: TerminalForm = { who: field('who'), amount: field('amount'), currency: field('currency'), terminalId: field('terminalId') };
    const shoppers = await shared.deps.terminalSimulator.shoppers();
    const { terminals } = terminalChoices(shared);
    const request = paymentRequest(form, shoppers.map((s) => s.id), terminals.map((t) => t.id));
    const props = { frame: frameOf(c, shared), shoppers, terminals, currencies: currency_codes, form };
    if (typeof request === 'string') return c.html(<TerminalPage {...props} problem={request} />, 422);
    const outcome = await simulate(shared, request);
    if (typeof outcome === 'string') return c.html(<TerminalPage {...props} problem={outcome} />, 502);
    return c.html(<TerminalPage {...props} outcome={outcome} />);
  });
}

/** The form as a simulator request, or what is wrong with it (for the person at the screen). */
export function paymentRequest(form: TerminalForm, shopperIds: readonly string[], terminalIds: readonly string[]): SimulatedPaymentRequest | string {
  if (!currency_codes.includes(form.currency)) return 'Choose a currency from the list.';
  const amount_minor = parseAmount(form.amount, form.currency);
  if (amount_minor === undefined || amount_minor <= 0n) return `Enter a positive amount in ${form.currency} (digits, optionally a point and decimals).`;
  if (!terminalIds.includes(form.terminalId)) return 'Choose an active terminal from the list.';
  const [kind, name = ''] = splitOnce(form.who, ':');
  const base = { amount_minor, currency: form.currency, terminalId: form.terminalId };
  if (kind === 'shopper' && shopperIds.includes(name)) return { ...base, shopper: name };
  if (kind === 'attack' && (SIMULATED_ATTACKS as readonly string[]).includes(name)) return { ...base, attack: name as SimulatedAttack };
  return 'Choose a shopper or an attack from the list.';
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + separator.length)];
}

/** Runs the simulator; a GatewayError thrown by an in-process simulator is the switch's refusal. */
async function simulate(shared: Shared, request: SimulatedPaymentRequest): Promise<SimulatorOutcome | string> {
  try {
    return await shared.deps.terminalSimulator.pay(request);
  } catch (error) {
    if (error instanceof GatewayError) return { kind: 'refused', code: error.code, message: error.message, httpStatus: error.status };
    shared.logger.error({ err: maskPansInText(error instanceof Error ? error.message : String(error)) }, 'terminal simulator failed');
    return 'The terminal simulator failed; see the gateway log.';
  }
}

function registerOperations(app: Hono<DashboardEnv>, shared: Shared): void {
  app.get('/operations', (c) => {
    const { operations, pipeline } = shared.deps;
    return c.html(<OperationsPage frame={frameOf(c, shared)} links={operations.links()} gallerySize={operations.gallerySize()}
      payments={pipeline.payments({ limit: recent_payments_listed_max })} />);
  });
}

function registerFinance(app: Hono<DashboardEnv>, shared: Shared): void {
  const { reports, operations } = shared.deps;
  app.get('/finance', async (c) => c.html(<FinancePage frame={frameOf(c, shared)} sheets={await reports.balances()} runs={reports.reconRuns(recon_runs_shown_max)}
    networks={operations.links().map((l) => l.network)} today={new Date().toISOString().slice(0, 10)} />));
  app.post('/finance/reconcile', async (c) => {
    const field = await formOf(c);
    const network = field('network');
    const date = field('date');
    if (!operations.links().some((l) => l.network === network)) return renderError(c, shared, 422, 'request_invalid', 'choose a network from the list');
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) return renderError(c, shared, 422, 'request_invalid', 'the date must be YYYY-MM-DD');
    const run = await reports.settleAndReconcile(network, date);
    shared.logger.info({ run: run.id, network, date, exceptions: run.exceptions }, 'reconciliation run from the dashboard');
    return c.redirect(`${shared.base}/finance/runs/${run.id}`, 303);
  });
  app.get('/finance/runs/:id{[0-9]{1,9}}', (c) => {
    const id = Number(c.req.param('id'));
    const report = reports.reconReport(id);
    const listed = reports.reconRuns(recon_runs_shown_max).find((r) => r.id === id);
    return c.html(<RunPage frame={frameOf(c, shared)} run={{ id, network: report.network, date: report.date, ran_at: listed?.ran_at }} report={report} />);
  });
  app.get('/finance/runs/:id{[0-9]{1,9}}/csv', (c) => {
    const id = Number(c.req.param('id'));
    const report = reports.reconReport(id);
    return csv(c, reports.reconReportCsv(id), `recon-${report.network}-${report.date}-${id}.csv`);
  });
  app.get('/finance/balances.csv', async (c) => csv(c, balancesCsv(await reports.balances()), `balances-${new Date().toISOString().slice(0, 10)}.csv`));
}

function csv(c: DashboardContext, text: string, filename: string): Response {
  assert(/^[A-Za-z0-9._-]+$/.test(filename), 'CSV file names are plain');
  return c.body(text, 200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${filename}"` });
}

function renderError(c: DashboardContext, shared: Shared, status: 401 | 403 | 404 | 413 | 422 | 429 | 500 | 502 | 503, code: string, message: string) {
  noStore(c);
  return c.html(<ErrorPage frame={frameOf(c, shared)} status={status} code={code} message={message} />, status);
}

/** Typed errors show their code and message; anything else is logged and shown as `internal`, never with a stack. */
function onError(error: Error, c: DashboardContext, shared: Shared) {
  if (error instanceof GatewayError) {
    const status = error.status === 400 ? 422 : error.status;
    const shown = ([401, 403, 404, 413, 422, 429, 500, 502, 503] as const).find((s) => s === status) ?? 500;
    return renderError(c, shared, shown, error.code, error.message);
  }
  if (error instanceof HTTPException && error.status === 413) return renderError(c, shared, 413, 'body_too_large', 'form too large');
  shared.logger.error({ err: maskPansInText(error.message) }, 'dashboard request failed');
  return renderError(c, shared, 500, 'internal', 'something went wrong; see the gateway log');
}
