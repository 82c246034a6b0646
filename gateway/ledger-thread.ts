/**
 * The embedded ledger on its own thread. Its group commit runs `synchronous=FULL`, so every
 * commit waits for an fsync of the WAL inside COMMIT (2-11 ms measured here), and on the
 * gateway's event loop that wait held every queued request (about a tenth of the loop's time in
 * the e2e bench's profile, with the commit's own CPU). Here a worker thread owns the ledger
 * file and does exactly what the embedded ledger does, while the loop only posts each call and
 * awaits its answer. The contract is the `Ledger` port, unchanged: the same results, and
 * `LedgerError`s with their codes; a ledger that died refuses every later call.
 */
import type { Worker } from 'node:worker_threads';
import { assert, startTypeScriptWorker } from '../core/index.js';
import {
  LedgerError, type Account, type AccountBalance, type AccountFilter, type CreateAccountResult, type CreateTransferResult, type Ledger,
  type QueryFilter, type Transfer,
} from '../ledger/index.js';

/** Calls awaiting the ledger thread; the embedded ledger bounds its own queue far below this. */
export const ledger_thread_calls_max = 65_536;
/** Loading the TypeScript loader and opening the file; generous because a loaded machine slows it most. */
export const ledger_thread_start_timeout_ms = 120_000;

const WORKER_URL = new URL('./ledger-worker.ts', import.meta.url).href;

export type LedgerMethod = 'createAccounts' | 'createTransfers' | 'lookupAccounts' | 'lookupTransfers' | 'getAccountTransfers' | 'getAccountBalances' | 'queryAccounts' | 'queryTransfers' | 'close';
export interface LedgerCall { readonly id: number; readonly method: LedgerMethod; readonly argument: unknown }
export interface LedgerFault { readonly name: string; readonly code?: string; readonly message: string }
export type LedgerReply = { readonly id: number; readonly value: unknown } | { readonly id: number; readonly fault: LedgerFault } | { readonly ready: true } | { readonly openFault: LedgerFault };

interface Waiter { resolve(value: unknown): void; reject(error: Error): void }

/** The ledger's own errors keep their codes; anything else (an assertion) is a fault of the ledger thread. */
function errorOf(fault: LedgerFault): LedgerError {
  return fault.code !== undefined && fault.name === 'LedgerError' ? new LedgerError(fault.code, fault.message) : new LedgerError('ledger_thread_fault', `${fault.name}: ${fault.message}`);
}

export class ThreadLedger implements Ledger {
  readonly adapter = 'embedded' as const;
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 1;
  private dead: Error | undefined;
  private closing: Promise<void> | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: LedgerReply) => { this.settle(reply); });
    worker.on('error', (error) => { this.fail(error); });
    worker.on('exit', (code) => { this.fail(new LedgerError('ledger_closed', `the ledger thread exited (${code})`)); });
  }

  /** Opens the ledger file `file` on a new thread; resolves once it is open (or rejects with the opening's error). */
  static async open(file: string): Promise<ThreadLedger> {
    const worker = startTypeScriptWorker(WORKER_URL, { workerData: { file } });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { void worker.terminate(); reject(new LedgerError('ledger_open_failed', 'the ledger thread did not start in time')); }, ledger_thread_start_timeout_ms);
      worker.once('message', (reply: LedgerReply) => {
        clearTimeout(timer);
        if ('openFault' in reply) { void worker.terminate(); reject(errorOf(reply.openFault)); } else resolve();
      });
      worker.once('error', (error) => { clearTimeout(timer); reject(error); });
    });
    return new ThreadLedger(worker);
  }

  private call<T>(method: LedgerMethod, argument: unknown): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.waiting.size >= ledger_thread_calls_max) return Promise.reject(new LedgerError('ledger_overloaded', `more than ${ledger_thread_calls_max} ledger calls are waiting; retry later`));
    const id = this.nextId;
    this.nextId = this.nextId >= Number.MAX_SAFE_INTEGER ? 1 : this.nextId + 1;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, method, argument } satisfies LedgerCall);
    });
  }

  private settle(reply: LedgerReply): void {
    if (!('id' in reply)) return;
    const waiter = this.waiting.get(reply.id);
    assert(waiter !== undefined, 'a ledger reply answers a waiting call');
    this.waiting.delete(reply.id);
    if ('fault' in reply) waiter.reject(errorOf(reply.fault)); else waiter.resolve(reply.value);
  }

  private fail(error: Error): void {
    this.dead ??= error;
    for (const waiter of this.waiting.values()) waiter.reject(this.dead);
    this.waiting.clear();
  }

  createAccounts(batch: readonly Account[]): Promise<CreateAccountResult[]> { return this.call('createAccounts', batch); }
  createTransfers(batch: readonly Transfer[]): Promise<CreateTransferResult[]> { return this.call('createTransfers', batch); }
  lookupAccounts(ids: readonly bigint[]): Promise<Account[]> { return this.call('lookupAccounts', ids); }
  lookupTransfers(ids: readonly bigint[]): Promise<Transfer[]> { return this.call('lookupTransfers', ids); }
  getAccountTransfers(filter: AccountFilter): Promise<Transfer[]> { return this.call('getAccountTransfers', filter); }
  getAccountBalances(filter: AccountFilter): Promise<AccountBalance[]> { return this.call('getAccountBalances', filter); }
  queryAccounts(filter: QueryFilter): Promise<Account[]> { return this.call('queryAccounts', filter); }
  queryTransfers(filter: QueryFilter): Promise<Transfer[]> { return this.call('queryTransfers', filter); }

  /**
   * Closes the ledger on its thread (its queued commits first), then ends the thread. Callers
   * that close at the same time share one closing: a second close sent to the thread while the
   * first was under way left the first one's call waiting, and the first's end then rejected it
   * with `ledger_closed`, which a Ctrl-C of `npm start` (SIGINT and the stack's SIGTERM, both
   * closing the gateway) turned into a crash on the way out.
   */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    if (this.dead) return;
    try {
      await this.call('close', undefined);
    } finally {
      this.fail(new LedgerError('ledger_closed', 'the ledger is closed'));
      await this.worker.terminate();
    }
  }
}
