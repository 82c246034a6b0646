/**
 * The client side of a card network's token service (network-sim's JSON API in development):
 * provision a network token for a card, and delete it when the shopper asks to be forgotten.
 * The card number passes through this call and nowhere else; it is never stored or logged.
 */
import { assert } from '../core/index.js';
import { GatewayError } from './errors.js';

export const token_service_timeout_ms = 5_000;
/** Answers larger than this are refused unread (a token view is a few hundred bytes). */
export const token_service_response_bytes_max = 16_384;

export interface ProvisionedToken {
  readonly tokenPan: string;
  readonly tokenExpiry: string;
  readonly tokenRef: string;
  readonly par: string;
}

export interface TokenService {
  provision(card: { pan: string; expiry: string }): Promise<ProvisionedToken>;
  delete(tokenRef: string): Promise<boolean>;
}

export class HttpTokenService implements TokenService {
  constructor(private readonly baseUrl: string, private readonly trid: string) {
    assert(/^\d{11}$/.test(trid), 'token requestor id is 11 digits');
    const url = new URL(baseUrl);
    assert(url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.protocol === 'https:', 'token service over loopback or https');
  }

  async provision(card: { pan: string; expiry: string }): Promise<ProvisionedToken> {
    const { status, body } = await this.call('POST', '/tokens', { pan: card.pan, expiry: card.expiry, trid: this.trid });
    if (status === 201 || status === 200) return parseToken(body);
    // The simulator answers 4xx for unknown cards, wrong expiries and refused requestors.
    if (status >= 400 && status < 500) throw new GatewayError('card_rejected', 'the card network refused to tokenise this card');
    throw new GatewayError('token_service_unavailable', `token service answered ${status}`);
  }

  async delete(tokenRef: string): Promise<boolean> {
    assert(tokenRef.length > 0 && tokenRef.length <= 64, 'token reference 1..64 characters');
    const { status } = await this.call('DELETE', `/tokens/${encodeURIComponent(tokenRef)}`, undefined);
    if (status === 200) return true;
    if (status === 404) return false;
    throw new GatewayError('token_service_unavailable', `token service answered ${status}`);
  }

  private async call(method: string, path: string, body: object | undefined): Promise<{ status: number; body: unknown }> {
    let response: Response;
    try {
      response = await fetch(new URL(path, this.baseUrl), {
        method, signal: AbortSignal.timeout(token_service_timeout_ms),
        ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
      });
    } catch (error) {
      throw new GatewayError('token_service_unavailable', 'token service unreachable', { cause: error });
    }
    const text = await response.text();
    if (text.length > token_service_response_bytes_max) throw new GatewayError('token_service_unavailable', 'token service answer too large');
    return { status: response.status, body: parseJson(text) };
  }
}

function parseJson(text: string): unknown {
  try {
    return text.length > 0 ? JSON.parse(text) as unknown : undefined;
  } catch {
    return undefined;
  }
}

function parseToken(body: unknown): ProvisionedToken {
  const record = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const { tokenPan, tokenExpiry, tokenRef, par } = record;
  if (typeof tokenPan !== 'string' || !/^\d{12,19}$/.test(tokenPan) || typeof tokenExpiry !== 'string' || !/^\d{4}$/.test(tokenExpiry)
    || typeof tokenRef !== 'string' || tokenRef.length === 0 || typeof par !== 'string') {
    throw new GatewayError('token_service_unavailable', 'token service answered without a usable token');
  }
  return { tokenPan, tokenExpiry, tokenRef, par };
}
