/**
 * The messages the link builds: the 0100 of a palm payment (token PAN, token expiry, POS
 * entry mode 072, the token cryptogram in DE 55, the token requestor id), the refund 0100
 * (DE 3 = 20), the reversal that follows a time-out or a void (same STAN, DE 90 naming the
 * original; DE 95 when only part is reversed), the 0120 advice of a stand-in
 * approval, and network management 0800s. STAN, RRN and DE 7 come from the caller, which
 * owns their allocation.
 */
import type { FieldValues, Message, TlvEntry } from '../../iso8583/index.js';
import { joinOriginalDataElements } from '../../specs/index.js';
import { NetworkLinkError } from './errors.js';
import { fieldText, type LinkWire } from './wire.js';

/** What the payment pipeline asks the network for. */
export interface AuthorizationRequest {
  /** The network token (DE 2); never a card number. */
  readonly tokenPan: string;
  /** YYMM (DE 14). */
  readonly tokenExpiry: string;
  readonly amount_minor: bigint;
  /** ISO 4217 numeric (DE 49). */
  readonly currency: number;
  /** Merchant category code (DE 18). */
  readonly mcc: string;
  /** Eight characters (DE 41). */
  readonly terminalId: string;
  /** Fifteen characters at most (DE 42). */
  readonly merchantId: string;
  /** The palm identity the payment was identified as (stand-in limits per identity). */
  readonly palmIdentity: string;
  /** EMV data for DE 55: 9F26 token cryptogram with 9F36, 9F37, 9F02, 5F2A, 9A. */
  readonly emv?: readonly TlvEntry[];
  readonly merchantName?: string;
}

export interface Stamp { readonly stan: string; readonly transmission: string; readonly rrn: string }

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** The date-time texts of one second, formatted once per second (every message asks). */
interface SecondTexts { second: number; transmission: string; rrnPrefix: string; localTime: string; localDate: string }
let cached: SecondTexts = { second: -1, transmission: '', rrnPrefix: '', localTime: '', localDate: '' };

function textsOf(now: Date): SecondTexts {
  const second = Math.floor(now.getTime() / 1000);
  if (second === cached.second) return cached;
  const start = Date.UTC(now.getUTCFullYear(), 0, 1);
  const dayOfYear = Math.floor((now.getTime() - start) / 86_400_000) + 1;
  const localDate = `${pad2(now.getUTCMonth() + 1)}${pad2(now.getUTCDate())}`;
  const localTime = `${pad2(now.getUTCHours())}${pad2(now.getUTCMinutes())}${pad2(now.getUTCSeconds())}`;
  cached = { second, transmission: localDate + localTime, rrnPrefix: `${now.getUTCFullYear() % 10}${String(dayOfYear).padStart(3, '0')}${pad2(now.getUTCHours())}`, localTime, localDate };
  return cached;
}

/** DE 7 (MMDDhhmmss, UTC). */
export function transmissionDateTime(now: Date): string {
  return textsOf(now).transmission;
}

/** RRN (DE 37): last digit of the year, day of the year, hour, STAN — unique per link per day. */
export function retrievalReference(now: Date, stan: string): string {
  return textsOf(now).rrnPrefix + stan;
}

const AMOUNT_MINOR_LIMIT = 10n ** 12n;
// Module constants: a regular expression literal inside a function is a new object at every evaluation.
const TOKEN_PAN = /^\d{12,19}$/;
const YYMM = /^\d{2}(0[1-9]|1[0-2])$/;
const MCC = /^\d{4}$/;
const TERMINAL_ID = /^[\x20-\x7e]{8}$/;
const MERCHANT_ID = /^[\x20-\x7e]{1,15}$/;

/** The rules of a request, as data: checked on every authorization, so the happy path allocates nothing. */
const REQUEST_RULES: readonly { readonly holds: (request: AuthorizationRequest) => boolean; readonly problem: string }[] = [
  { holds: (r) => TOKEN_PAN.test(r.tokenPan), problem: 'tokenPan must be 12..19 digits' },
  { holds: (r) => YYMM.test(r.tokenExpiry), problem: 'tokenExpiry must be YYMM' },
  { holds: (r) => r.amount_minor > 0n && r.amount_minor < AMOUNT_MINOR_LIMIT, problem: 'amount_minor must be 1..999999999999' },
  { holds: (r) => Number.isInteger(r.currency) && r.currency >= 1 && r.currency <= 999, problem: 'currency must be ISO 4217 numeric' },
  { holds: (r) => MCC.test(r.mcc), problem: 'mcc must be 4 digits' },
  { holds: (r) => TERMINAL_ID.test(r.terminalId), problem: 'terminalId must be 8 printable characters' },
  { holds: (r) => MERCHANT_ID.test(r.merchantId), problem: 'merchantId must be 1..15 printable characters' },
  { holds: (r) => r.palmIdentity.length > 0 && r.palmIdentity.length <= 64, problem: 'palmIdentity must be 1..64 characters' },
];

/** Throws `link_request_invalid` naming every rule the request breaks. */
export function checkRequest(request: AuthorizationRequest): void {
  let valid = true;
  for (const rule of REQUEST_RULES) valid = rule.holds(request) && valid;
  if (valid) return;
  const problems = REQUEST_RULES.filter((rule) => !rule.holds(request)).map((rule) => rule.problem);
  throw new NetworkLinkError('link_request_invalid', problems.join('; '));
}

