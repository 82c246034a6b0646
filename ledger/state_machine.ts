/**
 * TigerBeetle's state machine for create_accounts and create_transfers, written from its
 * reference documentation: results in the documented precedence (the order in which
 * `tigerbeetle-node` declares its status enums), linked chains that succeed or fail as one,
 * two-phase transfers, balancing and closing transfers, limit flags, history, imported events
 * and ids burned by transient failures. It runs synchronously inside one SQLite transaction
 * opened by the embedded adapter; accounts live in memory and are written back per commit.
 */
import { assert, PalmswitchError } from '../core/index.js';
import { AccountTail } from './account_index.js';
import { PendingState, type Storage } from './storage.js';
import {
  AccountFlags, CreateAccountStatus, CreateTransferStatus, TransferFlags, timestamp_imported_max, u128_max, u64_max,
  type Account, type CreateAccountResult, type CreateTransferResult, type Transfer,
} from './types.js';

const transfer_flags_all = TransferFlags.linked | TransferFlags.pending | TransferFlags.post_pending_transfer |
  TransferFlags.void_pending_transfer | TransferFlags.balancing_debit | TransferFlags.balancing_credit |
  TransferFlags.closing_debit | TransferFlags.closing_credit | TransferFlags.imported;
const account_flags_all = AccountFlags.linked | AccountFlags.debits_must_not_exceed_credits |
  AccountFlags.credits_must_not_exceed_debits | AccountFlags.history | AccountFlags.imported | AccountFlags.closed;
/** Accounts are held in memory; past this many the embedded adapter is the wrong tool. */
export const accounts_max = 1_000_000;
/** Pending transfers expired per commit; the rest expire in the next commit, in expiry order. */
export const expiries_per_commit_max = 8189;
const ns_per_second = 1_000_000_000n;
/** Account-log records (one per commit) before they are folded into the accounts table. */
export const account_log_records_max = 512;
/**
 * Transfers created before the per-account index is folded (in the commit that crosses this):
 * it bounds the tail an account query scans and holds in memory, and larger runs cost less per entry.
 */
export const account_index_fold_transfers = 8189 * 4;

/**
 * Failures that depend on state which may change later. TigerBeetle burns the id of a transfer
 * that failed this way: a retry returns `id_already_failed`, so a transfer that was refused can
 * never silently succeed later under the same id.
 */
const transient_statuses: ReadonlySet<CreateTransferStatus> = new Set([
  CreateTransferStatus.debit_account_not_found, CreateTransferStatus.credit_account_not_found,
  CreateTransferStatus.pending_transfer_not_found, CreateTransferStatus.exceeds_credits,
  CreateTransferStatus.exceeds_debits, CreateTransferStatus.debit_account_already_closed,
  CreateTransferStatus.credit_account_already_closed,
]);

export function isTransient(status: CreateTransferStatus): boolean {
  return transient_statuses.has(status);
}

type Outcome<S> = { status: S; timestamp: bigint };
type TransferPlan =
  | { kind: 'single'; stored: Transfer; dr: Account; cr: Account }
  | { kind: 'post' | 'void'; stored: Transfer; dr: Account; cr: Account; pending: Transfer };

interface Snapshot { debits_pending: bigint; debits_posted: bigint; credits_pending: bigint; credits_posted: bigint; flags: number }

interface EventKind<E, S> {
  readonly linked: number;
  readonly imported: number;
  readonly linked_event_failed: S;
  readonly linked_event_chain_open: S;
  readonly created: S;
  one(event: E, timestamp: bigint, imported: boolean): Outcome<S>;
  recordFailure(event: E, status: S): void;
}

export class LedgerStateError extends PalmswitchError {}

export class StateMachine {
  readonly accounts = new Map<bigint, Account>();
  private readonly failed = new Set<bigint>();
  private readonly dirty = new Set<Account>();
  /** Accounts changed since the account log was last folded into the accounts table. */
  private readonly unfolded = new Set<Account>();
  private accountLogRecords = 0;
  /** Transfers past the per-account index watermark, indexed in memory until the next fold. */
  private readonly tail = new AccountTail();
  /** Issued to every event, stored or not: strictly increasing, shared by accounts and transfers. */
  private lastIssued = 0n;
  /** The timestamp of the newest stored object (imported events must come after it). */
  private lastObject = 0n;
  private chain: { undo: Map<Account, Snapshot>; created: bigint[]; lastObject: bigint; tailMark: number } | null = null;
  private readonly transferKind: EventKind<Transfer, CreateTransferStatus>;
  private readonly accountKind: EventKind<Account, CreateAccountStatus>;

