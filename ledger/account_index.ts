/**
 * The embedded ledger's per-account transfer index, kept out of the commit path. A B-tree
 * keyed by account gets one dirty page per account a commit touches: a commit of 256 single
 * transfers wrote about 1 MB of index pages. Instead, transfers created since the last fold
 * (the tail) are indexed in memory, and a fold writes one run per account: one row holding
 * that account's new entries, sorted, 8 bytes each. Account queries read the runs up to the
 * fold watermark and scan the tail (at most one fold's worth of transfers) in the table.
 *
 * An entry is the transfer's timestamp as a little-endian u64 with the side in bit 63
 * (timestamps stay below 2^63): the fold copies 32-bit words out of a BigInt64Array, no BigInt math.
 */
import { assert } from '../core/index.js';
import { endianness } from 'node:os';
import type { Account } from './types.js';

assert(endianness() === 'LE', 'account runs copy BigInt64Array bytes as little-endian entries');

/** Entry side bit: an account is never on both sides of one transfer. */
export const AccountSide = { debit: 0, credit: 1 } as const;
export type AccountSide = (typeof AccountSide)[keyof typeof AccountSide];

/** One account's entries from one fold, ascending (see the module comment for the entry layout). */
export interface AccountRun { account: bigint; first: bigint; last: bigint; entries: Buffer }

export const run_entry_bytes = 8;
const side_bit = 1n << 63n;
/** Bit 63 as seen in the high 32-bit word of a little-endian u64. */
const side_word_bit = 0x8000_0000;
/** The tail's timestamp array starts this large and doubles. */
const tail_capacity_initial = 8192;

export function encodeEntry(timestamp: bigint, side: AccountSide): bigint {
  assert(timestamp >= 0n && timestamp < side_bit, 'timestamps stay below 2^63');
  return side === AccountSide.credit ? timestamp | side_bit : timestamp;
}

export function decodeEntry(entry: bigint): { timestamp: bigint; side: AccountSide } {
  return entry >= side_bit ? { timestamp: entry - side_bit, side: AccountSide.credit } : { timestamp: entry, side: AccountSide.debit };
}

export function readEntry(entries: Buffer, index: number): { timestamp: bigint; side: AccountSide } {
  return decodeEntry(entries.readBigUInt64LE(index * run_entry_bytes));
}

/**
 * The tail in memory: transfer timestamps in creation order, and per account the positions of
 * its transfers (`position * 2 + side`). Linked chains mark it and roll back to the mark.
 */
export class AccountTail {
  private timestamps = new BigInt64Array(tail_capacity_initial);
  private count = 0;
  private readonly byAccount = new Map<Account, number[]>();

  get size(): number { return this.count; }

  add(timestamp: bigint, debit: Account, credit: Account): void {
    assert(debit !== credit, 'an account is never on both sides of a transfer');
    assert(timestamp > 0n && timestamp < side_bit, 'timestamps stay below 2^63');
    assert(this.count === 0 || timestamp > (this.timestamps[this.count - 1] ?? 0n), 'tail timestamps strictly increase');
    if (this.count === this.timestamps.length) {
      const grown = new BigInt64Array(this.timestamps.length * 2);
      grown.set(this.timestamps);
      this.timestamps = grown;
    }
    const position = this.count;
    this.timestamps[position] = timestamp;
    this.count += 1;
    this.entriesOf(debit).push(position * 2 + AccountSide.debit);
    this.entriesOf(credit).push(position * 2 + AccountSide.credit);
  }

  mark(): number { return this.count; }

  /** Drops what was added after `mark`; `touched` must hold every account changed since. */
  rollbackTo(mark: number, touched: Iterable<Account>): void {
    for (const account of touched) {
      const entries = this.byAccount.get(account);
      if (!entries) continue;
      while (entries.length > 0 && (entries[entries.length - 1] ?? 0) >= mark * 2) entries.pop();
      if (entries.length === 0) this.byAccount.delete(account);
    }
    assert(mark <= this.count, 'a chain mark is never past the tail');
    this.count = mark;
  }

  lastTimestamp(): bigint | undefined { return this.count === 0 ? undefined : this.timestamps[this.count - 1]; }

  /** One run per account with tail entries, in account order (so the fold appends index pages in order). */
  runs(): AccountRun[] {
    // The host is little-endian (asserted at load), so each timestamp is two 32-bit words, low
    // first; copying words avoids a BigInt per entry.
    const words = new Uint32Array(this.timestamps.buffer, this.timestamps.byteOffset, this.count * 2);
    const runs: AccountRun[] = [];
    for (const [account, entries] of this.byAccount) {
      const record = new Uint32Array(entries.length * 2);
      for (let index = 0; index < entries.length; index += 1) {
        const entry = entries[index] ?? 0;
        const from = (entry >> 1) * 2;
        record[index * 2] = words[from] ?? 0;
        record[index * 2 + 1] = ((words[from + 1] ?? 0) | ((entry & 1) === AccountSide.credit ? side_word_bit : 0)) >>> 0;
      }
      const first = this.timestamps[(entries[0] ?? 0) >> 1];
      const last = this.timestamps[(entries[entries.length - 1] ?? 0) >> 1];
      assert(first !== undefined && last !== undefined, 'a run has entries');
      runs.push({ account: account.timestamp, first, last, entries: Buffer.from(record.buffer, record.byteOffset, record.byteLength) });
    }
    return runs.sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0));
  }

  clear(): void {
    this.count = 0;
    this.byAccount.clear();
  }

  private entriesOf(account: Account): number[] {
    let entries = this.byAccount.get(account);
    if (!entries) {
      entries = [];
      this.byAccount.set(account, entries);
    }
    return entries;
  }
}
