/**
 * The embedded ledger's durable storage: one SQLite file through better-sqlite3, in WAL mode
 * with `synchronous=FULL`, so a committed request survives power loss. u128 values are stored
 * as 16-byte big-endian blobs (SQLite integers are only 64-bit signed); u64 values as the
 * same 64 bits read as signed. Transfers are keyed by their timestamp (strictly increasing, so
 * inserts append) with a unique index on the id.
 * There are no per-account indexes on the transfers table: `account_runs` (see
 * account_index.ts) is written by folds, not by every commit.
 */
import Database from 'better-sqlite3';
import type { Database as DatabaseType, Statement } from 'better-sqlite3';
import { assert } from '../core/index.js';
import { readEntry, run_entry_bytes, type AccountRun } from './account_index.js';
import type { Account, AccountBalance, Transfer } from './types.js';

const mask64 = (1n << 64n) - 1n;
const u128_max = (1n << 128n) - 1n;
const schema_version = 4;
/**
 * Version 1 kept per-account B-tree indexes on the transfers table, version 2 a folded B-tree
 * (`account_transfers`), version 3 runs with another entry layout; opening any of them for
 * writing rebuilds the per-account index as account runs at the next fold.
 */
const schema_versions_upgradable: readonly unknown[] = [1, 2, 3];
/** WAL pages between automatic checkpoints (4 KiB pages: 32 MiB of WAL). */
const wal_checkpoint_pages = 8192;
const cache_size_kib = 65_536;
/** Bytes per account in an account-log record: timestamp, four u128 balances, flags. */
const account_record_bytes = 8 + 4 * 16 + 4;

export const PendingState = { pending: 1, posted: 2, voided: 3, expired: 4 } as const;
export type PendingState = (typeof PendingState)[keyof typeof PendingState];

export function u128ToBlob(value: bigint): Buffer {
  assert(value >= 0n && value <= (1n << 128n) - 1n, 'u128 out of range');
  const blob = Buffer.allocUnsafe(16);
  blob.writeBigUInt64BE(value >> 64n, 0);
  blob.writeBigUInt64BE(value & mask64, 8);
  return blob;
}

export function blobToU128(blob: Buffer): bigint {
  assert(blob.length === 16, 'u128 blob must be 16 bytes');
  return (blob.readBigUInt64BE(0) << 64n) | blob.readBigUInt64BE(8);
}

