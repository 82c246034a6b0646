/**
 * The card network's brain: answers each decoded request the way a network and its issuers
 * would. Order of checks for an authorization: duplicate transmission (94), MAC (63), token
 * (unknown 14, suspended 62, other requestor's domain 57, expiry 54), token cryptogram (63),
 * then the issuer (05, 51, 54, 57, 61, 62, 91). Reversals release the hold they name in
 * DE 90; repeats (0101/0121/0401/0421) get the first answer again, never a second booking.
 * Approved, unreversed authorizations and approved advices are the day's settlement.
 */
import { assert, type Logger } from '../core/index.js';
import type { FieldValues, Message, TlvEntry } from '../iso8583/index.js';
import { splitOriginalDataElements } from '../specs/index.js';
import type { HsmPort } from '../hsm-sim/index.js';
import { AnswerBook, ClearedBook, type Cleared, type ClearedInput, type Undone } from './books.js';
import { Issuer, type Account } from './issuer.js';
import { TokenService } from './tokens.js';
import { macFieldFor, macParts, responseMti, type Wire } from './wire.js';

/** Request keys remembered for duplicate detection and repeat answers (oldest forgotten first). */
export const ANSWERS_REMEMBERED_MAX = 200_000;
/** Cleared transactions kept for the settlement file. */
export const CLEARED_MAX = 2_000_000;
/** Reversals that arrived before their original (remembered so the original, when it comes, is undone). */
export const EARLY_REVERSALS_MAX = 10_000;
const INTERCHANGE_BASIS_POINTS = 20n;
// Module constants: a regular expression literal inside a function is a new object at every evaluation.
const FINANCIAL_REQUEST_MTI = /^0[124][02][01]$/;
const ORIGINAL_DATA_ELEMENTS = /^\d{42}$/;

export interface NetworkOptions {
  readonly wire: Wire;
  readonly log: Logger;
  readonly hsm?: Pick<HsmPort, 'verifyMac' | 'verifyCryptogram' | 'listKeys'>;
  /** MAC key id (M3); when set, every 01xx/02xx/04xx request must carry a valid MAC. */
  macKeyId?: string;
  /** Token cryptogram master key id (E0); when set, DE 22 = 07x requests need a valid 9F26. */
  readonly tspKeyId?: string;
}

export interface Session { signedOn: boolean }

export class NetworkStats {
  /** Requests received per MTI, before any fault (a dropped request counts). */
  readonly byMti: Record<string, number> = {};
  readonly byCode: Record<string, number> = {};
  duplicates = 0;
  repeatsAnswered = 0;
  signOns = 0;
  signOffs = 0;
  macFailures = 0;
  cryptogramFailures = 0;
  reversalsMatched = 0;
  reversalsUnmatched = 0;
  advicesBooked = 0;
  partialReversals = 0;
  refundsApproved = 0;
  malformedRequests = 0;
  faults: Record<string, number> = {};
  clearedEvicted = 0;
}

type Answer = Message | undefined | Promise<Message | undefined>;

export class CardNetwork {
  readonly issuer = new Issuer();
  readonly tokens: TokenService;
  readonly stats = new NetworkStats();
  /**
   * The first answer's DE 39 (+ DE 38) per request key: a repeat carries the same fields as its
   * original, so its answer is rebuilt from it — far less memory than keeping whole messages.
   * Both books live outside the JavaScript heap, so what a run remembers costs the collector nothing.
   */
  private readonly answers = new AnswerBook(ANSWERS_REMEMBERED_MAX);
  private readonly cleared = new ClearedBook(CLEARED_MAX);
  /** Original key -> DE 95's amount of a reversal that came first (0: reversed in full). */
  private readonly earlyReversals = new Map<string, bigint>();

  constructor(private readonly options: NetworkOptions) {
    this.tokens = new TokenService(options.wire.name === 'mastercard-like' ? '539923' : '489537', options.wire.name === 'mastercard-like' ? 'M001' : 'V001');
  }

  get macKeyId(): string | undefined {
    return this.options.macKeyId;
  }

  clearedTransactions(): IterableIterator<Cleared> {
    return this.cleared.entries();
  }