  constructor(private readonly storage: Storage, private readonly clock: () => bigint,
    private readonly foldAfter: number = account_index_fold_transfers) {
    assert(Number.isInteger(foldAfter) && foldAfter >= 1, 'the account index folds after a positive number of transfers');
    this.transferKind = {
      linked: TransferFlags.linked, imported: TransferFlags.imported,
      linked_event_failed: CreateTransferStatus.linked_event_failed,
      linked_event_chain_open: CreateTransferStatus.linked_event_chain_open, created: CreateTransferStatus.created,
      one: (t, ts, imported) => this.createTransfer(t, ts, imported),
      recordFailure: (t, status) => {
        if (!isTransient(status)) return;
        this.failed.add(t.id);
        this.storage.insertFailed(t.id, status);
      },
    };
    this.accountKind = {
      linked: AccountFlags.linked, imported: AccountFlags.imported,
      linked_event_failed: CreateAccountStatus.linked_event_failed,
      linked_event_chain_open: CreateAccountStatus.linked_event_chain_open, created: CreateAccountStatus.created,
      one: (a, ts, imported) => this.createAccount(a, ts, imported),
      recordFailure: () => undefined,
    };
    this.reload();
  }

  /** (Re)loads the in-memory state from the file: at open, and after a failed commit. */
  reload(): void {
    this.accounts.clear();
    this.failed.clear();
    this.dirty.clear();
    this.unfolded.clear();
    this.chain = null;
    const byTimestamp = new Map<bigint, Account>();
    for (const a of this.storage.allAccounts()) {
      this.accounts.set(a.id, a);
      byTimestamp.set(a.timestamp, a);
    }
    assert(this.accounts.size <= accounts_max, 'too many accounts for the embedded ledger');
    let lastLogged = 0n;
    const log = this.storage.accountLog();
    for (const { last_timestamp, entries } of log) {
      for (const entry of entries) {
        const a = byTimestamp.get(entry.timestamp);
        assert(a, 'an account-log entry must name a stored account');
        const { timestamp: _timestamp, ...balances } = entry;
        Object.assign(a, balances);
        this.unfolded.add(a);
      }
      lastLogged = last_timestamp;
    }
    this.accountLogRecords = log.length;
    this.tail.clear();
    for (const t of this.storage.unindexedTransfers()) {
      const { dr, cr } = this.pendingAccounts(t);
      this.tail.add(t.timestamp, dr, cr);
    }
    for (const id of this.storage.allFailed()) this.failed.add(id);
    const stored = this.storage.lastTimestamp();
    this.lastObject = stored > lastLogged ? stored : lastLogged;
    if (this.lastIssued < this.lastObject) this.lastIssued = this.lastObject;
  }

  createAccounts(batch: readonly Account[]): CreateAccountResult[] {
    return this.runBatch(batch, this.accountKind);
  }

  createTransfers(batch: readonly Transfer[]): CreateTransferResult[] {
    return this.runBatch(batch, this.transferKind);
  }

  /** Writes balances changed since the last call; runs inside the caller's transaction. */
  writeBack(): void {
    if (this.dirty.size > 0) {
      this.storage.appendAccountLog([...this.dirty], this.lastIssued);
      this.accountLogRecords += 1;
      for (const a of this.dirty) this.unfolded.add(a);
      this.dirty.clear();
    }
    if (this.accountLogRecords >= account_log_records_max) this.fold();
    if (this.tail.size >= this.foldAfter) this.foldAccountIndex();
  }

  /** Writes the tail as one run per account and empties it (inside the caller's transaction). */
  foldAccountIndex(): void {
    const last = this.tail.lastTimestamp();
    if (last === undefined) return;
    this.storage.appendAccountRuns(this.tail.runs(), last);
    this.tail.clear();
  }

  /** Folds the account log into the accounts table (inside the caller's transaction). */
  fold(): void {
    for (const a of this.unfolded) this.storage.updateAccount(a);
    this.storage.setMeta('last_timestamp', this.lastIssued);
    this.storage.clearAccountLog();
    this.unfolded.clear();
    this.accountLogRecords = 0;
  }

