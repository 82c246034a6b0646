/**
 * The embedded ledger's per-account transfer index, kept out of the commit path. A B-tree
 * keyed by account gets one dirty page per account a commit touches: a commit of 256 single
 * transfers wrote about 1 MB of index pages. Instead, transfers created since the last fold
 * (the tail) are indexed in memory, and a fold writes one run per account: one row holding
 * that account's new entries, sorted, 8 bytes each. Account queries read the runs up to the
 * fold watermark and scan the tail (at most one fold's worth of transfers) in the table.
 */
import { assert } from '../core/index.js';
import type { Account } from './types.js';

/** Entry side bit: an account is never on both sides of one transfer. */
export const AccountSide = { debit: 0, credit: 1 } as const;
export type AccountSide = (typeof AccountSide)[keyof typeof AccountSide];

/** One account's entries from one fold: `(timestamp << 1) | side`, big-endian u64, ascending. */
export interface AccountRun { account: bigint; first: bigint; last: bigint; entries: Buffer }

export const run_entry_bytes = 8;

export function encodeEntry(timestamp: bigint, side: AccountSide): bigint {
  return (timestamp << 1n) | BigInt(side);
}

export function decodeEntry(entry: bigint): { timestamp: bigint; side: AccountSide } {
  return { timestamp: entry >> 1n, side: Number(entry & 1n) as AccountSide };
}

/**
 * The tail in memory: transfer timestamps in creation order, and per account the positions of
 * its transfers (`position * 2 + side`). Linked chains mark it and roll back to the mark.
 */
export class AccountTail {
  private timestamps: bigint[] = [];
  private readonly byAccount = new Map<Account, number[]>();

  get size(): number { return this.timestamps.length; }

  add(timestamp: bigint, debit: Account, credit: Account): void {
    assert(debit !== credit, 'an account is never on both sides of a transfer');
    const last = this.timestamps[this.timestamps.length - 1];
    assert(last === undefined || timestamp > last, 'tail timestamps strictly increase');
    const position = this.timestamps.length;
    this.timestamps.push(timestamp);
    this.entriesOf(debit).push(position * 2 + AccountSide.debit);
    this.entriesOf(credit).push(position * 2 + AccountSide.credit);
  }

  mark(): number { return this.timestamps.length; }

  /** Drops what was added after `mark`; `touched` must hold every account changed since. */
  rollbackTo(mark: number, touched: Iterable<Account>): void {
    for (const account of touched) {
      const entries = this.byAccount.get(account);
      if (!entries) continue;
      while (entries.length > 0 && (entries[entries.length - 1] ?? 0) >= mark * 2) entries.pop();
      if (entries.length === 0) this.byAccount.delete(account);
    }
    this.timestamps.length = mark;
  }

  lastTimestamp(): bigint | undefined { return this.timestamps[this.timestamps.length - 1]; }

  /** One run per account with tail entries, in account order (so the fold appends index pages in order). */
  runs(): AccountRun[] {
    const runs: AccountRun[] = [];
    for (const [account, entries] of this.byAccount) {
      const record = Buffer.allocUnsafe(entries.length * run_entry_bytes);
      entries.forEach((entry, index) => {
        const timestamp = this.timestamps[entry >> 1];
        assert(timestamp !== undefined, 'a tail entry names a tail transfer');
        record.writeBigUInt64BE(encodeEntry(timestamp, (entry & 1) as AccountSide), index * run_entry_bytes);
      });
      const first = this.timestamps[(entries[0] ?? 0) >> 1];
      const last = this.timestamps[(entries[entries.length - 1] ?? 0) >> 1];
      assert(first !== undefined && last !== undefined, 'a run has entries');
      runs.push({ account: account.timestamp, first, last, entries: record });
    }
    return runs.sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0));
  }

  clear(): void {
    this.timestamps = [];
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