  /** Answers one request; undefined for messages that get no answer (responses, unknown MTIs). */
  handle(message: Message, bytes: Buffer, session: Session, now: Date): Answer {
    const mti = message.mti;
    if (mti === '0800') return this.networkManagement(message, session);
    if (!FINANCIAL_REQUEST_MTI.test(mti)) return undefined;
    if (!session.signedOn) return this.reply(message, '91');
    const key = requestKey(message);
    const remembered = this.answers.get(key);
    if (remembered !== undefined) {
      if (mti.endsWith('1')) {
        this.stats.repeatsAnswered += 1;
        return this.reply(message, remembered.slice(0, 2), remembered.length > 2 ? remembered.slice(2) : undefined);
      }
      this.stats.duplicates += 1;
      return this.reply(message, '94');
    }
    const macKeyId = this.options.macKeyId;
    if (macKeyId !== undefined) return this.checkMac(message, bytes, macKeyId).then((ok) => (ok ? this.process(message, key, now) : this.remember(key, this.reply(message, '63'))));
    return this.process(message, key, now);
  }

  private async checkMac(message: Message, bytes: Buffer, keyId: string): Promise<boolean> {
    const parts = macParts(message, bytes);
    const placed = parts !== undefined && message.fields[macFieldFor(message.fields)] !== undefined;
    const ok = placed && this.options.hsm !== undefined && await this.options.hsm.verifyMac({ keyId, data: parts.data, mac: parts.mac });
    if (!ok) this.stats.macFailures += 1;
    return ok;
  }

  private process(message: Message, key: string, now: Date): Answer {
    const mti = message.mti;
    if (mti[1] === '4') return this.remember(key, this.reverse(message));
    const checked = this.checkToken(message);
    if (typeof checked === 'string') return this.remember(key, this.reply(message, checked));
    const tspKeyId = this.options.tspKeyId;
    if (tspKeyId !== undefined && text(message.fields, 22).startsWith('07')) {
      return this.checkCryptogram(message, checked.tokenPan, tspKeyId).then((ok) => {
        if (!ok) { this.stats.cryptogramFailures += 1; return this.remember(key, this.reply(message, '63')); }
        return this.remember(key, this.decide(message, checked.account, now));
      });
    }
    return this.remember(key, this.decide(message, checked.account, now));
  }

  /** The account behind DE 2 (a token of this network, or a card), or a decline code. */
  private checkToken(message: Message): { account: Account; tokenPan: string } | string {
    const pan = text(message.fields, 2);
    const token = this.tokens.byTokenPan(pan);
    if (!token) {
      const account = this.issuer.find(pan);
      return account && text(message.fields, 22).startsWith('07') !== true ? { account, tokenPan: pan } : '14';
    }
    if (token.status === 'deleted') return '14';
    if (token.status === 'suspended') return '62';
    if (this.options.wire.tridOf(message.fields) !== token.trid) return '57';
    if (text(message.fields, 14) !== token.tokenExpiry) return '54';
    const account = this.issuer.find(token.pan);
    return account ? { account, tokenPan: pan } : '14';
  }

  private async checkCryptogram(message: Message, tokenPan: string, keyId: string): Promise<boolean> {
    const entries = message.fields[55];
    if (!Array.isArray(entries) || this.options.hsm === undefined) return false;
    const tag = (name: string): string | undefined => entries.find((entry: TlvEntry) => entry.tag === name)?.value;
    const [cryptogram, atc, un, amount, currency, date] = [tag('9F26'), tag('9F36'), tag('9F37'), tag('9F02'), tag('5F2A'), tag('9A')];
    if (!cryptogram || !atc || !un || !amount || !currency || !date) return false;
    // The cryptogram covers 9F02/5F2A; they must be the amount and currency actually asked for.
    if (BigInt(amount) !== BigInt(text(message.fields, 4)) || Number(currency) !== Number(text(message.fields, 49))) return false;
    if (atc.length !== 4 || un.length !== 8 || date.length !== 6) return false;
    return await this.options.hsm.verifyCryptogram({
      keyId, tokenPan, amount_minor: BigInt(amount), currencyNumeric: Number(currency), date,
      unpredictableNumber: Buffer.from(un, 'hex'), atc: Number.parseInt(atc, 16), cryptogram: Buffer.from(cryptogram, 'hex'),
    });
  }