  /** Removes the pending balance of every transfer whose timeout has passed at `now`. */
  expire(now: bigint): number {
    const due = this.storage.dueExpiries(now, expiries_per_commit_max);
    for (const timestamp of due) {
      const p = this.storage.transferByTimestamp(timestamp);
      assert(p && (p.flags & TransferFlags.pending) !== 0, 'expiring transfer must be pending');
      const { dr, cr } = this.pendingAccounts(p);
      this.touch(dr);
      this.touch(cr);
      dr.debits_pending -= p.amount;
      cr.credits_pending -= p.amount;
      assert(dr.debits_pending >= 0n && cr.credits_pending >= 0n, 'pending balance must not go negative');
      this.reopenIfClosing(p, dr, cr);
      this.storage.setPendingState(timestamp, PendingState.expired);
    }
    return due.length;
  }

  private issueTimestamp(now: bigint): bigint {
    let next = this.lastIssued + 1n;
    if (next <= this.lastObject) next = this.lastObject + 1n;
    if (now > next) next = now;
    this.lastIssued = next;
    return next;
  }

  private runBatch<E extends { flags: number }, S>(batch: readonly E[], kind: EventKind<E, S>): Array<Outcome<S>> {
    // One clock reading per request, as TigerBeetle stamps a batch: its events get consecutive
    // timestamps from there (or from the last one issued, if the clock is behind it).
    const now = this.clock();
    const timestamps = batch.map(() => this.issueTimestamp(now));
    const imported = batch.length > 0 && ((batch[0]?.flags ?? 0) & kind.imported) !== 0;
    // Every slot is written below: by its chain, or as part of an open chain.
    const results = new Array<Outcome<S>>(batch.length);
    let start = 0;
    while (start < batch.length) {
      let end = start;
      while (end < batch.length && ((batch[end]?.flags ?? 0) & kind.linked) !== 0) end += 1;
      if (end === batch.length) {
        // The last event carries `linked`: the chain is open and fails whole, unevaluated.
        for (let index = start; index < batch.length; index += 1) {
          const status = index === batch.length - 1 ? kind.linked_event_chain_open : kind.linked_event_failed;
          results[index] = { status, timestamp: timestamps[index] ?? 0n };
        }
        break;
      }
      this.runChain(batch, start, end, kind, timestamps, imported, results);
      start = end + 1;
    }
    return results;
  }

  private runChain<E, S>(batch: readonly E[], start: number, end: number, kind: EventKind<E, S>,
    timestamps: bigint[], imported: boolean, results: Array<Outcome<S>>): void {
    const linked = end > start;
    if (linked) this.beginChain();
    for (let index = start; index <= end; index += 1) {
      const event = batch[index];
      const timestamp = timestamps[index];
      assert(event !== undefined && timestamp !== undefined);
      const outcome = kind.one(event, timestamp, imported);
      results[index] = outcome;
      if (outcome.status === kind.created) continue;
      if (linked) {
        this.rollbackChain();
        for (let other = start; other <= end; other += 1) {
          if (other !== index) results[other] = { status: kind.linked_event_failed, timestamp: timestamps[other] ?? 0n };
        }
      }
      kind.recordFailure(event, outcome.status);
      return;
    }
    if (linked) this.commitChain();
  }

  private beginChain(): void {
    assert(this.chain === null, 'chains do not nest');
    this.storage.savepoint();
    this.chain = { undo: new Map(), created: [], lastObject: this.lastObject, tailMark: this.tail.mark() };
  }

  private commitChain(): void {
    assert(this.chain !== null);
    this.storage.releaseSavepoint();
    this.chain = null;
  }

  private rollbackChain(): void {
    const chain = this.chain;
    assert(chain !== null);
    this.storage.rollbackSavepoint();
    for (const [a, snapshot] of chain.undo) Object.assign(a, snapshot);
    // Every account with a tail entry from the chain was touched by it, so it is in `undo`.
    this.tail.rollbackTo(chain.tailMark, chain.undo.keys());
    for (const id of chain.created) {
      const a = this.accounts.get(id);
      if (a) this.dirty.delete(a);
      this.accounts.delete(id);
    }
    this.lastObject = chain.lastObject;
    this.chain = null;
  }

  /** Marks an account as changed, remembering its old balances if a chain may roll back. */
  private touch(a: Account): void {
    if (this.chain && !this.chain.undo.has(a)) {
      this.chain.undo.set(a, {
        debits_pending: a.debits_pending, debits_posted: a.debits_posted,
        credits_pending: a.credits_pending, credits_posted: a.credits_posted, flags: a.flags,
      });
    }
    this.dirty.add(a);
  }

  // ---- accounts ---------------------------------------------------------------------------

