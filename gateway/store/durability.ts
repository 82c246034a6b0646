/**
 * The gateway's SQLite file commits at `synchronous=NORMAL` and is made durable by group
 * commit (core's WalSync): the HTTP layer awaits a barrier before any answer leaves, and the
 * template store before it returns. Measured: four commits per payment (idempotency claim,
 * nonce, payment, idempotency answer) at 2-11 ms of fsync each had held the event loop for
 * tens of milliseconds per payment with `synchronous=FULL`.
 */
import { WalSync } from '../../core/index.js';
import type { GatewayDatabase } from './database.js';

/** A group commit for the gateway database at `file` (not `:memory:`). */
export function gatewayWalSync(db: GatewayDatabase, file: string): WalSync {
  const changes = db.prepare<[], { n: number }>('SELECT total_changes() AS n');
  return new WalSync(`${file}-wal`, () => changes.get()?.n ?? 0);
}
