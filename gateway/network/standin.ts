/**
 * Stand-in (STIP) rules: what the acquirer may approve on the issuer's behalf while the
 * network is unreachable or too slow. Every limit is a rule; an approval gets a local
 * authorization code (`S` + five characters) and becomes an 0120 advice. Usage so far is
 * read from the durable advice queue, so limits hold across restarts.
 */
import { randomInt } from 'node:crypto';
import { assert } from '../../core/index.js';

export interface StandInRules {
  readonly enabled: boolean;
  /** Largest single amount approved in stand-in (minor units of the transaction currency). */
  readonly amount_minor_max: bigint;
  /** Per palm identity and UTC day. */
  readonly identity_day_amount_minor_max: bigint;
  readonly identity_day_count_max: number;
  /** Per merchant and UTC day. */
  readonly merchant_day_amount_minor_max: bigint;
  /** At most this many stand-in approvals per identity within the window. */
  readonly velocity_count_max: number;
  readonly velocity_window_ms: number;
  /** Merchant categories never approved in stand-in. */
  readonly mcc_declined: readonly string[];
}

export const DEFAULT_STAND_IN_RULES: StandInRules = {
  enabled: true,
  amount_minor_max: 5_000n,
  identity_day_amount_minor_max: 15_000n,
  identity_day_count_max: 5,
  merchant_day_amount_minor_max: 500_000n,
  velocity_count_max: 3,
  velocity_window_ms: 10 * 60_000,
  mcc_declined: ['6011', '7995'],
};

export type StandInReason = 'disabled' | 'amount' | 'identity_day_amount' | 'identity_day_count' | 'merchant_day_amount' | 'velocity' | 'mcc' | 'queue_full';

export interface StandInUsage { identityAmount: bigint; identityCount: number; merchantAmount: bigint; recentCount: number }

export type StandInDecision = { approve: true; authCode: string } | { approve: false; reason: StandInReason };

export function decideStandIn(rules: StandInRules, ask: { amount_minor: bigint; mcc: string }, usage: StandInUsage): StandInDecision {
  assert(ask.amount_minor > 0n, 'stand-in asks for a positive amount');
  if (!rules.enabled) return { approve: false, reason: 'disabled' };
  if (rules.mcc_declined.includes(ask.mcc)) return { approve: false, reason: 'mcc' };
  if (ask.amount_minor > rules.amount_minor_max) return { approve: false, reason: 'amount' };
  if (usage.identityAmount + ask.amount_minor > rules.identity_day_amount_minor_max) return { approve: false, reason: 'identity_day_amount' };
  if (usage.identityCount + 1 > rules.identity_day_count_max) return { approve: false, reason: 'identity_day_count' };
  if (usage.merchantAmount + ask.amount_minor > rules.merchant_day_amount_minor_max) return { approve: false, reason: 'merchant_day_amount' };
  if (usage.recentCount + 1 > rules.velocity_count_max) return { approve: false, reason: 'velocity' };
  return { approve: true, authCode: standInAuthCode() };
}

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** `S` marks a stand-in approval for finance; five random characters make it unique enough per day. */
export function standInAuthCode(): string {
  let code = 'S';
  for (let i = 0; i < 5; i += 1) code += ALPHABET[randomInt(ALPHABET.length)];
  return code;
}
