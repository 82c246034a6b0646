/**
 * Group commit for an SQLite file in WAL mode without an fsync on the event loop.
 *
 * With `synchronous=FULL` every commit fsyncs the WAL inside the statement, on the event loop
 * (2-11 ms per commit measured on this machine). A connection at `synchronous=NORMAL` commits
 * by writing the WAL without a sync (checkpoints still sync the WAL before and the database
 * after, so the file is never corrupt); `barrier()` then makes every commit made so far durable
 * with one `fdatasync` of the WAL on libuv's thread pool, shared by every caller waiting at that
 * moment. A caller acknowledges nothing before its barrier has resolved. A process crash loses
 * nothing (the writes are in the page cache); a power cut can lose only commits whose barrier
 * had not resolved, and those were never acknowledged.
 *
 * A failed sync is final: Linux may mark the failed pages clean, so a later sync that succeeds
 * would prove nothing (PostgreSQL's "fsyncgate"); every later barrier fails with the first
 * error, and the process must be restarted to recover from the WAL.
 *
 * The WAL is opened once and kept: SQLite never unlinks it while a connection is open (a
 * checkpoint truncates or rewrites it in place), and an open and a close per sync cost more
 * event-loop time than the sync request itself.
 */
import { close, fdatasync, open } from 'node:fs';
import { assert } from './assert.js';
import { PalmswitchError } from './errors.js';

export class WalSyncError extends PalmswitchError {}

export class WalSync {
  /** The commit counter covered by the last completed sync. */
  private synced: number;
  private running: Promise<void> | undefined;
  private fd: number | undefined;
  private closed = false;
  private failure: WalSyncError | undefined;
  /** WAL syncs done so far (group commit: many barriers share one). */
  syncs = 0;

  /**
   * `walFile`: the database's `-wal` file. `changes`: a counter that grows with every commit
   * on the connection (SQLite's `total_changes()`).
   */
  constructor(private readonly walFile: string, private readonly changes: () => number) {
    assert(walFile.endsWith('-wal'), 'a WAL sync needs the -wal file');
    this.synced = changes();
  }

  /** Resolves once every commit made on this connection before the call is on disk. */
  async barrier(): Promise<void> {
    const target = this.changes();
    if (this.failure !== undefined) throw this.failure;
    while (this.synced < target) {
      // A sync that started before our commit does not cover it: wait for it, then start our own.
      await (this.running ?? this.start());
    }
  }

  /** Closes the kept descriptor once the running sync (if any) is done. */
  async close(): Promise<void> {
    this.closed = true;
    await this.running?.catch(() => undefined);
    if (this.fd !== undefined) await new Promise<void>((resolve) => close(this.fd!, () => resolve()));
    this.fd = undefined;
  }

  private start(): Promise<void> {
    assert(!this.closed, 'WAL sync used after close');
    const covers = this.changes();
    this.running = this.sync().then(() => {
      this.syncs += 1;
      this.synced = Math.max(this.synced, covers);
    }, (error: unknown) => {
      this.failure ??= new WalSyncError('wal_sync_failed', `syncing ${this.walFile} failed: ${(error as Error).message}`, { cause: error });
      throw this.failure;
    }).finally(() => { this.running = undefined; });
    return this.running;
  }

  private async sync(): Promise<void> {
    const fd = this.fd ?? await new Promise<number>((resolve, reject) => open(this.walFile, 'r', (error, opened) => (error ? reject(error) : resolve(opened))));
    this.fd = fd;
    await new Promise<void>((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));
  }
}
