/**
 * Who is asking. Terminals: mutual TLS — the TLS server asks every client for a certificate
 * but does not drop the connection itself (`rejectUnauthorized: false`), so this middleware
 * can answer each failure with a typed JSON error: no certificate, a certificate not from our
 * CA, an expired one, a revoked serial, a certificate that is not the terminal's current one,
 * a CN that is not the terminal named by `X-Terminal-Id`, and a suspended or revoked terminal.
 * Admins: an API key in `X-Admin-Key`, compared in constant time; no certificate needed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { MiddlewareHandler } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import { GatewayError } from '../errors.js';
import type { RegistryStore, TerminalRecord } from '../store/port.js';
import { normaliseSerial, type CertificateRecords } from '../store/registry.js';
import { SIGNATURE_HEADERS } from './canonical.js';
import { RateLimiter } from './limits.js';
import type { LiftedImages } from './lifted-images.js';

export const ADMIN_KEY_HEADER = 'x-admin-key';
/** An admin key shorter than this is refused at start: it would be guessable. */
export const admin_key_chars_min = 24;

export interface GatewayVariables {
  terminal: TerminalRecord;
  /** Who owns idempotency keys and rate buckets: `terminal:<id>` or `admin`. */
  scope: string;
  /** A stored idempotent answer that differs from what was sent (the first answer's private key is not kept). */
  idempotentBody: string | undefined;
  /** Capture images taken out of a mutating request's body before it was parsed (lifted-images.ts). */
  images: LiftedImages | undefined;
}

export interface GatewayEnv { Bindings: HttpBindings; Variables: GatewayVariables }

/** Node's verdicts on a peer chain that mean "expired" rather than "not ours". */
const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

function peerOf(bindings: HttpBindings | undefined): TLSSocket | undefined {
  const socket = bindings?.incoming?.socket as TLSSocket | undefined;
  return socket && typeof socket.getPeerCertificate === 'function' ? socket : undefined;
}

/** What a connection's client certificate says, read once per connection. */
interface PeerIdentity {
  readonly authorized: boolean;
  readonly authorizationError: string;
  readonly serial: string;
  readonly commonName: string | undefined;
  readonly notAfter_ms: number;
}

/**
 * `getPeerCertificate()` builds a fresh object of the whole certificate at every call (about
 * 0.5 ms per request on the gateway's event loop). The peer of a connection cannot change: the
 * server refuses renegotiation (server.ts), so keep-alive requests reuse the first reading.
 * Revocation and the registry are still checked per request, and expiry against the clock.
 */
const peers = new WeakMap<TLSSocket, PeerIdentity | null>();

function peerIdentity(socket: TLSSocket): PeerIdentity | null {
  const known = peers.get(socket);
  if (known !== undefined) return known;
  const certificate = socket.getPeerCertificate();
  let identity: PeerIdentity | null = null;
  if (certificate && Object.keys(certificate).length > 0) {
    const commonName = certificate.subject.CN;
    identity = {
      authorized: socket.authorized,
      authorizationError: String(socket.authorizationError ?? 'unverified'),
      serial: normaliseSerial(certificate.serialNumber),
      commonName: Array.isArray(commonName) ? commonName[0] : commonName,
      notAfter_ms: Date.parse(certificate.valid_to),
    };
  }
  peers.set(socket, identity);
  return identity;
}

/** The terminal a request comes from, after every certificate and registry check. */
export function authenticateTerminal(socket: TLSSocket | undefined, claimedId: string | undefined, registry: RegistryStore, records: CertificateRecords, now_ms = Date.now()): TerminalRecord {
  const peer = socket ? peerIdentity(socket) : null;
  if (!peer) throw new GatewayError('terminal_unauthenticated', 'a client certificate is required');
  if (!peer.authorized) {
    if (EXPIRED.has(peer.authorizationError)) throw new GatewayError('terminal_unauthenticated', 'the client certificate has expired or is not yet valid');
    throw new GatewayError('terminal_unauthenticated', 'the client certificate is not issued by this switch\'s CA');
  }
  // A keep-alive connection may outlive its certificate: the handshake's verdict is not enough.
  if (!(now_ms <= peer.notAfter_ms)) throw new GatewayError('terminal_unauthenticated', 'the client certificate has expired or is not yet valid');
  if (records.isRevoked(peer.serial)) throw new GatewayError('terminal_unauthenticated', 'the client certificate is revoked');
  if (claimedId === undefined || claimedId.length === 0) throw new GatewayError('terminal_unauthenticated', `the ${SIGNATURE_HEADERS.terminal} header is required`);
  if (peer.commonName !== claimedId) throw new GatewayError('terminal_forbidden', 'the client certificate belongs to another terminal');
  const terminal = registry.getTerminal(claimedId);
  if (!terminal) throw new GatewayError('terminal_unauthenticated', 'unknown terminal');
  if (terminal.status === 'revoked') throw new GatewayError('terminal_unauthenticated', 'the terminal is revoked');
  if (terminal.status === 'suspended') throw new GatewayError('terminal_suspended', 'the terminal is suspended');
  // Only the terminal's current certificate counts: a re-issued terminal's old one is dead even before it expires.
  if (normaliseSerial(terminal.certificateSerial) !== peer.serial) throw new GatewayError('terminal_unauthenticated', 'the client certificate is not the terminal\'s current one');
  return terminal;
}

export function terminalAuth(registry: RegistryStore, records: CertificateRecords): MiddlewareHandler<GatewayEnv> {
  return async function terminalAuthMiddleware(c, next) {
    const terminal = authenticateTerminal(peerOf(c.env), c.req.header(SIGNATURE_HEADERS.terminal), registry, records);
    c.set('terminal', terminal);
    c.set('scope', `terminal:${terminal.id}`);
    await next();
  };
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Failed admin-key attempts per client address: a guessing client is slowed to this rate. */
export const admin_failures_rule = { rate_per_s: 1, burst: 20 } as const;

export function adminAuth(adminKey: string, now: () => number = Date.now): MiddlewareHandler<GatewayEnv> {
  // Comparing digests keeps the comparison constant-time whatever the length of what was sent.
  const expected = digest(adminKey);
  const failures = new RateLimiter(admin_failures_rule, undefined, now);
  return async function adminAuthMiddleware(c, next) {
    const presented = c.req.header(ADMIN_KEY_HEADER);
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
      failures.take(c.env?.incoming?.socket?.remoteAddress ?? 'unknown', 'client address (failed admin keys)');
      throw new GatewayError('admin_unauthenticated', `a valid ${ADMIN_KEY_HEADER} header is required`);
    }
    c.set('scope', 'admin');
    await next();
  };
}
