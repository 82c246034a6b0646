/**
 * Dashboard sessions and CSRF tokens. A session is a cookie `id.expires_ms.mac` where the MAC
 * is HMAC-SHA256 under a secret drawn at start-up: nothing is stored server-side, a restart
 * logs everyone out (acceptable for an operator console), and a tampered or expired cookie is
 * refused. CSRF tokens are synchronizer tokens bound to the session id (HMAC over a separate
 * label), so a token lifted from one session is worthless in another. The login form, which
 * has no session yet, binds its token to a short-lived pre-session cookie instead.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { assert } from '../../core/index.js';

/** How long a dashboard login lasts. */
export const session_lifetime_ms = 8 * 60 * 60 * 1000;
/** How long a login form stays usable before it must be reloaded. */
export const login_form_lifetime_ms = 15 * 60 * 1000;
/** Session ids are random; 16 bytes make guessing hopeless. */
export const session_id_bytes = 16;
/** A cookie longer than this is not ours and is refused before any parsing. */
export const session_cookie_bytes_max = 256;

export interface Session {
  readonly id: string;
  readonly expires_ms: number;
}

export class SessionKeys {
  private readonly secret: Buffer;

  constructor(secret: Uint8Array = randomBytes(32)) {
    assert(secret.length >= 32, 'session secret must be at least 32 bytes');
    this.secret = Buffer.from(secret);
  }

  /** A fresh session and its cookie value. */
  issue(now_ms: number, lifetime_ms = session_lifetime_ms): { session: Session; cookie: string } {
    assert(lifetime_ms > 0, 'session lifetime must be positive');
    const session: Session = { id: randomBytes(session_id_bytes).toString('base64url'), expires_ms: now_ms + lifetime_ms };
    const body = `${session.id}.${session.expires_ms}`;
    return { session, cookie: `${body}.${this.mac('session', body)}` };
  }

  /** The session a cookie carries, or undefined when it is absent, malformed, forged or expired. */
  verify(cookie: string | undefined, now_ms: number): Session | undefined {
    if (cookie === undefined || cookie.length > session_cookie_bytes_max) return undefined;
    const parts = cookie.split('.');
    if (parts.length !== 3) return undefined;
    const [id, expires, mac] = parts as [string, string, string];
    if (!/^[A-Za-z0-9_-]{22}$/.test(id) || !/^\d{1,15}$/.test(expires)) return undefined;
    if (!equalText(mac, this.mac('session', `${id}.${expires}`))) return undefined;
    const expires_ms = Number(expires);
    if (expires_ms <= now_ms) return undefined;
    return { id, expires_ms };
  }

  /** The CSRF token for forms of `binding` (a session id, or a login form's pre-session id). */
  csrfToken(binding: string): string {
    assert(binding.length > 0, 'a CSRF token needs something to bind to');
    return this.mac('csrf', binding);
  }

  checkCsrf(binding: string | undefined, token: unknown): boolean {
    if (binding === undefined || binding.length === 0 || typeof token !== 'string') return false;
    return equalText(token, this.csrfToken(binding));
  }

  /** A login form's pre-session cookie: `nonce.expires_ms.mac`, bound to no one. */
  issueLoginForm(now_ms: number): { binding: string; cookie: string } {
    const { session, cookie } = this.issue(now_ms, login_form_lifetime_ms);
    return { binding: `login:${session.id}`, cookie };
  }

  verifyLoginForm(cookie: string | undefined, now_ms: number): string | undefined {
    const session = this.verify(cookie, now_ms);
    return session ? `login:${session.id}` : undefined;
  }

  private mac(label: string, body: string): string {
    return createHmac('sha256', this.secret).update(`${label}\n${body}`).digest('base64url');
  }
}

/** Compares two strings without leaking where they differ (hashing first equalises lengths). */
export function equalText(a: string, b: string): boolean {
  const digestA = createHash('sha256').update(a).digest();
  const digestB = createHash('sha256').update(b).digest();
  return timingSafeEqual(digestA, digestB);
}

/** Clients whose failed logins are remembered; past it the longest-known client is forgotten. */
export const login_clients_tracked_max = 1_024;

/**
 * Failed logins per client address in a sliding window. Per client, so that someone guessing
 * keys from one address does not lock the operator out from another.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly failures_per_window_max: number, private readonly window_ms: number) {
    assert(failures_per_window_max > 0 && window_ms > 0, 'login throttle bounds are positive');
  }

  allowed(client: string, now_ms: number): boolean {
    return this.recent(client, now_ms).length < this.failures_per_window_max;
  }

  recordFailure(client: string, now_ms: number): number {
    const list = this.recent(client, now_ms);
    list.push(now_ms);
    this.failures.delete(client);
    this.failures.set(client, list);
    if (this.failures.size > login_clients_tracked_max) {
      const oldest = this.failures.keys().next();
      if (!oldest.done) this.failures.delete(oldest.value);
    }
    assert(this.failures.size <= login_clients_tracked_max, 'login throttle stays bounded');
    return list.length;
  }

  get clients(): number {
    return this.failures.size;
  }

  private recent(client: string, now_ms: number): number[] {
    const list = this.failures.get(client) ?? [];
    while (list.length > 0 && (list[0] ?? 0) <= now_ms - this.window_ms) list.shift();
    return list;
  }
}
