/**
 * What the simulated network remembers for the rest of a run, kept off the JavaScript heap
 * (see keyring.ts for why): the first answer to every request (duplicates get 94, repeats get
 * the same answer again) and every cleared transaction (reversals release its hold; the
 * approved, unreversed ones are the day's settlement). Both are bounded rings: the oldest
 * entry is forgotten first.
 */
import { assert } from '../core/index.js';
import type { Account } from './issuer.js';
import { KeyRing, TextColumn } from './keyring.js';

/** A first answer: DE 39 (2) and, when approved, DE 38 (6). */
const ANSWER_LENGTH_MAX = 8;
/** DE 37 is ans 12. */
const RRN_LENGTH_MAX = 12;
/** DE 38 is an 6. */
const AUTH_CODE_LENGTH_MAX = 6;
const DAY_MS = 86_400_000;
const AMOUNT_MINOR_MAX = BigInt(Number.MAX_SAFE_INTEGER);

export interface Cleared {
  readonly rrn: string;
  readonly authCode: string;
  readonly amount_minor: bigint;
  readonly currency: number;
  /** YYYY-MM-DD (UTC). */
  readonly date: string;
  readonly account: Account | undefined;
  readonly reversed: boolean;
  readonly kind: ClearedKind;
}

/** A sale debits the card; a refund (DE 3 = 20) credits it. */
export type ClearedKind = 'sale' | 'refund';

export interface ClearedInput {
  readonly rrn: string; readonly authCode: string; readonly amount_minor: bigint; readonly currency: number; readonly now_ms: number; readonly account: Account | undefined;
  readonly kind: ClearedKind;
}

/** What a reversal undid: the amount to give back (0 when a partial reversal changed nothing) and to whom. */
export interface Undone { readonly account: Account | undefined; readonly amount_minor: bigint; readonly kind: ClearedKind }

/** Request key -> its first answer (DE 39 + DE 38). */
export class AnswerBook {
  private readonly ring: KeyRing;
  private readonly answers: TextColumn;

  constructor(capacity: number) {
    this.ring = new KeyRing(capacity);
    this.answers = new TextColumn(capacity, ANSWER_LENGTH_MAX);
  }

  get size(): number {
    return this.ring.size;
  }

  get(key: string): string | undefined {
    const row = this.ring.find(key);
    return row < 0 ? undefined : this.answers.get(row);
  }

  /** Remembers (or, for a request answered twice while a check was pending, replaces) an answer. */
  set(key: string, answer: string): void {
    const found = this.ring.find(key);
    this.answers.set(found >= 0 ? found : this.ring.add(key).row, answer);
  }
}

/** Cleared transactions by acquirer + STAN + terminal + DE 7. */
export class ClearedBook {
  private readonly ring: KeyRing;
  private readonly rrns: TextColumn;
  private readonly authCodes: TextColumn;
  /** DE 4 is n 12, so every amount is an exact double. */
  private readonly amounts: Float64Array;
  private readonly currencies: Uint16Array;
  private readonly days: Int32Array;
  /** Index into `accounts`, or -1. */
  private readonly accountIds: Int32Array;
  private readonly reversed: Uint8Array;
  /** 0 sale, 1 refund. */
  private readonly kinds: Uint8Array;
  private readonly accounts: Account[] = [];
  private readonly accountIdOf = new Map<Account, number>();
  private dayCache = { day: -1, text: '' };

  constructor(capacity: number) {
    this.ring = new KeyRing(capacity);
    this.rrns = new TextColumn(capacity, RRN_LENGTH_MAX);
    this.authCodes = new TextColumn(capacity, AUTH_CODE_LENGTH_MAX);
    this.amounts = new Float64Array(capacity);
    this.currencies = new Uint16Array(capacity);
    this.days = new Int32Array(capacity);
    this.accountIds = new Int32Array(capacity);
    this.reversed = new Uint8Array(capacity);
    this.kinds = new Uint8Array(capacity);
  }

  get size(): number {
    return this.ring.size;
  }

  /** Records a cleared transaction (replacing one under the same key); true when the oldest was forgotten to make room. */
  add(key: string, input: ClearedInput, reversed: boolean): boolean {
    assert(input.amount_minor >= 0n && input.amount_minor <= AMOUNT_MINOR_MAX, 'a cleared amount is an exact double');
    const found = this.ring.find(key);
    const placed = found >= 0 ? { row: found, evicted: false } : this.ring.add(key);
    const row = placed.row;
    this.rrns.set(row, input.rrn);
    this.authCodes.set(row, input.authCode);
    this.amounts[row] = Number(input.amount_minor);
    this.currencies[row] = input.currency;
    this.days[row] = Math.floor(input.now_ms / DAY_MS);
    this.accountIds[row] = input.account === undefined ? -1 : this.accountId(input.account);
    this.reversed[row] = reversed ? 1 : 0;
    this.kinds[row] = input.kind === 'refund' ? 1 : 0;
    return placed.evicted;
  }

  /**
   * Reverses the transaction in full, or — with `replacement_minor`, DE 95's actual amount —
   * down to that amount (a partial capture). What to give back; 'already' when it was fully
   * reversed before; 'unknown' when no such transaction was cleared. A repeated partial
   * reversal gives back nothing the second time, and a replacement can only lower the amount.
   */
  reverse(key: string, replacement_minor?: bigint): Undone | 'already' | 'unknown' {
    const row = this.ring.find(key);
    if (row < 0) return 'unknown';
    if (this.reversed[row] === 1) return 'already';
    const id = this.accountIds[row]!;
    const account = id < 0 ? undefined : this.accounts[id];
    const kind: ClearedKind = this.kinds[row] === 1 ? 'refund' : 'sale';
    const amount_minor = BigInt(this.amounts[row]!);
    if (replacement_minor !== undefined && replacement_minor > 0n) {
      assert(replacement_minor <= AMOUNT_MINOR_MAX, 'a replacement amount is an exact double');
      if (replacement_minor >= amount_minor) return { account, amount_minor: 0n, kind };
      this.amounts[row] = Number(replacement_minor);
      return { account, amount_minor: amount_minor - replacement_minor, kind };
    }
    this.reversed[row] = 1;
    return { account, amount_minor, kind };
  }

  /** Every remembered transaction, oldest first. */
  *entries(): IterableIterator<Cleared> {
    for (const row of this.ring.rows()) {
      const id = this.accountIds[row]!;
      yield {
        rrn: this.rrns.get(row), authCode: this.authCodes.get(row), amount_minor: BigInt(this.amounts[row]!), currency: this.currencies[row]!,
        date: this.dateOf(this.days[row]!), account: id < 0 ? undefined : this.accounts[id], reversed: this.reversed[row] === 1,
        kind: this.kinds[row] === 1 ? 'refund' : 'sale',
      };
    }
  }

  private accountId(account: Account): number {
    let id = this.accountIdOf.get(account);
    if (id === undefined) {
      id = this.accounts.length;
      this.accounts.push(account);
      this.accountIdOf.set(account, id);
    }
    return id;
  }

  /** Rows come in day order, so one cached day formats nearly all of them. */
  private dateOf(day: number): string {
    if (this.dayCache.day !== day) this.dayCache = { day, text: new Date(day * DAY_MS).toISOString().slice(0, 10) };
    return this.dayCache.text;
  }
}
