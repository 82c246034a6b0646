/**
 * The gateway's HTTP app: one factory that wires the security layers in the order that makes
 * each one cheap to refuse at — size limit (before any parsing), who is asking (client
 * certificate or admin key), the caller's rate bucket, the idempotency key, then the route
 * (schema validation, capture signature, pipeline). Also /healthz, /readyz, /metrics,
 * /openapi.json and /docs. Every error leaves as `{ error: { code, message } }`.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { matchedRoutes } from 'hono/route';
import type { Logger } from '../../core/index.js';
import type { HsmPort } from '../../hsm-sim/index.js';
import { GatewayError } from '../errors.js';
import type { DevPki } from '../pki/index.js';
import type { PaymentPipeline } from '../pipeline/contract.js';
import type { IdempotencyStore } from '../store/idempotency.js';
import type { NonceStore } from '../store/nonces.js';
import type { RegistryStore } from '../store/port.js';
import type { CertificateRecords } from '../store/registry.js';
import { registerAdminRoutes } from './admin-routes.js';
import { adminAuth, admin_key_chars_min, terminalAuth, type GatewayEnv } from './auth.js';
import type { RouteDeps } from './deps.js';
import { DOCS_CSS, renderDocsPage, type OpenApiDocument } from './docs.js';
import { idempotent } from './idempotent.js';
import { limits_default, RateLimiter, type GatewayLimits } from './limits.js';
import { createGatewayMetrics, registerLinkGauges, type GatewayMetrics } from './metrics.js';
import { errorBody, errorResponse } from './respond.js';
import { CaptureVerifier, signature_window_ms_default } from './signature.js';
import { registerTerminalRoutes } from './terminal-routes.js';

/** Admin resources; every other /v1 route is a terminal's. */
export const ADMIN_PATH_PREFIXES = ['/v1/merchants', '/v1/terminals', '/v1/reports'] as const;
/** Recent ledger-stage latencies kept for the ledger posting latency gauge. */
export const ledger_samples_max = 1_024;

export const OPENAPI_INFO = {
  openapi: '3.1.0',
  info: {
    title: 'palmswitch gateway', version: '0.1.0',
    description: 'Palm payments over mutual TLS with signed captures. Errors are `{ error: { code, message } }`; amounts are `{ minor, currency }` with minor units as digit strings; payment and shopper ids are 32 hex digits.',
  },
} as const;

export interface GatewayAppOptions {
  readonly pipeline: PaymentPipeline;
  readonly registry: RegistryStore & CertificateRecords;
  readonly hsm: Pick<HsmPort, 'registerTerminalKey' | 'verifyTerminalSignature'>;
  readonly pki: Pick<DevPki, 'issueTerminalCertificate' | 'revoke' | 'caPem'>;
  readonly stores: { readonly idempotency: IdempotencyStore; readonly nonces: NonceStore };
  readonly adminKey: string;
  readonly limits?: Partial<GatewayLimits>;
  readonly metrics?: GatewayMetrics;
  readonly logger: Logger;
  /** Readiness of the switch's dependencies (links, ledger, hsm); /readyz answers 503 while false. */
  readonly ready?: () => boolean | Promise<boolean>;
  /** Network links as the operations port reports them; feeds the link-state and SAF-depth gauges of /metrics. */
  readonly links?: () => readonly { network: string; up: number; inFlight: number; reversalsPending: number; advicesPending: number }[];
  readonly signatureWindow_ms?: number;
  readonly now?: () => number;
  /**
   * Resolves once every state write so far is on disk (the store's group commit); awaited before
   * any answer leaves, so nothing is acknowledged before it is durable. Default: writes are durable at commit.
   */
  readonly durable?: () => Promise<void>;
}

const isAdminPath = (path: string): boolean => ADMIN_PATH_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));

function routeLabel(c: Context<GatewayEnv>): string {
  const last = matchedRoutes(c).at(-1);
  return last && last.method !== 'ALL' ? last.path : 'unmatched';
}

