/**
 * STAN blocks: the one transaction that reserves the next block of a link's STANs for a day
 * (taken from the file's high-water mark, so processes sharing the file never overlap), and a
 * worker thread that runs it ahead of need. The reservation must reach the disk before its
 * STANs are used (synchronous=FULL: an fsync), and an fsync here takes 2-100 ms; on the event
 * loop that stalled every authorization in flight once per block. The worker reserves the
 * next block while the current one still has thousands of STANs left, so the event loop only
 * ever swaps in a block that is already durable. When the worker is missing or late, the
 * caller reserves on the event loop as before: the worker saves time, never correctness.
 */
import type { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { startTypeScriptWorker } from '../../core/index.js';

export const STAN_MAX = 999_999;
/** Large enough that a reservation is rare (1 per 10,000 messages), small enough that a day survives 49 restarts before wrapping (a restart skips at most the current and the spare block). */
export const STAN_BLOCK_SIZE = 10_000;
/** STANs left in the current block when the next one is asked of the worker (1.5 s at 5,000/s). */
export const STAN_PREFETCH_LEFT = 7_500;
/** Reservations the worker may be asked for at once (one per link being prefetched). */
const RESERVER_REQUESTS_MAX = 64;

export interface StanBlock {
  readonly day: string;
  readonly start: number;
  readonly limit: number;
  /** The day's STANs ran out and the block starts again at 1. */
  readonly wrapped: boolean;
}

/** Reserves the next block of `link` on `day` in one IMMEDIATE transaction (durable on return). */
export function reserveStanBlock(db: Database.Database, link: string, day: string): StanBlock {
  return db.transaction((): StanBlock => {
    const row = db.prepare('SELECT day, reserved_upto FROM stan WHERE link = ?').get(link) as { day: string; reserved_upto: number } | undefined;
    let start = row && row.day === day ? row.reserved_upto + 1 : 1;
    // 999,999 messages in one day on one link: wrap, as networks expect; the caller logs it.
    const wrapped = start > STAN_MAX;
    if (wrapped) start = 1;
    const limit = Math.min(STAN_MAX, start + STAN_BLOCK_SIZE - 1);
    db.prepare('INSERT INTO stan (link, day, reserved_upto) VALUES (?, ?, ?) ON CONFLICT (link) DO UPDATE SET day = excluded.day, reserved_upto = excluded.reserved_upto').run(link, day, limit);
    return { day, start, limit, wrapped };
  }).immediate();
}

export interface ReserveRequest { readonly link: string; readonly day: string }
export type ReserveReply = { readonly link: string; readonly block: StanBlock } | { readonly link: string; readonly error: string };

const WORKER_URL = new URL('./stan-worker.ts', import.meta.url).href;

/** The worker thread that reserves blocks ahead; replies arrive through `onReply`. */
export class StanReserver {
  private worker: Worker | undefined;
  private failed = false;
  private asked = 0;

  /** `onFailure` hears once that the worker is gone for good (it failed to start or crashed). */
  constructor(private readonly file: string, private readonly onReply: (reply: ReserveReply) => void, private readonly onFailure: (problem: string) => void) {}

  /** Asks for the next block of `link`; false when no worker can take it (the caller reserves itself when needed). */
  request(request: ReserveRequest): boolean {
    if (this.failed || this.asked >= RESERVER_REQUESTS_MAX) return false;
    const worker = this.worker ?? this.spawn();
    this.asked += 1;
    worker.postMessage(request);
    return true;
  }

  close(): void {
    this.failed = true;
    // The worker closes its connection and ends; a reservation in progress still commits or rolls back whole.
    this.worker?.postMessage('close');
    this.worker = undefined;
  }

  private spawn(): Worker {
    const worker = startTypeScriptWorker(WORKER_URL, { workerData: { file: this.file } });
    worker.unref();
    worker.on('message', (reply: ReserveReply) => {
      this.asked -= 1;
      this.onReply(reply);
    });
    worker.on('error', (error) => {
      // After close a late worker's failure is expected (see stan-worker.ts) and tells nobody anything.
      const closed = this.failed;
      this.failed = true;
      this.worker = undefined;
      if (!closed) this.onFailure(error.message);
    });
    this.worker = worker;
    return worker;
  }
}