const u64ToSql = (value: bigint): bigint => BigInt.asIntN(64, value);
const sqlToU64 = (value: bigint): bigint => BigInt.asUintN(64, value);

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
  timestamp INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE,
  debits_pending BLOB NOT NULL, debits_posted BLOB NOT NULL, credits_pending BLOB NOT NULL, credits_posted BLOB NOT NULL,
  user_data_128 BLOB NOT NULL, user_data_64 INTEGER NOT NULL, user_data_32 INTEGER NOT NULL, reserved INTEGER NOT NULL,
  ledger INTEGER NOT NULL, code INTEGER NOT NULL, flags INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS transfers (
  timestamp INTEGER PRIMARY KEY, id BLOB NOT NULL,
  debit_account_id BLOB NOT NULL, credit_account_id BLOB NOT NULL, amount BLOB NOT NULL, pending_id BLOB NOT NULL,
  user_data_128 BLOB NOT NULL, user_data_64 INTEGER NOT NULL, user_data_32 INTEGER NOT NULL, timeout INTEGER NOT NULL,
  ledger INTEGER NOT NULL, code INTEGER NOT NULL, flags INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS transfers_id ON transfers (id);
CREATE INDEX IF NOT EXISTS transfers_user_data_128 ON transfers (user_data_128, timestamp)
  WHERE user_data_128 != x'00000000000000000000000000000000';
CREATE TABLE IF NOT EXISTS pending (
  timestamp INTEGER PRIMARY KEY, state INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS pending_expiry ON pending (expires_at, timestamp) WHERE state = 1 AND expires_at > 0;
CREATE TABLE IF NOT EXISTS account_balances (
  account_id BLOB NOT NULL, timestamp INTEGER NOT NULL,
  debits_pending BLOB NOT NULL, debits_posted BLOB NOT NULL, credits_pending BLOB NOT NULL, credits_posted BLOB NOT NULL,
  PRIMARY KEY (account_id, timestamp)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS account_log (seq INTEGER PRIMARY KEY, last_timestamp INTEGER NOT NULL, record BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS failed_ids (id BLOB PRIMARY KEY, status INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS account_runs (
  seq INTEGER PRIMARY KEY, account INTEGER NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL, entries BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS account_runs_account ON account_runs (account, first);
INSERT INTO meta (key, value) VALUES ('account_index_watermark', 0) ON CONFLICT(key) DO NOTHING;
`;

/** Transfers past the fold watermark: the tail that account queries scan and a fold indexes. */
const watermark_sql = "(SELECT value FROM meta WHERE key = 'account_index_watermark')";
/** Runs of one account (keyed by its timestamp, 8 bytes instead of a 16-byte id) overlapping a range. */
const account_runs_sql = 'SELECT entries FROM account_runs WHERE account = (SELECT timestamp FROM accounts WHERE id = ?) ' +
  'AND last >= ? AND first <= ? ORDER BY first';

/** get_account_transfers as the storage runs it (built and bounded by the query module). */
export interface AccountTransfersQuery {
  account_id: Buffer;
  min: bigint;
  max: bigint;
  debits: boolean;
  credits: boolean;
  reversed: boolean;
  limit: number;
  /** Extra conditions on the transfer row (` AND t.code = ?`...), with their parameters. */
  extra: { sql: string; params: unknown[] };
}

/** The transfers table and its indexes alone: the bare insert ceiling in the benchmark uses it. */
export const TRANSFERS_SCHEMA_SQL = SCHEMA;

export function openDatabase(file: string, readonly = false): DatabaseType {
  const db = new Database(file, { readonly, fileMustExist: readonly });
  if (readonly) return db;
  db.pragma('journal_mode = WAL');
  // FULL: the WAL is fsynced at every commit, so an acknowledged request is on disk.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = OFF');
  // Hot pages (index tails, account log) are rewritten by many commits; checkpointing less
  // often copies each into the main file once instead of once per 1000 WAL pages.
  db.pragma(`wal_autocheckpoint = ${wal_checkpoint_pages}`);
  db.pragma(`cache_size = -${cache_size_kib}`);
  const mode = db.pragma('journal_mode', { simple: true }) as string;
  assert(mode === 'wal', `expected WAL journal mode, got ${mode}`);
  return db;
}

/** SQLite copies bound blobs, so one shared zero serves every zero field (pending_id is mostly zero). */
const zero_u128 = Buffer.alloc(16);

const safe_integer_max = BigInt(Number.MAX_SAFE_INTEGER);
const two_to_32 = 2 ** 32;

function writeU128(target: Buffer, offset: number, value: bigint): Buffer {
  putU128(target, offset, value);
  return target.subarray(offset, offset + 16);
}

function putU128(target: Buffer, offset: number, value: bigint): void {
  if (value >= 0n && value <= safe_integer_max) {
    // Ids and amounts mostly fit a double: four 32-bit writes cost less than BigInt shifts and masks.
    const n = Number(value);
    target.writeUInt32BE(0, offset);
    target.writeUInt32BE(0, offset + 4);
    target.writeUInt32BE(Math.floor(n / two_to_32), offset + 8);
    target.writeUInt32BE(n >>> 0, offset + 12);
  } else {
    assert(value >= 0n && value <= u128_max, 'u128 out of range');
    target.writeBigUInt64BE(value >> 64n, offset);
    target.writeBigUInt64BE(value & mask64, offset + 8);
  }
}

/** Columns of INSERT_TRANSFER_SQL that hold a u128, by position. */
const transfer_u128_columns = 6;

/**
 * Encodes transfers for INSERT_TRANSFER_SQL into one reused parameter array and reused blobs:
 * better-sqlite3 binds blobs with SQLITE_TRANSIENT (SQLite copies them), so a row can be
 * encoded over the previous one once its statement has run, and nothing is allocated per row.
 */
export class TransferRowEncoder {
  private readonly blobs = Array.from({ length: transfer_u128_columns }, () => Buffer.alloc(16));
  private readonly row: unknown[] = new Array<unknown>(13).fill(0);

  encode(t: Transfer): unknown[] {
    const row = this.row;
    row[0] = t.timestamp;
    this.u128(1, t.id);
    this.u128(2, t.debit_account_id);
    this.u128(3, t.credit_account_id);
    this.u128(4, t.amount);
    this.u128(5, t.pending_id);
    this.u128(6, t.user_data_128);
    row[7] = u64ToSql(t.user_data_64);
    row[8] = t.user_data_32;
    row[9] = t.timeout;
    row[10] = t.ledger;
    row[11] = t.code;
    row[12] = t.flags;
    return row;
  }

  private u128(column: number, value: bigint): void {
    const blob = this.blobs[column - 1];
    assert(blob, 'a u128 column has a blob');
    if (value === 0n) {
      this.row[column] = zero_u128;
    } else {
      putU128(blob, 0, value);
      this.row[column] = blob;
    }
  }
}

/** Serialises the balances and flags of changed accounts into one account-log record. */
export function encodeAccountRecord(accounts: readonly Account[]): Buffer {
  const record = Buffer.allocUnsafe(accounts.length * account_record_bytes);
  accounts.forEach((a, index) => {
    const offset = index * account_record_bytes;
    record.writeBigInt64BE(a.timestamp, offset);
    writeU128(record, offset + 8, a.debits_pending);
    writeU128(record, offset + 24, a.debits_posted);
    writeU128(record, offset + 40, a.credits_pending);
    writeU128(record, offset + 56, a.credits_posted);
    record.writeUInt32BE(a.flags, offset + 72);
  });
  return record;
}

export interface AccountRecordEntry {
  timestamp: bigint; debits_pending: bigint; debits_posted: bigint; credits_pending: bigint; credits_posted: bigint; flags: number;
}

export function decodeAccountRecord(record: Buffer): AccountRecordEntry[] {
  assert(record.length % account_record_bytes === 0, 'account-log record has a whole number of entries');
  const entries: AccountRecordEntry[] = [];
  for (let offset = 0; offset < record.length; offset += account_record_bytes) {
    entries.push({
      timestamp: record.readBigInt64BE(offset),
      debits_pending: blobToU128(record.subarray(offset + 8, offset + 24)),
      debits_posted: blobToU128(record.subarray(offset + 24, offset + 40)),
      credits_pending: blobToU128(record.subarray(offset + 40, offset + 56)),
      credits_posted: blobToU128(record.subarray(offset + 56, offset + 72)),
      flags: record.readUInt32BE(offset + 72),
    });
  }
  return entries;
}

export const INSERT_TRANSFER_SQL =
  'INSERT INTO transfers (timestamp, id, debit_account_id, credit_account_id, amount, pending_id, user_data_128, ' +
  'user_data_64, user_data_32, timeout, ledger, code, flags) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO NOTHING';

interface TransferRow {
  timestamp: bigint; id: Buffer; debit_account_id: Buffer; credit_account_id: Buffer; amount: Buffer; pending_id: Buffer;
  user_data_128: Buffer; user_data_64: bigint; user_data_32: bigint; timeout: bigint; ledger: bigint; code: bigint; flags: bigint;
}

interface AccountRow {
  timestamp: bigint; id: Buffer; debits_pending: Buffer; debits_posted: Buffer; credits_pending: Buffer; credits_posted: Buffer;
  user_data_128: Buffer; user_data_64: bigint; user_data_32: bigint; reserved: bigint; ledger: bigint; code: bigint; flags: bigint;
}

interface BalanceRow { timestamp: bigint; debits_pending: Buffer; debits_posted: Buffer; credits_pending: Buffer; credits_posted: Buffer }

export function rowToTransfer(row: TransferRow): Transfer {
  return {
    id: blobToU128(row.id), debit_account_id: blobToU128(row.debit_account_id), credit_account_id: blobToU128(row.credit_account_id),
    amount: blobToU128(row.amount), pending_id: blobToU128(row.pending_id), user_data_128: blobToU128(row.user_data_128),
    user_data_64: sqlToU64(row.user_data_64), user_data_32: Number(row.user_data_32), timeout: Number(row.timeout),
    ledger: Number(row.ledger), code: Number(row.code), flags: Number(row.flags), timestamp: row.timestamp,
  };
}

export function rowToAccount(row: AccountRow): Account {
  return {
    id: blobToU128(row.id), debits_pending: blobToU128(row.debits_pending), debits_posted: blobToU128(row.debits_posted),
    credits_pending: blobToU128(row.credits_pending), credits_posted: blobToU128(row.credits_posted),
    user_data_128: blobToU128(row.user_data_128), user_data_64: sqlToU64(row.user_data_64), user_data_32: Number(row.user_data_32),
    reserved: Number(row.reserved), ledger: Number(row.ledger), code: Number(row.code), flags: Number(row.flags), timestamp: row.timestamp,
  };
}

function rowToBalance(row: BalanceRow): AccountBalance {
  return {
    debits_pending: blobToU128(row.debits_pending), debits_posted: blobToU128(row.debits_posted),
    credits_pending: blobToU128(row.credits_pending), credits_posted: blobToU128(row.credits_posted), timestamp: row.timestamp,
  };
}

/** Prepared statements over one open file. Every method is synchronous and runs inside the caller's transaction. */
export class Storage {
  readonly db: DatabaseType;
  private readonly statements: Record<string, Statement>;
  private readonly insertTransfer: Statement;
  private readonly rowEncoder = new TransferRowEncoder();

  constructor(file: string, readonly = false) {
    this.db = openDatabase(file, readonly);
    if (!readonly) {
      this.db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)');
      this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING').run('schema_version', schema_version);
      this.upgrade();
      this.db.exec(SCHEMA);
    }
    const version = this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get('schema_version');
    assert(version === schema_version, `ledger file has schema version ${String(version)}, expected ${schema_version}`);
    const prepare = (sql: string): Statement => this.db.prepare(sql).safeIntegers(true);
    this.insertTransfer = this.db.prepare(INSERT_TRANSFER_SQL);
    this.statements = {
      begin: this.db.prepare('BEGIN IMMEDIATE'), commit: this.db.prepare('COMMIT'), rollback: this.db.prepare('ROLLBACK'),
      savepoint: this.db.prepare('SAVEPOINT chain'), rollbackTo: this.db.prepare('ROLLBACK TO chain'), release: this.db.prepare('RELEASE chain'),
      transferById: prepare('SELECT * FROM transfers WHERE id = ?'),
      insertAccount: this.db.prepare('INSERT INTO accounts (timestamp, id, debits_pending, debits_posted, credits_pending, credits_posted, ' +
        'user_data_128, user_data_64, user_data_32, reserved, ledger, code, flags) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)'),
      updateAccount: this.db.prepare('UPDATE accounts SET debits_pending = ?, debits_posted = ?, credits_pending = ?, credits_posted = ?, ' +
        'flags = ? WHERE timestamp = ?'),
      allAccounts: prepare('SELECT * FROM accounts ORDER BY timestamp'),
      insertPending: this.db.prepare('INSERT INTO pending (timestamp, state, expires_at) VALUES (?, 1, ?)'),
      pendingState: prepare('SELECT state, expires_at FROM pending WHERE timestamp = ?'),
      setPendingState: this.db.prepare('UPDATE pending SET state = ? WHERE timestamp = ?'),
      dueExpiries: prepare('SELECT timestamp FROM pending WHERE state = 1 AND expires_at > 0 AND expires_at <= ? ORDER BY expires_at, timestamp LIMIT ?'),
      nextExpiry: prepare('SELECT MIN(expires_at) FROM pending WHERE state = 1 AND expires_at > 0'),
      transferByTimestamp: prepare('SELECT * FROM transfers WHERE timestamp = ?'),
      insertBalance: this.db.prepare('INSERT INTO account_balances (account_id, timestamp, debits_pending, debits_posted, credits_pending, credits_posted) VALUES (?,?,?,?,?,?)'),
      insertFailed: this.db.prepare('INSERT INTO failed_ids (id, status) VALUES (?, ?) ON CONFLICT(id) DO NOTHING'),
      allFailed: this.db.prepare('SELECT id FROM failed_ids').pluck(),
      setMeta: this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      getMeta: prepare('SELECT value FROM meta WHERE key = ?').pluck(),
      insertAccountLog: this.db.prepare('INSERT INTO account_log (last_timestamp, record) VALUES (?, ?)'),
      accountLog: prepare('SELECT last_timestamp, record FROM account_log ORDER BY seq'),
      accountLogCount: prepare('SELECT COUNT(*) FROM account_log').pluck(),
      clearAccountLog: this.db.prepare('DELETE FROM account_log'),
      insertRun: this.db.prepare('INSERT INTO account_runs (account, first, last, entries) VALUES (?, ?, ?, ?)'),
      unindexed: prepare(`SELECT debit_account_id, credit_account_id, timestamp FROM transfers WHERE timestamp > ${watermark_sql} ORDER BY timestamp`).raw(),
      runsAscending: prepare(account_runs_sql).pluck(),
      runsDescending: prepare(`${account_runs_sql} DESC`).pluck(),
      maxTransferTimestamp: prepare('SELECT MAX(timestamp) FROM transfers').pluck(),
      maxAccountTimestamp: prepare('SELECT MAX(timestamp) FROM accounts').pluck(),
    };
  }

  /** Older per-account indexes give way to account runs; every transfer is then in the tail until the next fold. */
  private upgrade(): void {
    const version = this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get('schema_version');
    if (!schema_versions_upgradable.includes(version)) return;
    this.db.transaction(() => {
      this.db.exec('DROP INDEX IF EXISTS transfers_debit; DROP INDEX IF EXISTS transfers_credit; DROP TABLE IF EXISTS account_transfers; ' +
        'DROP TABLE IF EXISTS account_runs');
      this.db.prepare('DELETE FROM meta WHERE key = ?').run('account_index_watermark');
      this.db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(schema_version, 'schema_version');
    })();
  }

  private statement(name: string): Statement {
    const statement = this.statements[name];
    assert(statement, `no statement ${name}`);
    return statement;
  }

  begin(): void { this.statement('begin').run(); }
  commit(): void { this.statement('commit').run(); }
  rollback(): void { if (this.db.inTransaction) this.statement('rollback').run(); }
  savepoint(): void { this.statement('savepoint').run(); }
  rollbackSavepoint(): void { this.statement('rollbackTo').run(); this.statement('release').run(); }
  releaseSavepoint(): void { this.statement('release').run(); }

  /** Inserts unless the id exists; returns whether it inserted (the cheap idempotency check). */
  insertTransferIfAbsent(t: Transfer): boolean {
    return this.insertTransfer.run(this.rowEncoder.encode(t)).changes === 1;
  }

  transferById(id: bigint): Transfer | undefined {
    const row = this.statement('transferById').get(u128ToBlob(id)) as TransferRow | undefined;
    return row ? rowToTransfer(row) : undefined;
  }

  transferByTimestamp(timestamp: bigint): Transfer | undefined {
    const row = this.statement('transferByTimestamp').get(timestamp) as TransferRow | undefined;
    return row ? rowToTransfer(row) : undefined;
  }

  insertAccount(a: Account): void {
    this.statement('insertAccount').run(a.timestamp, u128ToBlob(a.id), u128ToBlob(a.debits_pending), u128ToBlob(a.debits_posted),
      u128ToBlob(a.credits_pending), u128ToBlob(a.credits_posted), u128ToBlob(a.user_data_128), u64ToSql(a.user_data_64),
      a.user_data_32, a.reserved, a.ledger, a.code, a.flags);
  }

  updateAccount(a: Account): void {
    const changes = this.statement('updateAccount').run(u128ToBlob(a.debits_pending), u128ToBlob(a.debits_posted),
      u128ToBlob(a.credits_pending), u128ToBlob(a.credits_posted), a.flags, a.timestamp).changes;
    assert(changes === 1, 'account row to update must exist');
  }

  allAccounts(): Account[] {
    return (this.statement('allAccounts').all() as AccountRow[]).map(rowToAccount);
  }

  insertPending(timestamp: bigint, expires_at: bigint): void { this.statement('insertPending').run(timestamp, expires_at); }

  pendingState(timestamp: bigint): { state: PendingState; expires_at: bigint } | undefined {
    const row = this.statement('pendingState').get(timestamp) as { state: bigint; expires_at: bigint } | undefined;
    return row ? { state: Number(row.state) as PendingState, expires_at: row.expires_at } : undefined;
  }

  setPendingState(timestamp: bigint, state: PendingState): void {
    const changes = this.statement('setPendingState').run(state, timestamp).changes;
    assert(changes === 1, 'pending row to update must exist');
  }

  dueExpiries(now: bigint, limit: number): bigint[] {
    return (this.statement('dueExpiries').all(now, limit) as Array<{ timestamp: bigint }>).map((r) => r.timestamp);
  }

  nextExpiry(): bigint | undefined {
    const row = this.statement('nextExpiry').raw().get() as [bigint | null] | undefined;
    return row?.[0] ?? undefined;
  }

  insertBalance(account_id: bigint, a: Account, timestamp: bigint): void {
    this.statement('insertBalance').run(u128ToBlob(account_id), timestamp, u128ToBlob(a.debits_pending), u128ToBlob(a.debits_posted),
      u128ToBlob(a.credits_pending), u128ToBlob(a.credits_posted));
  }

  insertFailed(id: bigint, status: number): void { this.statement('insertFailed').run(u128ToBlob(id), status); }
  allFailed(): bigint[] { return (this.statement('allFailed').all() as Buffer[]).map(blobToU128); }

  /**
   * Balances change on every commit; instead of one UPDATE per changed account, a commit appends
   * one record holding all of them, and the records are folded into the accounts table now and
   * then. Opening the file applies the records in order (each holds absolute values).
   */
  appendAccountLog(accounts: readonly Account[], last_timestamp: bigint): void {
    this.statement('insertAccountLog').run(last_timestamp, encodeAccountRecord(accounts));
  }

  accountLog(): Array<{ last_timestamp: bigint; entries: AccountRecordEntry[] }> {
    return (this.statement('accountLog').all() as Array<{ last_timestamp: bigint; record: Buffer }>)
      .map((row) => ({ last_timestamp: row.last_timestamp, entries: decodeAccountRecord(row.record) }));
  }

  accountLogCount(): number { return Number(this.statement('accountLogCount').get()); }
  clearAccountLog(): void { this.statement('clearAccountLog').run(); }

  /** Appends one fold's runs and moves the watermark to the newest transfer they index (inside the caller's transaction). */
  appendAccountRuns(runs: readonly AccountRun[], watermark: bigint): void {
    const current = this.getMeta('account_index_watermark') ?? 0n;
    for (const run of runs) {
      assert(run.first > current && run.last <= watermark, 'a run indexes only transfers past the old watermark');
      this.statement('insertRun').run(run.account, run.first, run.last, run.entries);
    }
    this.setMeta('account_index_watermark', watermark);
  }

  /** Transfers past the watermark, oldest first: the tail to rebuild in memory. */
  unindexedTransfers(): Array<{ debit_account_id: bigint; credit_account_id: bigint; timestamp: bigint }> {
    return (this.statement('unindexed').all() as Array<[Buffer, Buffer, bigint]>).map(([debit, credit, timestamp]) =>
      ({ debit_account_id: blobToU128(debit), credit_account_id: blobToU128(credit), timestamp }));
  }

  setMeta(key: string, value: bigint): void { this.statement('setMeta').run(key, value); }
  getMeta(key: string): bigint | undefined { return (this.statement('getMeta').get(key) as bigint | undefined) ?? undefined; }

  lastTimestamp(): bigint {
    const candidates = [
      this.getMeta('last_timestamp') ?? 0n,
      (this.statement('maxTransferTimestamp').get() as bigint | null) ?? 0n,
      (this.statement('maxAccountTimestamp').get() as bigint | null) ?? 0n,
    ];
    return candidates.reduce((a, b) => (a > b ? a : b), 0n);
  }

  /** Runs a read-only query built by the query module (already validated and bounded). */
  selectTransfers(sql: string, params: unknown[]): Transfer[] {
    return (this.db.prepare(sql).safeIntegers(true).all(...params) as TransferRow[]).map(rowToTransfer);
  }

  /**
   * get_account_transfers: the account's runs (folded transfers) and the tail scanned in the
   * table, in one read snapshot so that a fold in between can neither drop nor repeat a
   * transfer. Every folded timestamp is below every tail timestamp, so the two concatenate.
   */
  selectAccountTransfers(q: AccountTransfersQuery): Transfer[] {
    const read = (): Transfer[] => {
      const found: Transfer[] = [];
      if (q.reversed) this.tailTransfers(q, found);
      this.foldedTransfers(q, found);
      if (!q.reversed) this.tailTransfers(q, found);
      return found;
    };
    return this.db.inTransaction ? read() : this.db.transaction(read).deferred();
  }

  private foldedTransfers(q: AccountTransfersQuery, found: Transfer[]): void {
    if (found.length >= q.limit) return;
    const runs = this.statement(q.reversed ? 'runsDescending' : 'runsAscending').all(q.account_id, q.min, q.max) as Buffer[];
    const row = this.db.prepare(`SELECT * FROM transfers t WHERE t.timestamp = ?${q.extra.sql}`).safeIntegers(true);
    for (const entries of runs) {
      const count = entries.length / run_entry_bytes;
      for (let i = 0; i < count; i += 1) {
        const { timestamp, side } = readEntry(entries, q.reversed ? count - 1 - i : i);
        if (timestamp < q.min || timestamp > q.max || !(side === 0 ? q.debits : q.credits)) continue;
        const transfer = row.get(timestamp, ...q.extra.params) as TransferRow | undefined;
        if (transfer) found.push(rowToTransfer(transfer));
        if (found.length >= q.limit) return;
      }
    }
  }

  private tailTransfers(q: AccountTransfersQuery, found: Transfer[]): void {
    if (found.length >= q.limit) return;
    const sides = [q.debits ? 't.debit_account_id = ?' : '', q.credits ? 't.credit_account_id = ?' : ''].filter((c) => c !== '');
    const sql = `SELECT t.* FROM transfers t WHERE t.timestamp > ${watermark_sql} AND t.timestamp BETWEEN ? AND ? ` +
      `AND (${sides.join(' OR ')})${q.extra.sql} ORDER BY t.timestamp ${q.reversed ? 'DESC' : 'ASC'} LIMIT ?`;
    const rows = this.db.prepare(sql).safeIntegers(true)
      .all(q.min, q.max, ...sides.map(() => q.account_id), ...q.extra.params, q.limit - found.length) as TransferRow[];
    for (const row of rows) found.push(rowToTransfer(row));
  }

  selectAccounts(sql: string, params: unknown[]): Account[] {
    return (this.db.prepare(sql).safeIntegers(true).all(...params) as AccountRow[]).map(rowToAccount);
  }

  selectBalances(sql: string, params: unknown[]): AccountBalance[] {
    return (this.db.prepare(sql).safeIntegers(true).all(...params) as BalanceRow[]).map(rowToBalance);
  }

  close(): void { this.db.close(); }
}