  private decide(message: Message, account: Account, now: Date): Message {
    const amount_minor = BigInt(text(message.fields, 4));
    const currency = Number(text(message.fields, 49));
    const originalKey = clearedKey(text(message.fields, 32), text(message.fields, 11), text(message.fields, 41), text(message.fields, 7));
    if (message.mti.startsWith('012')) return this.bookAdvice(message, account, amount_minor, currency, originalKey, now);
    const kind = text(message.fields, 3).startsWith('20') ? 'refund' : 'sale';
    const decision = kind === 'refund'
      ? this.issuer.credit(account, { amount_minor, currency, expiry: account.expiry, now })
      : this.issuer.authorize(account, { amount_minor, currency, mcc: text(message.fields, 18), expiry: account.expiry, now });
    if (decision.code !== '00') return this.reply(message, decision.code);
    if (kind === 'refund') this.stats.refundsApproved += 1;
    this.clear(originalKey, { rrn: text(message.fields, 37), authCode: decision.authCode, amount_minor, currency, now_ms: now.getTime(), account, kind });
    return this.reply(message, '00', decision.authCode);
  }

  private giveBack(undone: Undone): void {
    if (!undone.account || undone.amount_minor === 0n) return;
    if (undone.kind === 'refund') this.issuer.takeBack(undone.account, undone.amount_minor);
    else this.issuer.release(undone.account, undone.amount_minor);
  }

  /** A stand-in approval the acquirer made: booked unless the issuer would refuse it outright. */
  private bookAdvice(message: Message, account: Account, amount_minor: bigint, currency: number, key: string, now: Date): Message {
    if (account.status === 'blocked' || currency !== account.currency) return this.reply(message, '05');
    account.balance_minor -= amount_minor;
    this.stats.advicesBooked += 1;
    this.clear(key, { rrn: text(message.fields, 37), authCode: text(message.fields, 38), amount_minor, currency, now_ms: now.getTime(), account, kind: 'sale' });
    return this.reply(message, '00');
  }

  private reverse(message: Message): Message {
    const de90 = text(message.fields, 90);
    if (!ORIGINAL_DATA_ELEMENTS.test(de90)) return this.reply(message, '96');
    const original = splitOriginalDataElements(de90);
    const replacement = replacementAmount(message.fields);
    if (replacement === 'invalid') return this.reply(message, '30');
    const key = clearedKey(text(message.fields, 32), original.stan, text(message.fields, 41), original.transmissionDateTime);
    const reversed = this.cleared.reverse(key, replacement);
    if (typeof reversed !== 'string') {
      this.giveBack(reversed);
      this.stats.reversalsMatched += 1;
      if (replacement !== undefined && replacement > 0n) this.stats.partialReversals += 1;
    } else {
      // Nothing to undo (the original never arrived, was declined, or is still being checked):
      // acknowledged all the same, and remembered in case the original is still on its way.
      this.stats.reversalsUnmatched += 1;
      if (reversed === 'unknown') {
        if (this.earlyReversals.size >= EARLY_REVERSALS_MAX) this.earlyReversals.delete(this.earlyReversals.keys().next().value!);
        this.earlyReversals.set(key, replacement ?? 0n);
      }
    }
    return this.reply(message, '00');
  }

  /** Books an approval (or an advice), and applies a reversal of it that overtook it on the way. */
  private clear(key: string, record: ClearedInput): void {
    if (this.cleared.add(key, record, false)) this.stats.clearedEvicted += 1;
    const early = this.earlyReversals.get(key);
    if (early === undefined) return;
    this.earlyReversals.delete(key);
    const undone = this.cleared.reverse(key, early === 0n ? undefined : early);
    if (typeof undone !== 'string') this.giveBack(undone);
  }

  private remember(key: string, answer: Message): Message {
    const authCode = answer.fields[38];
    this.answers.set(key, text(answer.fields, 39) + (typeof authCode === 'string' ? authCode : ''));
    return answer;
  }

  private networkManagement(message: Message, session: Session): Answer {
    const code = text(message.fields, 70);
    if (code === '001') { session.signedOn = true; this.stats.signOns += 1; }
    else if (code === '002') { session.signedOn = false; this.stats.signOffs += 1; }
    else if (code === '161') return this.keyChange(message);
    else if (code !== '301') return this.reply(message, '12');
    return this.reply(message, '00');
  }

