/**
 * Dashboard sessions and CSRF tokens: a cookie is accepted only as issued, only until it
 * expires, and only under the key that issued it; CSRF tokens bind to one session.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LoginThrottle, SessionKeys, equalText, login_clients_tracked_max, session_cookie_bytes_max, session_lifetime_ms } from './session.js';

const now_ms = 1_800_000_000_000;

describe('dashboard sessions', () => {
  it('accepts a cookie it issued until it expires, then refuses it', () => {
    const keys = new SessionKeys();
    const { session, cookie } = keys.issue(now_ms);
    expect(session.expires_ms).toBe(now_ms + session_lifetime_ms);
    expect(keys.verify(cookie, now_ms + 1)).toEqual(session);
    expect(keys.verify(cookie, session.expires_ms - 1)).toEqual(session);
    expect(keys.verify(cookie, session.expires_ms)).toBeUndefined();
  });

  it('refuses a cookie from another key, and any changed byte', () => {
    const keys = new SessionKeys();
    const { cookie } = keys.issue(now_ms);
    expect(new SessionKeys().verify(cookie, now_ms)).toBeUndefined();
    const [id, expires, mac] = cookie.split('.') as [string, string, string];
    // Extending one's own session by editing the expiry breaks the MAC.
    expect(keys.verify(`${id}.${Number(expires) + 86_400_000}.${mac}`, now_ms)).toBeUndefined();
    fc.assert(fc.property(fc.nat({ max: cookie.length - 1 }), fc.string({ minLength: 1, maxLength: 1 }), (at, ch) => {
      const changed = cookie.slice(0, at) + ch + cookie.slice(at + 1);
      fc.pre(changed !== cookie);
      expect(keys.verify(changed, now_ms)).toBeUndefined();
    }), { numRuns: 300 });
  });

  it('refuses absent, oversized and malformed cookies without throwing', () => {
    const keys = new SessionKeys();
    expect(keys.verify(undefined, now_ms)).toBeUndefined();
    expect(keys.verify('x'.repeat(session_cookie_bytes_max + 1), now_ms)).toBeUndefined();
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (text) => {
      expect(keys.verify(text, now_ms)).toBeUndefined();
    }), { numRuns: 500 });
  });

  it('binds CSRF tokens to one session and refuses tokens of another or none', () => {
    const keys = new SessionKeys();
    const a = keys.issue(now_ms).session;
    const b = keys.issue(now_ms).session;
    expect(a.id).not.toBe(b.id);
    const token = keys.csrfToken(a.id);
    expect(keys.checkCsrf(a.id, token)).toBe(true);
    expect(keys.checkCsrf(b.id, token)).toBe(false);
    expect(keys.checkCsrf(undefined, token)).toBe(false);
    expect(keys.checkCsrf(a.id, undefined)).toBe(false);
    expect(keys.checkCsrf(a.id, '')).toBe(false);
    // A session cookie's MAC is not a CSRF token (labels keep the two apart).
    const issued = keys.issue(now_ms);
    expect(keys.checkCsrf(issued.session.id, issued.cookie.split('.')[2])).toBe(false);
  });

  it('gives login forms a binding that a session id cannot stand in for', () => {
    const keys = new SessionKeys();
    const form = keys.issueLoginForm(now_ms);
    expect(keys.verifyLoginForm(form.cookie, now_ms)).toBe(form.binding);
    const token = keys.csrfToken(form.binding);
    expect(keys.checkCsrf(form.binding.replace(/^login:/, ''), token)).toBe(false);
  });

  it('compares text in constant time regardless of length', () => {
    expect(equalText('admin-key-1', 'admin-key-1')).toBe(true);
    expect(equalText('admin-key-1', 'admin-key-2')).toBe(false);
    expect(equalText('short', 'a much longer string')).toBe(false);
    expect(equalText('', '')).toBe(true);
  });
});

describe('login throttle', () => {
  it('refuses a client after its failures fill the window, and lets it try again once they age out', () => {
    const throttle = new LoginThrottle(3, 60_000);
    for (let i = 0; i < 3; i += 1) {
      expect(throttle.allowed('10.0.0.1', now_ms + i)).toBe(true);
      throttle.recordFailure('10.0.0.1', now_ms + i);
    }
    expect(throttle.allowed('10.0.0.1', now_ms + 10)).toBe(false);
    expect(throttle.allowed('10.0.0.2', now_ms + 10)).toBe(true);
    expect(throttle.allowed('10.0.0.1', now_ms + 59_999)).toBe(false);
    expect(throttle.allowed('10.0.0.1', now_ms + 60_000)).toBe(true);
  });

  it('remembers a bounded number of clients', () => {
    const throttle = new LoginThrottle(1, 60_000);
    for (let i = 0; i < login_clients_tracked_max + 50; i += 1) throttle.recordFailure(`client-${i}`, now_ms);
    expect(throttle.clients).toBe(login_clients_tracked_max);
    expect(throttle.allowed(`client-${login_clients_tracked_max + 49}`, now_ms)).toBe(false);
    expect(throttle.allowed('client-0', now_ms)).toBe(true);
  });
});
