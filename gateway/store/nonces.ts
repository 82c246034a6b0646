/**
 * Capture nonces seen per terminal (SQLite). A nonce is kept longer than the timestamp window
 * on both sides, so by the time a nonce is forgotten a request carrying it is refused as stale
 * anyway: a captured request can never be replayed.
 */
import { assert } from '../../core/index.js';
import { ensureSchema, type GatewayDatabase } from './database.js';

/** Rows deleted per purge statement. */
export const nonce_purge_rows_max = 10_000;

export interface NonceStore {
  /** True when `nonce` is new for `scope` (and is now taken until `expires_ms`); false when seen before. */
  claim(scope: string, nonce: string, expires_ms: number): boolean;
  purge(now_ms: number): number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS nonces (scope TEXT NOT NULL, nonce TEXT NOT NULL, expires_ms INTEGER NOT NULL, PRIMARY KEY (scope, nonce)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS nonces_expiry ON nonces (expires_ms);
`;

export class SqliteNonceStore implements NonceStore {
  private readonly statements;

  constructor(db: GatewayDatabase) {
    ensureSchema(db, SCHEMA);
    this.statements = {
      claim: db.prepare('INSERT INTO nonces (scope, nonce, expires_ms) VALUES (?, ?, ?) ON CONFLICT (scope, nonce) DO NOTHING'),
      purge: db.prepare(`DELETE FROM nonces WHERE (scope, nonce) IN (SELECT scope, nonce FROM nonces WHERE expires_ms <= ? LIMIT ${nonce_purge_rows_max})`),
    };
  }

  claim(scope: string, nonce: string, expires_ms: number): boolean {
    assert(scope.length > 0 && nonce.length > 0 && Number.isFinite(expires_ms), 'scope, nonce and expiry are set');
    // An expired row still in the table keeps refusing the nonce until it is purged: the safe side.
    return this.statements.claim.run(scope, nonce, expires_ms).changes === 1;
  }

  purge(now_ms: number): number {
    return this.statements.purge.run(now_ms).changes;
  }
}