  private createAccount(a: Account, ts: bigint, imported: boolean): Outcome<CreateAccountStatus> {
    const fail = (status: CreateAccountStatus): Outcome<CreateAccountStatus> => ({ status, timestamp: ts });
    const header = this.accountHeader(a, imported);
    if (header !== null) return fail(header);
    const existing = this.accounts.get(a.id);
    if (existing) return { status: compareAccount(a, existing), timestamp: existing.timestamp };
    const body = accountBody(a);
    if (body !== null) return fail(body);
    if (imported && a.timestamp <= this.lastObject) return fail(CreateAccountStatus.imported_event_timestamp_must_not_regress);
    if (this.accounts.size >= accounts_max) throw new LedgerStateError('ledger_accounts_full', `the embedded ledger holds at most ${accounts_max} accounts`);
    const stored: Account = {
      ...a, debits_pending: 0n, debits_posted: 0n, credits_pending: 0n, credits_posted: 0n,
      timestamp: imported ? a.timestamp : ts,
    };
    this.storage.insertAccount(stored);
    this.accounts.set(stored.id, stored);
    this.chain?.created.push(stored.id);
    this.lastObject = stored.timestamp;
    return { status: CreateAccountStatus.created, timestamp: stored.timestamp };
  }

  private accountHeader(a: Account, imported: boolean): CreateAccountStatus | null {
    if (((a.flags & AccountFlags.imported) !== 0) !== imported) {
      return imported ? CreateAccountStatus.imported_event_expected : CreateAccountStatus.imported_event_not_expected;
    }
    if (!imported && a.timestamp !== 0n) return CreateAccountStatus.timestamp_must_be_zero;
    if (imported && (a.timestamp === 0n || a.timestamp > timestamp_imported_max)) return CreateAccountStatus.imported_event_timestamp_out_of_range;
    if (imported && a.timestamp > this.clock()) return CreateAccountStatus.imported_event_timestamp_must_not_advance;
    if (a.reserved !== 0) return CreateAccountStatus.reserved_field;
    if ((a.flags & ~account_flags_all) !== 0) return CreateAccountStatus.reserved_flag;
    if (a.id === 0n) return CreateAccountStatus.id_must_not_be_zero;
    if (a.id === u128_max) return CreateAccountStatus.id_must_not_be_int_max;
    return null;
  }

  // ---- transfers --------------------------------------------------------------------------

  private createTransfer(t: Transfer, ts: bigint, imported: boolean): Outcome<CreateTransferStatus> {
    const header = this.transferHeader(t, imported);
    if (header !== null) return { status: header, timestamp: ts };
    // Stored ids and burned ids are disjoint, so this check may run before the existence check.
    if (this.failed.has(t.id)) return { status: CreateTransferStatus.id_already_failed, timestamp: ts };
    const plan = this.planTransfer(t, ts, imported);
    if (typeof plan === 'number') {
      const existing = this.storage.transferById(t.id);
      if (existing) return { status: this.compareExisting(t, existing), timestamp: existing.timestamp };
      return { status: plan, timestamp: ts };
    }
    // The insert doubles as the existence check: it does nothing when the id is taken.
    if (!this.storage.insertTransferIfAbsent(plan.stored)) {
      const existing = this.storage.transferById(t.id);
      assert(existing, 'an id that blocked the insert must exist');
      return { status: this.compareExisting(t, existing), timestamp: existing.timestamp };
    }
    this.applyTransfer(plan);
    this.tail.add(plan.stored.timestamp, plan.dr, plan.cr);
    this.lastObject = plan.stored.timestamp;
    return { status: CreateTransferStatus.created, timestamp: plan.stored.timestamp };
  }

  private compareExisting(t: Transfer, e: Transfer): CreateTransferStatus {
    const resolving = (t.flags & (TransferFlags.post_pending_transfer | TransferFlags.void_pending_transfer)) !== 0;
    if (!resolving || t.flags !== e.flags || t.pending_id !== e.pending_id) return compareTransfer(t, e, null);
    const p = this.storage.transferById(t.pending_id);
    assert(p, 'the pending transfer of a stored post or void must exist');
    return compareTransfer(t, e, p);
  }

  private transferHeader(t: Transfer, imported: boolean): CreateTransferStatus | null {
    if (((t.flags & TransferFlags.imported) !== 0) !== imported) {
      return imported ? CreateTransferStatus.imported_event_expected : CreateTransferStatus.imported_event_not_expected;
    }
    if (!imported && t.timestamp !== 0n) return CreateTransferStatus.timestamp_must_be_zero;
    if (imported && (t.timestamp === 0n || t.timestamp > timestamp_imported_max)) return CreateTransferStatus.imported_event_timestamp_out_of_range;
    if (imported && t.timestamp > this.clock()) return CreateTransferStatus.imported_event_timestamp_must_not_advance;
    if ((t.flags & ~transfer_flags_all) !== 0) return CreateTransferStatus.reserved_flag;
    if (t.id === 0n) return CreateTransferStatus.id_must_not_be_zero;
    if (t.id === u128_max) return CreateTransferStatus.id_must_not_be_int_max;
    return null;
  }

