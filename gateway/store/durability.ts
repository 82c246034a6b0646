/**
 * Group commit for the gateway's SQLite file without an fsync on the event loop.
 *
 * With `synchronous=FULL` every commit fsyncs the WAL inside the statement, on the event loop:
 * measured 2-11 ms per commit on this machine, four commits per payment (idempotency claim,
 * nonce, payment, idempotency answer), so the loop stood still for tens of milliseconds per
 * payment. Here the connection runs at `synchronous=NORMAL` (commits write the WAL without a
 * sync; checkpoints still sync the WAL before and the database after, and the WAL header when
 * it is reused, so the file is never corrupt) and `WalSync.barrier()` makes every commit made
 * so far durable with one `fdatasync` of the WAL on libuv's thread pool. Many requests waiting
 * at the same time share one sync (group commit). Nothing is acknowledged before its barrier:
 * the HTTP layer awaits it before any answer leaves, and the template store before it returns.
 * A process crash loses nothing (the writes are in the page cache); only a power cut could
 * lose commits whose barrier had not returned, and those were never acknowledged.
 */
import { open } from 'node:fs/promises';
import { assert } from '../../core/index.js';
import type { GatewayDatabase } from './database.js';

export class WalSync {
  private readonly changes;
  /** `total_changes()` covered by the last completed sync. */
  private synced = 0;
  private running: Promise<void> | undefined;
  /** WAL syncs done so far (group commit: many barriers share one). */
  syncs = 0;

  constructor(private readonly db: GatewayDatabase, private readonly file: string) {
    assert(file !== ':memory:', 'a WAL sync needs a file');
    this.changes = db.prepare<[], { n: number }>('SELECT total_changes() AS n');
    this.synced = this.current();
  }

  private current(): number { return this.changes.get()?.n ?? 0; }

  /** Resolves once every commit made on this connection before the call is on disk. */
  async barrier(): Promise<void> {
    const target = this.current();
    while (this.synced < target) {
      // A sync that started before our commit does not cover it: wait for it, then start our own.
      await (this.running ?? this.start());
    }
  }

  private start(): Promise<void> {
    const covers = this.current();
    this.running = (async () => {
      try {
        const handle = await open(`${this.file}-wal`, 'r');
        try {
          await handle.datasync();
          this.syncs += 1;
        } finally {
          await handle.close();
        }
        this.synced = Math.max(this.synced, covers);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }
}
