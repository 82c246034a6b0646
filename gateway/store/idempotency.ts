/**
 * Idempotency records (SQLite). A mutating call names a key; the first call with that key in
 * its scope (a terminal, or the admin) claims it in flight, and its definitive answer (status
 * and body) is stored for later calls with the same key and the same request. A process that
 * dies mid-request leaves an in-flight claim behind: it is a lease that lapses after
 * `in_flight_ms_max`, after which a retry claims the key again — bounded, never stuck.
 */
import { assert } from '../../core/index.js';
import { ensureSchema, type GatewayDatabase } from './database.js';

/** Records are kept at least this long after the first response (the bar: >= 24 h). */
export const idempotency_retention_ms_default = 24 * 3_600_000;
/** An in-flight claim lapses after this (longer than any request may run). */
export const idempotency_in_flight_ms_max = 60_000;
/** Stored response bodies larger than this are a programmer error (answers are small JSON). */
export const idempotency_response_bytes_max = 256 * 1024;
/** Rows deleted per purge statement, so a purge never holds the write lock for long. */
export const idempotency_purge_rows_max = 10_000;

export type IdempotencyClaim =
  | { readonly kind: 'claimed'; readonly claimed_ms: number }
  | { readonly kind: 'replay'; readonly status: number; readonly body: string }
  | { readonly kind: 'in_flight' }
  | { readonly kind: 'mismatch' };

/** The port: what the HTTP layer needs; a PostgreSQL adapter implements the same. */
export interface IdempotencyStore {
  claim(scope: string, key: string, requestHash: string, now_ms: number): IdempotencyClaim;
  /** Stores the definitive answer of the claim made at `claimed_ms`. */
  complete(scope: string, key: string, claimed_ms: number, response: { status: number; body: string }, now_ms: number): void;
  /** Drops a claim whose request ended without a definitive answer (a retry may run it again). */
  release(scope: string, key: string, claimed_ms: number): void;
  purge(now_ms: number): number;
}

interface Row { request_hash: string; state: string; status: number | null; body: string | null; claimed_ms: number }

const SCHEMA = `
CREATE TABLE IF NOT EXISTS idempotency (scope TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL, state TEXT NOT NULL,
  status INTEGER, body TEXT, claimed_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, PRIMARY KEY (scope, key));
CREATE INDEX IF NOT EXISTS idempotency_expiry ON idempotency (expires_ms);
`;

export class SqliteIdempotencyStore implements IdempotencyStore {
  private readonly statements;
  private readonly claimTransaction;

  constructor(db: GatewayDatabase, private readonly options: { retention_ms?: number; in_flight_ms?: number } = {}) {
    assert((options.retention_ms ?? idempotency_retention_ms_default) >= (options.in_flight_ms ?? idempotency_in_flight_ms_max), 'retention outlives the in-flight lease');
    ensureSchema(db, SCHEMA);
    this.statements = {
      get: db.prepare<[string, string], Row>('SELECT request_hash, state, status, body, claimed_ms FROM idempotency WHERE scope = ? AND key = ?'),
      upsert: db.prepare(`INSERT INTO idempotency (scope, key, request_hash, state, claimed_ms, expires_ms) VALUES (?, ?, ?, 'in_flight', ?, ?)
        ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, state = 'in_flight', status = NULL, body = NULL,
        claimed_ms = excluded.claimed_ms, expires_ms = excluded.expires_ms`),
      complete: db.prepare(`UPDATE idempotency SET state = 'done', status = ?, body = ?, expires_ms = ? WHERE scope = ? AND key = ? AND state = 'in_flight' AND claimed_ms = ?`),
      release: db.prepare(`DELETE FROM idempotency WHERE scope = ? AND key = ? AND state = 'in_flight' AND claimed_ms = ?`),
      purge: db.prepare(`DELETE FROM idempotency WHERE rowid IN (SELECT rowid FROM idempotency WHERE expires_ms <= ? LIMIT ${idempotency_purge_rows_max})`),
    };
    // One transaction: two gateways (or two requests) racing for a key see one winner.
    this.claimTransaction = db.transaction((scope: string, key: string, requestHash: string, now_ms: number): IdempotencyClaim => {
      const row = this.statements.get.get(scope, key);
      const lease_ms = this.options.in_flight_ms ?? idempotency_in_flight_ms_max;
      if (row && !(row.state === 'in_flight' && now_ms - row.claimed_ms >= lease_ms)) {
        if (row.request_hash !== requestHash) return { kind: 'mismatch' };
        if (row.state === 'in_flight') return { kind: 'in_flight' };
        assert(row.status !== null && row.body !== null, 'a done record has its response');
        return { kind: 'replay', status: row.status, body: row.body };
      }
      this.statements.upsert.run(scope, key, requestHash, now_ms, now_ms + this.retention());
      return { kind: 'claimed', claimed_ms: now_ms };
    });
  }

  private retention(): number { return this.options.retention_ms ?? idempotency_retention_ms_default; }

  claim(scope: string, key: string, requestHash: string, now_ms: number): IdempotencyClaim {
    assert(scope.length > 0 && key.length > 0 && requestHash.length > 0, 'scope, key and hash are set');
    return this.claimTransaction(scope, key, requestHash, now_ms);
  }

  complete(scope: string, key: string, claimed_ms: number, response: { status: number; body: string }, now_ms: number): void {
    assert(Buffer.byteLength(response.body) <= idempotency_response_bytes_max, 'stored response within bound');
    // A claim that lapsed and was taken over by a retry is no longer ours: `changes` is then 0 and the retry's answer wins.
    this.statements.complete.run(response.status, response.body, now_ms + this.retention(), scope, key, claimed_ms);
  }

  release(scope: string, key: string, claimed_ms: number): void {
    this.statements.release.run(scope, key, claimed_ms);
  }

  purge(now_ms: number): number {
    return this.statements.purge.run(now_ms).changes;
  }
}
