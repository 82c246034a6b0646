/**
 * The `Idempotency-Key` middleware for every mutating call. Keys are scoped to the caller (a
 * terminal, or the admin), so one terminal can never read or block another's answers.
 *
 * - same key, same request (method, path, body bytes) -> the stored first answer, marked
 *   `Idempotent-Replayed: true`;
 * - same key while the first is still running -> 409 `idempotency_in_flight`;
 * - same key, different request -> 422 `idempotency_key_reused`.
 *
 * Only definitive answers are stored: successes and refusals that a retry would get again
 * (a decline, a bad amount, a poor capture). Answers that depend on the moment — rate limits,
 * signature/nonce/clock refusals, 5xx — release the key so a retry runs again.
 */
import { createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { GatewayError, type GatewayErrorCode } from '../errors.js';
import type { IdempotencyStore } from '../store/idempotency.js';
import type { GatewayEnv } from './auth.js';
import { liftImages } from './lifted-images.js';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const idempotency_key_pattern = /^[A-Za-z0-9_.:-]{8,128}$/;
/** Expired records are purged at most this often, from the request path (bounded rows per statement, no timer to stop). */
export const idempotency_purge_interval_ms = 60_000;

const NOT_STORED = new Set<string>([
  'rate_limited', 'idempotency_in_flight', 'idempotency_key_reused', 'signature_invalid', 'nonce_reused', 'timestamp_stale',
  'terminal_unauthenticated', 'admin_unauthenticated', 'body_too_large', 'overloaded', 'not_ready',
] satisfies GatewayErrorCode[]);

/** Whether an answer is the request's definitive outcome (stored) or depends on the moment (released). */
export function isDefinitive(status: number, body: string): boolean {
  if (status >= 200 && status < 300) return true;
  if (status < 400 || status >= 500) return false;
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' && !NOT_STORED.has(code);
  } catch {
    return false;
  }
}

/**
 * Hono's `c.req.json()` would stream the cached bytes once more through a fetch Response and
 * parse them at every call, and a signed request reads the JSON twice (the schema validator,
 * then the signature check, which covers members the schema drops). Here the body's images are
 * lifted out first (lifted-images.ts: no large strings), the small text left is parsed at the
 * first call, and every later call gets the same value (or the same refusal). Its readers never
 * change it: the validator's schema builds a new object and the signature check only reads.
 */
function shareJsonParse(request: object, text: string): void {
  let parsed: Promise<unknown> | undefined;
  const json = (): Promise<unknown> => (parsed ??= new Promise((resolve) => { resolve(JSON.parse(text)); }));
  Object.defineProperty(request, 'json', { value: json, configurable: true, writable: true });
}

export function idempotent(store: IdempotencyStore, now: () => number = Date.now): MiddlewareHandler<GatewayEnv> {
  let purged_ms = 0;
  return async function idempotencyMiddleware(c, next) {
    const key = c.req.header(IDEMPOTENCY_HEADER);
    if (key === undefined || !idempotency_key_pattern.test(key)) {
      throw new GatewayError('request_invalid', 'an Idempotency-Key header of 8..128 characters [A-Za-z0-9_.:-] is required on every mutating call');
    }
    const scope = c.get('scope');
    const body = new Uint8Array(await c.req.arrayBuffer());
    const { text, images } = liftImages(body);
    shareJsonParse(c.req, text);
    c.set('images', images);
    const requestHash = createHash('sha256').update(`${c.req.method}\n${c.req.path}\n`).update(body).digest('hex');
    if (now() - purged_ms >= idempotency_purge_interval_ms) {
      purged_ms = now();
      store.purge(purged_ms);
    }
    const claim = store.claim(scope, key, requestHash, now());
    if (claim.kind === 'in_flight') throw new GatewayError('idempotency_in_flight', 'a request with this Idempotency-Key is still being processed');
    if (claim.kind === 'mismatch') throw new GatewayError('idempotency_key_reused', 'this Idempotency-Key was used for a different request');
    if (claim.kind === 'replay') {
      return new Response(claim.body, { status: claim.status, headers: { 'content-type': 'application/json', 'idempotent-replayed': 'true' } });
    }
    let settled = false;
    try {
      await next();
      const text = await c.res.clone().text();
      if (isDefinitive(c.res.status, text)) {
        store.complete(scope, key, claim.claimed_ms, { status: c.res.status, body: c.get('idempotentBody') ?? text }, now());
        settled = true;
      }
    } finally {
      if (!settled) store.release(scope, key, claim.claimed_ms);
    }
  };
}
