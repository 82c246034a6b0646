/**
 * The gateway's typed errors. Every error a terminal, merchant or finance client can see has a
 * stable `code` (what clients match on) and the HTTP status it maps to; the HTTP layer renders
 * them as JSON `{ error: { code, message } }` and never a stack trace.
 */
import { PalmswitchError } from '../core/index.js';

export const GATEWAY_ERRORS = {
  // 400: the request itself is wrong.
  request_invalid: 400,
  capture_invalid: 400,
  // 401/403: who is asking.
  terminal_unauthenticated: 401,
  admin_unauthenticated: 401,
  terminal_forbidden: 403,
  terminal_suspended: 403,
  merchant_suspended: 403,
  signature_invalid: 401,
  nonce_reused: 401,
  timestamp_stale: 401,
  otp_invalid: 403,
  // 404/409/413/422/429: state and limits.
  not_found: 404,
  merchant_not_found: 404,
  terminal_not_found: 404,
  payment_not_found: 404,
  shopper_not_found: 404,
  conflict: 409,
  idempotency_in_flight: 409,
  already_exists: 409,
  payment_state_invalid: 409,
  calibration_stale: 409,
  body_too_large: 413,
  idempotency_key_reused: 422,
  capture_rejected: 422,
  liveness_failed: 422,
  palm_already_enrolled: 422,
  enrolment_inconsistent: 422,
  amount_invalid: 422,
  currency_unsupported: 422,
  card_rejected: 422,
  refund_declined: 422,
  rate_limited: 429,
  // 5xx: our side or a dependency.
  internal: 500,
  network_unavailable: 502,
  token_service_unavailable: 502,
  overloaded: 503,
  not_ready: 503,
} as const;

export type GatewayErrorCode = keyof typeof GATEWAY_ERRORS;
export type GatewayHttpStatus = (typeof GATEWAY_ERRORS)[GatewayErrorCode];

export class GatewayError extends PalmswitchError {
  readonly status: GatewayHttpStatus;
  constructor(
    override readonly code: GatewayErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Readonly<Record<string, string | number | boolean>> },
  ) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.status = GATEWAY_ERRORS[code];
    this.details = options?.details;
  }
  readonly details: Readonly<Record<string, string | number | boolean>> | undefined;
}
