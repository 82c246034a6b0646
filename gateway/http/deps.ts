/**
 * What the route modules share: the dependencies the app factory hands them, and the pieces
 * of OpenAPI route definitions every route repeats (error responses, security, headers).
 */
import { z } from '@hono/zod-openapi';
import type { Logger } from '../../core/index.js';
import type { HsmPort } from '../../hsm-sim/index.js';
import type { DevPki } from '../pki/index.js';
import type { PaymentPipeline } from '../pipeline/contract.js';
import type { RegistryStore } from '../store/port.js';
import type { CertificateRecords } from '../store/registry.js';
import { ErrorSchema } from './schemas.js';
import type { GatewayLimits, RateLimiter } from './limits.js';
import type { GatewayMetrics } from './metrics.js';
import type { CaptureVerifier } from './signature.js';

export interface RouteDeps {
  readonly pipeline: PaymentPipeline;
  readonly registry: RegistryStore & CertificateRecords;
  readonly hsm: Pick<HsmPort, 'registerTerminalKey' | 'verifyTerminalSignature'>;
  readonly pki: Pick<DevPki, 'issueTerminalCertificate' | 'revoke' | 'caPem'>;
  readonly limits: GatewayLimits;
  readonly identityLimiter: RateLimiter;
  readonly verifier: CaptureVerifier;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  readonly now: () => number;
  /** Called with each ledger-stage latency (ms) of an authorization (feeds the ledger latency gauge). */
  readonly onLedgerStage: (ms: number) => void;
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'The request is malformed (`request_invalid`, `capture_invalid`).',
  401: 'Not authenticated: client certificate, admin key, or capture signature/nonce/timestamp refused.',
  403: 'Authenticated but not allowed (other terminal, suspended terminal or merchant, wrong code).',
  404: 'No such merchant, terminal, payment or shopper.',
  409: 'Conflict: `idempotency_in_flight`, a payment in the wrong state, or an existing resource.',
  413: '`body_too_large`: the body or an image is over its limit.',
  422: 'Refused on its merits: `idempotency_key_reused`, poor capture, liveness, amount, card.',
  429: '`rate_limited`; see `Retry-After`.',
  500: '`internal`: details are in the switch\'s log, never in the answer.',
  502: 'A card network or token service did not answer.',
  503: '`overloaded` or `not_ready`.',
};

/** OpenAPI error responses for the given statuses (all share the `Error` schema). */
export function errorResponses(...statuses: readonly number[]) {
  const responses: Record<number, { description: string; content: { 'application/json': { schema: typeof ErrorSchema } } }> = {};
  for (const status of [...statuses, 500]) {
    responses[status] = { description: STATUS_TEXT[status] ?? 'Error.', content: { 'application/json': { schema: ErrorSchema } } };
  }
  return responses;
}

export function jsonContent<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { 'application/json': { schema } } };
}

/** Documented headers. Optional in the schema on purpose: their absence gets its own typed error, not a generic 400. */
export const IdempotencyHeaders = z.object({
  'idempotency-key': z.string().optional().openapi({ description: 'Required on every mutating call: 8..128 of [A-Za-z0-9_.:-], scoped to the caller, kept >= 24 h.' }),
});
export const TerminalHeaders = IdempotencyHeaders.extend({
  'x-terminal-id': z.string().optional().openapi({ description: 'The calling terminal; must equal the client certificate CN.' }),
});
export const SignedHeaders = TerminalHeaders.extend({
  'x-palm-timestamp': z.string().optional().openapi({ description: 'Milliseconds since the epoch when signed; within 5 minutes of the switch clock.' }),
  'x-palm-nonce': z.string().optional().openapi({ description: '16..64 of [A-Za-z0-9_-], never reused by this terminal.' }),
  'x-palm-signature': z.string().optional().openapi({ description: 'ECDSA P-256/SHA-256 by the sensor key over the canonical string (gateway/README.md), r||s base64.' }),
});
export const AdminHeaders = IdempotencyHeaders.extend({
  'x-admin-key': z.string().optional().openapi({ description: 'The admin API key.' }),
});

export const ADMIN_SECURITY = [{ adminKey: [] }];
export const TERMINAL_SECURITY = [{ terminalCertificate: [] }];