  private planTransfer(t: Transfer, ts: bigint, imported: boolean): TransferPlan | CreateTransferStatus {
    const f = t.flags;
    const post = (f & TransferFlags.post_pending_transfer) !== 0;
    const void_ = (f & TransferFlags.void_pending_transfer) !== 0;
    const balancing = (f & (TransferFlags.balancing_debit | TransferFlags.balancing_credit)) !== 0;
    const closing = (f & (TransferFlags.closing_debit | TransferFlags.closing_credit)) !== 0;
    const pending = (f & TransferFlags.pending) !== 0;
    if ((post && void_) || ((post || void_) && (pending || balancing || closing))) {
      return CreateTransferStatus.flags_are_mutually_exclusive;
    }
    return post || void_ ? this.planPostOrVoid(t, ts, imported, post) : this.planSingle(t, ts, imported);
  }

  private planSingle(t: Transfer, ts: bigint, imported: boolean): TransferPlan | CreateTransferStatus {
    const pending = (t.flags & TransferFlags.pending) !== 0;
    const closing = (t.flags & (TransferFlags.closing_debit | TransferFlags.closing_credit)) !== 0;
    if (t.debit_account_id === 0n) return CreateTransferStatus.debit_account_id_must_not_be_zero;
    if (t.debit_account_id === u128_max) return CreateTransferStatus.debit_account_id_must_not_be_int_max;
    if (t.credit_account_id === 0n) return CreateTransferStatus.credit_account_id_must_not_be_zero;
    if (t.credit_account_id === u128_max) return CreateTransferStatus.credit_account_id_must_not_be_int_max;
    if (t.debit_account_id === t.credit_account_id) return CreateTransferStatus.accounts_must_be_different;
    if (t.pending_id !== 0n) return CreateTransferStatus.pending_id_must_be_zero;
    if (!pending && t.timeout !== 0) return CreateTransferStatus.timeout_reserved_for_pending_transfer;
    if (!pending && closing) return CreateTransferStatus.closing_transfer_must_be_pending;
    if (t.ledger === 0) return CreateTransferStatus.ledger_must_not_be_zero;
    if (t.code === 0) return CreateTransferStatus.code_must_not_be_zero;
    const dr = this.accounts.get(t.debit_account_id);
    if (!dr) return CreateTransferStatus.debit_account_not_found;
    const cr = this.accounts.get(t.credit_account_id);
    if (!cr) return CreateTransferStatus.credit_account_not_found;
    if (dr.ledger !== cr.ledger) return CreateTransferStatus.accounts_must_have_the_same_ledger;
    if (t.ledger !== dr.ledger) return CreateTransferStatus.transfer_must_have_the_same_ledger_as_accounts;
    const importedStatus = this.importedChecks(t, imported, dr, cr);
    if (importedStatus !== null) return importedStatus;
    if ((dr.flags & AccountFlags.closed) !== 0) return CreateTransferStatus.debit_account_already_closed;
    if ((cr.flags & AccountFlags.closed) !== 0) return CreateTransferStatus.credit_account_already_closed;
    const amount = balancedAmount(t, dr, cr);
    const stored: Transfer = { ...t, amount, timestamp: imported ? t.timestamp : ts };
    const limit = limitChecks(stored, dr, cr);
    if (limit !== null) return limit;
    return { kind: 'single', stored, dr, cr };
  }

  private importedChecks(t: Transfer, imported: boolean, dr: Account, cr: Account): CreateTransferStatus | null {
    if (!imported) return null;
    if (t.timestamp <= this.lastObject) return CreateTransferStatus.imported_event_timestamp_must_not_regress;
    if (t.timestamp <= dr.timestamp) return CreateTransferStatus.imported_event_timestamp_must_postdate_debit_account;
    if (t.timestamp <= cr.timestamp) return CreateTransferStatus.imported_event_timestamp_must_postdate_credit_account;
    if (t.timeout !== 0) return CreateTransferStatus.imported_event_timeout_must_be_zero;
    return null;
  }

