/**
 * The `embedded` adapter (the default): TigerBeetle's semantics on one local SQLite file.
 * Requests from concurrent callers are queued and applied together in one transaction with
 * one fsync (group commit), so durability does not cost throughput: each caller still gets
 * its own results, computed as if its batch ran alone, in arrival order. Pending transfers
 * expire on time: a timer wakes at the next expiry and commits it.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { assert, createLogger, PalmswitchError, WalCheckpointer } from '../core/index.js';
import { accountBalancesQuery, accountTransfersQuery, queryFilterQuery } from './query.js';
import { StateMachine } from './state_machine.js';
import { Storage } from './storage.js';
import {
  AccountFlags, batch_events_max,
  type Account, type AccountBalance, type AccountFilter, type CreateAccountResult, type CreateTransferResult,
  type Ledger, type QueryFilter, type Transfer,
} from './types.js';

/** Events applied per transaction (one fsync); more waiting callers go into the next one. */
export const commit_events_max = 8189 * 4;
/** Events waiting for a commit; past this a caller is refused instead of queueing without end. */
export const queue_events_max = 8189 * 64;
/** The expiry timer never sleeps longer than this, so a clock jump is noticed. */
export const expiry_wake_ms_max = 60_000;
/** Ids per lookup request (one reply's worth, as in TigerBeetle). */
export const lookup_ids_max = batch_events_max;

export class LedgerError extends PalmswitchError {}

export interface EmbeddedOptions {
  /** Path of the ledger file (created if missing). */
  file: string;
  /** Nanoseconds since the UNIX epoch; tests may inject a clock. */
  clock?: () => bigint;
  /**
   * Open for reading only (reports, `palmswitch ledger balances`, recon): no lock, no writes,
   * balances as of opening. Only one process may open the file for writing.
   */
  readonly?: boolean;
  /** Transfers between folds of the per-account index (tests lower it to fold often). */
  account_index_fold_transfers?: number;
  /**
   * Where WAL checkpoints run: `inline` (SQLite's automatic checkpoint, inside a commit on the
   * event loop; the default for tools and tests) or `worker` (a WalCheckpointer thread: what a
   * long-running service wants, so no commit stalls behind a checkpoint).
   */
  checkpoints?: 'inline' | 'worker';
}

const log = createLogger({ name: 'ledger' });

/**
 * One writer per file: accounts live in the writer's memory, so a second writer would fold
 * stale balances over newer ones. The lock file holds the writer's pid; a lock left by a dead
 * process (SIGKILL) is taken over.
 */