export function createGatewayApp(options: GatewayAppOptions): OpenAPIHono<GatewayEnv> {
  if (options.adminKey.length < admin_key_chars_min) throw new GatewayError('request_invalid', `the admin key must be at least ${admin_key_chars_min} characters`);
  const now = options.now ?? Date.now;
  const limits: GatewayLimits = { ...limits_default, ...options.limits };
  const metrics = options.metrics ?? createGatewayMetrics();
  const ledgerSamples: number[] = [];
  if (options.links) registerLinkGauges(metrics, options.links);
  metrics.registry.gauge('palmswitch_ledger_posting_ms', 'Ledger hold posting latency of recent authorizations (ms), by quantile.', () => ledgerQuantiles(ledgerSamples));
  const deps: RouteDeps = {
    pipeline: options.pipeline, registry: options.registry, hsm: options.hsm, pki: options.pki, limits, metrics, logger: options.logger, now,
    identityLimiter: new RateLimiter(limits.perIdentity, undefined, now),
    verifier: new CaptureVerifier(options.hsm, options.stores.nonces, options.signatureWindow_ms ?? signature_window_ms_default, now),
    onLedgerStage: (ms) => { ledgerSamples.push(ms); if (ledgerSamples.length > ledger_samples_max) ledgerSamples.shift(); },
  };
  const app = new OpenAPIHono<GatewayEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const issue = result.error.issues[0];
        throw new GatewayError('request_invalid', issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'the request does not match its schema');
      }
    },
  });
  app.onError((error, c) => errorResponse(c, error, options.logger));
  app.notFound((c) => c.json(errorBody('not_found', 'no such route'), 404));
  const requestMetrics: MiddlewareHandler<GatewayEnv> = async function requestMetrics(c, next) {
    const started = performance.now();
    await next();
    const route = routeLabel(c);
    metrics.requests.inc({ route, method: c.req.method, status: String(c.res.status) });
    const elapsed_ms = performance.now() - started;
    metrics.requestSeconds.observe(elapsed_ms / 1000, { route });
    // Route template and status only: no body, no header values, nothing personal.
    options.logger.debug({ route, method: c.req.method, status: c.res.status, ms: Math.round(elapsed_ms * 10) / 10 }, 'request');
  };
  app.use('*', requestMetrics);
  const durable = options.durable;
  if (durable) {
    app.use('*', async function durableAnswers(_c, next) {
      await next();
      await durable();
    });
  }
  app.use('*', bodyLimit({
    maxSize: limits.body_size_bytes_max,
    onError: (c) => {
      // The unread rest of the body is still on the wire: close the connection rather than let a client reuse it.
      c.header('Connection', 'close');
      throw new GatewayError('body_too_large', `the body is over ${limits.body_size_bytes_max} bytes`);
    },
  }));
  useSecurity(app, options, limits, now);
  registerAdminRoutes(app, deps);
  registerTerminalRoutes(app, deps);
  registerOperationalRoutes(app, options, metrics);
  return app;
}

function useSecurity(app: OpenAPIHono<GatewayEnv>, options: GatewayAppOptions, limits: GatewayLimits, now: () => number): void {
  const admin = adminAuth(options.adminKey, now);
  const terminal = terminalAuth(options.registry, options.registry);
  const perTerminal = new RateLimiter(limits.perTerminal, undefined, now);
  const idempotency = idempotent(options.stores.idempotency, now);
  // Reads of a shopper's data are not stored as idempotent answers: personal data must not outlive a deletion.
  const notIdempotent = new Set(['/v1/identity/lookup', '/v1/identity/by-phone']);
  const authenticate: MiddlewareHandler<GatewayEnv> = async function authenticate(c, next) {
    if (isAdminPath(c.req.path)) return await admin(c, next);
    return await terminal(c, async () => {
      perTerminal.take(c.get('terminal').id, 'terminal');
      await next();
    });
  };
  const idempotentWrites: MiddlewareHandler<GatewayEnv> = async function idempotentWrites(c, next) {
    if (c.req.method !== 'POST' || notIdempotent.has(c.req.path)) return await next();
    return await idempotency(c, next);
  };
  app.use('/v1/*', authenticate, idempotentWrites);
}

function registerOperationalRoutes(app: OpenAPIHono<GatewayEnv>, options: GatewayAppOptions, metrics: GatewayMetrics): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'adminKey', { type: 'apiKey', in: 'header', name: 'X-Admin-Key' });
  app.openAPIRegistry.registerComponent('securitySchemes', 'terminalCertificate', {
    type: 'mutualTLS', description: 'A client certificate issued by the switch\'s CA at terminal registration; CN = terminal id = X-Terminal-Id.',
  });
  app.doc31('/openapi.json', OPENAPI_INFO);
  app.get('/healthz', (c) => c.json({ status: 'ok' }, 200));
  app.get('/readyz', async (c) => {
    const ready = options.ready ? await options.ready() : true;
    return ready ? c.json({ status: 'ready' }, 200) : c.json(errorBody('not_ready', 'the switch is not ready'), 503);
  });
  app.get('/metrics', (c) => c.body(metrics.registry.render(), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }));
  app.get('/docs/assets/docs.css', (c) => c.body(DOCS_CSS, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'max-age=3600' }));
  app.get('/docs', (c) => {
    const doc = app.getOpenAPI31Document(OPENAPI_INFO) as unknown as OpenApiDocument;
    return c.html(renderDocsPage(doc, '/docs/assets/docs.css'));
  });
}

function ledgerQuantiles(samples: readonly number[]): { labels: { quantile: string }; value: number }[] {
  if (samples.length === 0) return [];
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return [{ labels: { quantile: '0.5' }, value: at(0.5) }, { labels: { quantile: '0.99' }, value: at(0.99) }];
}