  private planPostOrVoid(t: Transfer, ts: bigint, imported: boolean, post: boolean): TransferPlan | CreateTransferStatus {
    if (t.pending_id === 0n) return CreateTransferStatus.pending_id_must_not_be_zero;
    if (t.pending_id === u128_max) return CreateTransferStatus.pending_id_must_not_be_int_max;
    if (t.pending_id === t.id) return CreateTransferStatus.pending_id_must_be_different;
    if (t.timeout !== 0) return CreateTransferStatus.timeout_reserved_for_pending_transfer;
    const p = this.storage.transferById(t.pending_id);
    if (!p) return CreateTransferStatus.pending_transfer_not_found;
    if ((p.flags & TransferFlags.pending) === 0) return CreateTransferStatus.pending_transfer_not_pending;
    const mismatch = pendingMismatch(t, p);
    if (mismatch !== null) return mismatch;
    const amount = resolvedAmount(t, p, post);
    if (amount > p.amount) return CreateTransferStatus.exceeds_pending_transfer_amount;
    if (!post && amount < p.amount) return CreateTransferStatus.pending_transfer_has_different_amount;
    const state = this.pendingStateAt(p, ts);
    if (state === PendingState.posted) return CreateTransferStatus.pending_transfer_already_posted;
    if (state === PendingState.voided) return CreateTransferStatus.pending_transfer_already_voided;
    if (state === PendingState.expired) return CreateTransferStatus.pending_transfer_expired;
    const { dr, cr } = this.pendingAccounts(p);
    if (imported && t.timestamp <= this.lastObject) return CreateTransferStatus.imported_event_timestamp_must_not_regress;
    // The only movement a closed account allows is voiding a pending transfer.
    if (post && (dr.flags & AccountFlags.closed) !== 0) return CreateTransferStatus.debit_account_already_closed;
    if (post && (cr.flags & AccountFlags.closed) !== 0) return CreateTransferStatus.credit_account_already_closed;
    const stored: Transfer = {
      ...t, debit_account_id: p.debit_account_id, credit_account_id: p.credit_account_id, amount,
      user_data_128: t.user_data_128 === 0n ? p.user_data_128 : t.user_data_128,
      user_data_64: t.user_data_64 === 0n ? p.user_data_64 : t.user_data_64,
      user_data_32: t.user_data_32 === 0 ? p.user_data_32 : t.user_data_32,
      ledger: p.ledger, code: p.code, timestamp: imported ? t.timestamp : ts,
    };
    return { kind: post ? 'post' : 'void', stored, dr, cr, pending: p };
  }

  /** A pending transfer whose timeout has passed counts as expired even before the expiry pass ran. */
  private pendingStateAt(p: Transfer, ts: bigint): PendingState {
    const row = this.storage.pendingState(p.timestamp);
    assert(row, 'a pending transfer must have a pending row');
    if (row.state === PendingState.pending && row.expires_at !== 0n && row.expires_at <= ts) return PendingState.expired;
    return row.state;
  }

  private pendingAccounts(p: Pick<Transfer, 'debit_account_id' | 'credit_account_id'>): { dr: Account; cr: Account } {
    const dr = this.accounts.get(p.debit_account_id);
    const cr = this.accounts.get(p.credit_account_id);
    assert(dr && cr, 'accounts of a stored transfer must exist');
    return { dr, cr };
  }

  private applyTransfer(plan: TransferPlan): void {
    const { stored: t, dr, cr } = plan;
    this.touch(dr);
    this.touch(cr);
    if (plan.kind === 'single') {
      if ((t.flags & TransferFlags.pending) !== 0) {
        dr.debits_pending += t.amount;
        cr.credits_pending += t.amount;
        const expires_at = t.timeout === 0 ? 0n : t.timestamp + BigInt(t.timeout) * ns_per_second;
        this.storage.insertPending(t.timestamp, expires_at);
      } else {
        dr.debits_posted += t.amount;
        cr.credits_posted += t.amount;
      }
      if ((t.flags & TransferFlags.closing_debit) !== 0) dr.flags |= AccountFlags.closed;
      if ((t.flags & TransferFlags.closing_credit) !== 0) cr.flags |= AccountFlags.closed;
    } else {
      dr.debits_pending -= plan.pending.amount;
      cr.credits_pending -= plan.pending.amount;
      assert(dr.debits_pending >= 0n && cr.credits_pending >= 0n, 'pending balance must not go negative');
      if (plan.kind === 'post') {
        dr.debits_posted += t.amount;
        cr.credits_posted += t.amount;
      } else {
        this.reopenIfClosing(plan.pending, dr, cr);
      }
      this.storage.setPendingState(plan.pending.timestamp, plan.kind === 'post' ? PendingState.posted : PendingState.voided);
    }
    if ((dr.flags & AccountFlags.history) !== 0) this.storage.insertBalance(dr.id, dr, t.timestamp);
    if ((cr.flags & AccountFlags.history) !== 0) this.storage.insertBalance(cr.id, cr, t.timestamp);
  }

