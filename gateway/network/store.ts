/**
 * The link's durable state in one SQLite file (WAL, synchronous=FULL so a queued reversal or
 * advice survives a power cut, not just a crash): STAN blocks per link and day, the reversal
 * queue and the store-and-forward advice queue. STANs are reserved in blocks so allocation
 * costs no write per message, and the next block is reserved by a worker thread before it is
 * needed (stan-block.ts), so its fsync never stalls the event loop; after a restart the rest
 * of the reserved blocks is skipped, never reused. Both queues are bounded; stand-in usage
 * (per identity, merchant, velocity) is read from the advice queue, which keeps a few days of
 * history for that purpose.
 */
import Database from 'better-sqlite3';
import { assert } from '../../core/index.js';
import type { Message } from '../../iso8583/index.js';
import { NetworkLinkError } from './errors.js';
import { reserveStanBlock, StanReserver, STAN_MAX, STAN_PREFETCH_LEFT, type ReserveReply, type StanBlock } from './stan-block.js';

export { STAN_MAX, STAN_BLOCK_SIZE } from './stan-block.js';
export const REVERSAL_QUEUE_ROWS_MAX = 100_000;
export const ADVICE_QUEUE_ROWS_MAX = 100_000;
/** Finished rows older than this are pruned at open (stand-in day limits need only today). */
export const QUEUE_HISTORY_MS = 3 * 86_400_000;

export type ReversalStatus = 'pending' | 'acked';
export type AdviceStatus = 'pending' | 'acked' | 'declined' | 'expired';

export interface QueuedMessage {
  readonly id: number;
  readonly message: Message;
  readonly attempts: number;
  readonly expires_at: number;
}

export interface AdviceRow {
  id: number; status: AdviceStatus; attempts: number; response_code: string | null; finance_flag: number; rrn: string; amount_minor: string;
}

export interface AdviceInput {
  message: Message; identity: string; merchant: string; amount_minor: bigint; currency: number; now_ms: number; expires_ms: number;
  /** The caller's name for the payment (e.g. its ledger id), handed back when the network answers. */
  reference?: string;
}

/** A finished advice the caller named: what became of it. */
export interface AdviceOutcome { readonly reference: string; readonly status: Exclude<AdviceStatus, 'pending'>; readonly response_code: string | null }