function acquireWriterLock(file: string): string {
  const lock = `${file}.lock`;
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return lock;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(lock, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
        throw new LedgerError('ledger_locked', `the ledger file ${file} is open for writing by process ${pid}`);
      }
      unlinkSync(lock);
    }
  }
  throw new LedgerError('ledger_locked', `could not take the writer lock ${lock}`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

type Request =
  | { kind: 'accounts'; batch: readonly Account[]; resolve: (r: CreateAccountResult[]) => void; reject: (e: unknown) => void }
  | { kind: 'transfers'; batch: readonly Transfer[]; resolve: (r: CreateTransferResult[]) => void; reject: (e: unknown) => void };

const u128_limit = 1n << 128n;
const u64_limit = 1n << 64n;
const isU128 = (v: unknown): boolean => typeof v === 'bigint' && v >= 0n && v < u128_limit;
const isU64 = (v: unknown): boolean => typeof v === 'bigint' && v >= 0n && v < u64_limit;
const isUint = (v: unknown, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;

/**
 * Field types and ranges, checked when a request is queued: a malformed event fails its own
 * request (as the TigerBeetle client throws on it) instead of the commit it would share.
 */
const event_fields = {
  accounts: {
    u128: ['id', 'debits_pending', 'debits_posted', 'credits_pending', 'credits_posted', 'user_data_128'],
    u32: ['user_data_32', 'reserved', 'ledger'],
  },
  transfers: {
    u128: ['id', 'debit_account_id', 'credit_account_id', 'amount', 'pending_id', 'user_data_128'],
    u32: ['user_data_32', 'timeout', 'ledger'],
  },
} as const;
const u64_fields = ['user_data_64', 'timestamp'] as const;
const u16_fields = ['code', 'flags'] as const;

function malformedEvent(kind: Request['kind'], event: Account | Transfer): string | null {
  const e = event as unknown as Record<string, unknown>;
  const fields = event_fields[kind];
  for (const field of fields.u128) if (!isU128(e[field])) return `${field} must be a u128 bigint`;
  for (const field of u64_fields) if (!isU64(e[field])) return `${field} must be a u64 bigint`;
  for (const field of fields.u32) if (!isUint(e[field], 0xffff_ffff)) return `${field} must be a u32 number`;
  for (const field of u16_fields) if (!isUint(e[field], 0xffff)) return `${field} must be a u16 number`;
  return null;
}

export function wallClockNs(): bigint {
  // Date.now() is milliseconds; performance.now() adds sub-millisecond precision.
  return BigInt(Math.floor((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

export class EmbeddedLedger implements Ledger {
  readonly adapter = 'embedded' as const;
  private readonly storage: Storage;
  private readonly machine: StateMachine;
  private readonly clock: () => bigint;
  private queue: Request[] = [];
  private queuedEvents = 0;
  private scheduled = false;
  private closed = false;
  private expiryTimer: NodeJS.Timeout | null = null;
  private expiryArmedFor: bigint | null = null;
  private readonly readonly: boolean;
  private readonly lock: string | null;
  private readonly checkpointer: WalCheckpointer | null;

  constructor(options: EmbeddedOptions) {
    this.clock = options.clock ?? wallClockNs;
    this.readonly = options.readonly === true;
    this.lock = this.readonly ? null : acquireWriterLock(options.file);
    try {
      this.storage = new Storage(options.file, this.readonly);
    } catch (error) {
      if (this.lock) unlinkSync(this.lock);
      throw new LedgerError('ledger_open_failed', `cannot open the ledger file ${options.file}: ${(error as Error).message}`, { cause: error });
    }
    this.machine = new StateMachine(this.storage, this.clock, options.account_index_fold_transfers);
    this.checkpointer = this.readonly || options.checkpoints !== 'worker' ? null : this.startCheckpointer(options.file);
    if (!this.readonly) this.armExpiry();
  }

  private startCheckpointer(file: string): WalCheckpointer {
    this.storage.db.pragma('wal_autocheckpoint = 0');
    return new WalCheckpointer({
      file,
      checkpointHere: () => { this.storage.db.pragma('wal_checkpoint(PASSIVE)'); },
      onError: (message) => log.warn({ err: message }, 'ledger WAL checkpoint failed'),
    });
  }

  createAccounts(batch: readonly Account[]): Promise<CreateAccountResult[]> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'accounts', batch: batch.slice(), resolve, reject }));
  }

  createTransfers(batch: readonly Transfer[]): Promise<CreateTransferResult[]> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'transfers', batch: batch.slice(), resolve, reject }));
  }

  lookupAccounts(ids: readonly bigint[]): Promise<Account[]> {
    this.checkOpen();
    assert(ids.length <= lookup_ids_max, `at most ${lookup_ids_max} ids per lookup`);
    const found = ids.map((id) => this.machine.accounts.get(id)).filter((a): a is Account => a !== undefined);
    return Promise.resolve(found.map((a) => ({ ...a })));
  }

  lookupTransfers(ids: readonly bigint[]): Promise<Transfer[]> {
    this.checkOpen();
    assert(ids.length <= lookup_ids_max, `at most ${lookup_ids_max} ids per lookup`);
    const found = ids.map((id) => this.storage.transferById(id)).filter((t): t is Transfer => t !== undefined);
    return Promise.resolve(found);
  }

  getAccountTransfers(filter: AccountFilter): Promise<Transfer[]> {
    this.checkOpen();
    const query = accountTransfersQuery(filter);
    return Promise.resolve(query ? this.storage.selectAccountTransfers(query) : []);
  }

  getAccountBalances(filter: AccountFilter): Promise<AccountBalance[]> {
    this.checkOpen();
    const a = this.machine.accounts.get(filter.account_id);
    // Only accounts created with `flags.history` keep their balance after every transfer.
    if (!a || (a.flags & AccountFlags.history) === 0) return Promise.resolve([]);
    const query = accountBalancesQuery(filter);
    return Promise.resolve(query ? this.storage.selectBalances(query.sql, query.params) : []);
  }

  queryAccounts(filter: QueryFilter): Promise<Account[]> {
    this.checkOpen();
    const query = queryFilterQuery(filter, 'accounts');
    if (!query) return Promise.resolve([]);
    // Balances live in memory between commits; the file only orders and filters.
    const rows = this.storage.selectAccounts(query.sql, query.params);
    return Promise.resolve(rows.map((row) => ({ ...(this.machine.accounts.get(row.id) ?? row) })));
  }

  queryTransfers(filter: QueryFilter): Promise<Transfer[]> {
    this.checkOpen();
    const query = queryFilterQuery(filter, 'transfers');
    return Promise.resolve(query ? this.storage.selectTransfers(query.sql, query.params) : []);
  }

  /** Commits whatever expired by now (the timer does this on its own; tests with a fake clock call it). */
  expirePending(): Promise<void> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'transfers', batch: [], resolve: () => resolve(), reject }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    while (this.queue.length > 0 || this.scheduled) await new Promise((resolve) => setImmediate(resolve));
    this.closed = true;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    if (!this.readonly) {
      // Leave a tidy file: balances folded into the accounts table, the account log empty, every transfer indexed.
      this.storage.begin();
      this.machine.fold();
      this.machine.foldAccountIndex();
      this.storage.commit();
    }
    await this.checkpointer?.close();
    this.storage.close();
    if (this.lock) unlinkSync(this.lock);
  }

  private checkOpen(): void {
    if (this.closed) throw new LedgerError('ledger_closed', 'the ledger is closed');
  }

  private enqueue(request: Request): void {
    if (this.closed) { request.reject(new LedgerError('ledger_closed', 'the ledger is closed')); return; }
    if (this.readonly) { request.reject(new LedgerError('ledger_read_only', 'the ledger was opened read-only')); return; }
    if (request.batch.length > batch_events_max) {
      request.reject(new LedgerError('ledger_batch_too_large', `at most ${batch_events_max} events per request`));
      return;
    }
    for (let index = 0; index < request.batch.length; index += 1) {
      const event = request.batch[index];
      const problem = event === undefined ? 'is missing' : malformedEvent(request.kind, event);
      if (problem !== null) {
        request.reject(new LedgerError('ledger_event_invalid', `event ${index}: ${problem}`));
        return;
      }
    }
    if (this.queuedEvents + request.batch.length > queue_events_max) {
      request.reject(new LedgerError('ledger_overloaded', `more than ${queue_events_max} events are waiting; retry later`));
      return;
    }
    this.queue.push(request);
    this.queuedEvents += request.batch.length;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate (not a microtask) lets every caller resumed by the last commit enqueue first.
    setImmediate(() => this.flush());
  }

  private takeCommitGroup(): Request[] {
    let events = 0;
    let count = 0;
    while (count < this.queue.length) {
      const next = this.queue[count];
      assert(next);
      if (count > 0 && events + next.batch.length > commit_events_max) break;
      events += next.batch.length;
      count += 1;
    }
    const group = this.queue.slice(0, count);
    this.queue = this.queue.slice(count);
    this.queuedEvents -= events;
    return group;
  }

  private flush(): void {
    this.scheduled = false;
    const group = this.takeCommitGroup();
    const results: unknown[] = [];
    try {
      this.storage.begin();
      this.machine.expire(this.clock());
      for (const request of group) {
        results.push(request.kind === 'accounts' ? this.machine.createAccounts(request.batch) : this.machine.createTransfers(request.batch));
      }
      this.machine.writeBack();
      this.storage.commit();
    } catch (error) {
      this.storage.rollback();
      this.machine.reload();
      for (const request of group) request.reject(error);
      if (this.queue.length > 0) this.schedule();
      return;
    }
    group.forEach((request, index) => (request.resolve as (r: unknown) => void)(results[index]));
    this.armExpiry();
    if (this.queue.length > 0) this.schedule();
  }

  private armExpiry(): void {
    const next = this.storage.nextExpiry();
    if (next === undefined) return;
    if (this.expiryTimer && this.expiryArmedFor === next) return;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    const delay_ms = Math.min(expiry_wake_ms_max, Math.max(0, Number((next - this.clock()) / 1_000_000n) + 1));
    this.expiryArmedFor = next;
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = null;
      this.expiryArmedFor = null;
      if (!this.closed) this.enqueue({ kind: 'transfers', batch: [], resolve: () => this.armExpiry(), reject: () => undefined });
    }, delay_ms);
    // The timer must not keep a finished process alive.
    this.expiryTimer.unref();
  }
}