  private reopenIfClosing(p: Transfer, dr: Account, cr: Account): void {
    if ((p.flags & TransferFlags.closing_debit) !== 0) dr.flags &= ~AccountFlags.closed;
    if ((p.flags & TransferFlags.closing_credit) !== 0) cr.flags &= ~AccountFlags.closed;
  }
}

function accountBody(a: Account): CreateAccountStatus | null {
  const both = AccountFlags.debits_must_not_exceed_credits | AccountFlags.credits_must_not_exceed_debits;
  if ((a.flags & both) === both) return CreateAccountStatus.flags_are_mutually_exclusive;
  if (a.debits_pending !== 0n) return CreateAccountStatus.debits_pending_must_be_zero;
  if (a.debits_posted !== 0n) return CreateAccountStatus.debits_posted_must_be_zero;
  if (a.credits_pending !== 0n) return CreateAccountStatus.credits_pending_must_be_zero;
  if (a.credits_posted !== 0n) return CreateAccountStatus.credits_posted_must_be_zero;
  if (a.ledger === 0) return CreateAccountStatus.ledger_must_not_be_zero;
  if (a.code === 0) return CreateAccountStatus.code_must_not_be_zero;
  return null;
}

/** `exists` only for an identical account; the flags compare whole, `closed` included, as TigerBeetle does. */
export function compareAccount(a: Account, e: Account): CreateAccountStatus {
  if (a.flags !== e.flags) return CreateAccountStatus.exists_with_different_flags;
  if (a.user_data_128 !== e.user_data_128) return CreateAccountStatus.exists_with_different_user_data_128;
  if (a.user_data_64 !== e.user_data_64) return CreateAccountStatus.exists_with_different_user_data_64;
  if (a.user_data_32 !== e.user_data_32) return CreateAccountStatus.exists_with_different_user_data_32;
  if (a.ledger !== e.ledger) return CreateAccountStatus.exists_with_different_ledger;
  if (a.code !== e.code) return CreateAccountStatus.exists_with_different_code;
  return CreateAccountStatus.exists;
}

/**
 * `exists` when the request matches what was stored, else the first differing field. A post or
 * void is stored with the fields it inherited from its pending transfer, so a zero in the request
 * must match what the pending transfer had; a balancing transfer's amount is a maximum, so a
 * retry matches when it allows at least what was actually moved.
 */
export function compareTransfer(t: Transfer, e: Transfer, p: Transfer | null): CreateTransferStatus {
  const S = CreateTransferStatus;
  if (t.flags !== e.flags) return S.exists_with_different_flags;
  if (t.pending_id !== e.pending_id) return S.exists_with_different_pending_id;
  if (t.timeout !== e.timeout) return S.exists_with_different_timeout;
  if (p === null) {
    if (t.debit_account_id !== e.debit_account_id) return S.exists_with_different_debit_account_id;
    if (t.credit_account_id !== e.credit_account_id) return S.exists_with_different_credit_account_id;
    const balancing = (t.flags & (TransferFlags.balancing_debit | TransferFlags.balancing_credit)) !== 0;
    if (balancing ? t.amount < e.amount : t.amount !== e.amount) return S.exists_with_different_amount;
    if (t.user_data_128 !== e.user_data_128) return S.exists_with_different_user_data_128;
    if (t.user_data_64 !== e.user_data_64) return S.exists_with_different_user_data_64;
    if (t.user_data_32 !== e.user_data_32) return S.exists_with_different_user_data_32;
    if (t.ledger !== e.ledger) return S.exists_with_different_ledger;
    if (t.code !== e.code) return S.exists_with_different_code;
    return S.exists;
  }
  if (t.debit_account_id !== 0n && t.debit_account_id !== e.debit_account_id) return S.exists_with_different_debit_account_id;
  if (t.credit_account_id !== 0n && t.credit_account_id !== e.credit_account_id) return S.exists_with_different_credit_account_id;
  const post = (t.flags & TransferFlags.post_pending_transfer) !== 0;
  const whole = post ? t.amount === u128_max : t.amount === 0n;
  if (whole ? e.amount !== p.amount : t.amount !== e.amount) return S.exists_with_different_amount;
  if ((t.user_data_128 === 0n ? p.user_data_128 : t.user_data_128) !== e.user_data_128) return S.exists_with_different_user_data_128;
  if ((t.user_data_64 === 0n ? p.user_data_64 : t.user_data_64) !== e.user_data_64) return S.exists_with_different_user_data_64;
  if ((t.user_data_32 === 0 ? p.user_data_32 : t.user_data_32) !== e.user_data_32) return S.exists_with_different_user_data_32;
  if (t.ledger !== 0 && t.ledger !== e.ledger) return S.exists_with_different_ledger;
  if (t.code !== 0 && t.code !== e.code) return S.exists_with_different_code;
  return S.exists;
}