/** Outcomes listed at once when a restart catches up (the queue keeps at most a few days). */
export const ADVICE_OUTCOMES_LISTED_MAX = ADVICE_QUEUE_ROWS_MAX;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS stan (link TEXT PRIMARY KEY, day TEXT NOT NULL, reserved_upto INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS reversals (
  id INTEGER PRIMARY KEY AUTOINCREMENT, link TEXT NOT NULL, status TEXT NOT NULL, message TEXT NOT NULL,
  attempts INTEGER NOT NULL, next_at INTEGER NOT NULL, created_at INTEGER NOT NULL, response_code TEXT);
CREATE INDEX IF NOT EXISTS reversals_due ON reversals (link, status, id);
CREATE TABLE IF NOT EXISTS advices (
  id INTEGER PRIMARY KEY AUTOINCREMENT, link TEXT NOT NULL, status TEXT NOT NULL, message TEXT NOT NULL,
  identity TEXT NOT NULL, merchant TEXT NOT NULL, day TEXT NOT NULL, amount_minor TEXT NOT NULL, currency INTEGER NOT NULL,
  attempts INTEGER NOT NULL, next_at INTEGER NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
  response_code TEXT, finance_flag INTEGER NOT NULL DEFAULT 0, rrn TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS advices_due ON advices (link, status, id);
CREATE INDEX IF NOT EXISTS advices_identity ON advices (identity, day);
CREATE INDEX IF NOT EXISTS advices_merchant ON advices (merchant, day);
`;

const DAY_MS = 86_400_000;
/** The store's SQL is a fixed set of texts; more than this many would mean SQL built from data. */
const STATEMENTS_MAX = 64;

export function dayOf(now_ms: number): string {
  return new Date(now_ms).toISOString().slice(0, 10);
}

/** A link's STANs of one day: the block in use and, once the worker has reserved it, the next. */
interface StanState { day: string; dayNumber: number; next: number; limit: number; spare: StanBlock | undefined; asked: boolean }

export class LinkStore {
  private readonly db: Database.Database;
  private readonly stans = new Map<string, StanState>();
  private readonly statements = new Map<string, Database.Statement>();
  private readonly reserver: StanReserver;
  /** Times a link used up all STANs of a day and started again at 1 (the caller logs it). */
  stanWraps = 0;
  /**
   * Reservations ahead that failed (a worker's error reply, or the worker gone), and the last
   * one's problem: the block is then reserved on the caller's thread when needed, which is correct
   * but puts an fsync back on the event loop, so the caller logs it.
   */
  stanReserveFaults = 0;
  lastStanReserveFault = '';

  private readonly reversalRowsMax: number;
  private readonly adviceRowsMax: number;

  constructor(readonly file: string, bounds: { reversal_rows_max?: number; advice_rows_max?: number } = {}) {
    this.reversalRowsMax = bounds.reversal_rows_max ?? REVERSAL_QUEUE_ROWS_MAX;
    this.adviceRowsMax = bounds.advice_rows_max ?? ADVICE_QUEUE_ROWS_MAX;
    assert(this.reversalRowsMax >= 1 && this.reversalRowsMax <= REVERSAL_QUEUE_ROWS_MAX && this.adviceRowsMax >= 1 && this.adviceRowsMax <= ADVICE_QUEUE_ROWS_MAX, 'queue bounds within the maxima');
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
    this.addReferenceColumn();
    const cutoff = Date.now() - QUEUE_HISTORY_MS;
    this.statement("DELETE FROM reversals WHERE status <> 'pending' AND created_at < ?").run(cutoff);
    this.statement("DELETE FROM advices WHERE status <> 'pending' AND created_at < ?").run(cutoff);
    this.reserver = new StanReserver(file, (reply) => this.onReserved(reply), (problem) => this.onReserveFault(problem));
  }

  /** Files from before advices carried a reference get the column (empty for their rows). */
  private addReferenceColumn(): void {
    const columns = this.db.prepare('PRAGMA table_info(advices)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'reference')) this.db.exec('ALTER TABLE advices ADD COLUMN reference TEXT');
    this.db.exec('CREATE INDEX IF NOT EXISTS advices_reference ON advices (reference) WHERE reference IS NOT NULL');
  }

  close(): void {
    this.reserver.close();
    this.statements.clear();
    this.db.close();
  }

  /** A statement prepared once per store (preparing compiles the SQL; the drains ask every 250 ms, stand-in on every decision). */
  private statement(sql: string): Database.Statement {
    let prepared = this.statements.get(sql);
    if (prepared === undefined) {
      assert(this.statements.size < STATEMENTS_MAX, 'the store prepares a fixed set of statements');
      prepared = this.db.prepare(sql);
      this.statements.set(sql, prepared);
    }
    return prepared;
  }

  /**
   * The next STAN of `link` today: unique per link per day, across restarts and across
   * processes sharing the file (each block is taken from the file's high-water mark).
   */
  allocateStan(link: string, now_ms: number): string {
    const dayNumber = Math.floor(now_ms / DAY_MS);
    let state = this.stans.get(link);
    // Day changes are rare: compare day numbers, and format the date only when one happens.
    if (!state || state.dayNumber !== dayNumber) {
      state = { day: dayOf(now_ms), dayNumber, next: 1, limit: 0, spare: undefined, asked: false };
      this.stans.set(link, state);
    }
    if (state.next > state.limit) this.takeBlock(link, state);
    const stan = state.next;
    state.next += 1;
    assert(stan >= 1 && stan <= STAN_MAX && stan <= state.limit, 'STAN out of range');
    if (!state.asked && state.spare === undefined && state.limit - state.next < STAN_PREFETCH_LEFT) {
      state.asked = this.reserver.request({ link, day: state.day });
    }
    return String(stan).padStart(6, '0');
  }

  /** Moves to the spare block the worker reserved, or reserves one here when there is none yet. */
  private takeBlock(link: string, state: StanState): void {
    const block = state.spare ?? reserveStanBlock(this.db, link, state.day);
    assert(block.day === state.day && block.start >= 1 && block.limit <= STAN_MAX && block.start <= block.limit, 'a STAN block of today');
    state.spare = undefined;
    state.next = block.start;
    state.limit = block.limit;
    if (block.wrapped) this.stanWraps += 1;
  }

  private onReserveFault(problem: string): void {
    this.stanReserveFaults += 1;
    this.lastStanReserveFault = problem;
  }

  private onReserved(reply: ReserveReply): void {
    const state = this.stans.get(reply.link);
    if (state) state.asked = false;
    if ('error' in reply) this.onReserveFault(reply.error);
    // A block of another day, or one not needed any more, is skipped: reserved STANs are never reused, only left unused.
    if ('error' in reply || !state || reply.block.day !== state.day || state.spare !== undefined) return;
    state.spare = reply.block;
  }

  enqueueReversal(link: string, message: Message, now_ms: number): number {
    const pending = this.statement("SELECT COUNT(*) AS n FROM reversals WHERE link = ? AND status = 'pending'").get(link) as { n: number };
    if (pending.n >= this.reversalRowsMax) throw new NetworkLinkError('link_queue_full', `reversal queue of ${link} holds ${this.reversalRowsMax} rows`);
    const result = this.statement("INSERT INTO reversals (link, status, message, attempts, next_at, created_at) VALUES (?, 'pending', ?, 0, ?, ?)").run(link, JSON.stringify(message), now_ms, now_ms);
    return Number(result.lastInsertRowid);
  }

  nextReversal(link: string, now_ms: number): QueuedMessage | undefined {
    const row = this.statement("SELECT id, message, attempts FROM reversals WHERE link = ? AND status = 'pending' AND next_at <= ? ORDER BY id LIMIT 1").get(link, now_ms) as { id: number; message: string; attempts: number } | undefined;
    return row ? { id: row.id, message: JSON.parse(row.message) as Message, attempts: row.attempts, expires_at: Number.MAX_SAFE_INTEGER } : undefined;
  }

  ackReversal(id: number, responseCode: string): void {
    const changed = this.statement("UPDATE reversals SET status = 'acked', response_code = ? WHERE id = ? AND status = 'pending'").run(responseCode, id).changes;
    assert(changed <= 1, 'one reversal per id');
  }

  retryReversal(id: number, attempts: number, next_at: number): void {
    this.statement('UPDATE reversals SET attempts = ?, next_at = ? WHERE id = ?').run(attempts, next_at, id);
  }

  reversalStatus(id: number): { status: ReversalStatus; attempts: number; response_code: string | null } | undefined {
    return this.statement('SELECT status, attempts, response_code FROM reversals WHERE id = ?').get(id) as { status: ReversalStatus; attempts: number; response_code: string | null } | undefined;
  }

  pendingCounts(link: string): { reversals: number; advices: number } {
    const reversals = (this.statement("SELECT COUNT(*) AS n FROM reversals WHERE link = ? AND status = 'pending'").get(link) as { n: number }).n;
    const advices = (this.statement("SELECT COUNT(*) AS n FROM advices WHERE link = ? AND status = 'pending'").get(link) as { n: number }).n;
    return { reversals, advices };
  }

  enqueueAdvice(link: string, input: AdviceInput): number {
    const pending = this.statement("SELECT COUNT(*) AS n FROM advices WHERE link = ? AND status = 'pending'").get(link) as { n: number };
    if (pending.n >= this.adviceRowsMax) throw new NetworkLinkError('link_queue_full', `advice queue of ${link} holds ${this.adviceRowsMax} rows`);
    const rrn = input.message.fields[37];
    assert(typeof rrn === 'string', 'an advice carries an RRN');
    if (input.reference !== undefined) assert(input.reference.length > 0 && input.reference.length <= 64, 'an advice reference is 1..64 characters');
    const result = this.statement(`INSERT INTO advices (link, status, message, identity, merchant, day, amount_minor, currency, attempts, next_at, created_at, expires_at, rrn, reference)
      VALUES (?, 'pending', ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)`).run(link, JSON.stringify(input.message), input.identity, input.merchant, dayOf(input.now_ms), input.amount_minor.toString(), input.currency, input.now_ms, input.now_ms, input.expires_ms, rrn, input.reference ?? null);
    return Number(result.lastInsertRowid);
  }

  /** What became of the advice named `reference`: undefined while pending or unknown. */
  adviceOutcome(reference: string): AdviceOutcome | undefined {
    const row = this.statement("SELECT reference, status, response_code FROM advices WHERE reference = ? AND status <> 'pending' ORDER BY id DESC LIMIT 1").get(reference) as AdviceOutcome | undefined;
    return row;
  }

  /** Finished advices of `link` that were named, newest first (bounded; the queue keeps a few days). */
  adviceOutcomes(link: string): AdviceOutcome[] {
    return this.statement("SELECT reference, status, response_code FROM advices WHERE link = ? AND reference IS NOT NULL AND status <> 'pending' ORDER BY id DESC LIMIT ?")
      .all(link, ADVICE_OUTCOMES_LISTED_MAX) as AdviceOutcome[];
  }

  /** The reference of advice `id`, if it was named. */
  adviceReference(id: number): string | undefined {
    const row = this.statement('SELECT reference FROM advices WHERE id = ?').get(id) as { reference: string | null } | undefined;
    return row?.reference ?? undefined;
  }

  /** The oldest pending advice: advices leave in order, so the head blocks the rest. */
  headAdvice(link: string): (QueuedMessage & { next_at: number }) | undefined {
    const row = this.statement("SELECT id, message, attempts, next_at, expires_at FROM advices WHERE link = ? AND status = 'pending' ORDER BY id LIMIT 1").get(link) as { id: number; message: string; attempts: number; next_at: number; expires_at: number } | undefined;
    return row ? { id: row.id, message: JSON.parse(row.message) as Message, attempts: row.attempts, next_at: row.next_at, expires_at: row.expires_at } : undefined;
  }

  finishAdvice(id: number, status: Exclude<AdviceStatus, 'pending'>, responseCode: string | null): void {
    const flag = status === 'acked' ? 0 : 1;
    const changed = this.statement("UPDATE advices SET status = ?, response_code = ?, finance_flag = ? WHERE id = ? AND status = 'pending'").run(status, responseCode, flag, id).changes;
    assert(changed <= 1, 'one advice per id');
  }

  retryAdvice(id: number, attempts: number, next_at: number): void {
    this.statement('UPDATE advices SET attempts = ?, next_at = ? WHERE id = ?').run(attempts, next_at, id);
  }

  advices(link: string): AdviceRow[] {
    return this.statement('SELECT id, status, attempts, response_code, finance_flag, rrn, amount_minor FROM advices WHERE link = ? ORDER BY id').all(link) as AdviceRow[];
  }

  /** Stand-in approvals already given today (any link): per identity, per merchant, and recent ones for velocity. */
  standInUsage(identity: string, merchant: string, now_ms: number, window_ms: number): { identityAmount: bigint; identityCount: number; merchantAmount: bigint; recentCount: number } {
    const day = dayOf(now_ms);
    const byIdentity = this.statement('SELECT amount_minor FROM advices WHERE identity = ? AND day = ?').all(identity, day) as { amount_minor: string }[];
    const byMerchant = this.statement('SELECT amount_minor FROM advices WHERE merchant = ? AND day = ?').all(merchant, day) as { amount_minor: string }[];
    const recent = this.statement('SELECT COUNT(*) AS n FROM advices WHERE identity = ? AND created_at > ?').get(identity, now_ms - window_ms) as { n: number };
    const sum = (rows: { amount_minor: string }[]): bigint => rows.reduce((total, row) => total + BigInt(row.amount_minor), 0n);
    return { identityAmount: sum(byIdentity), identityCount: byIdentity.length, merchantAmount: sum(byMerchant), recentCount: recent.n };
  }
}