  /** Key change: DE 48 names the new MAC key and its KCV; the key must be in our HSM with that KCV. */
  private async keyChange(message: Message): Promise<Message> {
    const [keyId, kcv] = (this.options.wire.keyChangeOf(message.fields) ?? '').split(':');
    if (!keyId || !kcv || this.options.hsm === undefined) return this.reply(message, '30');
    const keys = await this.options.hsm.listKeys();
    const key = keys.find((k) => k.id === keyId);
    if (!key || key.kcv !== kcv || key.usage !== 'M3') return this.reply(message, '63');
    this.options.macKeyId = keyId;
    this.options.log.info({ keyId, kcv }, 'MAC key changed');
    return this.reply(message, '00');
  }

  reply(request: Message, code: string, authCode?: string): Message {
    const mti = responseMti(request.mti);
    assert(mti.length === 4, 'response MTI');
    this.stats.byCode[code] = (this.stats.byCode[code] ?? 0) + 1;
    const f = request.fields;
    const d3 = f[3], d4 = f[4], d7 = f[7], d11 = f[11], d37 = f[37], d41 = f[41], d49 = f[49];
    // The answer to nearly every request: one object literal, sized once (adding ids one by one regrows its storage twice).
    if ((mti === '0110' || mti === '0210') && d3 !== undefined && d4 !== undefined && d7 !== undefined && d11 !== undefined && d37 !== undefined && d41 !== undefined && d49 !== undefined) {
      const fields: FieldValues = authCode === undefined
        ? { 3: d3, 4: d4, 7: d7, 11: d11, 37: d37, 39: code, 41: d41, 49: d49 }
        : { 3: d3, 4: d4, 7: d7, 11: d11, 37: d37, 38: authCode, 39: code, 41: d41, 49: d49 };
      return { mti, fields };
    }
    const fields: FieldValues = {};
    for (const id of mti === '0810' ? ECHO_MANAGEMENT : mti === '0110' || mti === '0210' ? ECHO_AUTHORIZATION : ECHO_OTHER) {
      const value = f[id];
      if (value !== undefined) fields[id] = value;
    }
    if (authCode !== undefined) fields[38] = authCode;
    fields[39] = code;
    return { mti, fields };
  }
}

/** The request fields each answer carries back. */
const ECHO_MANAGEMENT = [7, 11, 70] as const;
const ECHO_AUTHORIZATION = [3, 4, 7, 11, 37, 41, 49] as const;
const ECHO_OTHER = [3, 4, 7, 11, 37, 41, 49, 90] as const;

/** MTI class and function + acquirer + STAN + terminal + DE 7: what identifies one request and its repeats. */
export function requestKey(message: Message): string {
  return `${message.mti.slice(1, 3)}|${text(message.fields, 32)}|${text(message.fields, 11)}|${text(message.fields, 41)}|${text(message.fields, 7)}`;
}

/** STANs are unique per acquirer (DE 32), so the acquirer is part of every key. */
function clearedKey(acquirer: string, stan: string, terminal: string, transmitted: string): string {
  return `${acquirer}|${stan}|${terminal}|${transmitted}`;
}

/**
 * DE 95's actual transaction amount (its first 12 digits: actual amount, settlement amount,
 * then two signed fees), undefined without DE 95, 'invalid' when malformed. Zero means a full reversal.
 */
function replacementAmount(fields: FieldValues): bigint | undefined | 'invalid' {
  const de95 = fields[95];
  if (de95 === undefined) return undefined;
  if (typeof de95 !== 'string' || !/^\d{24}[CD]\d{8}[CD]\d{8}$/.test(de95)) return 'invalid';
  return BigInt(de95.slice(0, 12));
}

function text(fields: FieldValues, id: number): string {
  const value = fields[id];
  return typeof value === 'string' ? value : '';
}

let cachedDayNumber = -1;
let cachedDay = '';

/** YYYY-MM-DD (UTC); formatted once per day, since every approval asks. */
export function isoDate(now: Date): string {
  const dayNumber = Math.floor(now.getTime() / 86_400_000);
  if (dayNumber !== cachedDayNumber) {
    cachedDayNumber = dayNumber;
    cachedDay = now.toISOString().slice(0, 10);
  }
  return cachedDay;
}

export function interchangeOf(amount_minor: bigint): bigint {
  return (amount_minor * INTERCHANGE_BASIS_POINTS) / 10_000n;
}