/** What a post or void moves: a void the whole pending amount (0 means "all"), a post AMOUNT_MAX = all. */
function resolvedAmount(t: Transfer, p: Transfer, post: boolean): bigint {
  if (post) return t.amount === u128_max ? p.amount : t.amount;
  return t.amount > 0n ? t.amount : p.amount;
}

function pendingMismatch(t: Transfer, p: Transfer): CreateTransferStatus | null {
  if (t.debit_account_id !== 0n && t.debit_account_id !== p.debit_account_id) return CreateTransferStatus.pending_transfer_has_different_debit_account_id;
  if (t.credit_account_id !== 0n && t.credit_account_id !== p.credit_account_id) return CreateTransferStatus.pending_transfer_has_different_credit_account_id;
  if (t.ledger !== 0 && t.ledger !== p.ledger) return CreateTransferStatus.pending_transfer_has_different_ledger;
  if (t.code !== 0 && t.code !== p.code) return CreateTransferStatus.pending_transfer_has_different_code;
  return null;
}

/** A balancing transfer moves at most what keeps the account's debits within its credits (or the reverse). */
function balancedAmount(t: Transfer, dr: Account, cr: Account): bigint {
  let amount = t.amount;
  if ((t.flags & TransferFlags.balancing_debit) !== 0) {
    const room = dr.credits_posted - dr.debits_posted - dr.debits_pending;
    amount = min(amount, room > 0n ? room : 0n);
  }
  if ((t.flags & TransferFlags.balancing_credit) !== 0) {
    const room = cr.debits_posted - cr.credits_posted - cr.credits_pending;
    amount = min(amount, room > 0n ? room : 0n);
  }
  return amount;
}

/** Below this, a sum of three amounts or balances cannot pass u128_max, so the overflow checks cannot fail. */
const overflow_free_max = 1n << 126n;

function limitChecks(t: Transfer, dr: Account, cr: Account): CreateTransferStatus | null {
  const amount = t.amount;
  const overflowFree = amount < overflow_free_max && t.timeout === 0 &&
    dr.debits_pending < overflow_free_max && dr.debits_posted < overflow_free_max &&
    cr.credits_pending < overflow_free_max && cr.credits_posted < overflow_free_max;
  return (overflowFree ? null : overflowChecks(t, dr, cr)) ?? limitFlagChecks(amount, dr, cr);
}

function overflowChecks(t: Transfer, dr: Account, cr: Account): CreateTransferStatus | null {
  const S = CreateTransferStatus;
  const amount = t.amount;
  if ((t.flags & TransferFlags.pending) !== 0) {
    if (dr.debits_pending + amount > u128_max) return S.overflows_debits_pending;
    if (cr.credits_pending + amount > u128_max) return S.overflows_credits_pending;
  }
  // Checked for pending transfers too: a pending amount must still fit once posted.
  if (dr.debits_posted + amount > u128_max) return S.overflows_debits_posted;
  if (cr.credits_posted + amount > u128_max) return S.overflows_credits_posted;
  if (dr.debits_pending + dr.debits_posted + amount > u128_max) return S.overflows_debits;
  if (cr.credits_pending + cr.credits_posted + amount > u128_max) return S.overflows_credits;
  if (t.timestamp + BigInt(t.timeout) * ns_per_second > u64_max) return S.overflows_timeout;
  return null;
}

function limitFlagChecks(amount: bigint, dr: Account, cr: Account): CreateTransferStatus | null {
  const S = CreateTransferStatus;
  if ((dr.flags & AccountFlags.debits_must_not_exceed_credits) !== 0 &&
    dr.debits_pending + dr.debits_posted + amount > dr.credits_posted) return S.exceeds_credits;
  if ((cr.flags & AccountFlags.credits_must_not_exceed_debits) !== 0 &&
    cr.credits_pending + cr.credits_posted + amount > cr.debits_posted) return S.exceeds_debits;
  return null;
}

const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
