/**
 * The simulator's JSON HTTP API on 127.0.0.1: the token service (provision, look up,
 * suspend, resume, delete), card accounts for tests and demos, faults at run time, the
 * settlement file, and counters. The card number goes in (accounts, provisioning) and never
 * comes back out: answers carry account references and tokens only.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { PalmswitchError } from '../core/index.js';
import { NetworkSimError } from './errors.js';
import { mergeFaults, type Faults } from './faults.js';
import { isoDate, type CardNetwork } from './network.js';
import type { ProcessingTimes } from './server.js';
import { buildSettlement, DiscrepancySchema } from './settlement.js';
import { viewOf } from './tokens.js';

/** Request bodies above this are refused before parsing. */
export const HTTP_BODY_BYTES_MAX = 64 * 1024;

const pan = z.string().regex(/^\d{12,19}$/);
const yymm = z.string().regex(/^\d{2}(0[1-9]|1[0-2])$/);
const minor = z.union([z.string().regex(/^\d{1,18}$/), z.number().int().nonnegative()]).transform((v) => BigInt(v));

const AccountBody = z.object({
  pan, expiry: yymm, currency: z.number().int().min(1).max(999), balance_minor: minor, limit_minor: minor,
  status: z.enum(['active', 'blocked', 'restricted', 'unavailable']).default('active'), blockedMcc: z.array(z.string().regex(/^\d{4}$/)).max(100).default([]),
}).strict();
const AccountPatch = z.object({ status: z.enum(['active', 'blocked', 'restricted', 'unavailable']).optional(), balance_minor: minor.optional(), limit_minor: minor.optional() }).strict();
const ProvisionBody = z.object({ pan, expiry: yymm, trid: z.string().regex(/^\d{11}$/) }).strict();
const SettlementBody = z.object({ date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional(), discrepancies: DiscrepancySchema.optional() }).strict();

export interface HttpContext {
  readonly network: CardNetwork;
  readonly networkName: string;
  readonly settlementDir: string;
  readonly processing: ProcessingTimes;
  faults(): Faults;
  setFaults(faults: Faults): void;
  disconnectAll(): number;
}

async function body<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  const length = Number(c.req.header('content-length') ?? '0');
  if (length > HTTP_BODY_BYTES_MAX) throw new NetworkSimError('netsim_request_invalid', `body above ${HTTP_BODY_BYTES_MAX} bytes`);
  const json: unknown = await c.req.json().catch(() => { throw new NetworkSimError('netsim_request_invalid', 'body is not JSON'); });
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new NetworkSimError('netsim_request_invalid', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return parsed.data;
}

const STATUS_OF: Record<string, 400 | 404 | 409 | 507> = {
  netsim_request_invalid: 400, netsim_account_unknown: 404, netsim_token_unknown: 404, netsim_account_exists: 409, netsim_store_full: 507,
};

export function createHttpApp(ctx: HttpContext): Hono {
  const app = new Hono();
  app.onError((error, c) => {
    if (error instanceof PalmswitchError) return c.json({ error: error.code, message: error.message }, STATUS_OF[error.code] ?? 400);
    return c.json({ error: 'netsim_internal_error', message: 'internal error' }, 500);
  });
  tokenRoutes(app, ctx);
  accountRoutes(app, ctx);
  app.get('/faults', (c) => c.json(ctx.faults()));
  app.put('/faults', async (c) => {
    const faults = mergeFaults(ctx.faults(), await body(c, z.unknown()));
    ctx.setFaults(faults);
    if (faults.outage) ctx.disconnectAll();
    return c.json(faults);
  });
  app.post('/disconnect', (c) => c.json({ closed: ctx.disconnectAll() }));
  app.post('/settlement', async (c) => {
    const input = await body(c, SettlementBody);
    const date = input.date ?? isoDate(new Date());
    const built = buildSettlement(ctx.networkName, date, ctx.network.clearedTransactions(), input.discrepancies ?? DiscrepancySchema.parse({}));
    mkdirSync(ctx.settlementDir, { recursive: true });
    const file = path.join(ctx.settlementDir, `settlement-${ctx.networkName}-${date}.txt`);
    writeFileSync(file, built.text);
    return c.json({ file, date, transactions: built.transactions, injected: built.injected });
  });
  app.get('/stats', (c) => c.json({ ...ctx.network.stats, processing: ctx.processing.percentiles(), cpu_us: process.cpuUsage(), accounts: ctx.network.issuer.size, tokens: ctx.network.tokens.size }));
  app.post('/stats/processing/reset', (c) => { ctx.processing.reset(); return c.json({ ok: true }); });
  return app;
}

function tokenRoutes(app: Hono, ctx: HttpContext): void {
  const tokens = ctx.network.tokens;
  app.post('/tokens', async (c) => {
    const input = await body(c, ProvisionBody);
    const account = ctx.network.issuer.get(input.pan);
    if (account.expiry !== input.expiry) throw new NetworkSimError('netsim_request_invalid', 'expiry does not match the card');
    return c.json(viewOf(tokens.provision(input.pan, input.trid)), 201);
  });
  app.get('/tokens/:ref', (c) => c.json(viewOf(tokens.byReference(c.req.param('ref')))));
  app.post('/tokens/:ref/suspend', (c) => c.json(viewOf(tokens.setStatus(c.req.param('ref'), 'suspended'))));
  app.post('/tokens/:ref/resume', (c) => c.json(viewOf(tokens.setStatus(c.req.param('ref'), 'active'))));
  app.delete('/tokens/:ref', (c) => c.json(viewOf(tokens.setStatus(c.req.param('ref'), 'deleted'))));
}

/** Accounts are addressed by an opaque reference (the last four digits are shown, no more). */
function accountRoutes(app: Hono, ctx: HttpContext): void {
  const issuer = ctx.network.issuer;
  const view = (ref: string): object => {
    const account = issuer.get(ref);
    return { last4: account.pan.slice(-4), currency: account.currency, balance_minor: account.balance_minor.toString(), limit_minor: account.limit_minor.toString(), status: account.status };
  };
  const refs = new Map<string, string>();
  const panOf = (ref: string): string => {
    const found = refs.get(ref);
    if (!found) throw new NetworkSimError('netsim_account_unknown', 'no such account');
    return found;
  };
  app.post('/accounts', async (c) => {
    const input = await body(c, AccountBody);
    issuer.open(input);
    const ref = `ACC${String(refs.size + 1).padStart(8, '0')}`;
    refs.set(ref, input.pan);
    return c.json({ ref, ...view(input.pan) }, 201);
  });
  app.get('/accounts/:ref', (c) => c.json({ ref: c.req.param('ref'), ...view(panOf(c.req.param('ref'))) }));
  app.patch('/accounts/:ref', async (c) => {
    const input = await body(c, AccountPatch);
    const account = issuer.get(panOf(c.req.param('ref')));
    if (input.status) account.status = input.status;
    if (input.balance_minor !== undefined) account.balance_minor = input.balance_minor;
    if (input.limit_minor !== undefined) account.limit_minor = input.limit_minor;
    return c.json({ ref: c.req.param('ref'), ...view(account.pan) });
  });
}
