/**
 * The gateway's state lives in one SQLite file (WAL; an idempotency record or an enrolment
 * that was acknowledged must survive a power cut: synchronous=FULL, or NORMAL plus a WAL sync
 * before each acknowledgement, see durability.ts). Each part of the store
 * owns its tables and declares them here through `ensureSchema`; the port interfaces in
 * port.ts stay narrow so that a PostgreSQL adapter can implement them table for table.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

export type GatewayDatabase = Database.Database;

/** A writer waiting longer than this for another connection's lock gets SQLITE_BUSY. */
export const busy_timeout_ms = 5_000;

/**
 * `syncAtBarrier`: commits do not fsync; the caller makes them durable with `WalSync.barrier()`
 * before acknowledging them (durability.ts). Default: every commit fsyncs (FULL).
 */
export function openGatewayDatabase(file: string, options: { syncAtBarrier?: boolean } = {}): GatewayDatabase {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(options.syncAtBarrier === true ? 'synchronous = NORMAL' : 'synchronous = FULL');
  db.pragma(`busy_timeout = ${busy_timeout_ms}`);
  db.pragma('foreign_keys = ON');
  return db;
}

/** Runs `ddl` (CREATE ... IF NOT EXISTS statements) once per open. */
export function ensureSchema(db: GatewayDatabase, ddl: string): void {
  db.exec(ddl);
}
