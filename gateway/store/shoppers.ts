/**
 * The SQLite adapter of the shopper side of the store: shoppers (token references, sealed
 * token PANs, phone numbers for deletion by phone), their sealed biometric templates (the
 * biometric engine's `TemplateStore` port), payments, one-time codes and the deletion log.
 * A deleted shopper keeps a tombstone row (id, status, time) and nothing personal.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { assert } from '../../core/index.js';
import type { TemplateStore } from '../../biometric/index.js';
import { GatewayError } from '../errors.js';
import { ensureSchema, type GatewayDatabase } from './database.js';
import type { PaymentRecord, PaymentStatus, ShopperRecord } from './port.js';

/** A one-time code is good for this long and this many tries. */
export const otp_lifetime_ms = 5 * 60_000;
export const otp_attempts_max = 5;
/** Page sizes of list queries. */
export const list_rows_max = 1_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS shoppers (
  id BLOB PRIMARY KEY, phone TEXT, phone_last4 TEXT, network TEXT NOT NULL, token_ref TEXT, token_sealed BLOB, token_last4 TEXT,
  status TEXT NOT NULL, enrolled_ms INTEGER NOT NULL, deleted_ms INTEGER);
CREATE INDEX IF NOT EXISTS shoppers_phone ON shoppers (phone) WHERE status = 'active';
CREATE INDEX IF NOT EXISTS shoppers_phone_last4 ON shoppers (phone_last4) WHERE status = 'active';
CREATE TABLE IF NOT EXISTS templates (identity BLOB PRIMARY KEY, sealed BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS payments (
  id BLOB PRIMARY KEY, shopper_id BLOB, merchant_id TEXT NOT NULL, terminal_id TEXT NOT NULL, network TEXT,
  amount_minor TEXT NOT NULL, currency TEXT NOT NULL, status TEXT NOT NULL, captured_minor TEXT NOT NULL, refunded_minor TEXT NOT NULL,
  captures INTEGER NOT NULL, refunds INTEGER NOT NULL, response_code TEXT NOT NULL, auth_code TEXT, source TEXT NOT NULL,
  rrn TEXT, stan TEXT, created_ms INTEGER NOT NULL, captured_at_ms INTEGER, updated_ms INTEGER NOT NULL, stages TEXT NOT NULL,
  request_sealed BLOB);
CREATE INDEX IF NOT EXISTS payments_recent ON payments (created_ms);
CREATE INDEX IF NOT EXISTS payments_shopper ON payments (shopper_id);
CREATE INDEX IF NOT EXISTS payments_authorized ON payments (created_ms) WHERE status = 'authorized';
CREATE TABLE IF NOT EXISTS otps (phone_hash BLOB PRIMARY KEY, code_hash BLOB NOT NULL, expires_ms INTEGER NOT NULL, attempts INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS deletions (id INTEGER PRIMARY KEY AUTOINCREMENT, shopper_id BLOB NOT NULL, channel TEXT NOT NULL, at_ms INTEGER NOT NULL,
  templates_removed INTEGER NOT NULL, token_deleted INTEGER NOT NULL);
`;

export function u128ToBlob(value: bigint): Buffer {
  assert(value >= 0n && value < 1n << 128n, 'u128');
  return Buffer.from(value.toString(16).padStart(32, '0'), 'hex');
}

export function blobToU128(blob: Buffer): bigint {
  assert(blob.length === 16, 'u128 blob is 16 bytes');
  return BigInt(`0x${blob.toString('hex')}`);
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

interface ShopperRow { id: Buffer; phone: string | null; network: string; token_ref: string | null; token_sealed: Buffer | null; token_last4: string | null; status: string; enrolled_ms: number; deleted_ms: number | null }
interface PaymentRow {
  id: Buffer; shopper_id: Buffer | null; merchant_id: string; terminal_id: string; network: string | null; amount_minor: string; currency: string;
  status: string; captured_minor: string; refunded_minor: string; captures: number; refunds: number; response_code: string; auth_code: string | null;
  source: string; rrn: string | null; stan: string | null; created_ms: number; captured_at_ms: number | null; updated_ms: number; stages: string;
}

function shopperOf(row: ShopperRow): ShopperRecord {
  return {
    id: blobToU128(row.id), phone: row.phone ?? '', network: row.network, tokenRef: row.token_ref ?? '', tokenSealed: row.token_sealed ?? new Uint8Array(0),
    tokenLast4: row.token_last4 ?? '', status: row.status === 'active' ? 'active' : 'deleted', enrolled_ms: row.enrolled_ms, deleted_ms: row.deleted_ms ?? undefined,
  };
}

function paymentOf(row: PaymentRow): PaymentRecord {
  return {
    id: blobToU128(row.id), shopperId: row.shopper_id ? blobToU128(row.shopper_id) : undefined, merchantId: row.merchant_id, terminalId: row.terminal_id,
    network: row.network ?? undefined, amount_minor: BigInt(row.amount_minor), currency: row.currency, status: row.status as PaymentStatus,
    captured_minor: BigInt(row.captured_minor), refunded_minor: BigInt(row.refunded_minor), captures: row.captures, refunds: row.refunds,
    responseCode: row.response_code, authCode: row.auth_code ?? undefined, source: row.source as PaymentRecord['source'], rrn: row.rrn ?? undefined,
    stan: row.stan ?? undefined, created_ms: row.created_ms, captured_at_ms: row.captured_at_ms ?? undefined, updated_ms: row.updated_ms,
    stages: JSON.parse(row.stages) as Record<string, number>,
  };
}

export class ShopperStore implements TemplateStore {
  private readonly statements;

  /** `durable`: resolves when every commit so far is on disk (a no-op when each commit fsyncs itself). */
  constructor(private readonly db: GatewayDatabase, private readonly durable: () => Promise<void> = () => Promise.resolve()) {
    ensureSchema(db, SCHEMA);
    this.statements = {
      insertShopper: db.prepare('INSERT INTO shoppers (id, phone, phone_last4, network, token_ref, token_sealed, token_last4, status, enrolled_ms) VALUES (?, ?, ?, ?, ?, ?, ?, \'active\', ?)'),
      shopper: db.prepare<[Buffer], ShopperRow>('SELECT * FROM shoppers WHERE id = ?'),
      byPhoneLast4: db.prepare<[string, number], { id: Buffer }>('SELECT id FROM shoppers WHERE phone_last4 = ? AND status = \'active\' LIMIT ?'),
      byPhone: db.prepare<[string], ShopperRow>('SELECT * FROM shoppers WHERE phone = ? AND status = \'active\' LIMIT 1'),
      tombstone: db.prepare('UPDATE shoppers SET phone = NULL, phone_last4 = NULL, token_ref = NULL, token_sealed = NULL, token_last4 = NULL, status = \'deleted\', deleted_ms = ? WHERE id = ?'),
      putTemplate: db.prepare('INSERT INTO templates (identity, sealed) VALUES (?, ?) ON CONFLICT (identity) DO UPDATE SET sealed = excluded.sealed'),
      deleteTemplate: db.prepare('DELETE FROM templates WHERE identity = ?'),
      templates: db.prepare<[], { identity: Buffer; sealed: Buffer }>('SELECT identity, sealed FROM templates'),
      templateCount: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM templates'),
      insertPayment: db.prepare(`INSERT INTO payments (id, shopper_id, merchant_id, terminal_id, network, amount_minor, currency, status, captured_minor, refunded_minor,
        captures, refunds, response_code, auth_code, source, rrn, stan, created_ms, captured_at_ms, updated_ms, stages, request_sealed)
        VALUES (@id, @shopper_id, @merchant_id, @terminal_id, @network, @amount_minor, @currency, @status, @captured_minor, @refunded_minor,
        @captures, @refunds, @response_code, @auth_code, @source, @rrn, @stan, @created_ms, @captured_at_ms, @updated_ms, @stages, @request_sealed)`),
      sealedRequest: db.prepare<[Buffer], { request_sealed: Buffer | null }>('SELECT request_sealed FROM payments WHERE id = ?'),
      updatePayment: db.prepare(`UPDATE payments SET status = @status, captured_minor = @captured_minor, refunded_minor = @refunded_minor, captures = @captures,
        refunds = @refunds, captured_at_ms = @captured_at_ms, updated_ms = @updated_ms WHERE id = @id AND updated_ms = @expected_updated_ms`),
      payment: db.prepare<[Buffer], PaymentRow>('SELECT * FROM payments WHERE id = ?'),
      recent: db.prepare<[number], PaymentRow>('SELECT * FROM payments ORDER BY created_ms DESC LIMIT ?'),
      recentOfMerchant: db.prepare<[string, number], PaymentRow>('SELECT * FROM payments WHERE merchant_id = ? ORDER BY created_ms DESC LIMIT ?'),
      paymentsOfShopper: db.prepare<[Buffer], { n: number }>('SELECT count(*) AS n FROM payments WHERE shopper_id = ?'),
      authorizedBefore: db.prepare<[number, number], PaymentRow>("SELECT * FROM payments WHERE status = 'authorized' AND created_ms < ? ORDER BY created_ms LIMIT ?"),
      putOtp: db.prepare('INSERT INTO otps (phone_hash, code_hash, expires_ms, attempts) VALUES (?, ?, ?, 0) ON CONFLICT (phone_hash) DO UPDATE SET code_hash = excluded.code_hash, expires_ms = excluded.expires_ms, attempts = 0'),
      otp: db.prepare<[Buffer], { code_hash: Buffer; expires_ms: number; attempts: number }>('SELECT code_hash, expires_ms, attempts FROM otps WHERE phone_hash = ?'),
      otpAttempt: db.prepare('UPDATE otps SET attempts = attempts + 1 WHERE phone_hash = ?'),
      deleteOtp: db.prepare('DELETE FROM otps WHERE phone_hash = ?'),
      logDeletion: db.prepare('INSERT INTO deletions (shopper_id, channel, at_ms, templates_removed, token_deleted) VALUES (?, ?, ?, ?, ?)'),
    };
  }

  insertShopper(shopper: ShopperRecord): void {
    assert(shopper.status === 'active', 'new shoppers are active');
    this.statements.insertShopper.run(u128ToBlob(shopper.id), shopper.phone, shopper.phone.slice(-4), shopper.network, shopper.tokenRef, Buffer.from(shopper.tokenSealed), shopper.tokenLast4, shopper.enrolled_ms);
  }

  shopper(id: bigint): ShopperRecord | undefined {
    const row = this.statements.shopper.get(u128ToBlob(id));
    return row ? shopperOf(row) : undefined;
  }

  shopperByPhone(phone: string): ShopperRecord | undefined {
    const row = this.statements.byPhone.get(phone);
    return row ? shopperOf(row) : undefined;
  }

  /** The shoppers whose phone ends in `last4` (a search-narrowing hint), at most `limit`. */
  shoppersByPhoneLast4(last4: string, limit: number): bigint[] {
    assert(/^\d{4}$/.test(last4), 'four digits');
    return this.statements.byPhoneLast4.all(last4, Math.max(1, Math.min(limit, list_rows_max))).map((row) => blobToU128(row.id));
  }

  /** Forgets everything personal of a shopper in one transaction, leaving a tombstone. */
  forgetShopper(id: bigint, channel: 'palm' | 'phone', now_ms: number, outcome: { templatesRemoved: number; tokenDeleted: boolean }): void {
    const blob = u128ToBlob(id);
    this.db.transaction(() => {
      this.statements.deleteTemplate.run(blob);
      this.statements.tombstone.run(now_ms, blob);
      this.statements.logDeletion.run(blob, channel, now_ms, outcome.templatesRemoved, outcome.tokenDeleted ? 1 : 0);
    })();
  }

  async put(identity: bigint, sealed: Uint8Array): Promise<void> {
    this.statements.putTemplate.run(u128ToBlob(identity), Buffer.from(sealed));
    await this.durable();
  }

  /** Durable before it returns: a deletion is acted on (the token deleted at the network) only once it cannot come back. */
  async delete(identity: bigint): Promise<boolean> {
    const removed = this.statements.deleteTemplate.run(u128ToBlob(identity)).changes > 0;
    await this.durable();
    return removed;
  }

  templateCount(): number {
    return this.statements.templateCount.get()?.n ?? 0;
  }

  async *list(): AsyncIterable<{ identity: bigint; sealed: Uint8Array }> {
    for (const row of this.statements.templates.iterate()) yield await Promise.resolve({ identity: blobToU128(row.identity), sealed: row.sealed });
  }

  /** `sealedRequest`: the 0100 sent, sealed by the vault (a void reverses it at the network). */
  insertPayment(payment: PaymentRecord, sealedRequest?: Uint8Array): void {
    this.statements.insertPayment.run({ ...paymentRow(payment), request_sealed: sealedRequest ? Buffer.from(sealedRequest) : null });
  }

  sealedRequest(id: bigint): Uint8Array | undefined {
    return this.statements.sealedRequest.get(u128ToBlob(id))?.request_sealed ?? undefined;
  }

  /** Optimistic update: refused (typed) if another request changed the payment first. */
  updatePayment(previous: PaymentRecord, next: PaymentRecord): void {
    assert(previous.id === next.id, 'same payment');
    const row = paymentRow(next);
    const result = this.statements.updatePayment.run({
      id: row.id, status: row.status, captured_minor: row.captured_minor, refunded_minor: row.refunded_minor, captures: row.captures, refunds: row.refunds,
      captured_at_ms: row.captured_at_ms, updated_ms: row.updated_ms, expected_updated_ms: previous.updated_ms,
    });
    if (result.changes !== 1) throw new GatewayError('conflict', 'the payment changed meanwhile; retry');
  }

  payment(id: bigint): PaymentRecord | undefined {
    const row = this.statements.payment.get(u128ToBlob(id));
    return row ? paymentOf(row) : undefined;
  }

  recentPayments(limit: number, merchantId?: string): PaymentRecord[] {
    const bounded = Math.max(1, Math.min(limit, list_rows_max));
    const rows = merchantId === undefined ? this.statements.recent.all(bounded) : this.statements.recentOfMerchant.all(merchantId, bounded);
    return rows.map(paymentOf);
  }

  /** Authorizations still neither captured nor voided that were made before `created_before_ms`, oldest first. */
  authorizedBefore(created_before_ms: number, limit: number): PaymentRecord[] {
    assert(Number.isSafeInteger(limit) && limit >= 1 && limit <= list_rows_max, 'a bounded batch');
    return this.statements.authorizedBefore.all(created_before_ms, limit).map(paymentOf);
  }

  paymentCount(shopperId: bigint): number {
    return this.statements.paymentsOfShopper.get(u128ToBlob(shopperId))?.n ?? 0;
  }

  /** Stores only hashes: a stolen database does not reveal codes or which phones asked. */
  putOtp(phone: string, code: string, now_ms: number): void {
    this.statements.putOtp.run(sha256(`phone:${phone}`), sha256(`otp:${phone}:${code}`), now_ms + otp_lifetime_ms);
  }

  /** True once for a right, unexpired code within the attempt budget; the code is then spent. */
  checkOtp(phone: string, code: string, now_ms: number): boolean {
    const key = sha256(`phone:${phone}`);
    const row = this.statements.otp.get(key);
    if (!row || row.expires_ms < now_ms || row.attempts >= otp_attempts_max) return false;
    if (!timingSafeEqual(row.code_hash, sha256(`otp:${phone}:${code}`))) {
      this.statements.otpAttempt.run(key);
      return false;
    }
    this.statements.deleteOtp.run(key);
    return true;
  }
}

function paymentRow(p: PaymentRecord): Record<string, string | number | Buffer | null> {
  return {
    id: u128ToBlob(p.id), shopper_id: p.shopperId === undefined ? null : u128ToBlob(p.shopperId), merchant_id: p.merchantId, terminal_id: p.terminalId,
    network: p.network ?? null, amount_minor: p.amount_minor.toString(), currency: p.currency, status: p.status, captured_minor: p.captured_minor.toString(),
    refunded_minor: p.refunded_minor.toString(), captures: p.captures, refunds: p.refunds, response_code: p.responseCode, auth_code: p.authCode ?? null,
    source: p.source, rrn: p.rrn ?? null, stan: p.stan ?? null, created_ms: p.created_ms, captured_at_ms: p.captured_at_ms ?? null, updated_ms: p.updated_ms,
    stages: JSON.stringify(p.stages),
  };
}
