/**
 * The issuer behind the simulated network: card accounts with a balance, a per-transaction
 * limit, a status and blocked merchant categories, and the decision an issuer takes on an
 * authorization — the DE 39 response code and, when approved, a hold on the balance with an
 * authorization code. Reversals release holds; stand-in advices are booked as told.
 */
import { randomInt } from 'node:crypto';
import { assert } from '../core/index.js';
import { NetworkSimError } from './errors.js';

export const ACCOUNTS_MAX = 1_000_000;

export type AccountStatus = 'active' | 'blocked' | 'restricted' | 'unavailable';

export interface Account {
  readonly pan: string;
  /** YYMM. */
  readonly expiry: string;
  readonly currency: number;
  balance_minor: bigint;
  limit_minor: bigint;
  status: AccountStatus;
  readonly blockedMcc: ReadonlySet<string>;
}

export interface AccountInput {
  pan: string; expiry: string; currency: number; balance_minor: bigint; limit_minor: bigint; status: AccountStatus; blockedMcc: string[];
}

export interface AuthorizationAsk {
  amount_minor: bigint; currency: number; mcc: string; expiry: string; now: Date;
}

/** Approved with an auth code, or declined with the DE 39 code an issuer would give. */
export type IssuerDecision = { code: '00'; authCode: string } | { code: '05' | '14' | '51' | '54' | '57' | '61' | '62' | '91' };

const AUTH_CODE_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export class Issuer {
  private readonly accounts = new Map<string, Account>();

  get size(): number {
    return this.accounts.size;
  }

  open(input: AccountInput): Account {
    if (this.accounts.has(input.pan)) throw new NetworkSimError('netsim_account_exists', 'an account for this card exists');
    if (this.accounts.size >= ACCOUNTS_MAX) throw new NetworkSimError('netsim_store_full', `at most ${ACCOUNTS_MAX} accounts`);
    const account: Account = { ...input, blockedMcc: new Set(input.blockedMcc) };
    this.accounts.set(input.pan, account);
    return account;
  }

  find(pan: string): Account | undefined {
    return this.accounts.get(pan);
  }

  get(pan: string): Account {
    const account = this.accounts.get(pan);
    if (!account) throw new NetworkSimError('netsim_account_unknown', 'no account for this card');
    return account;
  }

  /** Decides and, when approving, holds the amount. */
  authorize(account: Account, ask: AuthorizationAsk): IssuerDecision {
    const decision = decide(account, ask);
    if (decision.code === '00') account.balance_minor -= ask.amount_minor;
    return decision;
  }

  release(account: Account, amount_minor: bigint): void {
    assert(amount_minor > 0n, 'a release must be positive');
    account.balance_minor += amount_minor;
  }

  /**
   * A refund authorization (DE 3 = 20): the card is credited, so neither funds nor the limit
   * matter; a blocked, restricted or expired card, or another currency, still refuses it.
   */
  credit(account: Account, ask: Omit<AuthorizationAsk, 'mcc'>): IssuerDecision {
    const decision = decide(account, { ...ask, mcc: '', amount_minor: 0n });
    if (decision.code !== '00') return decision;
    account.balance_minor += ask.amount_minor;
    return decision;
  }

  /** The reversal of a refund takes its credit back; a balance may go negative, as a real one can. */
  takeBack(account: Account, amount_minor: bigint): void {
    assert(amount_minor > 0n, 'a take-back must be positive');
    account.balance_minor -= amount_minor;
  }
}

function decide(account: Account, ask: AuthorizationAsk): IssuerDecision {
  switch (account.status) {
    case 'blocked': return { code: '05' };
    case 'restricted': return { code: '62' };
    case 'unavailable': return { code: '91' };
    case 'active': break;
  }
  if (isExpired(account.expiry, ask.now)) return { code: '54' };
  if (ask.currency !== account.currency) return { code: '57' };
  if (account.blockedMcc.has(ask.mcc)) return { code: '57' };
  if (ask.amount_minor > account.limit_minor) return { code: '61' };
  if (ask.amount_minor > account.balance_minor) return { code: '51' };
  return { code: '00', authCode: authorizationCode() };
}

const YYMM = /^\d{4}$/;
/** Expiry dates remembered with the first instant they are past (one per month a card can name, and bad ones). */
const EXPIRY_CACHE_MAX = 4_096;
const expiredFrom = new Map<string, number>();

/** YYMM: valid through the end of that month. Asked on every authorization, so each date is worked out once. */
export function isExpired(expiry: string, now: Date): boolean {
  let from = expiredFrom.get(expiry);
  if (from === undefined) {
    from = firstExpiredInstant(expiry);
    if (expiredFrom.size >= EXPIRY_CACHE_MAX) expiredFrom.clear();
    expiredFrom.set(expiry, from);
  }
  return now.getTime() >= from;
}

/** The first millisecond a YYMM date is past, or -Infinity when it is no date at all. */
function firstExpiredInstant(expiry: string): number {
  if (!YYMM.test(expiry)) return -Infinity;
  const year = 2000 + Number(expiry.slice(0, 2));
  const month = Number(expiry.slice(2, 4));
  if (month < 1 || month > 12) return -Infinity;
  return Date.UTC(year, month, 1);
}

const AUTH_CODE_SPACE = 36 ** 6;
// An odd multiplier walks every code of the space once before repeating, from a random start:
// codes look random to a reader and never repeat within 2.1 billion approvals.
const AUTH_CODE_STEP = 1_500_450_271;
let authCodeState = randomInt(AUTH_CODE_SPACE);

function authorizationCode(): string {
  authCodeState = (authCodeState + AUTH_CODE_STEP) % AUTH_CODE_SPACE;
  let value = authCodeState;
  let code = '';
  for (let i = 0; i < 6; i += 1) {
    code = AUTH_CODE_ALPHABET[value % 36]! + code;
    value = Math.floor(value / 36);
  }
  return code;
}
