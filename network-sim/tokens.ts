/**
 * The token service (TSP) behind the simulated network: provisions a network token for a
 * card (PAN + expiry + token requestor id -> token PAN, token expiry, token reference, PAR),
 * suspends, resumes and deletes it. The card number stays inside: the API answers with the
 * token and its reference only. A token is bound to the requestor it was issued to.
 */
import { createHash, randomBytes } from 'node:crypto';
import { assert } from '../core/index.js';
import { NetworkSimError } from './errors.js';

export const TOKENS_MAX = 1_000_000;
const TOKEN_LIFETIME_YEARS = 3;

export type TokenStatus = 'active' | 'suspended' | 'deleted';

export interface Token {
  readonly tokenPan: string;
  readonly tokenExpiry: string;
  readonly tokenRef: string;
  readonly par: string;
  readonly trid: string;
  /** The funding card; never leaves the simulator. */
  readonly pan: string;
  status: TokenStatus;
}

export interface TokenView {
  tokenPan: string; tokenExpiry: string; tokenRef: string; par: string; trid: string; status: TokenStatus;
}

export function viewOf(token: Token): TokenView {
  return { tokenPan: token.tokenPan, tokenExpiry: token.tokenExpiry, tokenRef: token.tokenRef, par: token.par, trid: token.trid, status: token.status };
}

/** Luhn check digit of a digit string (ISO/IEC 7812-1 Annex B). */
export function luhnDigit(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i += 1) {
    let digit = body.charCodeAt(body.length - 1 - i) - 48;
    if (i % 2 === 0) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return String((10 - (sum % 10)) % 10);
}

export class TokenService {
  private readonly byPan = new Map<string, Token>();
  private readonly byRef = new Map<string, Token>();
  /** PARs are derived under a per-process secret so the same card always gets the same PAR. */
  private readonly parSecret = randomBytes(32);

  constructor(private readonly tokenBin: string, private readonly parPrefix: string) {
    assert(/^\d{6}$/.test(tokenBin), 'token BIN must be 6 digits');
  }

  get size(): number {
    return this.byPan.size;
  }

  provision(pan: string, trid: string, now: Date = new Date()): Token {
    if (this.byPan.size >= TOKENS_MAX) throw new NetworkSimError('netsim_store_full', `at most ${TOKENS_MAX} tokens`);
    let tokenPan = '';
    // A fresh random token PAN; collisions are astronomically rare but must not alias two cards.
    for (let attempt = 0; attempt < 16 && (tokenPan === '' || this.byPan.has(tokenPan)); attempt += 1) {
      const body = this.tokenBin + String(randomBytes(6).readUIntBE(0, 6) % 1_000_000_000).padStart(9, '0');
      tokenPan = body + luhnDigit(body);
    }
    assert(!this.byPan.has(tokenPan), 'token PAN space exhausted');
    const year = (now.getUTCFullYear() + TOKEN_LIFETIME_YEARS) % 100;
    const token: Token = {
      tokenPan, pan, trid, status: 'active',
      tokenExpiry: `${String(year).padStart(2, '0')}${String(now.getUTCMonth() + 1).padStart(2, '0')}`,
      tokenRef: `DNITHE${randomBytes(12).toString('hex').toUpperCase()}`,
      par: this.parOf(pan),
    };
    this.byPan.set(tokenPan, token);
    this.byRef.set(token.tokenRef, token);
    return token;
  }

  byTokenPan(tokenPan: string): Token | undefined {
    return this.byPan.get(tokenPan);
  }

  byReference(tokenRef: string): Token {
    const token = this.byRef.get(tokenRef);
    if (!token || token.status === 'deleted') throw new NetworkSimError('netsim_token_unknown', 'no such token');
    return token;
  }

  setStatus(tokenRef: string, status: TokenStatus): Token {
    const token = this.byReference(tokenRef);
    if (status === 'active' && token.status !== 'suspended') return token;
    token.status = status;
    return token;
  }

  private parOf(pan: string): string {
    const digest = createHash('sha256').update(this.parSecret).update(pan).digest('hex').toUpperCase();
    return (this.parPrefix + digest).slice(0, 29);
  }
}
