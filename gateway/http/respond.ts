/**
 * Error rendering: every failure leaves as JSON `{ error: { code, message } }` with the
 * status of its code, never a stack trace. Known typed errors keep their code and message;
 * anything else is `internal` with a fixed message, and its details go to the log (masked by
 * the core logger). Refusals that ask the client to wait carry `Retry-After`.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { AssertionError, maskPansInText, PalmswitchError, type Logger } from '../../core/index.js';
import { GATEWAY_ERRORS, GatewayError, type GatewayErrorCode } from '../errors.js';

/** Messages are cut to this many characters (they never need more; a long one is suspicious). */
export const error_message_chars_max = 300;

export interface ErrorBody { readonly error: { readonly code: string; readonly message: string } }

/** Errors of other modules that reach the HTTP layer and what they mean to a client. */
const FOREIGN_CODES: Readonly<Record<string, GatewayErrorCode>> = {
  currency_unknown: 'currency_unsupported',
  hsm_connection_failed: 'overloaded',
  hsm_client_overloaded: 'overloaded',
  hsm_timeout: 'overloaded',
};

export function toGatewayError(error: unknown): GatewayError | undefined {
  if (error instanceof GatewayError) return error;
  // Hono's own refusals (malformed JSON in a validator, an oversized body) keep their meaning.
  if (error instanceof HTTPException) {
    if (error.status === 400) return new GatewayError('request_invalid', error.message || 'malformed request', { cause: error });
    if (error.status === 413) return new GatewayError('body_too_large', 'the body is over its limit', { cause: error });
    return undefined;
  }
  if (error instanceof PalmswitchError && !(error instanceof AssertionError)) {
    const mapped = FOREIGN_CODES[error.code];
    if (mapped) return new GatewayError(mapped, error.message, { cause: error });
    if (error.code in GATEWAY_ERRORS) return new GatewayError(error.code as GatewayErrorCode, error.message, { cause: error });
  }
  return undefined;
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message: maskPansInText(message).slice(0, error_message_chars_max) } };
}

/** The JSON response for any thrown value; unknown errors are logged (masked) and become `internal`. */
export function errorResponse(c: Context, error: unknown, logger: Logger): Response {
  const known = toGatewayError(error);
  if (!known) {
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    logger.error({ err: maskPansInText(detail).slice(0, 2_000), path: c.req.path, method: c.req.method }, 'request failed');
    return c.json(errorBody('internal', 'internal error'), 500);
  }
  if (known.status >= 500) logger.warn({ code: known.code, path: c.req.path }, maskPansInText(known.message));
  const retryAfter = known.details?.retry_after_s;
  if (typeof retryAfter === 'number') c.header('Retry-After', String(Math.max(1, Math.ceil(retryAfter))));
  return c.json(errorBody(known.code, known.message), known.status as ContentfulStatusCode);
}