export function authorizationMessage(wire: LinkWire, request: AuthorizationRequest, stamp: Stamp, now: Date, acquirerId: string, trid: string): Message {
  const texts = textsOf(now);
  const amount = request.amount_minor.toString().padStart(12, '0');
  const merchant = request.merchantId.padEnd(15, ' ');
  const currency = String(request.currency).padStart(3, '0');
  const carried = wire.tridField(trid);
  // One literal per field the dialect carries the TRID in: V8 sizes an object's integer-keyed
  // storage from its literal, and adding DE 126 afterwards regrew it from 50 to 206 slots (and the
  // codec's copy of its values with it) on every authorization.
  const fields: FieldValues = carried.id === 126
    ? {
      2: request.tokenPan, 3: '000000', 4: amount, 7: stamp.transmission, 11: stamp.stan, 12: texts.localTime, 13: texts.localDate, 14: request.tokenExpiry,
      18: request.mcc, 22: '072', 25: '00', 32: acquirerId, 37: stamp.rrn, 41: request.terminalId, 42: merchant, 49: currency, 126: carried.value,
    }
    : {
      2: request.tokenPan, 3: '000000', 4: amount, 7: stamp.transmission, 11: stamp.stan, 12: texts.localTime, 13: texts.localDate, 14: request.tokenExpiry,
      18: request.mcc, 22: '072', 25: '00', 32: acquirerId, 37: stamp.rrn, 41: request.terminalId, 42: merchant, 48: carried.value, 49: currency,
    };
  if (request.merchantName !== undefined) fields[43] = request.merchantName.slice(0, 40).padEnd(40, ' ');
  if (request.emv !== undefined) fields[55] = request.emv.map((entry) => ({ tag: entry.tag, value: entry.value }));
  return { mti: '0100', fields };
}

const REVERSAL_COPIED = [2, 3, 4, 12, 13, 14, 18, 22, 25, 32, 37, 41, 42, 49];

/**
 * A refund authorization, as the networks now require before a refund clears: DE 3 = 20
 * (credit to the card), the token on file (DE 22 = 10x), no cryptogram since no palm was shown.
 */
export function refundMessage(wire: LinkWire, request: AuthorizationRequest, stamp: Stamp, now: Date, acquirerId: string, trid: string): Message {
  if (request.emv !== undefined) throw new NetworkLinkError('link_request_invalid', 'a refund carries no cryptogram');
  const message = authorizationMessage(wire, request, stamp, now, acquirerId, trid);
  message.fields[3] = '200000';
  message.fields[22] = '100';
  return message;
}

/** DE 95 is n 12 actual amount, n 12 settlement amount, then two x+n 8 fees. */
const REPLACEMENT_TAIL = '000000000000C00000000C00000000';

/**
 * DE 95 of a partial reversal: the amount that stands after a partial capture. The
 * settlement amount and fees are left to the network (zero), as the acquirer does not know them.
 */
export function replacementAmounts(actual_minor: bigint): string {
  if (actual_minor <= 0n || actual_minor >= 10n ** 12n) throw new NetworkLinkError('link_request_invalid', 'a replacement amount must be 1..999999999999');
  return actual_minor.toString().padStart(12, '0') + REPLACEMENT_TAIL;
}

/**
 * The reversal of an authorization: same STAN, new DE 7, DE 90 naming it. Whole when the
 * answer never came or the payment was voided; partial (DE 95) when less was captured.
 */
export function reversalMessage(authorization: Message, mti: '0400' | '0420', transmission: string, replacement_minor?: bigint): Message {
  const original = authorization.fields;
  const fields: FieldValues = {};
  for (const id of REVERSAL_COPIED) {
    const value = original[id];
    if (value !== undefined) fields[id] = value;
  }
  fields[7] = transmission;
  fields[11] = original[11]!;
  fields[90] = joinOriginalDataElements({
    mti: authorization.mti, stan: fieldText(original, 11), transmissionDateTime: fieldText(original, 7),
    acquiringInstitutionId: typeof original[32] === 'string' ? original[32] : '', forwardingInstitutionId: '',
  });
  if (replacement_minor !== undefined) {
    if (replacement_minor >= BigInt(fieldText(original, 4))) throw new NetworkLinkError('link_request_invalid', 'a partial reversal must leave less than the authorized amount');
    fields[95] = replacementAmounts(replacement_minor);
  }
  return { mti, fields };
}

/** The advice of a stand-in approval: the authorization's data under a new STAN and DE 7. */
export function adviceMessage(authorization: Message, stamp: Pick<Stamp, 'stan' | 'transmission'>, authCode: string): Message {
  return { mti: '0120', fields: { ...authorization.fields, 7: stamp.transmission, 11: stamp.stan, 38: authCode, 39: '00' } };
}

export function managementMessage(code: '001' | '002' | '161' | '301', stamp: Pick<Stamp, 'stan' | 'transmission'>, extra: FieldValues = {}): Message {
  return { mti: '0800', fields: { 7: stamp.transmission, 11: stamp.stan, 70: code, ...extra } };
}

/** A repeat carries the first transmission's data; only the MTI's last digit changes. */
export function repeatOf(message: Message): Message {
  return { mti: `${message.mti.slice(0, 3)}1`, fields: message.fields };
}
